"""Serving a room: kernels forked from the template, shut down once their page has closed.

The kernel manager is driven directly (kernels started, run, interrupted, culled); then the
dashboard is served as ``make dashboard`` serves it (``voila.py``) and opened in Debian's
chromium with every request that would leave the machine blocked.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import urllib.error
import urllib.request

import psutil
import pytest
from browsing import ROOT, Voila, open_page, tile, wait_for_tile_change, won

import channelkpi as ck
from channelkpi import serving
from channelkpi.datasets import sample_path

pytestmark = pytest.mark.slow  # kernels are forked and started

CULLED_WITHIN = 60  # seconds after a page closes (the requirement)
forking = pytest.mark.skipif(not serving.forking_supported(), reason="kernels are forked on Linux >= 5.3 only")


async def run_code(km, kernel_id: str, code: str, *, timeout: float = 60) -> tuple[str, dict]:
    """Run ``code`` in the kernel: (what it printed, the execute reply's content)."""
    client = km.get_kernel(kernel_id).client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=timeout)
        printed: list[str] = []

        def output(msg):
            if msg["msg_type"] == "stream":
                printed.append(msg["content"]["text"])

        reply = await client.execute_interactive(code, output_hook=output, timeout=timeout)
        return "".join(printed), reply["content"]
    finally:
        client.stop_channels()


def manager(tmp_path, **config) -> serving.DashboardKernelManager:
    return serving.DashboardKernelManager(root_dir=str(tmp_path), connection_dir=str(tmp_path), **config)


@forking
def test_kernels_are_forked_from_the_template_and_behave_like_started_ones(tmp_path):
    async def scenario():
        km = manager(tmp_path)
        try:
            kernel_id = await km.start_kernel(kernel_name="python3", path="")
            printed, reply = await run_code(
                km,
                kernel_id,
                "import os, sys\n"
                "print(os.getppid(), 'channelkpi.widgets' in sys.modules, os.getcwd(), os.environ.get('CK_MARK'))",
            )
            assert reply["status"] == "ok"
            parent, preloaded, cwd, mark = printed.split()
            assert int(parent) == km.template.process.pid  # forked by the template
            assert preloaded == "True"  # the dashboards' modules come imported
            assert os.path.samefile(cwd, tmp_path)  # in the folder asked for
            assert mark == "here"  # with the server's environment of the moment, not the template's

            # an interrupt reaches the forked kernel (its own process group, as started kernels)
            client = km.get_kernel(kernel_id).client()
            client.start_channels()
            msg_id = client.execute("import time; time.sleep(60)")
            await asyncio.sleep(1.5)
            await km.interrupt_kernel(kernel_id)
            reply = await client.get_shell_msg(timeout=30)
            client.stop_channels()
            assert reply["parent_header"]["msg_id"] == msg_id
            assert reply["content"]["ename"] == "KeyboardInterrupt"

            pid = km.get_kernel(kernel_id).provisioner.pid
            await km.shutdown_kernel(kernel_id)
            assert not psutil.pid_exists(pid)
        finally:
            template = km.template.process
            await km.shutdown_all()
        assert template.poll() is not None  # the template ends with the server

    os.environ["CK_MARK"] = "here"
    try:
        asyncio.run(scenario())
    finally:
        del os.environ["CK_MARK"]


@forking
def test_a_template_that_cannot_fork_safely_leaves_kernels_to_start_the_usual_way(tmp_path, monkeypatch):
    # a library that starts a thread as Python starts (a sitecustomize module): a fork would
    # copy only one of the template's two threads
    (tmp_path / "sitecustomize.py").write_text(
        "import threading, time\nthreading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))

    async def scenario():
        km = manager(tmp_path)
        try:
            kernel_id = await km.start_kernel(kernel_name="python3", path="")
            printed, reply = await run_code(km, kernel_id, "import os; print(os.getppid())")
            assert reply["status"] == "ok"
            assert int(printed) == os.getpid()  # started by the server itself
        finally:
            await km.shutdown_all()

    asyncio.run(scenario())


def test_kernels_without_a_page_are_culled_and_those_with_one_are_kept(tmp_path):
    async def scenario():
        km = manager(tmp_path, cull_idle_timeout=2, cull_interval=1)
        try:
            watched = await km.start_kernel(kernel_name="python3", path="")
            unwatched = await km.start_kernel(kernel_name="python3", path="")
            km.notify_connect(watched)  # a page shows it
            deadline = time.monotonic() + 20
            while unwatched in km.list_kernel_ids():
                assert time.monotonic() < deadline, "a kernel no page connected to was kept"
                await asyncio.sleep(0.2)
            await asyncio.sleep(3)  # longer than the timeout: a watched kernel stays
            assert watched in km.list_kernel_ids()

            km.notify_disconnect(watched)  # its page closes
            left = time.monotonic()
            while watched in km.list_kernel_ids():
                assert time.monotonic() - left < 20, "the closed page's kernel was kept"
                await asyncio.sleep(0.2)
            assert time.monotonic() - left >= 2  # not before the timeout: a page may reconnect
        finally:
            await km.shutdown_all()

    asyncio.run(scenario())


def kernel_alive(server: Voila, kernel_id: str) -> bool:
    try:
        with urllib.request.urlopen(f"{server.url}api/kernels/{kernel_id}", timeout=5):  # noqa: S310 (loopback)
            return True
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return False
        raise


def server_processes(server: Voila) -> set[int]:
    """The server's descendants: its kernels (and the template they are forked from)."""
    return {p.pid for p in psutil.Process(server.proc.pid).children(recursive=True)}


def opened(browser, server: Voila):
    """A page showing the dashboard, and the id of the kernel behind it (from its page config)."""
    page, outside, dialogs = open_page(browser, server.url)
    assert outside == [] and dialogs == []
    kernel_id = page.evaluate("() => JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId")
    assert re.fullmatch(r"[0-9a-f-]{36}", kernel_id), kernel_id
    return page, kernel_id


@pytest.mark.browser
@pytest.mark.slow
def test_a_closed_pages_kernel_is_shut_down_and_an_open_ones_is_kept(browser):
    server = Voila(ROOT / "notebooks" / "dashboard.ipynb")
    try:
        page, staying_kernel = opened(browser, server)
        leaving, leaving_kernel = opened(browser, server)
        assert staying_kernel != leaving_kernel
        running = server_processes(server)
        assert len(running) >= 2  # the two pages' kernels (and any kept ready for the next one)

        leaving.close()
        closed = time.perf_counter()
        while kernel_alive(server, leaving_kernel):
            assert time.perf_counter() - closed < CULLED_WITHIN, "the closed page's kernel is still running"
            time.sleep(1)
        # and its process has ended: one process fewer (the pool, if any, stays full)
        while len(server_processes(server)) != len(running) - 1:
            assert time.perf_counter() - closed < CULLED_WITHIN + 10, server_processes(server)
            time.sleep(0.5)
        print(f"kernel shut down {time.perf_counter() - closed:.0f} s after its page closed")

        # the page still open has been idle longer than the culling delay: its kernel is kept
        # and still answers the controls
        assert kernel_alive(server, staying_kernel)
        deals = ck.read_crm(sample_path("salesforce"))
        box = page.get_by_placeholder("Search partners")
        box.fill("Brightline IT")
        box.press("Enter")
        expected = won(deals, "Brightline IT")
        assert wait_for_tile_change(page, "Deals won", won(deals)) == expected
        assert tile(page, "Deals won") == expected
        page.close()
    finally:
        server.stop()
