"""What a Dutch, German or French reader downloads and prints: KPI columns headed in their words
(English downloads unchanged), how each deal counts said in their language, explain()'s
by-product and columns lines translated, and no dollar sign on amounts whose currency nothing
names."""

from __future__ import annotations

import base64
import csv
import html
import io
import re

import openpyxl
import pandas as pd
import pytest

import channelkpi as ck
from channelkpi.datasets import make_sample_deals, toy_deals
from channelkpi.i18n import using
from channelkpi.safety import to_csv
from channelkpi.widgets import Dashboard


def _saved(dash) -> tuple[str, bytes]:
    link = dash.download_links.value
    name = html.unescape(link.split("download='")[1].split("'")[0])
    return name, base64.b64decode(link.split("base64,")[1].split("'")[0])


@pytest.fixture(scope="module")
def deals():
    return make_sample_deals()


# --------------------------------------------------------------------------- explain()
def test_explain_says_the_by_product_line_in_dutch_and_german():
    english = ck.explain("win_rate")
    assert re.search(r"^  by product: won deals containing the product / closed deals containing it", english, re.M)
    dutch = ck.explain("win_rate", locale="nl-NL")
    line = next(x for x in dutch.splitlines() if x.lstrip().startswith("per product:"))
    assert "gewonnen deals met het product / gesloten deals met het product" in line
    assert "tellen niet op tot het totaal" in line  # the rule every KPI shares, in Dutch too
    assert "containing" not in dutch and "by product" not in dutch
    german = ck.explain("average_deal_size", locale="de-DE")
    line = next(x for x in german.splitlines() if x.lstrip().startswith("pro Produkt:"))
    assert "Summe der Positionen des Produkts in gewonnenen Deals" in line
    assert "ergeben die Anzahlen der Produkte zusammen nicht die Gesamtzahl" in line
    assert "containing" not in german and "do not add up" not in german


def test_explain_says_the_columns_line_in_dutch_and_german_with_the_names_of_code():
    dutch = ck.explain("pipeline_waterfall", locale="nl-NL")
    line = next(x for x in dutch.splitlines() if x.lstrip().startswith("kolommen:"))
    assert "start, created, won, lost, end (plus elk als *_count: het aantal deals)" in line
    assert line.endswith("(namen uit de code; een download zet er Nederlandse kolomkoppen boven)")
    german = ck.explain("win_rate", locale="de-DE")
    line = next(x for x in german.splitlines() if x.lstrip().startswith("Spalten:"))
    assert re.fullmatch(
        r"  Spalten: +win_rate, win_rate_low, win_rate_high, won_count, lost_count, n "
        r"\(Namen aus dem Code; ein Download beschriftet die Spalten auf Deutsch\)",
        line,
    )
    # English: the line as it always was
    assert re.search(
        r"^  columns: +start, created, won, lost, end \(\+ \*_count\)$", ck.explain("pipeline_waterfall"), re.M
    )


# --------------------------------------------------------------------------- the report's deal tables
@pytest.mark.slow
def test_a_german_report_says_how_each_deal_counts_in_german(tmp_path):
    html_path, book_path = tmp_path / "bericht.html", tmp_path / "bericht.xlsx"
    ck.report(toy_deals(), path=[html_path, book_path], freq="Q", start="2024-04", end="2024-06", locale="de-DE")
    # the Excel "Deals" sheet: toy deals d6 (open at the range end), d4 (won), d5 (lost), by hand
    sheet = openpyxl.load_workbook(book_path)["Deals"]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    head = rows[0]
    won_or_lost = head.index(
        "Im Zeitraum gewonnen oder verloren (Score, Abschlussquote, gewonnener Betrag, Dealgröße, Zyklus)"
    )
    open_end = head.index("Offen am Ende des Zeitraums (Pipeline)")
    by_id = {r[head.index("Deal-ID")]: (r[won_or_lost], r[open_end]) for r in rows[1:]}
    assert by_id["d6"] == (None, "offen am Ende des Berichtszeitraums")
    assert by_id["d4"] == ("gewonnen", None)
    assert by_id["d5"] == ("verloren", None)
    # the HTML scorecard's deals tables
    page = html_path.read_text(encoding="utf-8")
    cells = re.findall(r"<table class='ck-table ck-deals'>.*?</table>", page, re.S)
    counts = {m for t in cells for m in re.findall(r"<td>(gewonnen|verloren|won|lost)</td>", t)}
    assert counts == {"gewonnen", "verloren"}


@pytest.mark.slow
def test_the_english_report_deals_sheet_is_as_it_was(tmp_path):
    book = tmp_path / "review.xlsx"
    ck.report(toy_deals(), path=book, freq="Q", start="2024-04", end="2024-06")
    sheet = openpyxl.load_workbook(book)["Deals"]
    values = {c.value for r in sheet.iter_rows(min_row=2) for c in r}
    assert {"won", "lost", "open at the range end"} <= values


