"""The dashboard in Dutch in a real browser: `?lang=nl` in the address (and, without it, the
browser's own language) makes the page Voilà serves speak it, with no English word left on
screen except data values (partner, product and people's names) and a short allow-list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from browsing import ROOT, Voila, open_page, tile

import channelkpi as ck
from channelkpi.datasets import sample_path

pytestmark = pytest.mark.browser

LOCALES = ROOT / "channelkpi" / "locale"
WORD = re.compile(r"[^\W\d_]{3,}")  # words of three letters or more, in any alphabet
#: Words that stay as they are in a Dutch dashboard: abbreviations and names of file formats and
#: tools, and the export format's name the heading quotes (the CRM presets' own labels).
ALLOWED = {"kpi", "kpis", "csv", "png", "svg", "excel", "crm", "salesforce", "report", "export", "ctrl"}


def _words(text: str) -> set[str]:
    return {w.lower() for w in WORD.findall(re.sub(r"\{\w+\}", " ", text))}


def english_words() -> set[str]:
    """The words of the dashboard's English messages that no Dutch message uses: one of them on
    a Dutch page is a message left untranslated (or never wrapped for translation)."""
    with (LOCALES / "channelkpi.pot").open("rb") as f:
        english = set().union(*(_words(m.id) for m in read_po(f) if m.id))
    with (LOCALES / "nl" / "LC_MESSAGES" / "channelkpi.po").open("rb") as f:
        dutch = set().union(*(_words(m.string) for m in read_po(f) if m.id and m.string))
    return english - dutch - ALLOWED


@pytest.fixture(scope="module")
def dashboard():
    server = Voila(ROOT / "notebooks" / "dashboard.ipynb")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def data_words() -> set[str]:
    """Every word of a data value the page may show: names of partners, accounts, people,
    products, stages, channels, sources, tiers, regions and units, and the file's and program's."""
    result = ck.load_crm(sample_path("salesforce"), partners=sample_path("partners"), owners=sample_path("owners"))
    deals = result.deals
    columns = ["partner", "account", "owner", "manager", "product", "stage", "channel", "source", "tier", "region"]
    columns += ["unit", "department"]
    values = {str(v) for c in columns if c in deals for v in deals[c].dropna().unique()}
    values |= {str(v) for v in deals["name"].dropna().unique()} if "name" in deals else set()
    # the data-quality tab quotes values of the file (a footer's text) as the file has them
    values |= {q for d in result.ledger["detail"].dropna().astype(str) for q in re.findall(r"'([^']*)'", d)}
    values |= {Path(result.file).name, "Kestrel Networks"}
    return set().union(*(_words(v) for v in values))


def page_text(page) -> str:
    """What the page shows: its visible text and the charts' own texts (titles, axes, legends)."""
    return page.evaluate(
        """() => document.body.innerText + "\\n" +
            [...document.querySelectorAll('.vega-embed svg text')].map(t => t.textContent).join("\\n")"""
    )


def open_dutch(browser, url):
    page, outside, dialogs = open_page(browser, url)
    page.wait_for_selector(".ck-label:has-text('Gemiddelde dealgrootte')", timeout=120_000)
    page.wait_for_selector(".vega-embed .role-title-text:has-text('Gewonnen bedrag')", timeout=120_000)
    return page, outside, dialogs


def test_the_dashboard_speaks_dutch_with_lang_nl(browser, dashboard, data_words):
    page, outside, dialogs = open_dutch(browser, dashboard.url + "?lang=nl")
    try:
        text = page_text(page)
        # each tab draws its charts when it is first shown: visit them all, so their legends,
        # bar labels and tables are read too
        for tab in ("Pijplijn", "Kanalen", "Winratio", "Snelheid", "Dealsucces", "Beweging", "Datakwaliteit"):
            page.locator(".lm-TabBar-tab", has_text=tab).first.click()
            page.wait_for_timeout(4000)  # the kernel draws the tab's charts
            text += "\n" + page_text(page)
        for tab in ("Overzicht", "Partners", "Pijplijn", "Kanalen", "Winratio", "Snelheid", "Dealsucces"):
            assert page.locator(".lm-TabBar-tab", has_text=tab).count() >= 1, tab
        for label in ("Niveau", "Periode", "Selectie wissen", "Uw export", "Alle kanalen", "Wat is dit?"):
            assert label in text, (label, text)
        english = english_words()
        assert {"average", "deal", "size", "clear", "selection", "channels", "period"} & english  # it can find some
        found = sorted((_words(text) & english) - data_words)
        context = {w: re.findall(rf".{{0,40}}\b{w}\b.{{0,40}}", text, flags=re.IGNORECASE)[:2] for w in found}
        assert not found, f"English on the Dutch page: {context}"
        assert outside == [] and dialogs == []
    finally:
        page.close()


def test_without_lang_the_browsers_language_is_used(browser, dashboard):
    context = browser.new_context(locale="de-DE", viewport={"width": 1400, "height": 1100})  # Accept-Language: de-DE
    page = context.new_page()
    try:
        page.route("**/*", lambda r: r.continue_() if "127.0.0.1" in r.request.url else r.abort())
        page.goto(dashboard.url)
        page.wait_for_selector(".ck-label:has-text('Durchschnittliche Dealgröße')", timeout=120_000)
        assert page.locator(".lm-TabBar-tab", has_text="Überblick").count() == 1
    finally:
        context.close()


def test_a_dutch_tile_writes_money_the_dutch_way(browser, dashboard):
    # THIS ASSERTION DEPENDS ON THE LOCALE NUMBER FORMATS (channelkpi.formats reading the locale in
    # force, with channelkpi.vegalocale): it is skipped until they are in, and must pass once they
    # are. Check it runs (not skipped) after merging them.
    pytest.importorskip("channelkpi.vegalocale", reason="the locale number formats are not in this tree yet")
    page, _outside, _dialogs = open_dutch(browser, dashboard.url + "?lang=nl")
    try:
        # `€ 1.234,56`-style (the sample is in US dollars): the symbol before the number with a
        # space, a decimal comma (`US$ 30,9K`, `$ 30,9k`), and a dot between thousands
        money = tile(page, "Gemiddelde dealgrootte")
        assert re.fullmatch(r"(US)?\$\s\d{1,3}(\.\d{3})*(,\d+)?\s?[^\d\s]*", money) and "," in money, money
        count = tile(page, "Gewonnen deals")
        assert re.fullmatch(r"\d{1,3}(\.\d{3})+", count), count
    finally:
        page.close()
