"""Names on screen in the viewer's language while the values stay the data's: the marketing
channels (a click on a translated legend still lists the deals of that channel), the report's
Excel sheets and deal headings, and the upload's mapping form."""

from __future__ import annotations

import html
import io
import re

import pandas as pd
import pytest
from openpyxl import load_workbook

from channelkpi import i18n
from channelkpi.charts import channel_mix
from channelkpi.datasets import make_sample_deals
from channelkpi.drill import chart_cell, deals_page
from channelkpi.metrics.kpis import channel_performance
from channelkpi.metrics.prepared import prepare
from channelkpi.reports import report
from channelkpi.views import View
from channelkpi.widgets import Dashboard

# every test here takes a quarter second or more: none belongs in the quick run
pytestmark = pytest.mark.slow

mappingform = pytest.importorskip("channelkpi.mappingform")

DUTCH = {
    "paid": "betaalde media",
    "earned": "verdiende media",
    "owned": "eigen media",
    "partner": "partner",
    "other": "overig",
}


@pytest.fixture(scope="module")
def deals():
    return make_sample_deals()


def _text(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def test_the_channel_box_shows_names_and_filters_by_code(deals):
    dash = Dashboard(deals, locale="nl-NL")
    options = dict(dash.channels.options)
    assert options["paid"] == "betaalde media" and options["other"] == "overig"
    dash.channels.value = ["paid"]  # the box's value is the code
    start, end = dash.date_range
    won = deals[
        (deals["channel"] == "paid")
        & (deals["status"] == "won")
        & (deals["closed"] >= start)
        & (deals["closed"] <= end + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1))
    ]
    assert dash.kpis["won_count"].sum() == len(won)
    english = Dashboard(deals)
    assert dict(english.channels.options)["paid"] == "paid"


def test_the_legend_names_channels_in_dutch_and_the_marks_keep_the_codes(deals):
    table = channel_performance(deals, freq="Q")
    with i18n.using("nl"):
        spec = channel_mix(table).to_dict()
    legend = spec["encoding"]["color"]["legend"]["labelExpr"]
    for code, name in DUTCH.items():
        assert f'"{code}": "{name}"' in legend
    rows = next(iter(spec["datasets"].values()))
    assert {r["channel"] for r in rows} <= {"paid", "earned", "owned", "partner", "other", "unknown"}
    assert {r["channel_name"] for r in rows if r["channel"] == "paid"} == {"betaalde media"}
    tip = spec["encoding"]["tooltip"][0]
    assert tip["field"] == "channel_name"
    english = channel_mix(table).to_dict()
    assert "legend" not in english["encoding"]["color"] and english["encoding"]["tooltip"][0]["field"] == "channel"


def test_a_click_on_a_translated_legend_lists_that_channels_deals(deals):
    view = View(freq="Q", start="2024-01-01", end="2024-12-31")
    with i18n.using("nl"):
        # the chart reports the mark's fields: the code, whatever the legend says
        cell = chart_cell("channel_mix", {"channel": "paid", "period": "2024-Q2"}, view)
        page = deals_page(prepare(deals), cell, limit=10_000)
    assert cell.place.startswith("Kanaal: betaalde media · K2 2024 · ")
    expected = deals[
        (deals["channel"] == "paid")
        & (deals["status"] == "won")
        & (deals["closed"] >= "2024-04-01")
        & (deals["closed"] < "2024-07-01")
    ]
    won = page.rows[page.rows["counts_as"] == "won"]
    assert set(won["deal_id"]) == set(expected["deal_id"]) and len(expected) > 0


def test_the_german_workbook_names_its_sheets_and_headings_in_german(deals, tmp_path):
    path = tmp_path / "bericht.xlsx"
    report(deals, path=path, locale="de-DE")
    book = load_workbook(io.BytesIO(path.read_bytes()))
    names = book.sheetnames
    assert names[:2] == ["Übersicht", "Info"]
    assert {"Geschäfte", "Deals"} & set(names) and "Summary" not in names and "Ledger" not in names
    assert all(len(n) <= 31 for n in names)
    sheet = book["Deals"]
    headings = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert {"Deal-ID", "Betrag", "Erwarteter Abschluss"} <= set(headings)
    amount = headings.index("Betrag") + 1
    cell = sheet.cell(row=2, column=amount)
    assert isinstance(cell.value, int | float)  # a number Excel formats for its reader
    assert cell.number_format == '#,##0.00 "$";-#,##0.00 "$"'  # the German symbol place
    english = tmp_path / "report.xlsx"
    report(deals, path=english)
    assert load_workbook(io.BytesIO(english.read_bytes())).sheetnames[:2] == ["Summary", "About"]


