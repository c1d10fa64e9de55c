"""The charts as a browser draws them: every bar where the numbers put it, on every page.

Voilà serves a Dashboard on the sample (Debian's chromium driven by Playwright, offline). For
each bar of the pipeline waterfall, the stage chart and the channel mix, the test reads the
region the browser draws: the bar's box cut by every clip path around it, each clip path found
by its id the way the browser finds it (the first element on the page with that id). It maps
the values the bar stands for through the chart's own axis (its tick marks' values and
positions) and compares: a bar cut by another chart's clip path, or a waterfall bar that does
not start where the previous one ended, is off by many pixels.

The expected values are computed here with plain pandas from the canonical deals table.
"""

from __future__ import annotations

import nbformat
import numpy as np
import pandas as pd
import pytest
from browsing import Voila, open_page

import channelkpi as ck
from channelkpi.datasets import sample_path

pytestmark = pytest.mark.browser

WATERFALL = "Pipeline waterfall per period"
STAGES = "Open pipeline by stage"
MIX = "Marketing channel mix"
TOLERANCE = 1.5  # px: Vega rounds bar edges to the pixel grid

# The region the browser draws an element in, in page pixels: its box cut by every clip path
# on it or around it. A clip path is found by id as the browser finds it (the first element
# with that id), and its shape is in the user space of the element that refers to it.
GEOMETRY_JS = """
([title]) => {
  const hosts = [...document.querySelectorAll('.vega-embed')];
  const host = hosts.find(h => [...h.querySelectorAll('.role-title-text text')]
                                  .some(t => t.textContent === title));
  if (!host) return null;
  const svg = host.querySelector('svg');
  const box = r => ({left: r.left, right: r.right, top: r.top, bottom: r.bottom});
  function clipBox(node, id) {
    const clip = document.getElementById(id);
    if (!clip || !clip.firstElementChild) return {left: 0, right: 0, top: 0, bottom: 0};
    const bb = clip.firstElementChild.getBBox();
    const m = node.getScreenCTM();
    const xs = [], ys = [];
    for (const [x, y] of [[bb.x, bb.y], [bb.x + bb.width, bb.y], [bb.x, bb.y + bb.height],
                          [bb.x + bb.width, bb.y + bb.height]]) {
      xs.push(m.a * x + m.c * y + m.e);
      ys.push(m.b * x + m.d * y + m.f);
    }
    return {left: Math.min(...xs), right: Math.max(...xs), top: Math.min(...ys), bottom: Math.max(...ys)};
  }
  function drawn(el) {
    let b = box(el.getBoundingClientRect());
    for (let node = el; node && node !== svg.parentNode; node = node.parentNode) {
      const ref = node.getAttribute && node.getAttribute('clip-path');
      if (!ref) continue;
      const c = clipBox(node, ref.match(/url\\(["']?#([^"')]+)["']?\\)/)[1]);
      b = {left: Math.max(b.left, c.left), right: Math.min(b.right, c.right),
           top: Math.max(b.top, c.top), bottom: Math.min(b.bottom, c.bottom)};
    }
    return b;
  }
  const bars = [...svg.querySelectorAll('g.mark-rect.role-mark > path')]
    .filter(p => p.getAttribute('aria-roledescription') === 'bar' && p.__data__)
    .map(p => ({datum: JSON.parse(JSON.stringify(p.__data__.datum)), drawn: drawn(p),
                box: box(p.getBoundingClientRect())}));
  const axes = {};
  for (const axis of svg.querySelectorAll('g.role-axis')) {
    const label = axis.getAttribute('aria-label') || '';
    const which = label.startsWith('Y-axis') ? 'y' : label.startsWith('X-axis') ? 'x' : null;
    if (!which) continue;
    axes[which] = [...axis.querySelectorAll('g.role-axis-tick line')]
      .filter(l => l.__data__ && typeof l.__data__.datum.value === 'number')
      .map(l => {
        const r = l.getBoundingClientRect();
        return [l.__data__.datum.value, which === 'y' ? r.top + r.height / 2 : r.left + r.width / 2];
      });
  }
  return {bars, axes, svg: box(svg.getBoundingClientRect()), host: box(host.getBoundingClientRect()),
          aria: host.getAttribute('aria-label') || '', role: host.getAttribute('role') || ''};
}
"""


