"""Serving a dashboard to a room: kernels that start at once and go when their page closes.

Voilà runs one kernel per page. Started the usual way, each kernel is a new Python that imports
pandas, Altair, ipywidgets and channelkpi again (about 2.5 s of CPU and 250 MB), and it runs
until the server stops. ``voila.py`` makes Voilà use :class:`DashboardKernelManager`, which
changes both:

- **Kernels are forked from a template.** A *kernel template* process imports what the
  dashboards need once; each kernel is a ``fork()`` of it that then runs an ordinary IPython
  kernel with the arguments, environment and folder it was started with. The imports cost
  nothing per page, and the memory they fill stays shared with the template until a kernel
  writes to it (copy-on-write): a dashboard kernel holds about 75 MB of its own instead of
  250 MB. Modules the template has not imported are imported by the kernel as usual. Where
  forking cannot be used this way (not Linux, a kernel that is not this Python's IPython
  kernel, or a library that started a thread as it was imported) kernels start the usual way.
- **A kernel whose page has closed is shut down** once no page has been connected to it for
  ``cull_idle_timeout`` seconds, checked every ``cull_interval`` seconds. A kernel that a page
  shows is never shut down, however long the viewer looks at it; a kernel waiting in Voilà's
  pool (``preheat_kernel``) is kept for the next viewer. When the last page has gone, the
  server hands the memory it freed back to the system.

Dashboard kernels also keep no command history (ten kernels writing one history database wait
for each other's locks). The template is reached through a socket pair only the server holds.
``benchmarks/viewers.py`` measures both changes with ten viewers in chromium.

Examples
--------
In ``voila.py`` (Voilà's configuration file)::

    c.VoilaConfiguration.multi_kernel_manager_class = "channelkpi.serving.DashboardKernelManager"
    c.MappingKernelManager.cull_idle_timeout = 30
    c.MappingKernelManager.cull_interval = 10
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import json
import os
import random
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from jupyter_client.provisioning import LocalProvisioner
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from traitlets import Bool, Float

__all__ = [
    "DashboardKernelManager",
    "ForkedProcess",
    "ForkedKernelProvisioner",
    "KernelTemplate",
    "WAITS_FOR_VIEWER",
    "cell_timeout",
    "forking_supported",
    "import_what_kernels_need",
    "release_free_memory",
    "request_locale",
    "serve_template",
]

_MESSAGE = 1 << 20  # largest request (a kernel's environment) or reply, in bytes
_TEMPLATE_ENV = {
    # Libraries that start threads when imported, kept from doing so in the template (a fork
    # copies only the forking thread). The dashboards do no linear algebra: one BLAS thread per
    # kernel is what ten kernels on two cores should use anyway.
    "OPENBLAS_NUM_THREADS": "1",  # numpy's OpenBLAS starts a thread per core
    "JE_ARROW_MALLOC_CONF": "background_thread:false",  # pyarrow's jemalloc starts a purging thread
    # the debugger's warning that breakpoints in frozen modules may be missed: nobody debugs here
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}


def forking_supported() -> bool:
    """Whether kernels can be forked here: Linux, with process file descriptors (kernel >= 5.3)."""
    if sys.platform != "linux" or not hasattr(os, "pidfd_open") or not hasattr(socket, "send_fds"):
        return False
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:
        return False
    return True


def release_free_memory() -> None:
    """Give the C heap's free pages back to the system (glibc's ``malloc_trim``; elsewhere nothing).

    Serving a page passes megabytes of messages through the server (the chart library alone is
    1 MB per page) and builds a page template; freed, they stay in the process's heap unless
    handed back. Cycles (templates hold some) are collected first.
    """
    gc.collect()
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


class ForkedProcess:
    """A kernel forked by the template, seen from the server like a ``subprocess.Popen``.

    The kernel is the template's child, not the server's: it is watched and signalled through a
    process file descriptor (which cannot reach another process that reuses the pid later). Its
    exit status belongs to the template, so :attr:`returncode` is 0 once it has ended.
    """

    stdin = stdout = stderr = None

    def __init__(self, pid: int, pidfd: int):
        self.pid = pid
        self.returncode: int | None = None
        self._pidfd = pidfd

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._pidfd], [], [], 0)[0]:
            self.returncode = 0
            os.close(self._pidfd)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            select.select([self._pidfd], [], [], left)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            signal.pidfd_send_signal(self._pidfd, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class KernelTemplate:
    """The server's handle on a kernel template process.

    Parameters
    ----------
    ready_timeout : float
        Seconds the first kernel start waits for the template to have imported what kernels
        need (:func:`import_what_kernels_need`).
    log : logging.Logger, optional
        Where the template's start and failures are reported.
    """

    def __init__(self, *, ready_timeout: float = 120, log=None):
        self.log = log
        self.ready_timeout = ready_timeout
        self._lock = threading.Lock()
        self._ready = False
        self._failed = ""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._sock = ours
        code = "import sys; from channelkpi.serving import serve_template; serve_template(int(sys.argv[1]))"
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            env={**os.environ, **_TEMPLATE_ENV},
        )
        theirs.close()

    def _wait_ready(self, timeout: float) -> None:
        if self._ready or self._failed:
            return
        self._sock.settimeout(timeout)
        try:
            reply = json.loads(self._sock.recv(_MESSAGE) or b'{"error": "the kernel template exited"}')
        except (OSError, ValueError) as exc:
            reply = {"error": f"the kernel template did not answer ({exc})"}
        finally:
            self._sock.settimeout(None)
        if "error" in reply:
            self._failed = reply["error"]
            if self.log:
                self.log.warning("Kernels start without a template: %s", self._failed)
        else:
            self._ready = True
            if self.log:
                self.log.info("Kernel template ready (pid %s): kernels are forked from it", self.process.pid)

    def fork(self, argv: list[str], *, env: dict[str, str], cwd: str | None) -> ForkedProcess:
        """Fork a kernel running ``python -m ipykernel_launcher *argv`` (blocks: run in a thread).

        Raises ``OSError`` when the template cannot fork one (the caller starts it the usual way).
        """
        with self._lock:
            self._wait_ready(self.ready_timeout)
            if self._failed:
                raise OSError(self._failed)
            request = json.dumps({"argv": argv, "env": env, "cwd": cwd}).encode()
            try:
                self._sock.sendall(request)
                reply, fds, _flags, _addr = socket.recv_fds(self._sock, _MESSAGE, 1)
            except OSError as exc:
                self._failed = f"the kernel template stopped answering ({exc})"
                raise OSError(self._failed) from exc
            if not reply or not fds:
                for fd in fds:
                    os.close(fd)
                self._failed = "the kernel template exited"
                raise OSError(self._failed)
            return ForkedProcess(json.loads(reply)["pid"], fds[0])

    def close(self) -> None:
        """Stop the template (kernels already forked keep running until shut down)."""
        with contextlib.suppress(OSError):
            self._sock.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def import_what_kernels_need() -> None:
    """Import what an IPython kernel imports as it starts (its debugger alone is 150 modules)
    and what the dashboards import: in the template, once for every kernel forked from it."""
    import ipykernel.debugger  # noqa: F401
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401
    import ipykernel.zmqshell  # noqa: F401
    import IPython.core.completerlib  # noqa: F401
    import IPython.core.debugger  # noqa: F401
    import IPython.core.oinspect  # noqa: F401
    import IPython.extensions.storemagic  # noqa: F401
    import psutil  # noqa: F401
    import tornado.platform.asyncio  # noqa: F401

    from . import datasets, widgets  # noqa: F401
    from .offline import enable_offline

    enable_offline()  # the chart bundle, read once


def serve_template(fd: int) -> None:
    """The kernel template's main loop: :func:`import_what_kernels_need`, then fork a kernel per
    request.

    Runs in its own process, started by :class:`KernelTemplate`; ``fd`` is its end of the
    socket pair. Ends when the server closes the socket.
    """
    sock = socket.socket(fileno=fd)
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # as ipykernel_launcher does; the kernel's IPython adds its own folder
    # Copy-on-write shares a page until someone writes to it, and the garbage collector writes
    # to every object it visits: the imported objects are moved out of its reach (gc.freeze)
    # before the first fork, and not collected while they are being made (no holes for kernels
    # to fill in pages they share).
    gc.disable()
    try:
        import_what_kernels_need()
        # a fork copies only the forking thread: a library that started threads would leave
        # its kernels with locks nobody releases
        threads = len(os.listdir("/proc/self/task"))
        if threads > 1:
            raise RuntimeError(f"importing started {threads - 1} thread(s)")
    except Exception as exc:  # the server starts kernels the usual way and says why
        sock.send(json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
        return
    gc.freeze()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel's end reaps it: no zombies
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which closes the socket
    sock.send(b'{"ready": true}')
    while True:
        try:
            request = sock.recv(_MESSAGE)
        except OSError:
            return
        if not request:
            return
        job = json.loads(request)
        pid = os.fork()
        if pid == 0:
            sock.close()
            _run_kernel(job["argv"], job["env"], job["cwd"])
        pidfd = os.pidfd_open(pid)
        try:
            socket.send_fds(sock, [json.dumps({"pid": pid}).encode()], [pidfd])
        except OSError:
            os.kill(pid, signal.SIGKILL)
            return
        finally:
            os.close(pidfd)


def _run_kernel(argv: list[str], env: dict[str, str], cwd: str | None) -> None:
    """In the forked child: become what ``python -m ipykernel_launcher *argv`` would be."""
    code = 1
    try:
        os.setsid()  # its own process group, as launched kernels have: interrupts reach only it
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if cwd:
            os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        # the kernel ends if the template does (which ends with the server)
        os.environ["JPY_PARENT_PID"] = str(os.getppid())
        gc.enable()
        random.seed()
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()  # each kernel its own random numbers, not the template's
        sys.argv = ["ipykernel_launcher", *argv, f"--IPKernelApp.parent_handle={os.getppid()}"]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


class ForkedKernelProvisioner(LocalProvisioner):
    """Starts the kernel by forking the template when the command is this Python's IPython kernel.

    Any other command, or a template that cannot fork, starts the kernel as
    :class:`jupyter_client.provisioning.LocalProvisioner` does.
    """

    template: KernelTemplate | None = None

    async def launch_kernel(self, cmd: list[str], **kwargs):
        argv = _ipykernel_arguments(cmd)
        if self.template is None or argv is None:
            return await super().launch_kernel(cmd, **kwargs)
        env = kwargs.get("env") or dict(os.environ)
        cwd = kwargs.get("cwd")
        try:
            self.process = await asyncio.to_thread(self.template.fork, argv, env=env, cwd=cwd)
        except OSError:
            return await super().launch_kernel(cmd, **kwargs)
        self.pid = self.process.pid
        self.pgid = self.process.pid  # the child's own session
        self.cwd = cwd or os.getcwd()
        return self.connection_info


def _ipykernel_arguments(cmd: list[str]) -> list[str] | None:
    """The arguments after ``python -m ipykernel_launcher`` when ``cmd`` runs it with this Python."""
    if len(cmd) < 3 or cmd[1:3] != ["-m", "ipykernel_launcher"]:
        return None
    try:
        same = Path(cmd[0]).resolve() == Path(sys.executable).resolve()
    except OSError:
        return None
    return cmd[3:] if same else None


class DashboardKernelManager(AsyncMappingKernelManager):
    """Voilà's kernel manager for dashboards in front of many viewers (see the module's text)."""

    fork_kernels = Bool(True, help="Fork kernels from a template (where possible) instead of starting each anew.").tag(
        config=True
    )

    template_timeout = Float(120, help="Seconds the first kernel start waits for the template.").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._pages: dict[str, int] = {}  # kernel id -> pages connected now
        self._unwatched_since: dict[str, float] = {}  # kernel id -> when it was last seen by a page
        self._template = None
        if self.fork_kernels and forking_supported():
            self._template = KernelTemplate(ready_timeout=self.template_timeout, log=self.log)

    @property
    def template(self) -> KernelTemplate | None:
        """The kernel template kernels are forked from (None: they start the usual way)."""
        return self._template

    def pre_start_kernel(self, kernel_name, kwargs):
        km, kernel_name, kernel_id = super().pre_start_kernel(kernel_name, kwargs)
        if "ipykernel_launcher" in km.kernel_spec.argv:
            # a dashboard has no use for a command history, and ten kernels writing to one
            # history database wait for each other's locks
            kwargs["extra_arguments"] = [*kwargs.get("extra_arguments", []), "--HistoryManager.enabled=False"]
        if self._template is not None and km.provisioner is None:
            km.provisioner = ForkedKernelProvisioner(kernel_id=kernel_id, kernel_spec=km.kernel_spec, parent=km)
            km.provisioner.template = self._template
        return km, kernel_name, kernel_id

    def notify_connect(self, kernel_id):
        super().notify_connect(kernel_id)
        self._pages[kernel_id] = self._pages.get(kernel_id, 0) + 1
        self._unwatched_since.pop(kernel_id, None)

    def notify_disconnect(self, kernel_id):
        super().notify_disconnect(kernel_id)
        if kernel_id not in self:
            return
        left = max(self._pages.get(kernel_id, 0) - 1, 0)
        self._pages[kernel_id] = left
        if not left:
            self._unwatched_since[kernel_id] = time.monotonic()

    async def cull_kernel_if_idle(self, kernel_id):
        """Shut the kernel down when no page has been connected to it for ``cull_idle_timeout``.

        The time counts from the last page leaving, or, for a kernel no page has connected to
        yet, from the first check that saw it (a kernel handed from Voilà's pool to a page that
        is still loading has been idle for long, but is not abandoned).
        """
        if kernel_id not in self:
            return
        if self._pages.get(kernel_id):
            return
        since = self._unwatched_since.setdefault(kernel_id, time.monotonic())
        if time.monotonic() - since < self.cull_idle_timeout:
            return
        await super().cull_kernel_if_idle(kernel_id)

    async def shutdown_kernel(self, kernel_id, now=False, restart=False):
        if not restart:
            self._pages.pop(kernel_id, None)
            self._unwatched_since.pop(kernel_id, None)
        result = await super().shutdown_kernel(kernel_id, now=now, restart=restart)
        if not restart and not any(self._pages.values()):
            release_free_memory()  # the last page has gone: the server back to its idle size
        return result

    async def shutdown_all(self, now=False):
        await super().shutdown_all(now=now)
        if self._template is not None:
            self._template.close()
            self._template = None


# --------------------------------------------------------------------------- the viewer's language
#: The tag of the notebook cell that waits for the page's request (:func:`request_locale`): in a
#: kernel kept ready it waits as long as nobody opens the page, so no cell timeout applies to it.
WAITS_FOR_VIEWER = "waits-for-viewer"


def cell_timeout(cell, *, seconds: int = 180) -> int | None:
    """Voilà's time limit for a cell (``VoilaExecutor.timeout_func``): ``seconds``, none for the
    cell tagged :data:`WAITS_FOR_VIEWER`.

    >>> cell_timeout({"metadata": {"tags": ["waits-for-viewer"]}}), cell_timeout({"metadata": {}})
    (None, 180)
    """
    return None if WAITS_FOR_VIEWER in cell.get("metadata", {}).get("tags", []) else seconds


def request_locale(*, query: str | None = None, accept_language: str | None = None) -> str:
    """The locale a dashboard page asks for: ``?lang=`` in its URL (``?lang=nl``,
    ``?lang=fr-BE``), else the first of the browser's languages channelkpi speaks (the
    ``Accept-Language`` header, by preference), else ``"en-US"``.

    Without arguments it reads the request Voilà serves the notebook for: the ``QUERY_STRING``
    and ``HTTP_ACCEPT_LANGUAGE`` variables (``voila.py`` passes the header on). In a kernel kept
    ready before anyone asked (``preheat_kernel``) it first waits for the page's request
    (``voila.utils.wait_for_request``): tag its cell :data:`WAITS_FOR_VIEWER` so no timeout
    ends the wait. Outside Voilà (JupyterLab, nbclient) it returns at once.

    Examples
    --------
    >>> request_locale(query="lang=nl"), request_locale(query="lang=fr-be&x=1")
    ('nl-NL', 'fr-BE')
    >>> request_locale(query="", accept_language="es-ES,es;q=0.9,de-AT;q=0.8,en;q=0.5")
    'de-AT'
    >>> request_locale(query="lang=xx", accept_language="nl-BE,nl;q=0.9")  # no Klingon yet
    'nl-BE'
    >>> request_locale(query="", accept_language="")
    'en-US'
    """
    from urllib.parse import parse_qs

    from .i18n import DEFAULT_LOCALE, LANGUAGES, resolve_locale

    if query is None and accept_language is None:
        if os.environ.get("VOILA_PREHEAT") == "True":
            from voila.utils import wait_for_request

            wait_for_request()
        query = os.environ.get("QUERY_STRING", "")
        accept_language = os.environ.get("HTTP_ACCEPT_LANGUAGE", "")
    asked = [tag for tag in parse_qs(query or "").get("lang", []) if tag]
    weighted = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag and tag != "*" and q > 0:
            weighted.append((-q, i, tag))
    for tag in [*asked, *(t for _q, _i, t in sorted(weighted))]:
        if tag.replace("_", "-").split("-")[0].lower() in LANGUAGES:
            return resolve_locale(tag)
    return DEFAULT_LOCALE