EXPORT = b"""ref,reseller,rep,phase,opened_on,closed_on,deal_value
R-1,Acme,Ann,Won,2024-01-05,2024-02-10,1000
R-2,Acme,Bob,Lost,2024-01-08,2024-03-01,500
R-3,Globex,Ann,Negotiating,2024-03-03,,800
"""


def test_the_mapping_form_speaks_french_in_its_own_callbacks():
    with i18n.using("fr-FR"):
        form = mappingform.MappingForm("affaires.csv", EXPORT)
    assert form.use_button.description == "Utiliser cette correspondance"
    shown = _all_text(form.widget)
    assert "Partenaire (revendeur)" in shown and "Partner (reseller)" not in shown
    # a choice made later, outside the block the form was made in: still French
    form.choose("deal_id", "ref")
    form.choose("partner", "reseller")
    form.choose("stage", "phase")
    for value in form.unread:
        form.read_stage(value, "open")
    counts = _text(form.counts_html.value)
    assert "lignes lues" in counts and "rows read" not in counts, counts


def _all_text(widget) -> str:
    """Every text a widget tree shows: HTML values, descriptions and dropdown labels."""
    parts = [str(getattr(widget, "value", "")) if hasattr(widget, "value") and isinstance(widget.value, str) else ""]
    parts.append(str(getattr(widget, "description", "") or ""))
    for child in getattr(widget, "children", ()):
        parts.append(_all_text(child))
    return _text(" ".join(parts))


def _downloaded(markup: str) -> tuple[str, bytes]:
    """The file name and bytes of a download link (a data: URI)."""
    import base64

    name = html.unescape(re.search(r"download='([^']*)'", markup).group(1))
    data = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)", markup).group(1))
    return name, data


def test_a_dutch_csv_download_opens_in_a_dutch_excel(deals):
    dash = Dashboard(deals, locale="nl-NL")
    assert i18n.current_locale() == "en-US"  # the click comes later, outside the dashboard's block
    button = next(b for b in dash.download_buttons if b.description == "KPI-tabel (CSV)")
    button.click()
    name, data = _downloaded(dash.download_links.value)
    assert name.endswith(".csv") and data.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM
    lines = data[3:].decode("utf-8").splitlines()
    assert lines[0].startswith(("Selectie: ", '"Selectie: '))
    header = lines[2].split(";")
    # the KPI columns headed in Dutch, as the tiles name them
    assert "Gewonnen bedrag" in header and "Winratio" in header and "win_rate" not in header and len(header) > 5
    rate = header.index("Winratio")
    rates = [line.split(";")[rate] for line in lines[3:] if line.split(";")[rate]]
    # a share such as 0,4671: the decimal comma Dutch Excel reads as a number
    assert rates and all(re.fullmatch(r"-?\d+(,\d+)?", r) for r in rates), rates[:5]
    assert any("," in r for r in rates)
    table = dash.kpis
    first = table["win_rate"].dropna().iloc[0]
    assert f"{first}".replace(".", ",") in rates  # the same number, written the Dutch way


def test_the_deals_panels_csv_in_german_uses_semicolons(deals):
    dash = Dashboard(deals, locale="de-DE")
    view = View(freq="Q", start="2024-01-01", end="2024-12-31")
    with i18n.using("de"):
        cell = chart_cell("channel_mix", {"channel": "paid", "period": "2024-Q2"}, view)
    dash.deals_panel.open(cell)
    dash.deals_panel.csv.click()  # outside any locale block: the panel's own
    _name, data = _downloaded(dash.deals_panel.links.value)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data[3:].decode("utf-8")
    first = text.splitlines()[0]
    assert first.count(";") >= 3 and "," not in first
    assert re.search(r";\d+,\d+;|;\d+,\d+$", text, re.M)  # an amount with a decimal comma
