"""Charts that render without internet, in Voilà, JupyterLab and the classic notebook.

Altair's ``JupyterChart`` widget loads Vega from a CDN unless its JavaScript is bundled into the
page; :func:`enable_offline` bundles it (once per kernel, cached between kernels).
:func:`use_offline_renderer` also draws every chart a notebook cell returns that way: Altair's
default renderer loads Vega from a CDN too.

Every chart on a page must share one copy of Vega. anywidget imports each widget's JavaScript
from a URL of its own, so with the bundle as the widget's JavaScript each chart got its own Vega,
whose SVG ids (``clip1``, ``clip2`` ..., ``gradient_0`` ...) count from 1 again: two charts on one
page drew with each other's clip paths (the bars of the second floated). The widget's JavaScript
is therefore :func:`shared_esm`: a small module that imports the bundle once per page and hands
each chart that same module, so ids keep counting across all charts.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

import altair as alt
import platformdirs
import traitlets

__all__ = ["DRAW_PARAM", "ChartWidget", "enable_offline", "shared_esm", "use_offline_renderer"]

_OFFLINE = False

#: A chart param numbering the chart's drawings: each selection the page reports carries, in the
#: widget's ``_params``, the number of the drawing it was made on (see :func:`shared_esm`).
DRAW_PARAM = "channelkpi_draw"


def _bundle_path() -> Path:
    """Where the offline chart bundle is kept, one file per Altair and vl-convert version."""
    import vl_convert as vlc

    folder = os.environ.get("CHANNELKPI_CACHE_DIR") or platformdirs.user_cache_dir("channelkpi")
    return Path(folder) / f"jupyterchart-altair{alt.__version__}-vlconvert{vlc.__version__}.js"


_SHARED_ESM = """\
const key = Symbol.for(%(key)s);
const bundle = %(bundle)s;
if (!globalThis[key]) {
  const url = URL.createObjectURL(new Blob([bundle], {type: "text/javascript"}));
  globalThis[key] = import(url)
    .catch((error) => { delete globalThis[key]; throw error; })
    .finally(() => URL.revokeObjectURL(url));
}
const base = (await globalThis[key]).default;

// Altair's widget draws its chart again on each of these changes, without waiting for the
// drawing under way: two changes in quick succession drew concurrently, and whichever finished
// last stayed on the page (a click, then "Clear selection", could leave the old bars chosen).
const REDRAWS = new Set(["change:spec", "change:embed_options", "change:debounce_wait", "change:max_wait"]);
// A chart whose spec has this param numbers its drawings. A selection is reported with the number
// of the drawing it was made on (in the same message), so the kernel can tell a click from a report
// of an earlier drawing that arrives after it sent a newer one.
const DRAW = %(draw)s;
const drawOf = (spec) => (((spec && spec.params) || []).find((p) => p.name === DRAW) || {}).value ?? null;

