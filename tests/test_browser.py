"""The Voilà dashboard in a real browser (Debian's chromium driven by Playwright), offline.

Voilà serves the notebook on a free loopback port; every request that would leave the machine
is blocked and recorded. A missing chromium is a failure, not a skip: CI installs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from browsing import ROOT, Voila, free_port, open_page, tile, trend_points, wait_for_tile_change, wait_for_tile_value

import channelkpi as ck
from channelkpi.datasets import sample_path

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def dashboard():
    server = Voila(ROOT / "notebooks" / "dashboard.ipynb")
    yield server
    server.stop()


def test_dashboard_renders_offline_and_answers_controls(browser, dashboard):
    page, outside, dialogs = open_page(browser, dashboard.url)
    first_chart = time.perf_counter() - dashboard.started
    print(f"Voilà start to first chart: {first_chart:.1f} s")
    deals = ck.read_crm(sample_path("salesforce"))
    # the default range ends with the last quarter the data covers completely
    last_month = (pd.concat([deals["created"], deals["closed"]]).max().to_period("Q") - 1).asfreq("M", "end")
    won = deals[(deals["status"] == "won") & (deals["closed"] <= last_month.end_time)]
    assert tile(page, "Deals won") == f"{len(won):,}"
    first_month = deals["created"].min().to_period("M")
    # one point per quarter of the slider's range, empty quarters included
    assert trend_points(page) == len(pd.period_range(first_month, last_month, freq="Q"))

    # a partner: type part of its name, Enter to choose the match
    box = page.get_by_placeholder("Search partners")
    box.fill("brightline")
    box.press("Enter")
    mine = won[won["partner"] == "Brightline IT"]
    assert wait_for_tile_change(page, "Deals won", f"{len(won):,}") == f"{len(mine):,}"

    # the date range: move the start of the period slider one year (12 months) to the right
    handle = page.locator(".widget-slider .noUi-handle-lower, .widget-slider .noUi-handle").first
    handle.focus()
    for _ in range(12):
        handle.press("ArrowRight")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.widget-readout')].some(e => e.innerText.startsWith('Jan 2024'))"
    )
    start = deals["created"].min().to_period("M").to_timestamp() + pd.DateOffset(months=12)
    expected = f"{int((mine['closed'] >= start).sum()):,}"
    wait_for_tile_value(page, "Deals won", expected)  # each key press is one refresh: wait for the last
    page.wait_for_timeout(500)
    assert trend_points(page) == len(pd.period_range(start, last_month.to_timestamp(), freq="Q"))

    # a tab opened after the changes is drawn then, for the same partner: a bar per open stage
    page.get_by_role("tab", name="Pipeline").click()
    stages = deals[(deals["partner"] == "Brightline IT") & (deals["status"] == "open")]["stage"].nunique()
    page.wait_for_function(
        "n => [...document.querySelectorAll('.vega-embed')].some(e => e.innerText.includes('Open pipeline by stage')"
        " && e.querySelectorAll('path[aria-roledescription=\"bar\"]').length === n)",
        arg=stages,
        timeout=60_000,
    )
    page.get_by_role("tab", name="Overview").click()

    # the README's screenshot is this one: `make screenshot` refreshes docs/dashboard.png
    update = os.environ.get("CHANNELKPI_UPDATE_SCREENSHOT")
    shot = ROOT / "docs" / "dashboard.png" if update else Path(tempfile.mkdtemp()) / "dashboard.png"
    page.screenshot(path=str(shot))
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 20_000
    assert outside == [], outside
    assert dialogs == []
    page.close()


def test_a_hostile_partner_name_renders_as_text(browser, tmp_path):
    deals = ck.read_crm(sample_path("salesforce"))
    evil = "<img src=x onerror=alert(1)>"
    deals.loc[deals["partner"] == "Northgate Data", "partner"] = evil
    deals.to_parquet(tmp_path / "deals.parquet")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import pandas as pd\nfrom channelkpi.widgets import Dashboard, enable_offline\nenable_offline()\n"
            "Dashboard(pd.read_parquet('deals.parquet'))"
        )
    ]
    nbformat.write(nb, tmp_path / "evil.ipynb")
    server = Voila(tmp_path / "evil.ipynb")
    try:
        page, outside, dialogs = open_page(browser, server.url)
        page.wait_for_timeout(1500)
        assert page.locator("img[src='x']").count() == 0
        assert evil in page.locator(".ck-tile", has_text="BEST QUALITY SCORE").inner_text()
        assert evil in page.locator(".ck-pick").first.inner_text()  # listed in the partner box as text
        page.get_by_role("tab", name="Partners").click()
        page.wait_for_timeout(1000)
        assert evil in page.locator(".vega-embed", has_text="ranking").first.inner_text()
        assert dialogs == [] and outside == []
        page.close()
    finally:
        server.stop()


def test_voila_shows_visitors_no_traceback(browser, tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A page whose code fails"),
        nbformat.v4.new_code_cell("raise RuntimeError('internal detail /srv/secret/path')"),
    ]
    nbformat.write(nb, tmp_path / "broken.ipynb")
    server = Voila(tmp_path / "broken.ipynb")
    try:
        page = browser.new_page()
        page.goto(server.url)
        page.wait_for_selector("text=A page whose code fails", timeout=60_000)
        page.wait_for_timeout(1500)
        html = page.content()
        assert "Traceback" not in html and "/srv/secret/path" not in html and "RuntimeError" not in html
        page.close()
    finally:
        server.stop()


def test_the_binder_routes_serve_jupyterlab_and_the_dashboard(browser, tmp_path):
    # Binder runs JupyterLab at the top of the repository with Voilà as a server extension
    # (reading voila.py from there) and the package installed; its two badges open /lab and
    # /voila/render/notebooks/dashboard.ipynb. Same here, without JUPYTER_PATH: the template
    # must come with the installed package.
    port = free_port()
    from browsing import server_env

    env = server_env(jupyter_path=False)
    lab = Path(sys.executable).with_name("jupyter-lab")
    with (tmp_path / "lab.log").open("w") as log:
        proc = subprocess.Popen(
            [
                str(lab),
                "--no-browser",
                f"--port={port}",
                "--ServerApp.ip=127.0.0.1",
                "--IdentityProvider.token=",
                "--ServerApp.allow_root=True",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}/"
            deadline = time.time() + 90
            while True:
                try:
                    with urllib.request.urlopen(base + "lab", timeout=2) as r:  # noqa: S310 (loopback only)
                        assert r.status == 200 and b"JupyterLab" in r.read()
                    break
                except OSError:
                    if time.time() > deadline:
                        raise AssertionError(
                            "JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text()
                        ) from None
                    time.sleep(0.5)
            page, outside, dialogs = open_page(browser, base + "voila/render/notebooks/dashboard.ipynb")
            won = ck.read_crm(sample_path("salesforce")).query("status == 'won' and closed <= '2025-12-31'")
            assert tile(page, "Deals won") == f"{len(won):,}"
            assert trend_points(page) > 0
            assert "Traceback" not in page.content()
            assert outside == [] and dialogs == []
            page.close()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
