"""Voilà settings for `make dashboard`, the browser tests and Binder.

Voilà reads this file from the directory it starts in, as a standalone server (`make dashboard`)
and as the server extension JupyterLab runs on Binder. The kernel settings apply to the
standalone server only: under JupyterLab, its own kernel manager runs the dashboard's kernel.
"""

import os

c = get_config()  # noqa: F821 (Jupyter's config loader provides it)

CELL_SECONDS = 180  # a cell's time limit in Voilà


def _cell_timeout(cell):
    from channelkpi.serving import cell_timeout  # imported when a notebook runs, not with the config

    return cell_timeout(cell, seconds=CELL_SECONDS)


# Kernels kept ready, each with the export loaded and waiting for its page to say its language
# (the dashboard is then made in it): the viewers a room opens at once (`make dashboard
# VIEWERS=10`, the default there) see it without waiting for a kernel. A ready
# kernel holds about 75 MB of its own (the rest is shared with the template below). Its
# replacement starts 30 s after it is taken, when the room has its charts, instead of competing
# with them for the processor; with one ready kernel (the default here, for the tests) the
# replacement starts at once, ready for the next page.
VIEWERS = max(int(os.environ.get("CHANNELKPI_VIEWERS") or 1), 1)

c.Voila.ip = "127.0.0.1"
c.Voila.open_browser = False
c.VoilaConfiguration.template = "channelkpi"  # the lab template without CDN stylesheets
c.VoilaConfiguration.theme = "light"
c.VoilaConfiguration.show_tracebacks = False  # visitors see readable messages, never code
c.VoilaConfiguration.preheat_kernel = True  # a kernel runs the notebook before anyone asks
c.VoilaConfiguration.default_pool_size = VIEWERS
c.VoilaKernelManager.fill_delay = 30 if VIEWERS > 1 else 1
# A room of viewers: kernels forked from a process that has imported the dashboards' libraries
# once, and shut down 30-40 s after their page closes (channelkpi.serving explains both).
c.VoilaConfiguration.multi_kernel_manager_class = "channelkpi.serving.DashboardKernelManager"
c.MappingKernelManager.cull_idle_timeout = 30
c.MappingKernelManager.cull_interval = 10
# The server talks to its kernels through socket files in its own temporary folder, not TCP
# ports: ports picked while ten kernels start at once can be taken by another program before
# the kernel binds them (the kernel then dies), and files are not reachable by other users.
c.KernelManager.transport = "ipc"
# Seconds per cell: a stuck cell ends with a message. The cell that waits for the page's request
# (to read its language, channelkpi.serving.request_locale) waits, in a kernel kept ready, as
# long as nobody opens the page: it is tagged, and no time limit applies to it.
c.VoilaExecutor.timeout = CELL_SECONDS
c.VoilaExecutor.timeout_func = _cell_timeout
# The browser's languages reach the kernel as HTTP_ACCEPT_LANGUAGE: a page without ?lang= speaks
# the first one channelkpi knows.
c.VoilaConfiguration.http_header_envs = ["Accept-Language"]
# Seconds a cell's output may trail its end: with a room of viewers the default 4 s passes and
# the page is served without its dashboard. Waiting ends as soon as the output has arrived.
c.VoilaExecutor.iopub_timeout = 60


def _no_mathjax_from_a_cdn(page_config, **_context):
    # Under JupyterLab (Binder) Voilà's pages load MathJax from cdnjs; the dashboards have no
    # formulas, and a page that waits for the internet is not offline.
    page_config["fullMathjaxUrl"] = ""
    return page_config


c.VoilaConfiguration.page_config_hook = _no_mathjax_from_a_cdn
