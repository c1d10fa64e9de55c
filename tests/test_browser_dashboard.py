"""The dashboard's selection, uploads and layout in a real browser (Debian's chromium, offline).

What a person at the dashboard sees and does: a click in the ranking shows up in the Partners box
and the box's choice on the ranking's bars; search ignores case and accents; everything works
from the keyboard; an uploaded export is named and what it lacks is said above the tiles; the page
fits 1400, 800 and 390 px wide screens.
"""

from __future__ import annotations

import re
import time

import pandas as pd
import pytest
from browsing import ROOT, Voila, open_page, tile, wait_for_tile_value, won

import channelkpi as ck
from channelkpi.datasets import sample_path

pytestmark = pytest.mark.browser

CAFE = "Cafe Systemes SARL"  # the partner table's spelling
BARS = ".vega-embed:has-text('ranking by quality score') path[aria-roledescription='bar']"
HIGHLIGHT = "#0072B2"  # a chosen bar's colour (the others are pale)


@pytest.fixture(scope="module")
def dashboard():
    server = Voila(ROOT / "notebooks" / "dashboard.ipynb")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def deals():
    # as the dashboard notebook loads them: the export spells "Café Systèmes SARL" what the partner
    # table calls "Cafe Systemes SARL", and the deals take the table's spelling
    return ck.load_crm(sample_path("salesforce"), partners=sample_path("partners"), owners=sample_path("owners")).deals


def chips(page) -> list[str]:
    return [
        t.replace("×", "").strip() for t in page.locator(".ck-pick:not(.ck-pick-inline) .ck-chip").all_inner_texts()
    ]


def listed(page) -> list[str]:
    return page.locator(".ck-pick:not(.ck-pick-inline) .ck-pick-option").all_inner_texts()


def highlighted(page) -> list[str]:
    """The partners whose ranking bar is drawn chosen (every bar is when nothing is chosen), read
    from the data Vega attaches to each drawn bar."""
    return page.evaluate(
        """colour => [...document.querySelectorAll(".vega-embed path[aria-roledescription='bar']")]
            .filter(p => p.getBoundingClientRect().width > 0 && p.getAttribute('fill') === colour)
            .map(p => p.__data__.datum.partner)""",
        HIGHLIGHT,
    )


def wait_until(check, what, timeout=60, *, show=None):
    """Wait for ``check()`` to be true; on a timeout say what was awaited and what ``show()`` gives."""
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f": {show()!r}" if show else ""))
        time.sleep(0.25)


def clear_button(page):
    return page.get_by_role("button", name="Clear selection")


