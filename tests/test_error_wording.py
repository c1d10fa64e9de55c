"""The errors a load raises (about a mapping file, its arguments, a value it cannot read, a
detection it cannot settle) stay English data, and are said in the viewer's language where they
are shown: the dashboard's upload message, the mapping form and the command line with --locale."""

from __future__ import annotations

import html
import re

import pytest

from channelkpi import i18n
from channelkpi.cli import main
from channelkpi.datasets import make_sample_deals, sample_path
from channelkpi.errors import ChannelKPIError
from channelkpi.ingest import wording, wording_errors
from channelkpi.ingest.errors_said import error_said
from channelkpi.ingest.mapfile import Mapping
from channelkpi.mappingform import MappingForm
from channelkpi.widgets import Dashboard

# words of the English sentences that no Dutch, German or French sentence uses
_ENGLISH = re.compile(
    r"\b(the|and|which|with|could|cannot|must|read|column|row|value|fix|pass|write|headers?|this|that|are|"
    r"not|were|there|number|amount|use|did|you|mean|keys|file|should|both|maps|names|one|from|what|do)\b",
    re.IGNORECASE,
)
# what stays as it is in every language: quoted values, lists of headers, code and file names
_KEPT = re.compile(r"\w+=\{[^}]*\}|'[^']*'|\"[^\"]*\"|\[[^\]]*\]|`[^`]*`|\S*[=_{}()<>/]\S*|\S+\.(?:csv|toml)\b")


def english_words(text: str) -> list[str]:
    """The English words left in ``text`` once its values and code are set aside."""
    return _ENGLISH.findall(_KEPT.sub(" ", html.unescape(text)))


def message(dash: Dashboard) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", dash.message.value))


def test_the_checker_finds_english():
    assert english_words("deals.csv: the file is empty. Fix: export the report again") == ["the", "file", "Fix", "the"]
    assert english_words("x.csv: columns={'a b': 'c'} 'the value' [the, row] dayfirst=True") == []


@pytest.mark.slow
def test_a_mapping_file_error_in_dutch():
    dash = Dashboard(make_sample_deals(), locale="nl-NL")
    dash.load_upload("crm.toml", b'version = 1\n[stages]\n"Parked" = "lots"\n')
    text = message(dash)
    assert "crm.toml: [stages] leest 'Parked' als 'lots', en dat is geen uitkomst" in text
    assert 'Oplossing: bedoelde je \'lost\'? schrijf "won", "lost" of "open"' in text
    assert not english_words(text), text
    assert dash.mapping is None