@pytest.fixture(scope="module")
def deals():
    return ck.read_crm(sample_path("salesforce"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("charts")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import channelkpi as ck\n"
            "from channelkpi.datasets import sample_path\n"
            "from channelkpi.widgets import Dashboard, enable_offline\n"
            "enable_offline()\n"
            "Dashboard(ck.load_crm(sample_path('salesforce')), targets=ck.read_targets(sample_path('targets')))"
        )
    ]
    nbformat.write(nb, folder / "charts.ipynb")
    voila = Voila(folder / "charts.ipynb")
    yield voila
    voila.stop()


# --------------------------------------------------------------------------- expected values
def quarters():
    """The dashboard's default range: the last quarter the sample covers completely is 2025-Q4."""
    return pd.period_range("2023Q1", "2025Q4", freq="Q")


def open_at(deals, day):
    return (deals["created"] <= day) & (deals["closed"].isna() | (deals["closed"] > day))


def expected_waterfall(deals) -> dict[tuple[str, str], tuple[float, float]]:
    """(period, step) -> (low, high) of each floating bar, from the deals with pandas."""
    amount = deals["amount"].fillna(0.0)
    out = {}
    for q in quarters():
        first, last = q.start_time.normalize(), q.end_time.normalize()
        before, after = open_at(deals, first - pd.Timedelta(days=1)), open_at(deals, last)
        closed_in = (deals["closed"] >= first) & (deals["closed"] <= last)
        start, end = amount[before].sum(), amount[after].sum()
        created = amount[(deals["created"] >= first) & (deals["created"] <= last) & after].sum()
        won = amount[before & closed_in & (deals["status"] == "won")].sum()
        lost = amount[before & closed_in & (deals["status"] == "lost")].sum()
        assert start + created - won - lost == pytest.approx(end)
        top = start + created
        label = f"{q.year}-Q{q.quarter}"
        out.update(
            {
                (label, "start"): (0.0, start),
                (label, "created"): (start, top),
                (label, "won"): (top - won, top),
                (label, "lost"): (end, top - won),
                (label, "end"): (0.0, end),
            }
        )
    return out


def expected_stages(deals) -> dict[str, float]:
    """Bar label -> open amount on 31 Dec 2025: open deals by stage, and those closed since."""
    day = pd.Timestamp("2025-12-31")
    held = deals[open_at(deals, day)]
    out = held[held["status"] == "open"].groupby("stage")["amount"].sum().to_dict()
    for status, label in (("won", "Won from 1 Jan 2026"), ("lost", "Lost from 1 Jan 2026")):
        total = held.loc[held["status"] == status, "amount"].sum()
        if total:
            out[label] = total
    return {k: v for k, v in out.items() if v}


def expected_mix(deals) -> dict[tuple[str, str], float]:
    """(period, channel) -> share of the quarter's won amount."""
    won = deals[deals["status"] == "won"].copy()
    won["quarter"] = won["closed"].dt.to_period("Q")
    won = won[won["quarter"].isin(quarters())]
    by = won.groupby(["quarter", "channel"], observed=True)["amount"].sum()
    totals = won.groupby("quarter")["amount"].sum()
    return {(f"{q.year}-Q{q.quarter}", str(c)): amount / totals[q] for (q, c), amount in by.items() if amount > 0}


# --------------------------------------------------------------------------- reading the page
def scale(ticks):
    """The axis as a line through its tick marks: value -> page pixel."""
    values, pixels = np.array(ticks, dtype=float).T
    assert len(values) >= 2, ticks
    slope, offset = np.polyfit(values, pixels, 1)
    assert np.allclose(slope * values + offset, pixels, atol=1.0), ticks
    return lambda v: slope * v + offset


def chart(page, title, *, bars):
    """The chart's geometry once it shows at least ``bars`` bars (it is drawn when its tab opens)."""
    page.wait_for_function(
        "([title, n]) => [...document.querySelectorAll('.vega-embed')].some(h =>"
        " [...h.querySelectorAll('.role-title-text text')].some(t => t.textContent === title)"
        " && h.querySelectorAll('g.mark-rect.role-mark > path[aria-roledescription=\"bar\"]').length >= n"
        " && h.getBoundingClientRect().width > 100)",
        arg=[title, bars],
        timeout=90_000,
    )
    page.wait_for_timeout(300)  # the last resize settles
    return page.evaluate(GEOMETRY_JS, [title])


def open_tab(page, name):
    page.get_by_role("tab", name=name).click()


def check_waterfall(geo, expected):
    y = scale(geo["axes"]["y"])
    seen = set()
    for bar in geo["bars"]:
        d = bar["datum"]
        key = (d["period"], d["step"])
        low, high = expected[key]
        top, bottom = y(high), y(low)
        got = bar["drawn"]
        assert got["top"] == pytest.approx(top, abs=TOLERANCE), (key, got, top, bottom)
        assert got["bottom"] == pytest.approx(bottom, abs=TOLERANCE), (key, got, top, bottom)
        assert got["right"] - got["left"] > 2, (key, got)  # drawn, not cut away sideways
        seen.add(key)
    assert seen == set(expected)


