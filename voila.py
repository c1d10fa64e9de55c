"""Voilà settings for `make dashboard`, the browser tests and Binder.

Voilà reads this file from the directory it starts in, as a standalone server (`make dashboard`)
and as the server extension JupyterLab runs on Binder.
"""

c = get_config()  # noqa: F821 (Jupyter's config loader provides it)

c.Voila.ip = "127.0.0.1"
c.Voila.open_browser = False
c.VoilaConfiguration.template = "channelkpi"  # the lab template without CDN stylesheets
c.VoilaConfiguration.theme = "light"
c.VoilaConfiguration.show_tracebacks = False  # visitors see readable messages, never code
c.VoilaConfiguration.preheat_kernel = True  # a kernel runs the notebook before anyone asks
c.VoilaConfiguration.default_pool_size = 1
# A room of viewers: kernels forked from a process that has imported the dashboards' libraries
# once, and shut down 30-40 s after their page closes (channelkpi.serving explains both).
c.VoilaConfiguration.multi_kernel_manager_class = "channelkpi.serving.DashboardKernelManager"
c.MappingKernelManager.cull_idle_timeout = 30
c.MappingKernelManager.cull_interval = 10
c.VoilaExecutor.timeout = 180  # seconds per cell: a stuck cell ends with a message
# Seconds a cell's output may trail its end: with a room of viewers the default 4 s passes and
# the page is served without its dashboard. Waiting ends as soon as the output has arrived.
c.VoilaExecutor.iopub_timeout = 60


def _no_mathjax_from_a_cdn(page_config, **_context):
    # Under JupyterLab (Binder) Voilà's pages load MathJax from cdnjs; the dashboards have no
    # formulas, and a page that waits for the internet is not offline.
    page_config["fullMathjaxUrl"] = ""
    return page_config


c.VoilaConfiguration.page_config_hook = _no_mathjax_from_a_cdn
