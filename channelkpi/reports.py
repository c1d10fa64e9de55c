"""Reports for people who do not run Jupyter: one offline HTML file, an Excel workbook, images.

:func:`report` computes the same views as the dashboard (:mod:`channelkpi.views`) for one level,
period grain, date range and partner selection, and writes them as

- ``.html``: a single self-contained page (inline styles, charts as inline SVG, no script, no
  external style, font or image) with the eight KPI tiles, the charts, the scorecard, each KPI's
  definition and the load ledger's summary. Every text taken from the data is escaped.
- ``.xlsx``: one sheet per KPI table plus a summary, the definitions and the ledger, with
  currency and percent formats, frozen header rows and fitted column widths; text cells that a
  spreadsheet would run as formulas are neutralised.
- ``png_dir=`` / ``svg_dir=``: every chart as an image for slides.

The charts are drawn by ``vl-convert`` (``pip install "channelkpi[report]"``), which needs no
browser and no network. The command line spells the same as ``channelkpi report``.

Examples
--------
>>> import tempfile, pathlib
>>> from channelkpi.datasets import make_sample_deals
>>> out = pathlib.Path(tempfile.mkdtemp()) / "review.xlsx"
>>> written = report(make_sample_deals(), path=out, freq="Q", start="2025-01", end="2025-12")
>>> [p.name for p in written]
['review.xlsx']
"""

from __future__ import annotations

import datetime
import difflib
import html
import io
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .charts import PRINT_FONT
from .currency_symbols import currency_code, currency_symbol, deals_currency
from .errors import ChannelKPIError
from .formats import BY_TITLES, cell_text, column_kind, excel_format
from .ingest import LoadResult
from .metrics.definitions import DEFINITIONS
from .metrics.kpis import kpi_table
from .metrics.prepared import prepare
from .metrics.query import date_range
from .safety import html_text, to_excel
from .schema import validate_deals
from .tiles import CSS, tile_values, tiles_html
from .types import REPORT_FREQS, ReportFreq, ReportLevel
from .version import __version__
from .views import (
    CHART_TITLES,
    View,
    data_coverage,
    default_range,
    month_range,
    ranked_peers,
    selection_text,
    view_charts,
    view_tables,
)

__all__ = ["CHART_WIDTH", "REPORT_FORMATS", "output_paths", "report"]

#: What :func:`report` writes, by file suffix.
REPORT_FORMATS = (".html", ".xlsx")

#: The charts' width in the page (px): with the page's margins it fits A4's printable width.
CHART_WIDTH = 640