def test_the_ranking_and_the_partners_box_are_one_selection(browser, dashboard, deals):
    page, outside, dialogs = open_page(browser, dashboard.url)
    total = won(deals)
    assert tile(page, "Deals won") == total and not clear_button(page).is_enabled()
    page.get_by_role("tab", name="Partners").click()
    page.wait_for_selector(BARS, timeout=60_000)
    assert len(highlighted(page)) == page.locator(BARS).count() == 20

    # a click on a bar puts the partner in the box, and every tile follows
    page.locator(BARS).filter(has=page.locator("xpath=self::*[contains(@aria-label, 'Cobalt Integrations')]")).click()
    wait_until(lambda: chips(page) == ["Cobalt Integrations"], "the clicked partner in the box")
    wait_for_tile_value(page, "Deals won", won(deals, "Cobalt Integrations"))
    assert "Showing: Cobalt Integrations" in page.locator(".ck-showing").inner_text()
    assert clear_button(page).is_enabled()
    assert highlighted(page) == ["Cobalt Integrations"]

    # removing it from the box takes the highlight off its bar
    page.get_by_role("button", name="Remove Cobalt Integrations").click()
    wait_until(lambda: len(highlighted(page)) == 20, "every bar back to unselected")
    wait_for_tile_value(page, "Deals won", total)
    assert chips(page) == [] and "All partners" in page.locator(".ck-pick").first.inner_text()
    wait_until(lambda: not clear_button(page).is_enabled(), "Clear selection greyed out again")

    # search: any part of a name, any case; Enter chooses the first match; its bar is highlighted
    search = page.get_by_placeholder("Search partners")
    search.fill("bri")
    wait_until(lambda: listed(page) == ["Brightline IT"], "'bri' to list Brightline IT", show=lambda: listed(page))
    search.fill("SYSTÈMES")  # any case, with or without accents
    wait_until(lambda: listed(page) == [CAFE], "'SYSTÈMES' to list Cafe Systemes SARL")
    search.fill("direct")
    wait_until(lambda: listed(page) == ["Direct (no partner)"], "the direct deals under their name")
    search.fill("bri")
    wait_until(lambda: listed(page) == ["Brightline IT"], "'bri' again")
    search.press("Enter")
    wait_until(lambda: chips(page) == ["Brightline IT"], "Enter to choose the match")
    wait_until(lambda: highlighted(page) == ["Brightline IT"], "the chosen partner's bar highlighted")
    wait_for_tile_value(page, "Deals won", won(deals, "Brightline IT"))
    assert page.get_by_placeholder("Search partners").input_value() == ""

    # the keyboard alone: Tab reaches the search box, then the list; type, ↓ into the list, Space
    # to choose; Tab reaches the chips
    page.locator(".ck-title").click()
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('placeholder')") == "Search partners":
            break
    else:
        raise AssertionError("Tab never reaches the partner search")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('role')") == "listbox"
    page.keyboard.press("Shift+Tab")
    page.keyboard.type("cafe")
    wait_until(lambda: listed(page) == [CAFE], "'cafe' to list Cafe Systemes SARL")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.getAttribute('role')") == "listbox"
    page.keyboard.press("Space")
    wait_until(lambda: chips(page) == ["Brightline IT", CAFE], "Space to add the partner")
    wait_until(lambda: sorted(highlighted(page)) == ["Brightline IT", CAFE], "both bars chosen")
    page.keyboard.press("Escape")  # back to the search box
    page.keyboard.press("Control+A")
    page.keyboard.press("Backspace")
    # every partner of the deals and of the partner table (two without deals yet), and the direct deals
    everyone = set(deals["partner"].dropna().astype(str)) | set(
        pd.read_csv(sample_path("partners"))["partner"].str.strip()
    )
    wait_until(lambda: len(listed(page)) == len(everyone) == 27, "the whole list again", show=lambda: listed(page))
    page.keyboard.press("ArrowDown")
    page.keyboard.press("End")
    page.keyboard.press("Enter")  # the last partner, by name
    last = sorted(deals["partner"].unique())[-1]
    wait_until(lambda: chips(page)[-1:] == [last], "Enter in the list to choose the active partner")
    page.keyboard.press("Enter")  # again: unchosen
    wait_until(lambda: chips(page) == ["Brightline IT", CAFE], "Enter to unchoose")
    page.get_by_role("button", name="Remove Brightline IT").focus()
    page.keyboard.press("Enter")
    wait_until(lambda: chips(page) == [CAFE], "a chip removed from the keyboard", show=lambda: chips(page))
    wait_until(lambda: highlighted(page) == [CAFE], "and its bar unchosen")

    # Clear selection clears the box and the channels, and greys itself out
    page.locator(".ck-pick-inline .ck-pick-option", has_text="partner").click()
    wait_until(lambda: "channels: partner" in page.locator(".ck-showing").inner_text(), "a channel chosen")
    clear_button(page).click()
    wait_until(
        lambda: chips(page) == [] and len(highlighted(page)) == 20,
        "everything unchosen",
        show=lambda: (chips(page), highlighted(page)),
    )
    wait_for_tile_value(page, "Deals won", total)
    assert page.locator(".ck-pick-inline [aria-selected=true]").count() == 0
    wait_until(lambda: not clear_button(page).is_enabled(), "Clear selection greyed out")
    assert outside == [] and dialogs == []
    page.close()