def check_stages(geo, expected):
    x = scale(geo["axes"]["x"])
    seen = {}
    for bar in geo["bars"]:
        label = bar["datum"]["label"]
        got = bar["drawn"]
        assert got["left"] == pytest.approx(x(0), abs=TOLERANCE), (label, got)
        assert got["right"] == pytest.approx(x(expected[label]), abs=TOLERANCE), (label, got, x(expected[label]))
        assert got["bottom"] - got["top"] > 5, (label, got)
        seen[label] = got
    assert set(seen) == set(expected)


def check_mix(geo, expected):
    y = scale(geo["axes"]["y"])
    full = y(0) - y(1)
    seen = set()
    for bar in geo["bars"]:
        d = bar["datum"]
        key = (d["period"], d["channel"])
        got = bar["drawn"]
        if d["won_amount"] <= 0:
            continue
        assert got["bottom"] - got["top"] == pytest.approx(expected[key] * full, abs=TOLERANCE), (key, got)
        assert y(1) - TOLERANCE <= got["top"] and got["bottom"] <= y(0) + TOLERANCE, (key, got)
        seen.add(key)
    assert seen == set(expected)


def duplicate_ids(page) -> list[str]:
    ids = page.evaluate("() => [...document.querySelectorAll('[id]')].map(e => e.id)")
    return sorted({i for i in ids if ids.count(i) > 1})


ORDERS = [
    ("Pipeline", "Channels"),
    ("Channels", "Pipeline"),
    ("Partners", "Channels", "Close rate", "Pipeline", "Deal success"),
]


@pytest.mark.parametrize("order", ORDERS, ids=["-".join(o) for o in ORDERS])
def test_bars_are_drawn_where_the_numbers_put_them(browser, server, deals, order):
    waterfall, stages, mix = expected_waterfall(deals), expected_stages(deals), expected_mix(deals)
    page, outside, dialogs = open_page(browser, server.url)
    counts = {"Pipeline": [(WATERFALL, len(waterfall)), (STAGES, len(stages))], "Channels": [(MIX, len(mix))]}
    for tab in order:
        open_tab(page, tab)
        for title, n in counts.get(tab, []):
            chart(page, title, bars=n)
        page.wait_for_timeout(500)
    open_tab(page, "Pipeline")
    check_waterfall(chart(page, WATERFALL, bars=len(waterfall)), waterfall)
    check_stages(chart(page, STAGES, bars=len(stages)), stages)
    open_tab(page, "Channels")
    check_mix(chart(page, MIX, bars=len(mix)), mix)
    # every chart on the page keeps ids of its own (clip paths, gradients)
    assert duplicate_ids(page) == []
    assert outside == [] and dialogs == []
    page.close()


@pytest.mark.parametrize("width", [800, 390])
def test_charts_fit_the_page_and_have_a_text_alternative(browser, server, width, tmp_path):
    page, outside, _ = open_page(browser, server.url)
    page.set_viewport_size({"width": width, "height": 900})
    page.wait_for_timeout(800)
    for tab, title in (("Overview", "Won amount"), ("Pipeline", WATERFALL), ("Channels", MIX)):
        open_tab(page, tab)
        page.wait_for_function(
            "([t]) => [...document.querySelectorAll('.vega-embed')].some(h =>"
            " [...h.querySelectorAll('.role-title-text text')].some(x => x.textContent === t)"
            " && h.getBoundingClientRect().width > 100)",
            arg=[title],
            timeout=90_000,
        )
        page.wait_for_timeout(500)
        geo = page.evaluate(GEOMETRY_JS, [title])
        svg, host = geo["svg"], geo["host"]
        # as wide as its container (not a fixed 680 px cut off on the right), inside the page
        assert svg["right"] <= host["right"] + 1 and svg["left"] >= host["left"] - 1, (title, width, svg, host)
        assert svg["right"] - svg["left"] >= 0.85 * (host["right"] - host["left"]), (title, width, svg, host)
        assert host["right"] <= width, (title, width, host)
        # the title and the selection are what a screen reader announces
        assert geo["role"] == "graphics-document", geo
        assert geo["aria"].startswith(title + ".") and "All partners" in geo["aria"], geo["aria"]
    page.screenshot(path=str(tmp_path / f"charts-{width}.png"), full_page=True)
    assert outside == []
    page.close()
