"""The dashboard in the viewer's language: made in it, and still speaking it in the callbacks
ipywidgets runs later (outside the block the dashboard was made in), and the page's language
read from the Voilà request."""

from __future__ import annotations

import json
import re

import pytest

from channelkpi import i18n
from channelkpi.datasets import make_sample_deals
from channelkpi.serving import WAITS_FOR_VIEWER, request_locale
from channelkpi.widgets import Dashboard


@pytest.fixture(scope="module")
def deals():
    return make_sample_deals()


@pytest.fixture(scope="module")
def dutch(deals):
    return Dashboard(deals, locale="nl")


def _tab_titles(dash) -> list[str]:
    return [dash.tabs.get_title(i) for i in range(len(dash.tabs.children))]


@pytest.mark.slow
def test_a_dutch_dashboard_is_made_in_dutch(dutch):
    assert dutch.locale == "nl-NL"
    assert _tab_titles(dutch)[:3] == ["Overzicht", "Partners", "Pijplijn"]
    assert _tab_titles(dutch)[-1] == "Datakwaliteit"
    assert (dutch.by.description, dutch.freq.description, dutch.period.description) == ("Niveau", "Per", "Periode")
    assert [label for label, _code in dutch.freq.options] == ["Maand", "Kwartaal", "Jaar"]
    assert "Gemiddelde dealgrootte" in dutch.tiles.value and "Average deal size" not in dutch.tiles.value
    assert dutch.clear.description == "Selectie wissen"
    assert dutch.picker.label == "Partners" and dutch.picker.empty_text == "Alle partners"
    assert dutch.picker.texts["more"] == "en nog {count}: typ om de lijst te verkleinen"
    assert "KPI&#x27;s voor channelpartners" in dutch.header.value  # escaped, as every text
    # the chart on screen: its title and axis in Dutch
    spec = dutch.charts["trend"].chart.to_dict()
    assert spec["title"]["text"] == "Gewonnen bedrag"


@pytest.mark.slow
def test_callbacks_after_construction_speak_the_dashboards_language(deals):
    dash = Dashboard(deals, locale="de-DE")
    assert i18n.current_locale() == "en-US"  # the test itself runs outside any locale
    dash.by.value = "owner"  # what a viewer's choice does: an observer, in a later comm message
    assert dash.picker.label == "Mitarbeiter" and dash.picker.empty_text == "Alle Mitarbeiter"
    assert "Durchschnittliche Dealgröße" in dash.tiles.value
    assert "Average deal size" not in dash.tiles.value
    dash.tabs.selected_index = 1  # the Partners tab: its ranking drawn now, by a callback
    assert dash.ranking_help.value.startswith("<p class='ck-note'>Klicken Sie auf einen Balken")
    title = dash.charts["ranking"].chart.to_dict()["title"]["text"]
    assert title == "Mitarbeiter-Ranking nach Qualitätsscore"
    dash.freq.value = "M"
    assert "monatlich" in dash.showing.value
    # charts read from Python are drawn in the dashboard's language too (a tab not shown yet)
    assert dash.charts["cohorts"].chart.to_dict()["title"]["text"] == "Dealerfolg nach Anlage-Kohorte"


@pytest.mark.slow
def test_the_deals_panel_keeps_the_language_in_its_own_callbacks(deals):
    dash = Dashboard(deals, locale="fr-FR")
    dash.show_deals("win_rate")
    panel = dash.deals_panel
    assert panel.sort.options[0][0] == "Selon le calcul (gagnées d'abord), plus gros montant d'abord"
    panel.csv.click()  # a button's callback, outside the dashboard's `using` block
    assert "Enregistrer " in panel.links.value


@pytest.mark.slow
def test_an_unknown_language_falls_back_to_english_with_a_warning(deals):
    with pytest.warns(UserWarning, match="no 'tlh' translation"):
        dash = Dashboard(deals, locale="tlh")
    assert dash.locale == "en-US" and _tab_titles(dash)[0] == "Overview"


@pytest.mark.slow
def test_a_program_name_goes_before_the_title_in_the_language(deals):
    assert "Kestrel Networks: channel partner KPIs" in Dashboard(deals, program="Kestrel Networks").header.value
    french = Dashboard(deals, program="Kestrel Networks", locale="fr-BE")
    assert "Kestrel Networks : KPI des partenaires de distribution" in french.header.value


def test_the_page_language_comes_from_the_voila_request(monkeypatch):
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    monkeypatch.setenv("QUERY_STRING", "lang=nl")
    monkeypatch.setenv("HTTP_ACCEPT_LANGUAGE", "de-DE,de;q=0.9")
    assert request_locale() == "nl-NL"
    monkeypatch.setenv("QUERY_STRING", "")
    assert request_locale() == "de-DE"  # the browser's language when the URL says none
    monkeypatch.setenv("HTTP_ACCEPT_LANGUAGE", "es-ES, en-GB;q=0.7, fr;q=0.8")
    assert request_locale() == "fr-FR"  # by preference, skipping what channelkpi does not speak
    monkeypatch.delenv("QUERY_STRING")
    monkeypatch.delenv("HTTP_ACCEPT_LANGUAGE")
    assert request_locale() == "en-US"  # JupyterLab: no request at all


def test_the_dashboard_notebook_passes_the_request_language():
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "dashboard.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    waits = [c for c in code if WAITS_FOR_VIEWER in c["metadata"].get("tags", [])]
    assert len(waits) == 1 and "request_locale()" in "".join(waits[0]["source"])
    # the export is loaded before the wait (a kept-ready kernel has it), the dashboard made after
    order = [
        i for i, c in enumerate(code) if re.search(r"load_crm|request_locale\(\)|Dashboard\(", "".join(c["source"]))
    ]
    assert [
        next(k for k in ("load_crm", "request_locale()", "Dashboard(") if k in "".join(code[i]["source"]))
        for i in order
    ] == ["load_crm", "request_locale()", "Dashboard("]
    assert "locale=locale" in "".join(code[order[-1]]["source"])