@pytest.mark.realdata
def test_an_uploaded_export_is_named_and_what_it_lacks_is_said(browser, dashboard, realdata):
    d365 = realdata("d365-contoso-coffee/data/Opportunity.csv")
    page, outside, dialogs = open_page(browser, dashboard.url)
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name=re.compile("Your export")).click()
    chooser.value.set_files(str(d365))
    page.wait_for_selector("text=Opportunity.csv: channel partner KPIs", timeout=120_000)
    assert "Kestrel" not in page.locator(".ck-title").inner_text()
    # the banner sits above the tiles and says what to do, in words
    banner = page.locator(".ck-banner")
    assert banner.is_visible()
    text = banner.inner_text()
    assert "This file has no partner column: partner views are empty" in text
    assert "export the report with the partner field" in text
    assert not re.search(r"\w+=|[{}]", text)
    assert banner.bounding_box()["y"] < page.locator(".ck-tiles").bounding_box()["y"]
    wait_for_tile_value(page, "Partner-sourced wins", "no partner column")
    # the Partners tab says why there is no ranking instead of drawing empty axes
    page.get_by_role("tab", name="Partners").click()
    note = page.locator(".ck-withheld")
    note.wait_for(timeout=30_000)
    assert "There is no partner ranking" in note.inner_text()
    assert page.locator(".widget-tab .vega-embed:visible").count() == 0
    # the data-quality tab names the file
    page.get_by_role("tab", name="Data quality").click()
    page.wait_for_selector("h4:has-text('Opportunity.csv read as Dynamics 365')", timeout=30_000)
    assert "<buffer>" not in page.content()
    assert outside == [] and dialogs == []
    page.close()


# Every element's right edge within the viewport, unless a box it scrolls in clips it there.
_CUT_ON_THE_RIGHT = """() => {
  const W = window.innerWidth, cut = [];
  for (const e of document.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect();
    if (!r.width || !r.height || r.right <= W + 1 || e.closest('.vg-tooltip')) continue;
    let clipped = false;
    for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX;
      if ((o === 'auto' || o === 'scroll' || o === 'hidden') && a.getBoundingClientRect().right <= W + 1) { clipped = true; break; }
    }
    if (!clipped) cut.push(e.tagName + '.' + (e.className.baseVal ?? e.className) + ' ' + (e.innerText || '').slice(0, 30));
  }
  return cut;
}"""

_TILES = """() => [...document.querySelectorAll('.ck-tile')].map(e => {
  const r = e.getBoundingClientRect(); return [Math.round(r.left), Math.round(r.top), Math.round(r.right), Math.round(r.bottom)];
})"""

_TABS = """() => [...document.querySelectorAll('.widget-tab .lm-TabBar-tab')].map(t => {
  const r = t.getBoundingClientRect(), label = t.querySelector('.lm-TabBar-tabLabel');
  return [label.innerText, r.left >= 0 && r.right <= window.innerWidth + 1 && r.width > 0,
          label.scrollWidth <= label.clientWidth + 1];
})"""


