"""The Movement tab in a real browser (Debian's chromium, offline): a dashboard given a history
draws the pipeline movement waterfall and lists the top movers when its tab is opened."""

from __future__ import annotations

import re

import nbformat
import pytest
from browsing import Voila, open_page
from test_movement_views import HEAD, SNAPSHOTS, _open_cents, _open_on

pytestmark = pytest.mark.browser


def test_movement_tab_draws_the_waterfall_and_the_movers(browser, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    for date, rows in SNAPSHOTS.items():
        (folder / f"deals_{date}.csv").write_text(HEAD + "".join(",".join(r) + "\n" for r in rows))
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import pandas as pd\nimport channelkpi as ck\nfrom channelkpi.widgets import Dashboard\n"
            "history = ck.load_history('exports')\n"
            "dash = Dashboard(history.state(history.as_of), history=history, tabs=('Overview', 'Movement'))\n"
            "dash.freq.value = 'M'\n"
            "dash.period.value = (pd.Timestamp('2025-09-01'), pd.Timestamp('2025-11-01'))\n"
            "dash"
        )
    ]
    nbformat.write(nb, tmp_path / "movement.ipynb")
    server = Voila(tmp_path / "movement.ipynb")
    try:
        page, outside, dialogs = open_page(browser, server.url)
        page.get_by_role("tab", name="Movement").click()
        bars = page.locator(".vega-embed:has-text('Pipeline movement') path[aria-roledescription='bar']")
        bars.first.wait_for(timeout=60_000)
        # start, new, increased, decreased, lost, end (worked out in test_movement_views)
        assert bars.count() == 6
        movers = page.locator("table.ck-movers")
        movers.first.wait_for(timeout=30_000)
        text = movers.first.inner_text()
        assert "Top movers, 2025-11" in text and text.index("Alpha") < text.index("Delta")
        # a click on the lost bar lists its deal (the waterfall's fifth bar, in order)
        bars.nth(4).click()
        listed = page.locator("table.ck-movers:has-text('Lost: 1 deal')")
        listed.wait_for(timeout=30_000)
        assert "Alpha" in listed.inner_text() and "$80.00" in listed.inner_text()
        # a lost deal's "after" is its outcome, not an amount that reads as still open
        assert "Lost, $80.00" in listed.inner_text()
        assert page.locator(".ck-message[role='alert']").count() == 0
        assert outside == [] and dialogs == []
        page.close()
    finally:
        server.stop()


def _sample_ends() -> tuple[int, int]:
    """The sample's open pipeline on 31 Dec 2025 in cents: from the export (as the Pipeline tile
    reads it) and as its history recorded it (the waterfall's end)."""
    import pandas as pd

    import channelkpi as ck
    from channelkpi.datasets import sample_path

    export = ck.load_crm(sample_path("salesforce"), partners=sample_path("partners"), owners=sample_path("owners"))
    history = ck.load_history(sample_path("history"), current=export)
    return _open_on(export.deals, "2025-12-31"), _open_cents(history, pd.Timestamp("2026-01-01") - pd.Timedelta(1))


def _svg_texts(chart) -> list[str]:
    return chart.locator("g.mark-text text, g.role-axis-label text").evaluate_all(
        "(ts) => ts.map((t) => t.textContent)"
    )


