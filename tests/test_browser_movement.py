"""The Movement tab in a real browser (Debian's chromium, offline): a dashboard given a history
draws the pipeline movement waterfall and lists the top movers when its tab is opened."""

from __future__ import annotations

import nbformat
import pytest
from browsing import Voila, open_page
from test_movement_views import HEAD, SNAPSHOTS

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
        assert page.locator(".ck-message[role='alert']").count() == 0
        assert outside == [] and dialogs == []
        page.close()
    finally:
        server.stop()
