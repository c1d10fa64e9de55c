"""What a load writes stays English data; the dashboard and the report say it in the viewer's
language: the ledger's reasons and details, the load's warnings and an upload's error."""

from __future__ import annotations

import re

import pytest

import channelkpi as ck
from channelkpi import i18n
from channelkpi.datasets import make_sample_deals
from channelkpi.ingest import wording
from channelkpi.reports import report
from channelkpi.tiles import ledger_html
from channelkpi.widgets import Dashboard

# a duplicate row, an open deal with a close date, a footer line, a row that is not a deal, and a
# stage the stage map does not know
EXPORT = (
    "Opportunity ID,Opportunity Name,Stage,Amount,Created Date,Close Date,Partner Account\n"
    "006A,Alpha,Closed Won,1000,2025-01-02,2025-02-03,Brightline\n"
    "006A,Alpha,Closed Won,1000,2025-01-02,2025-02-03,Brightline\n"
    "006B,Beta,Negotiation,500,2025-01-05,2025-03-01,Brightline\n"
    "006C,Gamma,Closed Lost,700,2025-01-06,2025-02-10,Northwind\n"
    "006D,Delta,Qualify Later,300,2025-01-07,,Northwind\n"
    ",,,,,,\n"
    "Total,,,,,,\n"
)


@pytest.fixture(scope="module")
def result():
    return ck.load_crm(EXPORT.encode(), source="salesforce_report")


@pytest.mark.slow
def test_the_ledger_and_warnings_stay_english_data(result):
    ledger = result.ledger
    assert set(ledger["reason"]) == {"duplicate_row", "footer"}
    assert "identical to row 2; counted once" in set(ledger["detail"])
    assert "1 row(s) are exact repeats of an earlier row and were counted once" in result.warnings
    with i18n.using("nl"):  # a locale in force does not change what the load writes
        again = ck.load_crm(EXPORT.encode(), source="salesforce_report")
    assert again.ledger.equals(ledger) and again.warnings == result.warnings


def test_every_sentence_reads_back_in_each_language():
    for template in wording.SENTENCES:
        names = sorted(set(re.findall(r"\{(\w+)\}", template)))
        values = {n: f"<{n}>" for n in names}
        english = template.format(**values)
        for language in ("nl", "de", "fr"):
            with i18n.using(language):
                text = wording.said(english)
                translation = i18n.gettext(template)
            assert text == translation.format(**values), (template, language)
            assert text != english or translation == template, (template, language)
            assert all(v in text for v in values.values())


def test_a_row_list_is_said_in_the_language():
    english = wording.OPEN_WITH_CLOSE.format(count=7, rows="row 4 'x', row 9 and 5 more")
    with i18n.using("de"):
        assert wording.said(english).endswith("(Zeile 4 'x', Zeile 9 und 5 weitere)")
    with i18n.using("fr"):
        assert wording.said(english).endswith("(ligne 4 'x', ligne 9 et 5 de plus)")


def test_the_data_quality_tab_speaks_dutch(result):
    with i18n.using("nl"):
        page = ledger_html(result)
    assert "gelijk aan rij 2; één keer geteld" in page
    assert "dubbele rij" in page and "voettekst" in page  # the reason codes in words
    assert "voettekst- of totaalregel &#x27;Total&#x27;" in page
    assert "1 rij(en) zijn exacte herhalingen van een eerdere rij en zijn één keer geteld" in page
    assert "fase(s) die niet in de fase-indeling staan, zijn als open gelezen" in page
    assert "counted once" not in page and "stage map" not in page
    assert "identical to row 2; counted once" in ledger_html(result)  # English as before


@pytest.mark.slow
def test_the_german_report_says_the_ledger_in_german(result, tmp_path):
    report(result, path=tmp_path / "bericht.html", locale="de-DE")
    page = (tmp_path / "bericht.html").read_text(encoding="utf-8")
    page = page[page.index("<h2>Datenqualität</h2>") :]
    assert "doppelte Zeile" in page and "Fußzeile" in page
    assert "1 Zeile(n) wiederholen eine frühere Zeile genau und wurden einmal gezählt" in page
    assert "duplicate_row" not in page and "counted once" not in page


@pytest.mark.slow
def test_an_upload_error_in_french():
    dash = Dashboard(make_sample_deals(), locale="fr-FR")
    dash.load_upload("vide.csv", b"")
    assert "vide.csv : le fichier est vide. Solution : exportez de nouveau le rapport, avec ses lignes d’affaires" in (
        dash.message.value.replace("&#x27;", "'")
    )
    english = Dashboard(make_sample_deals())
    english.load_upload("empty.csv", b"")
    assert "empty.csv: the file is empty. Fix: export the report again with its rows" in english.message.value


@pytest.mark.slow
def test_an_upload_error_with_a_row_and_a_column_in_dutch():
    # a stage that reads closed, neither won nor lost: an error naming the row, column and value
    bad = "Opportunity ID,Stage,Amount,Close Date\n006A,Closed Won,1000,2025-01-02\n006B,Closed Other,5,2025-01-03\n"
    dash = Dashboard(make_sample_deals(), locale="nl-NL")
    dash.load_upload("deals.csv", bad.encode())
    text = dash.message.value.replace("&#x27;", "'")
    assert "(rij 3, kolom 'Stage', waarde 'Closed Other')" in text
    assert "Wat te doen:" in text or "Wat u kunt doen" in text, text
    assert "row 3" not in text and "What to do" not in text


def test_the_data_quality_counts_use_the_locales_numbers_and_names():
    # 1,500 deals written with the csv module: the count needs a thousands separator
    lines = ["Opportunity ID,Stage,Amount,Close Date"]
    lines += [f"006{i:05d},Closed Won,100,2025-01-02" for i in range(1500)]
    result = ck.load_crm("\n".join(lines).encode(), source="salesforce_report")
    with i18n.using("nl"):
        page = ledger_html(result)
    assert "<td>gelezen rijen</td><td>1.500</td>" in page
    assert "salesforce_report" not in page  # the export's name, not the preset's code
    assert "<td>rows_read</td><td>1,500</td>" in ledger_html(result)