def test_a_mapping_file_error_on_the_command_line_in_french(tmp_path, capsys):
    mapping = tmp_path / "crm.toml"
    mapping.write_text("version = 1\n[options]\ndayfirts = true\n", encoding="utf-8")
    argv = ["report", str(sample_path("salesforce")), "-o", str(tmp_path / "r.html"), "--mapping", str(mapping)]
    assert main([*argv, "--locale", "fr-FR", "--quiet"]) == 1
    line = capsys.readouterr().err.strip()
    assert line == (
        f"channelkpi : erreur : {mapping} : clé inconnue 'dayfirts' dans [options]. Solution : vouliez-vous dire "
        "'dayfirst' ? les options sont source, dayfirst, decimal, currency"
    )
    # without --locale the line is the load's own English, as before
    assert main([*argv, "--quiet"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"channelkpi: error: {mapping}: unknown key 'dayfirts' in [options]. Fix: did you mean 'dayfirst'? "
        "the options are source, dayfirst, decimal, currency"
    )


def test_an_argument_error_on_the_command_line_in_german(tmp_path, capsys):
    argv = ["report", str(sample_path("salesforce")), "-o", str(tmp_path / "r.html"), "--keep", "Regoin"]
    assert main([*argv, "--locale", "de-DE", "--quiet"]) == 1
    line = capsys.readouterr().err.strip()
    assert line.startswith("channelkpi: Fehler: kestrel_salesforce_opportunities.csv: keep= nennt 'Regoin', das keine")
    assert line.endswith(
        "(Spalte 'Regoin'). Lösung: nennen Sie eine Spaltenüberschrift genau so, wie sie in der ersten Zeile steht"
    )
    assert not english_words(line), line
    assert not (tmp_path / "r.html").exists()


@pytest.mark.slow
def test_an_unreadable_amount_in_german_with_its_notebook_fix():
    bad = b"Opportunity ID,Stage,Amount,Close Date\n006A,Closed Won,abc,2025-01-02\n006B,Closed Lost,xyz,2025-01-03\n"
    dash = Dashboard(make_sample_deals(), locale="de-DE")
    dash.load_upload("deals.csv", bad)
    text = message(dash)
    assert (
        "deals.csv: kein Wert in dieser Betragsspalte lässt sich als Zahl lesen (Zeile 2, Spalte 'Amount', Wert 'abc')"
        in text
    )
    # the fix written for Python is said in German too; its code stays code
    assert "(In einem Notebook: ordnen Sie die Betragsspalte mit columns={'their amount header': 'amount'} zu.)" in text
    assert not english_words(text), text


@pytest.mark.slow
def test_dates_in_two_orders_in_french():
    bad = b"Opportunity ID,Stage,Amount,Close Date\n006A,Closed Won,1,13/01/2025\n006B,Closed Lost,2,01/14/2025\n"
    dash = Dashboard(make_sample_deals(), locale="fr-FR")
    dash.load_upload("deals.csv", bad)
    text = message(dash)
    assert "les dates mélangent jour d'abord et mois d'abord ('13/01/2025' et '01/14/2025')" in text
    assert "Solution : exportez la colonne dans un seul format de date" in text
    assert not english_words(text), text


def test_a_detection_error_on_the_command_line_in_dutch(tmp_path, capsys):
    export = tmp_path / "x.csv"
    export.write_text("Foo,Bar\n1,2\n3,4\n", encoding="utf-8")
    assert main(["report", str(export), "-o", str(tmp_path / "r.html"), "--locale", "nl-NL", "--quiet"]) == 1
    line = capsys.readouterr().err
    assert line.startswith(
        "channelkpi: fout: x.csv: niet te zien uit welk CRM deze export komt, en de kolommen zijn op inhoud niet "
        "zeker genoeg herkend; nog nodig: "
    )
    assert (
        "Oplossing: controleer het voorstel, verbeter het waar het niet klopt en geef het mee aan load_crm.\n" in line
    )
    assert (
        "\nHet voorstel:\n" in line and "\nNiets is zeker genoeg herkend om te plakken: benoem de kolommen zelf" in line
    )


@pytest.mark.slow
def test_the_mapping_form_says_why_the_export_cannot_be_read_in_dutch():
    export = b"Ref,Stage,Amount,Close\nA1,Won,abc,2025-01-02\nA2,Lost,xyz,2025-01-03\n"
    mapping = Mapping(
        columns={"Ref": "deal_id", "Stage": "stage", "Amount": "amount", "Close": "closed"},
        stage_map={"Won": "won", "Lost": "lost"},
    )
    with i18n.using("nl-NL"):
        form = MappingForm("deals.csv", export, proposal=mapping)
    assert form.problem == (
        "Met deze koppeling is de export niet te lezen: deals.csv: geen enkele waarde in deze bedragkolom is als "
        "getal te lezen (rij 2, kolom 'Amount', waarde 'abc'). Oplossing: koppel de bedragkolom met "
        "columns={'their amount header': 'amount'}"
    )
    assert not english_words(form.problem), form.problem


def test_error_said_is_the_error_itself_in_english():
    exc = ChannelKPIError(
        wording_errors.NOT_A_CHANNEL.format(value="'Web'", channel="'online'"),
        file="crm.toml",
        row=4,
        column="Source",
        value="Web",
        fix=wording_errors.GUESS_USE_ONE_OF.format(guess="'inbound'", choices="'partner', 'inbound'"),
    )
    assert error_said(exc) == str(exc)
    assert error_said(ValueError("plain")) == "plain"


@pytest.mark.parametrize("language", ["nl", "de", "fr"])
def test_every_error_template_is_said_and_read_as_its_own(language):
    # each template of the load's errors reads back as itself (no other template takes its text)
    # and is translated, its values kept
    assert set(wording_errors.SENTENCES) <= set(wording.SENTENCES)
    assert {wording_errors.NOT_A_CHANNEL, wording_errors.NO_AMOUNT_READ, wording_errors.UNKNOWN_CRM} <= set(
        wording_errors.SENTENCES
    )
    for template in wording_errors.SENTENCES:
        values = {n: f"<{n}>" for n in re.findall(r"\{(\w+)\}", template)}
        english = template.format(**values)
        with i18n.using(language):
            text = wording.said(english)
            assert text == i18n.gettext(template).format(**values), template
        assert text != english, (template, language)
        assert all(v in text for v in values.values()), template
