"""A meeting's load: N viewers open the dashboard at once; time to the first chart and memory.

Run on demand, on a quiet machine (other work on the machine slows every viewer down):

    flock /tmp/channelkpi-bench.lock .venv/bin/python benchmarks/viewers.py [--viewers 10] [--ready 10]

Starts Voilà as ``make dashboard VIEWERS=<ready>`` does (the same command, ``voila.py`` and
template), waits until the server and the kernels it keeps ready are idle, then opens N pages at
once in Debian's chromium (Playwright, one browser context per viewer; every request that would
leave the machine is blocked and counted). It prints each viewer's time from opening the link to
the first chart drawn (``.vega-embed svg`` visible), the CPU the server, its kernels and the
browsers used, and the memory of the Voilà process tree idle, with the viewers connected and
after they have closed their pages and their kernels have been shut down.

Memory is read from /proc: RSS counts every page a process maps, so pages that forked kernels
share with their template (or any process shares with another) are counted once per process and
the sum overstates what the tree uses; PSS splits shared pages among the processes sharing them,
including processes outside the tree; *heap* (the PSS of anonymous memory) is what the server
and its kernels hold themselves, shared only among them, and is what a viewer adds to the
machine. All three are printed.

Targets (exit code 1 when one is missed): every viewer sees the first chart within
``--first-chart`` seconds (15) with nothing fetched from outside; a viewer costs at most
``--per-viewer-mb`` of heap (200 MB: the mean kernel, and the growth of the tree per viewer);
each closed page's kernel is gone within ``--cull-within`` seconds (60); after the viewers left
the tree's heap is back within ``--idle-slack`` (10 %) of its idle heap.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
KERNEL_ID = re.compile(r"/api/kernels/([0-9a-f-]{36})/channels")
LOOPBACK = re.compile(r"^(https?|wss?)://(127\.0\.0\.1|localhost)[:/]")
MB = 2**20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smaps_rollup(pid: int) -> dict[str, int]:
    """A process's memory totals from /proc (kB), or {} when it has ended."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return {}
    fields = {}
    for line in text.splitlines()[1:]:
        name, _, value = line.partition(":")
        fields[name] = int(value.split()[0])
    return fields


class Tree:
    """The Voilà server and every process under it (its kernels)."""

    def __init__(self, pid: int):
        self.root = psutil.Process(pid)

    def processes(self) -> list[psutil.Process]:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def roles(self) -> dict[str, list[psutil.Process]]:
        """The server, the kernel template (when kernels are forked from one) and the kernels."""
        found = {"server": [self.root], "template": [], "kernels": []}
        for p in self.processes()[1:]:
            try:
                cmd = " ".join(p.cmdline())
            except psutil.Error:
                continue
            if "serve_template" in cmd and p.ppid() == self.root.pid:
                found["template"].append(p)
            elif "ipykernel" in cmd or "serve_template" in cmd:
                found["kernels"].append(p)
        return found

    def kernels(self) -> list[psutil.Process]:
        return self.roles()["kernels"]

    def memory(self) -> dict[str, float]:
        """Memory of the tree in MB: ``rss`` (every page a process maps, shared ones counted in
        each), ``pss`` (shared pages split among the processes sharing them, here and elsewhere on
        the machine) and ``heap`` (PSS of anonymous memory: what the server and kernels hold
        themselves, shared only among them), the RSS of each role, and the mean ``kernel_heap``
        and ``kernel_rss`` of a kernel."""
        total = {"rss": 0.0, "pss": 0.0, "heap": 0.0}
        kernels = []
        for role, processes in self.roles().items():
            total[role] = 0.0
            for p in processes:
                fields = smaps_rollup(p.pid)
                if not fields:
                    continue
                heap = (fields.get("Pss_Anon", 0) + fields.get("Pss_Shmem", 0)) / 1024
                total["rss"] += fields["Rss"] / 1024
                total["pss"] += fields["Pss"] / 1024
                total["heap"] += heap
                total[role] += fields["Rss"] / 1024
                if role == "kernels":
                    kernels.append((heap, fields["Rss"] / 1024))
        total["kernel_heap"] = statistics.mean(k[0] for k in kernels) if kernels else 0.0
        total["kernel_rss"] = statistics.mean(k[1] for k in kernels) if kernels else 0.0
        return total

    def cpu_seconds(self, processes=None) -> float:
        total = 0.0
        for p in self.processes() if processes is None else processes:
            try:
                t = p.cpu_times()
            except psutil.Error:
                continue
            total += t.user + t.system
        return total

    def wait_quiet(self, *, kernels: int | None = None, window: float = 3.0, limit: float = 180.0) -> float | None:
        """Wait until the tree has ``kernels`` kernels and used under 5 % of a core for ``window``
        seconds; return how long that took (None: not within ``limit`` seconds)."""
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < limit:
            before = self.cpu_seconds()
            time.sleep(window)
            busy = (self.cpu_seconds() - before) / window
            if busy < 0.05 and (kernels is None or len(self.kernels()) == kernels):
                return time.perf_counter() - t0
        return None


