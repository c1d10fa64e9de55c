"""Charts that render without internet, in Voilà, JupyterLab and the classic notebook.

Altair's ``JupyterChart`` widget loads Vega from a CDN unless its JavaScript is bundled into the
page; :func:`enable_offline` bundles it (once per kernel, cached between kernels).
:func:`use_offline_renderer` also draws every chart a notebook cell returns that way: Altair's
default renderer loads Vega from a CDN too.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import altair as alt
import platformdirs

__all__ = ["enable_offline", "use_offline_renderer"]

_OFFLINE = False


def _bundle_path() -> Path:
    """Where the offline chart bundle is kept, one file per Altair and vl-convert version."""
    import vl_convert as vlc

    folder = os.environ.get("CHANNELKPI_CACHE_DIR") or platformdirs.user_cache_dir("channelkpi")
    return Path(folder) / f"jupyterchart-altair{alt.__version__}-vlconvert{vlc.__version__}.js"


def enable_offline() -> None:
    """Serve the charts' JavaScript from the kernel, not a CDN (once per kernel).

    ``alt.JupyterChart.enable_offline()`` has vl-convert build a 1 MB JavaScript bundle, which
    takes about a second on every kernel start. The bundle only changes with the Altair and
    vl-convert versions, so it is kept in the user's cache folder (``CHANNELKPI_CACHE_DIR``
    overrides it) and read from there by later kernels.
    """
    global _OFFLINE
    if _OFFLINE:
        return
    path = _bundle_path()
    cached = path.read_text(encoding="utf-8") if path.is_file() else ""
    if cached and hasattr(alt.JupyterChart, "_is_offline"):
        # exactly what enable_offline() sets, with the bundle it built before
        alt.JupyterChart._esm = cached
        alt.JupyterChart._is_offline = True
    else:
        alt.JupyterChart.enable_offline()
        with contextlib.suppress(OSError):  # a read-only home: build it again next time
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(alt.JupyterChart._esm, encoding="utf-8")
            tmp.replace(path)  # atomic: a kernel starting meanwhile reads all or nothing
    _OFFLINE = True


def use_offline_renderer() -> None:
    """Draw every Altair chart a notebook shows with JavaScript from the kernel (once per kernel).

    A chart returned by a cell becomes an ``alt.JupyterChart`` widget carrying the bundle of
    :func:`enable_offline` (Altair's ``jupyter`` renderer in offline mode): it renders in
    JupyterLab, the classic notebook and Voilà without internet, with tooltips and selections.
    Altair's other renderers do not: ``html`` (the default) loads Vega from a CDN; ``mimetype``
    writes a Vega-Lite 6 output that JupyterLab 4 cannot draw and nbformat rejects; ``html``
    with the JavaScript inlined in every output hangs the page.

    Examples
    --------
    >>> import altair as alt
    >>> use_offline_renderer()
    >>> alt.renderers.active, alt.JupyterChart._is_offline
    ('jupyter', True)
    >>> _ = alt.renderers.enable("default")  # back to Altair's default for the other examples
    """
    enable_offline()
    alt.renderers.enable("jupyter", offline=True)
