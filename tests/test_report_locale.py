"""An HTML report written in Dutch: its headings, tiles, scorecard and KPI definitions in the
reader's language, and the page saying which language it is in."""

from __future__ import annotations

import re

import pytest

import channelkpi as ck
from channelkpi import i18n
from channelkpi.datasets import make_sample_deals

# every test here takes a quarter second or more: none belongs in the quick run
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dutch_report(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("report") / "review.html"
    # report(locale=) runs its work in i18n.using(locale): the same as here
    with i18n.using("nl-NL"):
        ck.report(make_sample_deals(), path=path, start="2025-01-01", end="2025-12-31")
    return path.read_text(encoding="utf-8")


def test_a_dutch_report_has_dutch_headings(dutch_report):
    assert "<html lang='nl'>" in dutch_report
    headings = re.findall(r"<h2>([^<]*)</h2>", dutch_report)
    assert headings[:3] == ["De acht KPI&#x27;s", "Grafieken", "Partner: scorekaart"]
    assert "Definities" in headings and "Datakwaliteit" in headings
    assert "<h1>Review van channelpartners</h1>" in dutch_report
    for english in ("The eight KPIs", "Definitions", "Data quality", "What is this?", "Average deal size"):
        assert english not in dutch_report, english


def test_a_dutch_report_explains_the_kpis_in_dutch(dutch_report):
    terms = re.findall(r"<dt>([^<]*)</dt>", dutch_report)
    kpis = {"Gemiddelde dealgrootte", "Aantal deals", "Opportunity-pijplijn", "Marketingkanalen", "Winratio"}
    kpis |= {"Dealsnelheid", "Kwaliteitsscore", "Dealsucces (conversie per cohort)"}
    assert kpis <= set(terms), set(terms)
    assert "De gemiddelde waarde van een deal die in de periode gewonnen is" in dutch_report
    assert "Gemiddelde dealgrootte" in re.findall(r"<div class='ck-label'>([^<]*)</div>", dutch_report)