class PeakSampler(threading.Thread):
    """Samples the tree's RSS every half second: the peak while the viewers load."""

    def __init__(self, tree: Tree):
        super().__init__(daemon=True)
        self.tree, self.peak, self._done = tree, 0.0, threading.Event()

    def run(self):
        while not self._done.is_set():
            rss = 0
            for p in self.tree.processes():
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, rss / MB)
            self._done.wait(0.5)

    def stop(self) -> float:
        self._done.set()
        self.join()
        return self.peak


def browser_cpu(tree: Tree) -> float:
    """CPU seconds of this process's other descendants: Playwright's driver and chromium."""
    voila = {p.pid for p in tree.processes()}
    total = 0.0
    for p in psutil.Process().children(recursive=True):
        if p.pid in voila:
            continue
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def server_env() -> dict[str, str]:
    """The environment of a server started from the top of the repository.

    With the repository itself on PYTHONPATH (to try a checkout with another environment's
    Python) its ``voila.py`` would shadow the ``voila`` package: the package is put on the path
    through a folder holding only a link to it instead.
    """
    env = {**os.environ, "JUPYTER_PATH": str(ROOT / "share" / "jupyter")}
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if any(Path(p).resolve() == ROOT for p in paths):
        shim = Path(tempfile.mkdtemp(prefix="channelkpi-path-"))
        (shim / "channelkpi").symlink_to(ROOT / "channelkpi")
        paths = [str(shim) if Path(p).resolve() == ROOT else p for p in paths]
        env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def start_voila(voila: Path, notebook: str, port: int, ready: int, log_path: Path) -> subprocess.Popen:
    # exactly what `make dashboard VIEWERS=<ready>` runs, from the top of the repository (where
    # voila.py is)
    env = {**server_env(), "CHANNELKPI_VIEWERS": str(ready)}
    log = log_path.open("w")
    proc = subprocess.Popen(
        [str(voila), notebook, f"--port={port}"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Voilà exited with {proc.returncode}:\n{log_path.read_text()}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/favicon.ico", timeout=1)  # noqa: S310 (loopback)
            break
        except urllib.error.HTTPError:
            break  # the server answers
        except OSError:
            time.sleep(0.3)
    else:
        proc.terminate()
        raise RuntimeError("Voilà did not start")
    return proc


def kernel_alive(port: int, kernel_id: str) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/kernels/{kernel_id}", timeout=5)  # noqa: S310
        return True
    except urllib.error.HTTPError as exc:
        return exc.code != 404


async def meeting(args, port: int, tree: Tree, idle: dict, pool: int) -> list[str]:
    """Open the pages at once, measure, close them, wait for their kernels to go: the misses."""
    from playwright.async_api import async_playwright

    n, failures, outside = args.viewers, [], []
    kernel_ids: list[set[str]] = [set() for _ in range(n)]

    async def route(r):
        if r.request.url.startswith(("data:", "blob:")) or LOOPBACK.match(r.request.url):
            await r.continue_()
        else:
            outside.append(r.request.url)
            await r.abort()

    async def first_chart(page) -> float:
        t0 = time.perf_counter()
        try:
            await page.goto(f"http://127.0.0.1:{port}/", wait_until="commit", timeout=120_000)
            await page.wait_for_selector(".vega-embed svg", state="visible", timeout=120_000)
        except Exception:  # a viewer who never sees a chart is a miss, reported as such
            return float("inf")
        return time.perf_counter() - t0

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=args.chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
        )
        contexts, pages = [], []
        for i in range(n):  # one context per viewer: separate people, nothing shared but the server
            context = await browser.new_context(viewport={"width": 1400, "height": 1000})
            await context.route("**/*", route)
            page = await context.new_page()
            page.on("websocket", lambda ws, i=i: kernel_ids[i].update(KERNEL_ID.findall(ws.url)))
            contexts.append(context)
            pages.append(page)

        sampler = PeakSampler(tree)
        sampler.start()
        cpu_before = tree.cpu_seconds()
        server_before = tree.cpu_seconds([tree.root])
        browser_before = browser_cpu(tree)
        t_open = time.perf_counter()
        times = await asyncio.gather(*(first_chart(page) for page in pages))
        all_drawn = time.perf_counter() - t_open
        settle = await asyncio.to_thread(tree.wait_quiet, limit=120)
        peak = sampler.stop()
        loaded = tree.memory()
        cpu = tree.cpu_seconds() - cpu_before
        cpu_server = tree.cpu_seconds([tree.root]) - server_before
        cpu_browser = browser_cpu(tree) - browser_before
        viewer_kernels = {k for ids in kernel_ids for k in ids}

        print(f"\n{n} viewers opened the dashboard at once:")
        print(f"{'viewer':>6}  {'first chart':>11}")
        for i, t in enumerate(times, 1):
            print(f"{i:>6}  {t:>9.1f} s")
        finite = [t for t in times if t != float("inf")]
        if finite:
            print(
                f"median {statistics.median(finite):.1f} s, slowest {max(times):.1f} s; all drawn after {all_drawn:.1f} s"
            )
        per = {k: (loaded[k] - idle[k]) / n for k in ("heap", "pss", "rss")}
        per_kernel = max(loaded["kernel_heap"], per["heap"])
        settled = f"settled {settle:.0f} s later" if settle is not None else "still busy after 120 s"
        print(
            f"with {n} viewers ({len(tree.kernels())} kernels, {settled}): {described(loaded)}; peak RSS {peak:.0f} MB"
        )
        print(
            f"per viewer: heap +{per['heap']:.0f} MB, PSS +{per['pss']:.0f} MB, RSS +{per['rss']:.0f} MB "
            f"(a kernel: heap {loaded['kernel_heap']:.0f} MB, RSS {loaded['kernel_rss']:.0f} MB); "
            f"CPU: Voilà tree {cpu:.1f} s "
            f"(server {cpu_server:.1f} s, kernels {cpu - cpu_server:.1f} s), chromium {cpu_browser:.1f} s"
        )
        if outside:
            failures.append(f"{len(outside)} request(s) left the machine: {outside[:3]}")
        if max(times) > args.first_chart:
            failures.append(f"slowest first chart {max(times):.1f} s > {args.first_chart:.0f} s")
        if per_kernel > args.per_viewer_mb:
            failures.append(f"{per_kernel:.0f} MB of heap per viewer > {args.per_viewer_mb:.0f} MB")
        if len(viewer_kernels) != n:
            failures.append(f"{len(viewer_kernels)} kernels seen for {n} viewers")

        t_close = time.perf_counter()
        for context in contexts:
            await context.close()

    gone_after: dict[str, float] = {}
    while time.perf_counter() - t_close < args.cull_within + 30 and len(gone_after) < len(viewer_kernels):
        for k in viewer_kernels - set(gone_after):
            if not await asyncio.to_thread(kernel_alive, port, k):
                gone_after[k] = time.perf_counter() - t_close
        await asyncio.sleep(1)
    shut = sorted(gone_after.values())
    span = f" after {shut[0]:.0f}-{shut[-1]:.0f} s" if shut else ""
    print(f"\npages closed: {len(shut)} of {len(viewer_kernels)} viewer kernels shut down{span}")
    late = len(viewer_kernels) - sum(t <= args.cull_within for t in shut)
    if late:
        failures.append(f"{late} kernel(s) still running {args.cull_within:.0f} s after their page closed")
    back = await asyncio.to_thread(tree.wait_quiet, kernels=pool, limit=90)
    after = tree.memory()
    print(
        f"after the viewers left{'' if back is not None else ' (not settled)'}: "
        f"{len(tree.kernels())} kernel(s), {described(after)}"
    )
    if after["heap"] > idle["heap"] * (1 + args.idle_slack):
        failures.append(f"memory after the meeting: heap {after['heap']:.0f} MB > idle {idle['heap']:.0f} MB + slack")
    return failures


def described(m: dict[str, float]) -> str:
    parts = ", ".join(f"{role} {m[role]:.0f}" for role in ("server", "template", "kernels") if m.get(role))
    return f"heap {m['heap']:.0f} MB, PSS {m['pss']:.0f} MB, RSS {m['rss']:.0f} MB ({parts})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=10)
    parser.add_argument(
        "--ready", type=int, default=10, help="kernels kept ready, as `make dashboard VIEWERS=...` (default 10)"
    )
    parser.add_argument("--meetings", type=int, default=1, help="rounds of viewers, one after the other")
    parser.add_argument("--notebook", default="notebooks/dashboard.ipynb")
    parser.add_argument("--voila", type=Path, default=Path(sys.executable).with_name("voila"))
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--first-chart", type=float, default=15.0, help="target, seconds")
    parser.add_argument("--per-viewer-mb", type=float, default=200.0, help="target, MB of heap")
    parser.add_argument("--cull-within", type=float, default=60.0, help="target, seconds")
    parser.add_argument("--idle-slack", type=float, default=0.10, help="target, fraction of idle memory")
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"Voilà as `make dashboard VIEWERS={args.ready}` starts it: {args.ready} kernel(s) kept ready")
    port = free_port()
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"channelkpi-viewers-{port}.log"
    proc = start_voila(args.voila, args.notebook, port, args.ready, log_path)
    tree = Tree(proc.pid)
    try:
        settled = tree.wait_quiet()
        if settled is None:
            raise RuntimeError("the Voilà server did not settle")
        pool = len(tree.kernels())
        idle = tree.memory()
        print(f"idle after {settled:.0f} s: {pool} kernel(s) ready, {described(idle)}")
        failures = []
        for i in range(args.meetings):
            if args.meetings > 1:
                print(f"\n--- meeting {i + 1} of {args.meetings}")
            failures += asyncio.run(meeting(args, port, tree, idle, pool))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(f"machine load average now {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for f in failures:
        print(f"MISSED: {f}")
    print("all targets met" if not failures else f"{len(failures)} target(s) missed (Voilà log: {log_path})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