def test_the_page_fits_wide_medium_and_phone_screens(browser, dashboard, tmp_path):
    page, outside, dialogs = open_page(browser, dashboard.url)
    page.get_by_role("tab", name="Partners").click()
    page.wait_for_selector(BARS, timeout=60_000)
    page.get_by_role("tab", name="Overview").click()
    columns_at = {}
    for width in (1400, 800, 390):
        page.set_viewport_size({"width": width, "height": 2400})
        page.wait_for_timeout(800)
        page.mouse.move(0, 0)  # no tooltip left open
        shot = tmp_path / f"dashboard-{width}.png"
        page.screenshot(path=str(shot))
        print(f"{width} px: {shot}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, width
        assert page.evaluate(_CUT_ON_THE_RIGHT) == [], width
        tiles = page.evaluate(_TILES)
        assert len(tiles) == 8 and all(right <= width for _, _, right, _ in tiles), (width, tiles)
        for i, a in enumerate(tiles):  # no two tiles overlap
            for b in tiles[i + 1 :]:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (width, a, b)
        columns_at[width] = len({left for left, *_ in tiles})
        tabs = page.evaluate(_TABS)
        assert [t[0] for t in tabs] == [
            "Overview",
            "Partners",
            "Pipeline",
            "Channels",
            "Close rate",
            "Velocity",
            "Deal success",
            "Movement",
            "Data quality",
        ]
        assert all(visible and whole for _, visible, whole in tabs), (width, tabs)
        # the controls wrap instead of running off the side
        boxes = page.locator(".ck-pick")
        partners, channels = boxes.nth(0).bounding_box(), boxes.nth(1).bounding_box()
        assert channels["x"] + channels["width"] <= width
        if width == 390:
            assert channels["y"] >= partners["y"] + partners["height"] - 1  # stacked
        # a chart fits its box (at 390 px it keeps a readable size and scrolls inside its box)
        chart = page.locator(".widget-tab .vega-embed:visible").first.bounding_box()
        assert chart["x"] + chart["width"] <= width + 1
    assert columns_at == {1400: 4, 800: 4, 390: 2}  # the tiles stack two by two on a phone
    assert outside == [] and dialogs == []
    page.close()


def test_tile_definitions_are_a_hover_or_a_key_away(browser, dashboard):
    from channelkpi.tiles import tile_values
    from channelkpi.views import view_tables

    tables = view_tables(ck.read_crm(sample_path("salesforce")), only=["now", "before", "ranking"])
    tiles = tile_values(tables)
    if "definition" not in tiles[0]:
        pytest.skip("the tiles have no definitions yet (tiles.tile_values gives none)")
    page, outside, dialogs = open_page(browser, dashboard.url)
    for entry in tiles[:3]:
        title, definition = entry["title"], entry["definition"]
        box = page.locator(".ck-tile", has=page.locator(".ck-label", has_text=title)).first
        shown = box.get_by_text(definition[:60], exact=False).first
        # a hover shows it (on the page or as the tile's tooltip)
        box.hover()
        page.wait_for_timeout(300)
        assert shown.is_visible() or definition in (box.get_attribute("title") or ""), title
        # one click away
        control = box.locator("summary, button, [tabindex]").first
        (control if control.count() else box).click()
        shown.wait_for(state="visible", timeout=5_000)
        (control if control.count() else box).click()  # closed again
        page.mouse.move(0, 0)
        # the keyboard: Tab reaches the tile (or its definition's control); Enter shows it
        page.locator(".ck-title").click()
        for _ in range(200):
            page.keyboard.press("Tab")
            if box.evaluate("e => e.contains(document.activeElement)"):
                break
        else:
            raise AssertionError(f"Tab never reaches the {title!r} tile")
        if not shown.is_visible():
            page.keyboard.press("Enter")
        shown.wait_for(state="visible", timeout=5_000)
    assert outside == [] and dialogs == []
    page.close()


def test_deals_without_a_partner_read_as_direct(browser, dashboard, deals):
    page, _, _ = open_page(browser, dashboard.url)
    search = page.get_by_placeholder("Search partners")
    search.fill("no partner")
    wait_until(lambda: listed(page) == ["Direct (no partner)"], "the direct deals in the box")
    search.press("Enter")
    direct = deals[(deals["partner"] == "(direct)") & (deals["status"] == "won")]
    wait_for_tile_value(page, "Deals won", f"{len(direct):,}")
    assert chips(page) == ["Direct (no partner)"]
    assert "Showing: Direct (no partner)" in page.locator(".ck-showing").inner_text()
    assert "(direct)" not in page.locator(".ck-dashboard").inner_text()
    page.close()
