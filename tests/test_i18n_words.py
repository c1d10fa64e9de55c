"""The words people read in Dutch, German and French: KPI definitions without code names, the
command line's progress in the report's language, channel names and unreadable values said in
the dashboard's language."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest
from babel.messages.pofile import read_po

from channelkpi import i18n
from channelkpi.cli import main
from channelkpi.datasets import make_sample_deals
from channelkpi.widgets import Dashboard

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "kestrel_salesforce_opportunities.csv"
CODE_NAMES = (
    "pushed_out",
    "pulled_in",
    "transferred_in",
    "transferred_out",
    "step_conversion",
    "close_window=",
    "end = start + created - won - lost",
    "as_of",
    "where=",
    "entered_in_order",
    "movement_deals()",
)


@pytest.mark.parametrize("language", [lang for lang in i18n.LANGUAGES if lang != "en"])
def test_no_translation_puts_code_names_in_a_readers_prose(language):
    with (ROOT / "channelkpi" / "locale" / language / "LC_MESSAGES" / "channelkpi.po").open("rb") as f:
        catalog = read_po(f)
    # a {placeholder} is filled with a value, not read as a word
    prose = {m.id: re.sub(r"\{\w+\}", "", m.string or "") for m in catalog if m.id}
    found = [(name, str(key)[:60]) for key, text in prose.items() for name in CODE_NAMES if name in text]
    assert not found


@pytest.mark.slow
def test_the_command_line_reports_its_progress_in_german(tmp_path, capsys):
    # 1,500 rows of the sample: enough for a thousands separator, quick to report
    with SAMPLE.open(encoding="utf-8-sig", newline="") as f:
        lines = f.read().splitlines(keepends=True)
    small = tmp_path / "export.csv"
    small.write_text("".join(lines[:1501]), encoding="utf-8")
    with small.open(encoding="utf-8", newline="") as f:
        rows = sum(1 for _row in csv.reader(f)) - 1  # counted independently of the load
    assert main(["report", str(small), "-o", str(tmp_path / "bericht.html"), "--locale", "de-DE"]) == 0
    err = capsys.readouterr().err
    assert f"{rows:,}".replace(",", ".") + " Zeilen gelesen: " in err
    assert "Deals übernommen" in err and "rows read" not in err
    assert "bericht.html schreiben" in err and re.search(r"bericht\.html geschrieben \([\d.]+ kB\)", err)
    assert re.search(r"^channelkpi: \[\s*\d+,\d s\] ", err, re.M)  # seconds with a decimal comma
    assert "computing" not in err and "writing" not in err and "wrote" not in err
    # the load's own steps too, its count in German digits and the export named in German
    split = f"{rows:,}".replace(",", ".") + " Zeilen in "
    assert split in err and "Spalten aufgeteilt; sie werden als Salesforce-Berichtsexport gelesen" in err
    assert "Werte gelesen;" in err and "rows split" not in err and "reconciling" not in err


@pytest.mark.slow
def test_the_command_line_keeps_its_english(tmp_path, capsys):
    with SAMPLE.open(encoding="utf-8-sig", newline="") as f:
        lines = f.read().splitlines(keepends=True)
    small = tmp_path / "export.csv"
    small.write_text("".join(lines[:1501]), encoding="utf-8")
    assert main(["report", str(small), "-o", str(tmp_path / "review.html")]) == 0
    err = capsys.readouterr().err
    assert re.search(r"^channelkpi: \[\s*\d+\.\d s\] 1,500 rows read: [\d,]+ deals kept, ", err, re.M)
    assert re.search(r"wrote \S*review\.html \([\d,]+ kB\)", err)


BAD_EXPORT = (
    "Kans-ID;Wederverkoper;Fase;Bedrag;Aanmaakdatum;Sluitdatum\n"
    "K-001;Arcadia Networks;Gewonnen;1.234,50;31-01-2025;28-02-2025\n"
    "K-002;Bluefin Tech;Verloren;twaalf euro;15-02-2025;20-03-2025\n"
    "K-003;Arcadia Networks;Gewonnen;3.400,75;32-13-2025;30-04-2025\n"
    "K-004;Bluefin Tech;Gewonnen;800,00;01-03-2025;02-04-2025\n"
)


@pytest.fixture(scope="module")
def dutch_upload():
    dash = Dashboard(make_sample_deals(), locale="nl-NL")
    dash.load_upload("export.csv", BAD_EXPORT.encode())
    return dash


@pytest.mark.slow
def test_an_upload_says_in_dutch_how_many_values_could_not_be_read(dutch_upload):
    note = dutch_upload.message.value
    # 'twaalf euro' and '32-13-2025' are the two values no amount or date can be read from
    assert "2 waarden konden niet worden gelezen en zijn leeg gelaten" in note
    assert "Bedrag" in note and "Aanmaakdatum" in note and "Datakwaliteit" in note
    assert "could not be read" not in note


@pytest.mark.slow
def test_the_channel_named_in_a_dutch_caveat_is_dutch(dutch_upload):
    banner = dutch_upload.banner.value
    assert "het marketingkanaal van elke deal is &#x27;onbekend&#x27;" in banner
    assert "unknown" not in banner


@pytest.mark.slow
def test_without_lead_sources_the_partner_share_says_why_not_zero(dutch_upload):
    # the partner share is the partner marketing channel's, read from the lead source
    tiles = dutch_upload.tiles.value
    assert "geen leadbron" in tiles and "deze export heeft geen kolom leadbron" in tiles
    assert "0,0%" not in tiles.split("Gewonnen via partners")[1].split("geen leadbron")[0]


@pytest.mark.slow
def test_an_upload_says_where_the_view_ends_when_its_last_quarter_is_not_complete(dutch_upload):
    # the deals close up to 2 Apr 2025: the first quarter is the last complete one, so the view
    # ends in March and the message says where the April deal is
    note = dutch_upload.message.value
    assert dutch_upload.period.value[1] == pd.Timestamp("2025-03-01")
    assert "De weergave eindigt in mrt 2025" in note and "tot apr 2025" in note
    english = Dashboard(make_sample_deals())
    english.load_upload("export.csv", BAD_EXPORT.encode())
    assert "The view ends in Mar 2025, the end of the last quarter the data covers completely" in (
        english.message.value
    )


@pytest.mark.slow
def test_an_upload_whose_view_reaches_its_last_month_says_nothing_of_it():
    whole = BAD_EXPORT.replace("30-04-2025", "30-03-2025").replace("02-04-2025", "31-03-2025")
    dash = Dashboard(make_sample_deals())
    dash.load_upload("export.csv", whole.encode())
    assert dash.period.value[1] == dash.period.options[-1][1]
    assert "The view ends" not in dash.message.value


def test_the_deals_download_heads_the_probability_in_the_language():
    from channelkpi.drill import download_titles

    with i18n.using("nl"):
        titles = download_titles(["probability", "expected_close", "region"])
    assert titles["probability"] == "Kans"  # the Dutch catalog's word for the probability field
    assert titles["region"] == "Regio"