function render(context) {
  const el = context.el;
  const model = context.model;
  // One drawing at a time, and only the newest of those asked for meanwhile: a redraw reads the
  // model's current spec, so the ones in between would only be drawn over.
  let drawing = null;
  let queued = null;
  let drawn = null;  // the number of the drawing on the page
  let reading = null;  // the number of the drawing under way
  const drain = () => {
    if (drawing) return drawing;
    drawing = (async () => {
      while (queued) {
        const next = queued;
        queued = null;
        try { await next(); drawn = reading; } catch (error) { console.error(error); }
      }
    })().finally(() => { drawing = null; });
    return drawing;
  };
  const serial = new Map();
  const oneAtATime = (redraw) => {
    if (!serial.has(redraw)) {
      serial.set(redraw, (...args) => {
        queued = () => redraw(...args);
        return drain();
      });
    }
    return serial.get(redraw);
  };
  // Altair's widget listens to "change:_params" anew on every drawing, never letting go of the
  // drawings before, and reads the change from Backbone's `changed` hash, which lacks `_params`
  // when the set is nested in another change (a level change: "Cannot convert undefined or null
  // to object" at Object.entries). Only the newest drawing listens, and it is handed the params.
  let paramsListener = null;
  const onParams = (callback, ...rest) => {
    if (paramsListener) model.off("change:_params", paramsListener);
    paramsListener = () => callback(model.get("_params") || {});
    return model.on("change:_params", paramsListener, ...rest);
  };
  const serialModel = new Proxy(model, {
    get(target, name) {
      if (name === "on") {
        return (event, callback, ...rest) => {
          if (event === "change:_params") return onParams(callback, ...rest);
          return target.on(event, REDRAWS.has(event) ? oneAtATime(callback) : callback, ...rest);
        };
      }
      if (name === "get") {
        return (attr) => {
          const value = target.get(attr);
          if (attr === "spec") reading = drawOf(value);  // a drawing starts by reading its spec
          return value;
        };
      }
      if (name === "set") {
        return (attr, value, ...rest) => {
          const params = target.get("_params") || {};
          if (attr === "_vl_selections" && drawn !== null && DRAW in params) {
            target.set("_params", {...params, [DRAW]: drawn});
          }
          return target.set(attr, value, ...rest);
        };
      }
      const value = Reflect.get(target, name);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  // a chart as wide as its container measures this element: let it fill its row
  el.style.display = "block";
  el.style.width = "100%%";
  // Vega measures the container when it draws and on window resizes only; a chart drawn before
  // its element is on the page, or on a hidden tab, is 0 px wide until then
  let width = el.clientWidth;
  const watch = new ResizeObserver(() => {
    if (el.clientWidth !== width) {
      width = el.clientWidth;
      window.dispatchEvent(new Event("resize"));
    }
  });
  watch.observe(el);
  // the first drawing counts as one under way: a change meanwhile waits for it
  const first = Promise.resolve(base.render({...context, model: serialModel}));
  drawing = first.catch(() => {}).then(() => {
    drawing = null;
    drawn = reading;
    return drain();
  });
  return first.then((cleanup) => () => {
    watch.disconnect();
    if (paramsListener) model.off("change:_params", paramsListener);
    if (typeof cleanup === "function") cleanup();
  });
}

export default {...base, render};
"""


def shared_esm(bundle: str) -> str:
    """An ES module that loads the chart ``bundle`` once per page and hands every chart that
    same module (anywidget imports each widget's own copy of this small one).

    The copy is kept on ``globalThis`` under a key made of the bundle's hash, so two versions
    of the bundle on one page stay apart; a failed import is forgotten so the next chart tries
    again. Each chart's element fills its row and tells Vega when its width changes (a tab
    shown, a window resized), so a chart ``width="container"`` fits the page. A chart draws
    one spec at a time (the newest), and a chart with the param :data:`DRAW_PARAM` reports each
    selection with the number of the drawing it was made on.

    >>> esm = shared_esm("export default {render() {}};")
    >>> "Symbol.for(" in esm and "export default" in esm and "ResizeObserver" in esm
    True
    """
    key = "channelkpi.vega." + hashlib.sha256(bundle.encode("utf-8")).hexdigest()[:16]
    return _SHARED_ESM % {"key": json.dumps(key), "bundle": json.dumps(bundle), "draw": json.dumps(DRAW_PARAM)}


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
        bundle = cached  # what enable_offline() builds, built before
    else:
        alt.JupyterChart.enable_offline()
        bundle = str(alt.JupyterChart._esm)
        with contextlib.suppress(OSError):  # a read-only home: build it again next time
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(bundle, encoding="utf-8")
            tmp.replace(path)  # atomic: a kernel starting meanwhile reads all or nothing
    alt.JupyterChart._esm = shared_esm(bundle)
    alt.JupyterChart._is_offline = True
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


class _Unvalidated:
    """A chart as ``JupyterChart`` reads it when the chart is set, serialised without validation."""

    def __init__(self, chart: alt.TopLevelMixin) -> None:
        self._chart = chart

    def __getattr__(self, name: str):
        return getattr(self._chart, name)

    def to_dict(self, *args, **kwargs) -> dict:
        return self._chart.to_dict(*args, **{"validate": False, **kwargs})


class ChartWidget(alt.JupyterChart):
    """The chart widget of the dashboards: an ``alt.JupyterChart`` that sends each chart it is
    given without validating it against the Vega-Lite schema.

    ``JupyterChart`` validates every chart set on it; for a dashboard's charts, which
    :mod:`channelkpi.charts` builds from fixed templates, that was about a tenth of the time a
    control change took (the layered trend chart: 40 ms to serialise validated, 18 ms without).
    The templates are validated where they are made: the test suite draws every chart of every
    view and validates it. ``.chart`` is the Altair chart as given, and validates as usual.

    Examples
    --------
    >>> import altair as alt
    >>> import pandas as pd
    >>> chart = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_bar().encode(x="x:Q")
    >>> ChartWidget(chart).spec == chart.to_dict()
    True
    """

    @traitlets.observe("chart")
    def _on_change_chart(self, change) -> None:
        # JupyterChart's own handler (its params and selections), given the chart unvalidated
        new = None if change.new is None else _Unvalidated(change.new)
        alt.JupyterChart._on_change_chart.func(self, traitlets.Bunch({**change, "new": new}))
