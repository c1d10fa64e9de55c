"""The deals behind a number, in a real browser: a tile's button and a ranking bar open the deals
table with the right count, it sorts, and a deal named like HTML is shown as text."""

from __future__ import annotations

import re

import pytest
from browsing import ROOT, Voila, open_page
from test_browser_dashboard import BARS, wait_until

import channelkpi as ck
from channelkpi import widgets
from channelkpi.datasets import sample_path

pytestmark = pytest.mark.browser
EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def dashboard():
    server = Voila(ROOT / "notebooks" / "dashboard.ipynb")
    yield server
    server.stop()


def caption(page) -> str:
    box = page.locator(".ck-deals-caption")
    return box.inner_text() if box.count() else ""


def test_a_tile_and_a_ranking_bar_open_their_deals(browser, dashboard):
    deals = ck.read_crm(sample_path("salesforce"))
    start, end = widgets.Dashboard(deals).date_range  # the range the page opens with
    closed = deals[deals["closed"].between(start, end)]
    won = int((closed["status"] == "won").sum())
    lost = int((closed["status"] == "lost").sum())
    page, outside, dialogs = open_page(browser, dashboard.url)
    page.locator(".ck-tile-deals").get_by_role("button", name="Win rate", exact=True).click()
    wait_until(lambda: caption(page).startswith("Win rate"), "the win rate's deals", show=lambda: caption(page))
    assert f"{won:,} won" in caption(page) and f"{lost:,} lost" in caption(page)
    shown = page.locator(".ck-deals-shown").inner_text()
    total = int(re.search(r"of ([\d,]+) deals", shown).group(1).replace(",", ""))
    assert shown.startswith("200 of") and total >= won + lost
    assert page.locator(".ck-deals-table tbody tr").count() == 200
    # sorted by amount, smallest first
    page.get_by_label("Sort by").select_option(label="Amount")
    wait_until(lambda: page.locator(".ck-deals-table th[aria-sort='ascending']").count() == 1, "the sorted table")
    assert "Amount" in page.locator(".ck-deals-table th[aria-sort]").inner_text()
    # a heading is a button: clicked, it sorts by its column; clicked again, the other way
    page.locator(".ck-deals-table th").get_by_role("button", name=re.compile("^Closed")).click()
    wait_until(lambda: page.locator(".ck-deals-table th[aria-sort='descending']").count() == 1, "latest closed first")
    assert "Closed" in page.locator(".ck-deals-table th[aria-sort]").inner_text()
    page.locator(".ck-deals-table th").get_by_role("button", name=re.compile("^Closed")).click()
    wait_until(lambda: page.locator(".ck-deals-table th[aria-sort='ascending']").count() == 1, "earliest first")
    # a ranking bar: the deals behind that partner's score
    page.get_by_role("tab", name="Partners").click()
    bar = page.locator(BARS).filter(has=page.locator("xpath=self::*[contains(@aria-label, 'Cobalt Integrations')]"))
    bar.click()
    wait_until(
        lambda: caption(page).startswith("Quality score · Cobalt Integrations"),
        "the partner's deals",
        show=lambda: caption(page),
    )
    mine = closed[closed["partner"] == "Cobalt Integrations"]
    assert f"{int((mine['status'] == 'won').sum()):,} won" in caption(page)
    page.get_by_role("button", name="Close", exact=True).click()
    wait_until(lambda: not page.locator(".ck-deals-caption").count(), "the panel closed")
    assert not outside and not dialogs
    page.close()


def test_a_deal_named_like_html_is_text(browser, dashboard, tmp_path):
    export = tmp_path / "evil.csv"
    export.write_text(
        f"Deal ID,Partner,Status,Amount,Close Date\nD1,{EVIL},Won,5,2024-01-05\nD2,Acme,Lost,1,2024-01-06\n"
    )
    page, outside, dialogs = open_page(browser, dashboard.url)
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name=re.compile("Your export")).click()
    chooser.value.set_files(str(export))
    page.wait_for_selector("text=evil.csv: channel partner KPIs", timeout=120_000)
    page.locator(".ck-tile-deals").get_by_role("button", name="Deals won", exact=True).click()
    wait_until(lambda: caption(page).startswith("Deals won"), "the won deals", show=lambda: caption(page))
    table = page.locator(".ck-deals-table")
    assert EVIL in table.inner_text()
    assert page.locator(".ck-deals img").count() == 0 and page.locator("img[src=x]").count() == 0
    assert not dialogs and not outside
    page.close()


def laptop_page(browser, url):
    """The page on a 1366 x 768 laptop screen (the panel opens below the charts there)."""
    page, outside, dialogs = open_page(browser, url)
    page.set_viewport_size({"width": 1366, "height": 768})
    return page, outside, dialogs


def caption_in_view(page) -> bool:
    return page.evaluate(
        """() => {
        const c = document.querySelector('.ck-deals-caption');
        if (!c) return false;
        const r = c.getBoundingClientRect();
        return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight;
    }"""
    )


def test_the_opened_panel_is_brought_into_view_and_focused(browser, dashboard):
    page, outside, _ = laptop_page(browser, dashboard.url)
    page.evaluate("window.scrollTo(0, 0)")
    page.locator(".ck-tile-deals").get_by_role("button", name="Win rate", exact=True).click()
    wait_until(lambda: caption(page).startswith("Win rate"), "the win rate's deals", show=lambda: caption(page))
    wait_until(lambda: caption_in_view(page), "the caption scrolled into view")
    focused = page.evaluate("() => document.activeElement && document.activeElement.className")
    assert "ck-deals-caption" in focused
    assert not outside
    page.close()


def test_level_changes_log_no_errors_in_the_page(browser, dashboard):
    page, outside, _ = open_page(browser, dashboard.url)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"{e}\n{e.stack}"))
    page.get_by_role("tab", name="Partners").click()
    level = page.get_by_label("Level")
    for title in ("Tier", "Employee", "Department", "Partner", "Region", "Partner"):
        level.select_option(label=title)
        wait_until(
            lambda title=title: page.locator(
                f".vega-embed:has-text('{title if title != 'Employee' else 'Employee'} ranking by quality score')"
            ).count(),
            f"the {title} ranking",
        )
        page.wait_for_timeout(500)
    assert not errors, errors
    assert not outside
    page.close()
