"""explain() and the report's definitions in the reader's language: every line of the KPI
contract (formula, date, window, variants, exclusions), the column names left as they are."""

from __future__ import annotations

import re

import pytest

import channelkpi as ck
from channelkpi.datasets import make_sample_deals, toy_deals
from channelkpi.metrics.definitions import DEFINITIONS


def test_explain_in_dutch_says_every_line_in_dutch():
    text = ck.explain("win_rate", locale="nl-NL")
    lines = text.splitlines()
    assert lines[0] == "Winratio -- channelkpi.win_rate"
    assert re.match(r"  formule: +gewonnen / \(gewonnen \+ verloren\) onder de deals gesloten in de periode", lines[1])
    assert re.match(r"  datum: +sluitdatum$", lines[2])
    assert "over alle gegevens" in lines[3] and lines[3].lstrip().startswith("venster:")
    assert "naar waarde: gewonnen bedrag" in text and "interval: Wilson-score 95% op het aantal" in text
    assert re.search(r"^  kolommen: +win_rate, win_rate_low, win_rate_high", text, re.M)  # names of code
    english = ck.explain("win_rate")
    assert "among deals closed in the period" in english and "among deals closed" not in text
    # the values start in one column, the continuation lines of the variants too
    starts = {len(line) - len(line.split(":", 1)[1].lstrip()) for line in lines[1:4]}
    assert len(starts) == 1
    variants = [i for i, line in enumerate(lines) if line.lstrip().startswith("varianten:")][0]
    assert len(lines[variants + 1]) - len(lines[variants + 1].lstrip()) == starts.pop()


@pytest.mark.slow
def test_explain_of_a_table_in_french():
    text = ck.explain(ck.win_rate(toy_deals()), locale="fr-FR")
    assert re.search(r"^  lignes : +6 dans la table, 5 utilisées ; exclues : not_closed 1$", text, re.M)
    assert ck.explain(ck.win_rate(toy_deals())).splitlines()[-1] == (
        "  rows:      6 in the table, 5 used; excluded: not_closed 1"
    )


def test_every_definition_reads_in_german_without_an_english_line():
    for name, d in DEFINITIONS.items():
        text = ck.explain(name, locale="de-DE")
        for english in (d.formula, d.date_field, d.window, d.excludes, *d.variants):
            if english:
                assert english not in text, (name, english)


@pytest.mark.slow
def test_the_german_report_defines_the_kpis_in_german(tmp_path):
    ck.report(make_sample_deals(), path=tmp_path / "bericht.html", locale="de-DE")
    page = (tmp_path / "bericht.html").read_text(encoding="utf-8")
    defs = page[page.index("<h2>Definitionen</h2>") :]
    assert "gewonnen / (gewonnen + verloren) unter den im Zeitraum abgeschlossenen Deals" in defs
    assert "among deals closed in the period" not in defs and "close date" not in defs
