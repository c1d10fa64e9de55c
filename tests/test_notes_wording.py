"""The load's reading notes, the reasons of columns recognised by meaning and the export's name
are said in the viewer's language where they are shown (the data-quality tab, the report's
data-quality section, the mapping form); the load itself keeps writing them in English."""

from __future__ import annotations

import html as html_module
import io
import re

import pytest

import channelkpi as ck
from channelkpi.i18n import using
from channelkpi.mappingform import MappingForm
from channelkpi.tiles import ledger_html

# a title row above the header, a byte that is not UTF-8 ("Café" in Windows-1252), headers no
# preset knows (recognised by meaning), dates that read either way round
EXPORT = (
    b"Pipeline report\n"
    b"ref,phase,deal_value,partner name,opened\n"
    b"R1,Won,5,Caf\xe9,01/02/2024\n"
    b"R2,Lost,7,Acme,03/04/2024\n"
    b"R3,Negotiating,9,Acme,05/06/2024\n"
)

# English words of the notes that a Dutch screen must not show (values, headers and code aside)
ENGLISH = re.compile(
    r"\b(skipped|title row|header|the file is not|read it as|recognised|meaning|means|not used|"
    r"sure|likely|weak|To keep|pass|custom export|every date|day-first|values|Note)\b"
)


def _text(html: str) -> str:
    return html_module.unescape(re.sub(r"<[^>]+>", " ", html))


def test_the_load_keeps_its_notes_in_english():
    result = ck.load_crm(io.BytesIO(EXPORT))
    notes = "\n".join(result.warnings)
    assert "skipped 1 title row(s) above the header (rows 1-1)" in notes
    assert "the file is not UTF-8 (first non-UTF-8 byte on line 3); read it as cp1252" in notes
    assert "no preset knows these headers, so the columns were recognised by meaning:" in notes
    assert result.source.label == "custom export (columns recognised by meaning)"


def test_the_data_quality_tab_says_the_notes_and_reasons_in_dutch():
    result = ck.load_crm(io.BytesIO(EXPORT))
    with using("nl-NL"):
        text = _text(ledger_html(result))
    assert "1 titelrij(en) boven de kop overgeslagen (rijen 1-1)" in text
    assert "het bestand is geen UTF-8" in text
    assert "dus de kolommen zijn op betekenis herkend" in text
    assert "eigen export (kolommen herkend aan hun inhoud)" in text
    # the recognised columns' certainty and reason: "'ref' -> deal_id (zeker: kop 'ref' betekent ...)"
    assert re.search(r"'phase' -> stage \((zeker|waarschijnlijk): kop 'phase' betekent stage \(Engels", text)
    # the code to paste stays code; no English sentence is left outside it
    prose = "\n".join(line for line in text.splitlines() if not re.match(r"\s*(columns|stage_map|dayfirst)=", line))
    assert not ENGLISH.search(prose.replace("stage_map", "")), ENGLISH.search(prose)


@pytest.mark.slow
def test_the_report_says_the_notes_and_the_export_name_in_german(tmp_path):
    result = ck.load_crm(io.BytesIO(EXPORT))
    (path,) = ck.report(result, path=tmp_path / "bericht.html", locale="de-DE")
    text = _text(path.read_text(encoding="utf-8"))
    assert "eigener Export (Spalten anhand ihres Inhalts erkannt)" in text
    assert "1 Titelzeile(n) über der Kopfzeile übersprungen" in text
    assert "Spaltenkopf 'phase' bedeutet stage (Englisch" in text
    assert "skipped" not in text and "recognised" not in text and "custom export" not in text


def test_a_salesforce_export_is_named_in_french():
    csv = b"Opportunity ID,Opportunity Name,Stage,Amount,Created Date,Close Date\n006A,Big,Closed Won,5,2024-01-02,2024-02-03\n"
    result = ck.load_crm(io.BytesIO(csv))
    assert result.source.label == "Salesforce report export"
    with using("fr-FR"):
        assert "export de rapport Salesforce" in _text(ledger_html(result))


@pytest.mark.slow
def test_the_mapping_form_counts_with_the_locale_and_says_its_advice_in_words():
    # 1,234 deals whose dates fit both orders: the form's note about them names the form's
    # Dates choice, not Python's dayfirst=
    rows = "".join(f"X{i},{'Won' if i % 2 else 'Pitching'},{i},0{1 + i % 9}/1{i % 3}/2024\n" for i in range(1234))
    csv = ("ref,phase,deal_value,opened\n" + rows).encode()
    with using("nl-NL"):
        form = MappingForm("deals.csv", csv)
        form.choose("deal_id", "ref")
        form.choose("stage", "phase")
        form.choose("amount", "deal_value")
        form.choose("created", "opened")
        form.read_stage("Pitching", "open")
        counts = _text(form.counts_html.value)
    assert "1.234 rijen gelezen: 1.234 behouden" in counts
    assert "elke datum past zowel dag-eerst als maand-eerst" in counts
    assert "kies dan de volgorde onder Datums" in counts
    assert "dayfirst" not in counts and "1,234" not in counts