# --------------------------------------------------------------------------- KPI table downloads
@pytest.mark.slow
def test_a_dutch_csv_download_heads_its_columns_in_dutch(deals):
    dash = Dashboard(deals, locale="nl-NL")
    dash._download_csv()
    _name, data = _saved(dash)
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][0].startswith("Selectie: ") and rows[1] == []
    head = rows[2]
    assert head[:2] == ["Partner", "Periode"]
    for heading in ("Winratio", "Gewonnen bedrag", "Gemiddelde dealgrootte", "Gewonnen deals", "Kwaliteitsscore"):
        assert heading in head, heading
    assert not {"win_rate", "won_amount", "partner", "period"} & set(head)
    # the numbers under them: the won amount of each row, with a decimal comma, as the KPI table has it
    table = dash.kpis
    amounts = [r[head.index("Gewonnen bedrag")] for r in rows[3:]]
    assert len(amounts) == len(table)
    assert [float(a.replace(",", ".")) if a else None for a in amounts] == [
        None if pd.isna(v) else pytest.approx(float(v)) for v in table["won_amount"]
    ]


@pytest.mark.slow
def test_an_english_csv_download_keeps_the_names_of_code(deals):
    dash = Dashboard(deals)
    dash._download_csv()
    rows = list(csv.reader(io.StringIO(_saved(dash)[1].decode("utf-8-sig"))))
    assert rows[2] == [str(c) for c in dash.kpis.columns]
    with using("en-US"):
        assert to_csv(dash.kpis) == dash.kpis.to_csv(index=False)


@pytest.mark.slow
def test_a_dutch_excel_download_heads_the_kpis_and_keeps_numbers_with_formats(deals):
    dash = Dashboard(deals, locale="nl-NL")
    dash._download_excel()
    sheet = openpyxl.load_workbook(io.BytesIO(_saved(dash)[1]))["KPI's"]
    head = [c.value for c in sheet[1]]
    j = head.index("Winratio") + 1
    assert sheet.cell(2, j).data_type == "n" and sheet.cell(2, j).number_format == "0.0%"
    assert head.index("Gewonnen bedrag (betaalde media)") > head.index("Gewonnen bedrag")


@pytest.mark.slow
def test_headings_are_one_per_column_in_every_language(deals, tmp_path):
    # a workbook's column can be traced back to its name of code: no two columns share a heading
    book = tmp_path / "r.xlsx"
    ck.report(deals, path=book)
    columns = {c.value for s in openpyxl.load_workbook(book) for c in s[1]} | {
        f"{b}_count" for b in ("start", "new", "won", "memo")
    }
    from channelkpi.headings import kpi_headings

    for locale in ("nl-NL", "de-DE", "fr-FR"):
        with using(locale):
            headings = kpi_headings(columns)
        assert len(set(headings.values())) == len(headings), locale


# --------------------------------------------------------------------------- no currency named
_NO_CURRENCY = """Opportunity ID,Opportunity Name,Partner Account,Stage,Amount,Created Date,Close Date
1,Alpha,Acme,Closed Won,1234.5,2025-01-05,2025-02-10
2,Beta,Acme,Closed Lost,2000,2025-01-10,2025-03-01
3,Gamma,Brightline,Closed Won,5000,2025-02-01,2025-03-15
4,Delta,Brightline,Prospecting,3000,2025-02-15,
"""


@pytest.mark.slow
def test_a_dutch_report_of_an_export_without_currency_shows_no_dollar(tmp_path):
    export = tmp_path / "export.csv"
    export.write_text(_NO_CURRENCY, encoding="utf-8")
    page, book = tmp_path / "rapport.html", tmp_path / "rapport.xlsx"
    ck.report(export, path=[page, book], svg_dir=tmp_path / "svg", locale="nl-NL")
    text = page.read_text(encoding="utf-8")
    assert "$" not in text and "€" not in text
    # by hand: average deal size (1,234.50 + 5,000) / 2 = 3,117.25; open pipeline 3,000 (short amounts keep one decimal); no symbol
    assert "ck-value'>3,1K<" in text and "ck-value'>3,0K<" in text
    assert not any("$" in p.read_text(encoding="utf-8") for p in (tmp_path / "svg").glob("*.svg"))
    sheet = openpyxl.load_workbook(book)["Scorecard"]
    formats = {c.number_format for r in sheet.iter_rows(min_row=2) for c in r}
    assert "#,##0.00;-#,##0.00" in formats and not any("$" in f for f in formats)
    # the currency the user names is shown
    ck.report(export, path=page, currency="EUR", locale="nl-NL")
    assert "€" in page.read_text(encoding="utf-8")
