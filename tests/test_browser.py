"""The Voilà dashboard in a real browser (Debian's chromium driven by Playwright), offline.

Voilà serves the notebook on a free loopback port; every request that would leave the machine
is blocked and recorded. A missing chromium is a failure, not a skip: CI installs it.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pandas as pd
import pytest

import channelkpi as ck
from channelkpi.datasets import sample_path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Voila:
    def __init__(self, notebook: Path):
        self.port = _free_port()
        env = {**os.environ, "JUPYTER_PATH": str(ROOT / "share" / "jupyter")}
        voila = Path(sys.executable).with_name("voila")
        self.started = time.perf_counter()
        self.log = (notebook.parent / f".voila-{self.port}.log").open("w")
        self.proc = subprocess.Popen(
            # the settings of `make dashboard`: voila.py at the top of the repository
            [str(voila), str(notebook), f"--port={self.port}", f"--Voila.config_file_paths={ROOT}"],
            cwd=notebook.parent, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}/"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "favicon.ico", timeout=1)  # noqa: S310 (loopback only)
                return
            except urllib.error.HTTPError:
                return  # the server answers
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("Voilà did not start")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: apt-get install chromium (the browser tests need it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync", "--disable-dev-shm-usage"])
        yield b
        b.close()


def open_page(browser, url):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    outside: list[str] = []
    dialogs: list[str] = []

    def route(r):
        url_ = r.request.url
        if url_.startswith(("data:", "blob:")) or re.match(r"^(https?|wss?)://(127\.0\.0\.1|localhost)[:/]", url_):
            return r.continue_()
        outside.append(url_)
        return r.abort()

    page.route("**/*", route)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    page.wait_for_selector(".vega-embed svg", timeout=120_000)
    return page, outside, dialogs


def tile(page, title: str) -> str:
    box = page.locator(".ck-tile", has_text=title.upper()).first
    if not box.count():
        box = page.locator(".ck-tile", has=page.locator(".ck-label", has_text=title)).first
    return box.locator(".ck-value").inner_text()


def wait_for_tile_change(page, title, before, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        now = tile(page, title)
        if now != before:
            return now
        page.wait_for_timeout(250)
    raise AssertionError(f"tile {title!r} stayed {before!r}")


def wait_for_tile_value(page, title, expected, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if tile(page, title) == expected:
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"tile {title!r} is {tile(page, title)!r}, expected {expected!r}")


def trend_points(page) -> int:
    trend = page.locator(".vega-embed", has_text="Won amount, this period").first
    return trend.locator("path[aria-roledescription='point']").count() or trend.locator(".mark-symbol path").count()


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
    won = deals[deals["status"] == "won"]
    assert tile(page, "Deals won") == f"{len(won):,}"
    first_month = deals["created"].min().to_period("M")
    last_month = pd.concat([deals["created"], deals["closed"]]).max().to_period("M")
    # one point per quarter of the slider's range, empty quarters included
    assert trend_points(page) == len(pd.period_range(first_month, last_month, freq="Q"))

    # a partner: type to search, Enter to add
    box = page.get_by_placeholder("All partners (type to search)")
    box.fill("Brightline IT")
    box.press("Enter")
    mine = won[won["partner"] == "Brightline IT"]
    assert wait_for_tile_change(page, "Deals won", f"{len(won):,}") == f"{len(mine):,}"

    # the date range: move the start of the period slider one year (12 months) to the right
    handle = page.locator(".widget-slider .noUi-handle-lower, .widget-slider .noUi-handle").first
    handle.focus()
    for _ in range(12):
        handle.press("ArrowRight")
    page.wait_for_function("() => [...document.querySelectorAll('.widget-readout')].some(e => e.innerText.startsWith('Jan 2024'))")
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
        " && e.querySelectorAll('path[aria-roledescription=\"bar\"]').length === n)", arg=stages, timeout=60_000)
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
    nb.cells = [nbformat.v4.new_code_cell(
        "import pandas as pd\nfrom channelkpi.widgets import Dashboard, enable_offline\nenable_offline()\n"
        "Dashboard(pd.read_parquet('deals.parquet'))")]
    nbformat.write(nb, tmp_path / "evil.ipynb")
    server = Voila(tmp_path / "evil.ipynb")
    try:
        page, outside, dialogs = open_page(browser, server.url)
        page.wait_for_timeout(1500)
        assert page.locator("img[src='x']").count() == 0
        assert evil in page.locator(".ck-tile", has_text="BEST QUALITY SCORE").inner_text()
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
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_PATH"}
    lab = Path(sys.executable).with_name("jupyter-lab")
    with (tmp_path / "lab.log").open("w") as log:
        proc = subprocess.Popen(
            [str(lab), "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=",
             "--ServerApp.allow_root=True"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
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
                        raise AssertionError("JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text()) from None
                    time.sleep(0.5)
            page, outside, dialogs = open_page(browser, base + "voila/render/notebooks/dashboard.ipynb")
            won = ck.read_crm(sample_path("salesforce")).query("status == 'won'")
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
