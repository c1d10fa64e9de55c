"""Helpers of the browser tests: a Voilà server on a free loopback port and Debian's chromium
driven by Playwright, with every request that would leave the machine blocked and recorded."""

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

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def server_env(*, jupyter_path: bool = True) -> dict[str, str]:
    """The environment of a Voilà or JupyterLab server started for a test.

    With the checkout itself on PYTHONPATH (trying a tree with another checkout's environment)
    its ``voila.py`` would shadow the ``voila`` package in the server: the package goes on the
    path through a folder holding only a link to it instead. ``jupyter_path`` adds the tree's
    Voilà template (as ``make dashboard`` does); without it, the installed one is used.
    """
    env = dict(os.environ)
    env.pop("JUPYTER_PATH", None)
    if jupyter_path:
        env["JUPYTER_PATH"] = str(ROOT / "share" / "jupyter")
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if any(Path(p).resolve() == ROOT for p in paths):
        shim = Path(tempfile.mkdtemp(prefix="channelkpi-path-"))
        (shim / "channelkpi").symlink_to(ROOT / "channelkpi")
        env["PYTHONPATH"] = os.pathsep.join(str(shim) if Path(p).resolve() == ROOT else p for p in paths)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Voila:
    def __init__(self, notebook: Path):
        self.port = free_port()
        env = server_env()
        voila = Path(sys.executable).with_name("voila")
        self.started = time.perf_counter()
        # the server's output goes to a temporary file (not beside the notebook), shown when
        # the server does not start and removed when it stops
        self.log = tempfile.NamedTemporaryFile("w+", prefix=f"voila-{self.port}-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            # the settings of `make dashboard`: voila.py at the top of the repository
            [str(voila), str(notebook), f"--port={self.port}", f"--Voila.config_file_paths={ROOT}"],
            cwd=notebook.parent,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
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
        self.log.flush()
        output = Path(self.log.name).read_text()[-4000:]
        self.stop()
        raise RuntimeError("Voilà did not start:\n" + output)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: apt-get install chromium (the browser tests need it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ],
        )
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
    """The value the tile titled ``title`` shows (its label, whole, in any case)."""
    label = page.locator(".ck-label", has_text=re.compile(rf"^\s*{re.escape(title)}\s*$", re.IGNORECASE))
    return page.locator(".ck-tile", has=label).locator(".ck-value").inner_text()


def won(deals, partner=None) -> str:
    """The "Deals won" tile's value for ``deals`` as the dashboard opens: its default range ends
    with the last quarter the data covers completely (computed here from the dates alone)."""
    last_whole = (pd.concat([deals["created"], deals["closed"]]).max().to_period("Q") - 1).end_time
    d = deals[(deals["status"] == "won") & (deals["closed"] <= last_whole)]
    if partner is not None:
        d = d[d["partner"] == partner]
    return f"{len(d):,}"


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
    trend = page.locator(".vega-embed", has=page.locator(".role-title-text", has_text="Won amount")).first
    return trend.locator("path[aria-roledescription='point']").count() or trend.locator(".mark-symbol path").count()
