"""Charts offline outside the dashboard app: the notebooks in JupyterLab, and ``Dashboard(...)`` alone.

JupyterLab runs at the top of the repository as on Binder; each notebook is opened in Debian's
chromium with every request that would leave the machine blocked, run with "Run All Cells",
and its charts must be drawn (an empty chart area is the symptom of a chart library fetched
from a CDN).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from browsing import ROOT, free_port, server_env, tile, won

import channelkpi as ck
from channelkpi.datasets import sample_path

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
LOCAL = re.compile(r"^(https?|wss?)://(127\.0\.0\.1|localhost)[:/]")


def expected_charts(path: Path) -> tuple[int, int]:
    """(cells returning one chart, cells returning a dashboard) of a notebook, read from its code."""
    single = dashboards = 0
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        last = cell.source.strip().splitlines()[-1] if cell.source.strip() else ""
        single += bool(re.match(r"charts\.(?!use_theme)\w+\(", last))
        dashboards += "Dashboard(" in cell.source
    return single, dashboards


DRAWING = [p for p in NOTEBOOKS if any(expected_charts(p))]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lab")
    settings = tmp / "settings" / "@jupyterlab" / "docmanager-extension"
    settings.mkdir(parents=True)
    # never write the run's outputs back into the repository's notebooks
    (settings / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": False}))
    env = {
        **server_env(jupyter_path=False),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"),
    }
    port = free_port()
    log_path = tmp / "lab.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("jupyter-lab")),
                "--no-browser",
                f"--port={port}",
                "--ServerApp.ip=127.0.0.1",
                "--IdentityProvider.token=",
                "--ServerApp.allow_root=True",
                "--ServerApp.disable_check_xsrf=True",  # the test shuts kernels down through the API
                f"--FileCheckpoints.root_dir={tmp / 'checkpoints'}",
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            ],
            cwd=ROOT,  # as Binder runs it
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 90
    while True:
        try:
            with urllib.request.urlopen(base + "api/status", timeout=2):  # noqa: S310 (loopback only)
                break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                raise AssertionError("JupyterLab did not start:\n" + log_path.read_text()) from None
            time.sleep(0.5)
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def block_outside(page) -> list[str]:
    """Abort every request of the page that would leave the machine; the list records them."""
    outside: list[str] = []

    def route(r):
        if r.request.url.startswith(("data:", "blob:")) or LOCAL.match(r.request.url):
            return r.continue_()
        outside.append(r.request.url)
        return r.abort()

    page.route("**/*", route)
    return outside


def wait_for_idle_kernel(page) -> None:
    """Until the status bar says the notebook's kernel is connected and idle (the toolbar's
    indicator says "idle" before the kernel has even started)."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]"
        ".some(e => /\\| Idle$/.test(e.textContent.trim()))",
        timeout=120_000,
    )


def shut_down_kernels(base: str) -> None:
    with urllib.request.urlopen(base + "api/sessions", timeout=10) as r:  # noqa: S310 (loopback only)
        sessions = json.load(r)
    for session in sessions:
        request = urllib.request.Request(base + f"api/sessions/{session['id']}", method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()  # noqa: S310 (loopback only)


@pytest.mark.parametrize("path", DRAWING, ids=[p.name for p in DRAWING])
def test_the_notebooks_charts_render_in_jupyterlab_offline(browser, lab, path):
    single, dashboards = expected_charts(path)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    outside = block_outside(page)
    try:
        t0 = time.perf_counter()
        page.goto(lab + f"lab/tree/notebooks/{path.name}?reset")  # only this notebook open
        wait_for_idle_kernel(page)
        opened = time.perf_counter() - t0
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
        page.get_by_role("menuitem", name=re.compile("^Run All Cells")).click()
        page.wait_for_function(
            "n => document.querySelectorAll('.jp-Notebook .vega-embed svg.marks').length >= n",
            arg=single + dashboards,
            timeout=180_000,
        )
        wait_for_idle_kernel(page)
        page.wait_for_timeout(1000)
        print(f"{path.name}: kernel ready after {opened:.0f} s, run in {time.perf_counter() - t0 - opened:.0f} s")
        drawn = page.locator(".jp-Notebook .vega-embed svg.marks").count()
        areas = page.locator(".jp-Notebook .vega-embed").count()
        outputs = page.locator(".jp-Notebook .jp-OutputArea").all_inner_texts()
        if dashboards:
            assert drawn >= single + dashboards
        else:
            assert drawn == single  # one chart per chart cell, none twice
        assert areas == drawn, "a chart area without its chart"
        assert not any("Traceback" in text for text in outputs), outputs
        assert outside == [], outside
    finally:
        page.close()
        shut_down_kernels(lab)


def test_the_readmes_dashboard_line_renders_offline_without_setup(browser, lab):
    # the README's line typed into a JupyterLab console: a fresh kernel, no enable_offline()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    outside = block_outside(page)
    try:
        page.goto(lab + "lab?reset")
        page.locator(".jp-LauncherCard[data-category='Console']").first.click()
        wait_for_idle_kernel(page)
        prompt = page.locator(".jp-CodeConsole-promptCell .cm-content")
        prompt.click(timeout=60_000)
        page.keyboard.insert_text(
            "import channelkpi as ck\n"
            "from channelkpi.widgets import Dashboard\n"
            f"Dashboard(ck.load_crm({str(sample_path('salesforce'))!r}))"
        )
        page.keyboard.press("Shift+Enter")
        page.wait_for_selector(".jp-CodeConsole .vega-embed svg.marks", timeout=120_000)
        assert tile(page, "Deals won") == won(ck.read_crm(sample_path("salesforce")))
        assert page.locator(".vega-embed").count() == page.locator(".vega-embed svg.marks").count()
        assert outside == [], outside
    finally:
        page.close()
        shut_down_kernels(lab)