def test_sample_movement_tab_reads_plainly(browser, tmp_path):
    """The sample dashboard (its export and CRM history): the funnel's labels stay inside the
    chart, the waterfall's end is explained against the Pipeline tile with the numbers, the
    deals without a currency are named in words, no internal name shows, and the Pipeline tab's
    deals closed after its day are won or lost from the next day."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import channelkpi as ck\nfrom channelkpi.datasets import sample_path\n"
            "from channelkpi.widgets import Dashboard\n"
            "export = ck.load_crm(sample_path('salesforce'), partners=sample_path('partners'), "
            "owners=sample_path('owners'))\n"
            "history = ck.load_history(sample_path('history'), current=export)\n"
            "Dashboard(export, history=history, tabs=('Overview', 'Pipeline', 'Movement'))"
        )
    ]
    nbformat.write(nb, tmp_path / "sample.ipynb")
    server = Voila(tmp_path / "sample.ipynb")
    try:
        page, outside, dialogs = open_page(browser, server.url)
        tile = page.locator(".ck-tile:has-text('Open pipeline') .ck-value").first.inner_text()
        page.get_by_role("tab", name="Pipeline").click()
        stages = page.locator(".vega-embed:has-text('Open pipeline by stage')").first
        stages.locator("g.role-axis-label text").first.wait_for(timeout=60_000)
        labels = _svg_texts(stages)
        # open all of 31 Dec 2025 (the range's last day), so won or lost from 1 Jan 2026 on
        assert "Won from 1 Jan 2026" in labels and not [t for t in labels if "since" in t]
        page.get_by_role("tab", name="Movement").click()
        page.get_by_role("tab", name="Stage funnel", exact=True).click()
        funnel = page.locator(".vega-embed:has-text('Stage funnel')").first
        funnel.locator("g.mark-text text").first.wait_for(timeout=60_000)
        # every label of the funnel stays inside the chart, clear of the stage names: on a wide
        # page (where the longest bar's label was cut, "went o") and on a phone
        for width in (1400, 390):
            page.set_viewport_size({"width": width, "height": 1100})
            page.wait_for_timeout(1500)  # the chart takes the new width
            bad = funnel.evaluate(
                """(embed) => {
                    const svg = embed.querySelector('svg').getBoundingClientRect();
                    const names = [...embed.querySelectorAll('g.role-axis-label text')]
                        .filter((t) => /[A-Za-z]/.test(t.textContent));
                    const axis = Math.max(...names.map((t) => t.getBoundingClientRect().right));
                    return [...embed.querySelectorAll('g.mark-text text')]
                        .filter((t) => /^[0-9,]+ · [0-9.]+% went on$/.test(t.textContent))
                        .map((t) => [t.textContent, t.getBoundingClientRect()])
                        .filter(([, box]) => box.right > svg.right + 0.5 || box.left < axis)
                        .map(([text]) => text);
                }"""
            )
            bar_labels = [t for t in _svg_texts(funnel) if re.fullmatch(r"[\d,]+ · [\d.]+% went on", t)]
            assert len(bar_labels) == 6 and bad == [], width  # one per stage of the sample
        page.set_viewport_size({"width": 1400, "height": 1100})
        page.get_by_role("tab", name="Pipeline movement", exact=True).click()
        gap = page.locator(".ck-gap").first
        gap.wait_for(timeout=30_000)
        # the tile rounds; the sentence gives the tile's and the waterfall's amounts (the export's
        # deals open on 31 Dec 2025, and the history's state at its end, worked out in plain Python)
        shown, end = _sample_ends()
        assert tile == f"${shown / 1e8:.1f}M" and f"Pipeline tile's ${shown / 100:,.0f}" in gap.inner_text()
        assert f"${end / 100:,.0f}" in gap.inner_text()
        assert f"+${(end - shown) / 100:,.0f} changed after that day" in gap.inner_text()
        body = page.inner_text("body")
        assert "deals without a currency are not shown" in body and "nan" not in body.split()
        assert "memo" not in body
        assert page.locator(".ck-message[role='alert']").count() == 0
        assert outside == [] and dialogs == []
        page.close()
    finally:
        server.stop()


def test_report_movement_table_fits_the_page(browser, tmp_path):
    """The report of the sample with its history, on an A4 page's width and printed: the movement
    table (a row per partner, a column per bucket) stays inside the page, no amount spills out of
    its cell, and no row of $0 is printed for the deals without a currency."""
    import channelkpi as ck
    from channelkpi.datasets import sample_path

    export = ck.load_crm(sample_path("salesforce"), partners=sample_path("partners"), owners=sample_path("owners"))
    history = ck.load_history(sample_path("history"), current=export)
    out = tmp_path / "report.html"
    ck.report(export, path=out, freq="Q", history=history)
    page = browser.new_page(viewport={"width": 794, "height": 1100})  # A4 at 96 dpi
    outside: list[str] = []
    page.route(
        "**/*",
        lambda r: r.continue_() if r.request.url.startswith("data:") else (outside.append(r.request.url), r.abort()),
    )
    page.set_content(out.read_text(encoding="utf-8"))
    table = page.locator("table.ck-movement")
    assert table.count() == 1
    for media in ("screen", "print"):
        page.emulate_media(media=media)
        fit = table.evaluate(
            """(table) => {
                const body = document.body.getBoundingClientRect();
                const box = table.getBoundingClientRect();
                const spilled = [...table.querySelectorAll('td, th')]
                    .filter((c) => c.scrollWidth > c.clientWidth + 1).map((c) => c.textContent);
                return {right: box.right, page: Math.min(body.right, document.documentElement.clientWidth),
                        layout: getComputedStyle(table).tableLayout, spilled};
            }"""
        )
        assert fit["layout"] == "fixed", media
        assert fit["right"] <= fit["page"] + 0.5 and fit["spilled"] == [], (media, fit)
    shown, end = _sample_ends()
    section = page.locator("h2:has-text('Pipeline movement') ~ p.ck-note").first.inner_text()
    assert f"Pipeline tile's ${shown / 100:,.0f}" in section and f"${end / 100:,.0f}" in section
    text = table.inner_text()
    assert "Brightline IT" in text and "no currency" not in text and "nan" not in text.lower()
    rows = [r for r in table.locator("tbody tr").all_inner_texts() if r.startswith("Brightline IT")]
    assert len(rows) == 1  # its deals without a currency or an amount print no row of $0
    assert outside == []
    page.close()