# --------------------------------------------------------------------------- options
def _as_range(
    deals: pd.DataFrame, start, end, *, freq: str, fiscal_year_start: int
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The report's range: as the KPI functions read it; by default from the first month with a
    deal to the end of the last period the data covers completely (no half-finished quarter
    drawn as a drop)."""
    try:
        s, e = date_range(start, end)
    except ChannelKPIError as exc:
        raise ChannelKPIError(exc.problem, fix=f"{exc.fix}; on the command line --from 2025-01 --to 2025-12") from None
    first, last = month_range(deals)
    start_ts = first if s is None else s
    if e is not None:
        return start_ts, e
    _, complete = default_range(deals, freq=freq, fiscal_year_start=fiscal_year_start)
    return start_ts, (complete if complete >= start_ts else last)


def output_paths(path) -> list[Path]:
    """The report files to write, checked before anything is computed: an ``.html`` or ``.xlsx``
    name in a folder that exists."""
    paths = [] if path is None else [Path(path)] if isinstance(path, (str, Path)) else [Path(p) for p in path]
    for out in paths:
        if out.suffix.lower() not in REPORT_FORMATS:
            raise ChannelKPIError(
                f"cannot write a report as {str(out)!r}", fix=f"name it with one of {list(REPORT_FORMATS)}"
            )
        if not out.resolve().parent.is_dir():
            raise ChannelKPIError(
                f"the folder of {str(out)!r} does not exist", fix="create it or write the report elsewhere"
            )
    return paths


def _check_partners(deals: pd.DataFrame, partners: Sequence[str]) -> list[str]:
    known = set(deals["partner"].dropna().astype(str))
    chosen = [str(p) for p in partners]
    unknown = [p for p in chosen if p not in known]
    if unknown:
        hints = []
        for p in unknown:
            close = difflib.get_close_matches(p, sorted(known), n=3, cutoff=0.5)
            hints.append(f"{p!r}" + (f" (did you mean {', '.join(map(repr, close))}?)" if close else ""))
        raise ChannelKPIError(
            f"no deals for partner {', '.join(hints)}; the export has {len(known)} partners",
            fix="write the partner exactly as the export does (channelkpi inspect EXPORT shows the table)",
        )
    return chosen


# --------------------------------------------------------------------------- report
def report(
    deals: pd.DataFrame | LoadResult,
    *,
    path: str | Path | Sequence[str | Path] | None = None,
    targets: pd.DataFrame | None = None,
    by: ReportLevel = "partner",
    freq: ReportFreq = "Q",
    start=None,
    end=None,
    partners: Sequence[str] | None = None,
    currency: str | None = None,
    fiscal_year_start: int = 1,
    title: str = "Channel partner review",
    png_dir: str | Path | None = None,
    svg_dir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write the KPI review of a selection as HTML or Excel, and its charts as images.

    Parameters
    ----------
    deals : pandas.DataFrame or LoadResult
        The canonical deals table, or a :func:`channelkpi.load_crm` result (whose ledger the
        report summarises).
    path : str, Path or a list of them, optional
        ``.html`` and/or ``.xlsx`` file(s) to write.
    targets : pandas.DataFrame, optional
        :func:`channelkpi.read_targets` output: the won-amount target line and attainment.
    by : {"partner", "owner", "department", "unit"}
        The column the scorecard and the KPI table are grouped by.
    freq : {"M", "Q", "Y"}
        Periods of the tables and trends: ``"M"``, ``"Q"`` or ``"Y"`` (fiscal with
        ``fiscal_year_start``).
    start, end : date-like, optional
        The range (default: all months with deals); ``end="2025-12"`` means the end of December.
    partners : sequence of str, optional
        Only these partners (names as in the export).
    currency : str, optional
        The deals' currency as an ISO 4217 code (``"USD"``, ``"EUR"``); the symbol shown before
        amounts is derived from it. Default: the one currency of the deals' ``currency`` column,
        else ``"USD"``.
    fiscal_year_start : int
        First month of the fiscal year.
    title : str
        The report's heading.
    png_dir, svg_dir : str or Path, optional
        Folders to write every chart to as ``<name>.png`` / ``<name>.svg``.
    progress : callable, optional
        Called with a short message as each step starts (the command line prints them).

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ChannelKPIError
        For an unknown output type, level, period, partner or a date range that cannot be read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from channelkpi.datasets import toy_deals
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "acme.xlsx"
    >>> [p.name for p in report(toy_deals(), path=out, partners=["Acme"], currency="EUR")]
    ['acme.xlsx']
    """
    say = progress or (lambda _msg: None)
    paths = output_paths(path)
    if not paths and png_dir is None and svg_dir is None:
        raise ChannelKPIError(
            "report() was given nothing to write", fix="pass path='review.html' or .xlsx, or png_dir=/svg_dir="
        )
    if by not in BY_TITLES:
        raise ChannelKPIError(f"by={by!r} is not a report level", fix=f"use one of {list(BY_TITLES)}")
    if freq not in REPORT_FREQS:
        raise ChannelKPIError(f"freq={freq!r} is not a report period", fix=f"use one of {list(REPORT_FREQS)}")
    code = None if currency is None else currency_code(currency)
    result = deals if isinstance(deals, LoadResult) else None
    table = result.deals if result is not None else validate_deals(deals)
    currency = code or deals_currency(table["currency"].dropna().unique())
    start_ts, end_ts = _as_range(table, start, end, freq=freq, fiscal_year_start=fiscal_year_start)
    chosen = _check_partners(table, partners) if partners else []
    where = {"partner": chosen} if chosen else None

    say(f"computing the KPIs of {len(table):,} deals")
    view = View(
        by=by,
        freq=freq,
        start=start_ts,
        end=end_ts,
        where=where,
        targets=targets,
        fiscal_year_start=fiscal_year_start,
    )
    prepared = prepare(table)  # coded once for the report's many KPI questions
    tables = view_tables(prepared, view)
    # scored among all peers (every partner but the deals without one), then the chosen ones are shown
    peers, shown = ranked_peers(prepared, where, by)
    scorecard = kpi_table(prepared, by=by, start=start_ts, end=end_ts, where=peers, fiscal_year_start=fiscal_year_start)
    if shown is not None:
        scorecard = scorecard[scorecard["partner"].isin(shown)]
    tables["scorecard"] = scorecard.sort_values("rank", kind="stable").reset_index(drop=True)
    selection = selection_text(view)
    charts = view_charts(tables, by=by, currency=currency, subtitle=selection, width=CHART_WIDTH, font=PRINT_FONT)
    covered = data_coverage(table)
    context = {
        "selection": selection,
        "data_end": covered[1] if covered is not None else None,
        "title": title,
        "by": by,
        "freq": freq,
        "start": start_ts,
        "end": end_ts,
        "partners": chosen,
        "currency": currency,
        "symbol": currency_symbol(currency),
        "result": result,
        "deals": len(table),
    }
    written: list[Path] = []
    needs_images = any(p.suffix.lower() == ".html" for p in paths) or png_dir is not None or svg_dir is not None
    svgs: dict[str, str] = {}
    if needs_images:
        say(f"drawing {len(charts)} charts")
        svgs = {name: _titled(svg, charts[name]) for name, svg in _render(charts, "svg").items()}
    for out in paths:
        say(f"writing {out}")
        if out.suffix.lower() == ".html":
            out.write_text(_html(tables, svgs, context), encoding="utf-8")
        else:
            out.write_bytes(_workbook(tables, context))
        written.append(out)
    for folder, fmt in ((svg_dir, "svg"), (png_dir, "png")):
        if folder is None:
            continue
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        say(f"writing {len(charts)} {fmt.upper()} images to {folder}")
        images = svgs if fmt == "svg" else _render(charts, "png")
        for name, data in images.items():
            target = folder / f"{name}.{fmt}"
            if isinstance(data, str):
                target.write_text(data, encoding="utf-8")
            else:
                target.write_bytes(data)
            written.append(target)
    return written


def _render(charts: Mapping, fmt: str) -> dict[str, str | bytes]:
    try:
        import vl_convert as vlc
    except ImportError:
        raise ChannelKPIError(
            "drawing charts for a report needs vl-convert, which is not installed",
            fix='pip install "channelkpi[report]" (an .xlsx report needs no charts)',
        ) from None
    out: dict[str, str | bytes] = {}
    for name, chart in charts.items():  # each chart carries the theme in its spec
        spec = chart.to_json()
        out[name] = vlc.vegalite_to_svg(spec) if fmt == "svg" else vlc.vegalite_to_png(spec, scale=2)
    return out


def _titled(svg: str, chart) -> str:
    """An SVG whose elided labels ("Meridian Systems Gr…") carry the full name as a ``<title>``
    (a reader's tooltip)."""
    names: set[str] = set()
    for rows in chart.to_dict().get("datasets", {}).values():
        for row in rows:
            names.update(v for v in row.values() if isinstance(v, str) and len(v) > 3)

    def title(match: re.Match) -> str:
        text = html.unescape(match.group(2))
        if not text.endswith("…"):
            return match.group(0)
        full = [n for n in names if n.startswith(text[:-1]) and n != text]
        if len(full) != 1:
            return match.group(0)
        return f"{match.group(1)}<title>{html.escape(full[0])}</title>{match.group(2)}</text>"

    return re.sub(r"(<text\b[^>]*>)([^<]*)</text>", title, svg)


# --------------------------------------------------------------------------- HTML
def _scoped(svg: str, name: str) -> str:
    """An SVG whose ids (clip paths, gradients) cannot collide with another chart's on the page."""
    svg = re.sub(r'\bid="([^"]+)"', rf'id="ck-{name}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#ck-{name}-\1)", svg)
    return re.sub(r'href="#([^"]+)"', rf'href="#ck-{name}-\1"', svg)


_PAGE_CSS = """
<style>
@page {size: A4; margin: 12mm;}
body {font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1b2733; margin: 24px auto;
      max-width: 1080px; padding: 0 16px; line-height: 1.4;}
h1 {font-size: 24px; margin: 0 0 4px;} h2 {font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #dde3ea;
      padding-bottom: 4px;}
.ck-meta {color: #56606b; font-size: 13px; margin-bottom: 12px;}
figure {margin: 12px 0 20px; padding: 0 12px;}
figure svg {max-width: 100%; height: auto; overflow: visible;}
dl.ck-defs dt {font-weight: 600; margin-top: 10px;} dl.ck-defs dd {margin: 2px 0 0 16px; font-size: 13px;}
.ck-scorecard {max-width: 100%;}
footer {margin-top: 32px; color: #56606b; font-size: 12px;}
@media print {
  body {margin: 0; padding: 0; max-width: none;}
  h2 {break-before: auto; break-after: avoid;}
  figure {break-inside: avoid; padding: 0;}
  .ck-tiles {grid-template-columns: repeat(4, 1fr);}
  .ck-tile {break-inside: avoid;}
  .ck-tile details {display: none;}
  .ck-table {font-size: 10px;} .ck-table td, .ck-table th {padding: 2px 4px;}
  tr {break-inside: avoid;}
}
</style>
"""

_SCORECARD = [
    ("rank", "Rank"),
    ("quality_score", "Quality score"),
    ("won_amount", "Won amount"),
    ("won_count", "Won deals"),
    ("avg_deal_size", "Average deal size"),
    ("win_rate", "Win rate"),
    ("win_rate_low", "95 % low"),
    ("win_rate_high", "95 % high"),
    ("cycle_days_median", "Median cycle (days)"),
    ("open_amount", "Open pipeline"),
    ("success_rate", "Deal success"),
]


def _table_html(frame: pd.DataFrame, columns: Sequence[tuple[str, str]], currency: str, *, cls: str) -> str:
    head = "".join(f"<th>{html_text(label)}</th>" for _, label in columns)
    rows = []
    for rec in frame[[c for c, _ in columns]].itertuples(index=False):
        cells = []
        for (col, _), value in zip(columns, rec, strict=True):
            kind = column_kind(col)
            text = cell_text(value, kind, currency) if kind != "other" else ("—" if pd.isna(value) else str(value))
            num = " class='ck-num'" if kind not in ("other", "date") else ""
            cells.append(f"<td{num}>{html_text(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table class='ck-table {cls}'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _selection_text(ctx: Mapping) -> str:
    text = ctx["selection"]
    if ctx.get("data_end") is not None:
        text += f" · data to {ctx['data_end'].day} {ctx['data_end']:%b %Y}"
    return text


def _ledger_summary_html(result: LoadResult | None) -> str:
    if result is None:
        return "<p class='ck-note'>These deals were passed in as a table: there is no load ledger.</p>"
    s = result.summary()
    counts = (
        f"<p>{html_text(result.file)} read as {html_text(result.source.label)}: {s['rows_read']:,} rows read = "
        f"{s['kept']:,} kept + {s['merged']:,} merged + {s['rejected']:,} rejected; "
        f"{s['won']:,} won, {s['lost']:,} lost, {s['open']:,} open.</p>"
    )
    if len(result.ledger):
        reasons = result.ledger.groupby(["outcome", "reason"]).size().reset_index(name="rows")
        counts += _table_html(
            reasons, [("outcome", "Outcome"), ("reason", "Reason"), ("rows", "Rows")], "", cls="ck-ledger"
        )
    warnings = "".join(f"<li>{html_text(x)}</li>" for x in result.warnings)
    if warnings:
        counts += f"<h3>Warnings</h3><ul>{warnings}</ul>"
    return counts


def _html(tables: Mapping[str, pd.DataFrame], svgs: Mapping[str, str], ctx: Mapping) -> str:
    cur = ctx["symbol"]
    level = ctx["by"]
    tiles = tiles_html(tile_values(tables, currency=ctx["currency"]))
    figures = "".join(
        f"<figure id='chart-{name}' aria-label='{html_text(CHART_TITLES[name])}'>{_scoped(svg, name)}</figure>"
        for name, svg in svgs.items()
    )
    scorecard = _table_html(tables["scorecard"], [(level, BY_TITLES[level]), *_SCORECARD], cur, cls="ck-scorecard")
    defs = "".join(
        f"<dt>{html_text(d.title)}</dt><dd>{html_text(d.summary)}<br>How: {html_text(d.formula)}. "
        f"Date: {html_text(d.date_field)}. Which deals: {html_text(d.window)}.</dd>"
        for d in DEFINITIONS.values()
        if d.name != "kpi_table"
    )
    generated = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    unranked = (
        "<p class='ck-note'>Deals without a partner are not ranked; they count in the eight KPIs above.</p>"
        if level == "partner"
        else ""
    )
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html_text(ctx['title'])}</title>{_PAGE_CSS}{CSS}</head><body>"
        f"<h1>{html_text(ctx['title'])}</h1>"
        f"<div class='ck-meta'>{html_text(_selection_text(ctx))} · {ctx['deals']:,} deals</div>"
        f"<h2>The eight KPIs</h2>{tiles}"
        f"<p class='ck-note'>Changes compare with the same span just before the range.</p>"
        f"<h2>Charts</h2>{figures}"
        f"<h2>{html_text(BY_TITLES[level])} scorecard</h2>{scorecard}{unranked}"
        f"<h2>Definitions</h2><dl class='ck-defs'>{defs}</dl>"
        f"<h2>Data quality</h2>{_ledger_summary_html(ctx['result'])}"
        f"<footer>channelkpi {html_text(__version__)} · generated {html_text(generated)}</footer>"
        "</body></html>\n"
    )


# --------------------------------------------------------------------------- Excel
_SHEETS = {
    "scorecard": "Scorecard",
    "kpis": "KPIs by period",
    "trend": "Totals by period",
    "pipeline_stage": "Pipeline by stage",
    "waterfall": "Pipeline waterfall",
    "targets": "Targets",
    "channel_mix": "Channel mix",
    "channel_rates": "Channel win rates",
    "seasonality": "Seasonality by unit",
    "seasonality_all": "Seasonality",
    "cycles": "Cycle lengths",
    "cohorts": "Deal success cohorts",
}


def _summary_frame(tables: Mapping[str, pd.DataFrame], ctx: Mapping) -> pd.DataFrame:
    tiles = tile_values(tables, currency=ctx["currency"])
    before = tables["before"]
    covered = before.attrs.get("covered", True) and len(before)
    rows = []
    for tile in tiles:
        prev = before[tile["column"]].iloc[0] if covered and tile["column"] in before else np.nan
        rows.append(
            {
                "kpi": tile["title"],
                "value": tile["value"],
                "previous_span": prev,
                "n": tile["n"],
                "n_counts": tile["counts"],
                "note": tile["note"],
                "definition": tile["definition"],
                "kind": tile["kind"],
            }
        )
    return pd.DataFrame(rows)


def _workbook(tables: Mapping[str, pd.DataFrame], ctx: Mapping) -> bytes:
    from openpyxl import load_workbook

    cur = ctx["symbol"]
    summary = _summary_frame(tables, ctx)
    about = pd.DataFrame(
        {
            "item": ["Report", "Range", "Selection", "Deals", "Source", "Generated by"],
            "value": [
                ctx["title"],
                f"{ctx['start'].date()} to {ctx['end'].date()}",
                _selection_text(ctx),
                f"{ctx['deals']:,}",
                ctx["result"].file if ctx["result"] is not None else "a deals table",
                f"channelkpi {__version__}",
            ],
        }
    )
    if ctx["by"] == "partner":
        about.loc[len(about)] = ["Scorecard", "deals without a partner are not ranked; they count in the Summary"]
    sheets: dict[str, pd.DataFrame] = {"Summary": summary.drop(columns="kind"), "About": about}
    for key, name in _SHEETS.items():
        if key in tables:
            sheets[name] = tables[key]
    sheets["Definitions"] = pd.DataFrame(
        [
            {
                "kpi": d.name,
                "title": d.title,
                "formula": d.formula,
                "date_field": d.date_field,
                "window": d.window,
                "variants": "; ".join(d.variants),
                "excludes": d.excludes,
            }
            for d in DEFINITIONS.values()
        ]
    )
    result = ctx["result"]
    sheets["Ledger"] = (
        result.ledger
        if result is not None
        else pd.DataFrame({"note": ["no load ledger: the deals were passed in as a table"]})
    )
    raw = to_excel(sheets, number_formats=lambda col: excel_format(column_kind(col), cur))
    # the summary's value column mixes money, rates and days: one format per row
    book = load_workbook(io.BytesIO(raw))
    sheet = book["Summary"]
    for i, kind in enumerate(summary["kind"], start=2):
        fmt = excel_format(kind, cur)
        for col in ("B", "C"):
            sheet[f"{col}{i}"].number_format = fmt or "General"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
