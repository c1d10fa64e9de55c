"""Reports for people who do not run Jupyter: one offline HTML file, an Excel workbook, images.

:func:`report` computes the same views as the dashboard (:mod:`channelkpi.views`) for one level,
period grain, date range and partner selection, and writes them as

- ``.html``: a single self-contained page (inline styles, charts as inline SVG, no script, no
  external style, font or image) with the eight KPI tiles, the charts, the scorecard (each row
  opening the ten largest deals behind it), each KPI's definition and the load ledger's summary.
  Every text taken from the data is escaped.
- ``.xlsx``: one sheet per KPI table plus a summary, every deal of the selection and how it
  counts ("Deals"), the definitions and the ledger, with currency, percent and date formats,
  frozen header rows and fitted column widths; text cells that a spreadsheet would run as
  formulas are neutralised.

The scorecard may be grouped by any text column of the deals: a canonical level, a field kept
from the export (``keep=``) or a column of the partner or owner table (``by="tier"``). Given a
load result with a partner table, partners without a deal are rows of the scorecard, marked
"no deals yet".
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

import copy
import datetime
import difflib
import html
import io
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .charts import PRINT_FONT, movement_waterfall, themed
from .currency_symbols import NO_CURRENCY, currency_code, currency_symbol, deals_currency
from .deprecation import warn_deprecated
from .errors import ChannelKPIError
from .formats import (
    BY_TITLES,
    cell_text,
    column_kind,
    date_text,
    display_name,
    excel_format,
    moment_text,
    number,
    plural,
)
from .i18n import N_, current_language, current_locale, using
from .i18n import gettext as _
from .ingest import LoadResult, load_crm
from .ingest.wording_shown import said_note
from .metrics.behind import counts_as_text, deals_behind
from .metrics.canonical import dimensions_of
from .metrics.definitions import DEFINITIONS
from .metrics.kpis import kpi_table
from .metrics.movement import pipeline_movement
from .metrics.prepared import prepare
from .metrics.query import check_columns, date_range, make_query
from .movementview import MOVEMENT_COLUMNS, movement_html, movement_sheet, pipeline_gap_caption
from .safety import html_text, to_excel
from .schema import DIRECT_PARTNER, validate_deals
from .tiles import CSS, tile_values, tiles_html
from .types import REPORT_FREQS, ReportFreq, ReportLevel, Where
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

__all__ = [
    "CHART_WIDTH",
    "REPORT_FORMATS",
    "TOP_DEALS",
    "level_title",
    "output_paths",
    "report",
    "selection_deals",
    "top_deals",
]

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
    _first, complete = default_range(deals, freq=freq, fiscal_year_start=fiscal_year_start)
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


def _check_values(deals: pd.DataFrame, column: str, values: Sequence[str], *, extra: Sequence[str] = ()) -> list[str]:
    """``values`` of ``column`` that the deals (or the dimension table, ``extra``) have, else an
    error with the closest names."""
    known = set(deals[column].dropna().astype(str)) | {str(v) for v in extra}
    chosen = [str(p) for p in values]
    unknown = [p for p in chosen if p not in known]
    if unknown:
        what = "partners" if column == "partner" else plural(column)
        hints = []
        for p in unknown:
            close = difflib.get_close_matches(p, sorted(known), n=3, cutoff=0.5)
            hints.append(f"{p!r}" + (f" (did you mean {', '.join(map(repr, close))}?)" if close else ""))
        raise ChannelKPIError(
            f"no deals for {column} {', '.join(hints)}; the export has {len(known)} {what}",
            fix=f"write the {column} exactly as the export does (channelkpi inspect EXPORT shows the table)",
        )
    return chosen


def level_title(by: str) -> str:
    """A level's name as a column heading: ``"Partner"``, ``"Employee"``, ``"Tier"``,
    ``"Territory region"``.

    >>> level_title("owner"), level_title("territory_region")
    ('Employee', 'Territory region')
    """
    return _(BY_TITLES[by]) if by in BY_TITLES else by.replace("_", " ").strip().capitalize()


def _as_deals(deals, *, keep, partners, owners, say) -> tuple[pd.DataFrame, LoadResult | None]:
    """The report's input as a load result (or a bare table): a path is loaded here, with the
    fields to keep and the partner and owner tables."""
    if isinstance(deals, (str, Path)):
        say(_("reading {file}").format(file=deals))
        result = load_crm(deals, keep=keep, partners=partners, owners=owners)
        return result.deals, result
    loading = [
        name for name, value in (("keep", keep), ("partners", partners), ("owners", owners)) if value is not None
    ]
    if loading:
        raise ChannelKPIError(
            f"{'/'.join(loading)}= apply when the report reads an export itself, not to "
            + ("a load result" if isinstance(deals, LoadResult) else "a deals table"),
            fix=f"pass {', '.join(f'{n}=' for n in loading)} to channelkpi.load_crm and give the report its result",
        )
    if isinstance(deals, LoadResult):
        return deals.deals, deals
    return validate_deals(deals), None


def _partner_level(by: str, dims: Mapping[str, pd.DataFrame]) -> bool:
    """Whether ``by`` ranks partners: the partner itself or a column of the partner table."""
    return by == "partner" or ("partner" in dims and by in dims["partner"].columns)


def _scored(table: pd.DataFrame, where, by: str, dims) -> tuple[dict[str, list[str]], list[str] | None]:
    """The deals a scorecard ranks, and the groups it shows (None: every group), as the
    dashboard's ranking does; direct deals are no partner's, so a partner-table level (``tier``)
    leaves them out like the partner level."""
    peers, shown = ranked_peers(table, where, by)
    if by != "partner" and _partner_level(by, dims):
        names = peers.get("partner") or sorted(set(table["partner"].dropna().astype(str)))
        peers["partner"] = [n for n in names if n != DIRECT_PARTNER]
    return peers, shown


def _without_deals(table: pd.DataFrame, by: str, dims, where, shown) -> list[str]:
    """Values of ``by`` that a partner or owner table lists and no deal has (a partner signed
    last week), within the filters on that table's own columns and the values shown."""
    have = set(table[by].dropna().astype(str)) if by in table else set()
    out: set[str] = set()
    for frame in dims.values():
        if by not in frame.columns:
            continue
        kept = np.ones(len(frame), dtype=bool)
        for col, values in (where or {}).items():
            if col in frame.columns:
                kept &= frame[col].astype(str).isin([str(v) for v in values]).to_numpy()
        out |= set(frame.loc[kept, by].dropna().astype(str)) - have
    if shown is not None:
        out &= {str(v) for v in shown}
    return sorted(out)


# --------------------------------------------------------------------------- report
def report(
    deals: pd.DataFrame | LoadResult | str | Path,
    *,
    path: str | Path | Sequence[str | Path] | None = None,
    targets: pd.DataFrame | None = None,
    by: ReportLevel | str = "partner",
    freq: ReportFreq = "Q",
    start=None,
    end=None,
    where: Where = None,
    selection: Sequence[str] | None = None,
    keep: str | Sequence[str] | None = None,
    partners: str | Path | pd.DataFrame | None = None,
    owners: str | Path | pd.DataFrame | None = None,
    currency: str | None = None,
    fiscal_year_start: int = 1,
    title: str = N_("Channel partner review"),
    png_dir: str | Path | None = None,
    svg_dir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    history=None,
    locale: str | None = None,
) -> list[Path]:
    """Write the KPI review of a selection as HTML or Excel, and its charts as images.

    Parameters
    ----------
    deals : pandas.DataFrame, LoadResult, str or Path
        The canonical deals table, a :func:`channelkpi.load_crm` result (whose ledger the
        report summarises, and whose partner and owner tables give levels and the partners
        without deals), or the path of an export to load (with ``keep``, ``partners``,
        ``owners``).
    path : str, Path or a list of them, optional
        ``.html`` and/or ``.xlsx`` file(s) to write.
    targets : pandas.DataFrame, optional
        :func:`channelkpi.read_targets` output: the won-amount target line and attainment.
    by : str
        The column the scorecard and the KPI table are grouped by: ``"partner"``, ``"owner"``,
        ``"department"``, ``"unit"``, or any other text column of the deals (a kept field, a
        partner or owner table's column such as ``"tier"``).
    freq : {"M", "Q", "Y"}
        Periods of the tables and trends: ``"M"``, ``"Q"`` or ``"Y"`` (fiscal with
        ``fiscal_year_start``).
    start, end : date-like, optional
        The range (default: all months with deals); ``end="2025-12"`` means the end of December.
    where : dict, optional
        Only these deals, e.g. ``{"partner": ["Acme"], "channel": ["partner"]}`` (values as in
        the export). The scorecard still ranks each group among all its peers.
    selection : sequence of str, optional
        Only these values of ``by`` (e.g. ``["Gold", "Platinum"]`` with ``by="tier"``).
    keep, partners, owners : optional
        When ``deals`` is a path: the export columns to keep and the partner and owner tables,
        as :func:`channelkpi.load_crm` takes them. (``partners=`` as a list of names is the old
        spelling of ``where={"partner": [...]}`` and warns.)
    currency : str, optional
        The deals' currency as an ISO 4217 code (``"USD"``, ``"EUR"``); the symbol shown before
        amounts is derived from it. Default: the one currency of the deals' ``currency`` column;
        when the deals name none (an export without a currency column), amounts are shown
        without a symbol.
    fiscal_year_start : int
        First month of the fiscal year.
    title : str
        The report's heading.
    png_dir, svg_dir : str or Path, optional
        Folders to write every chart to as ``<name>.png`` / ``<name>.svg``.
    progress : callable, optional
        Called with a short message as each step starts (the command line prints them).
    history : History, optional
        The deals' history (:func:`channelkpi.load_history`): the report adds the pipeline
        movement of the selection grouped ``by`` -- an HTML section with the last period's
        waterfall and a row per group (start, the buckets, end), and an Excel sheet
        "Movement" with every period of the range (:func:`channelkpi.pipeline_movement`).
    locale : str, optional
        The language and region the report is written for, a BCP 47 tag such as ``"nl-NL"``,
        ``"de-AT"`` or ``"fr-CH"`` (:func:`channelkpi.i18n.resolve_locale`): headings and
        definitions in its language, amounts, percentages and dates in its formats (``€ 1.234,56``
        in Dutch), chart axes alike. A region channelkpi does not know reads as the language's
        usual one; a language it has no translation for as English, with a warning. Default: the
        locale in force (:func:`channelkpi.i18n.using`), else ``"en-US"``.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ChannelKPIError
        For an unknown output type, level (with the closest names), period, partner or value
        of ``by``, or a date range that cannot be read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from channelkpi.datasets import toy_deals
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "acme.xlsx"
    >>> [p.name for p in report(toy_deals(), path=out, where={"partner": ["Acme"]}, currency="EUR")]
    ['acme.xlsx']
    """
    with using(locale or current_locale()):
        return _report(
            deals,
            path=path,
            targets=targets,
            by=by,
            freq=freq,
            start=start,
            end=end,
            where=where,
            selection=selection,
            keep=keep,
            partners=partners,
            owners=owners,
            currency=currency,
            fiscal_year_start=fiscal_year_start,
            title=title,
            png_dir=png_dir,
            svg_dir=svg_dir,
            progress=progress,
            history=history,
        )


def _report(
    deals,
    *,
    path,
    targets,
    by,
    freq,
    start,
    end,
    where,
    selection,
    keep,
    partners,
    owners,
    currency,
    fiscal_year_start,
    title,
    png_dir,
    svg_dir,
    progress,
    history,
) -> list[Path]:
    say = progress or (lambda _msg: None)
    paths = output_paths(path)
    if not paths and png_dir is None and svg_dir is None:
        raise ChannelKPIError(
            "report() was given nothing to write", fix="pass path='review.html' or .xlsx, or png_dir=/svg_dir="
        )
    if not isinstance(by, str):
        raise ChannelKPIError(f"by={by!r}: a report groups by one column", fix="pass one name, e.g. by='partner'")
    if freq not in REPORT_FREQS:
        raise ChannelKPIError(f"freq={freq!r} is not a report period", fix=f"use one of {list(REPORT_FREQS)}")
    if partners is not None and not isinstance(partners, (str, Path, pd.DataFrame)):
        warn_deprecated("report(partners=[names])", "report(where={'partner': [names]})")
        where = {**(where or {}), "partner": list(partners)}
        partners = None
    code = None if currency is None else currency_code(currency)
    table, result = _as_deals(deals, keep=keep, partners=partners, owners=owners, say=say)
    prepared = prepare(result if result is not None else table)  # coded once for the report's many questions
    check_columns(make_query(by=by), prepared.names, prepared.text)
    dims = dimensions_of(prepared)
    # amounts whose currency nothing names are shown without a symbol, never as dollars (as the
    # dashboard shows an upload's)
    currency = code or deals_currency(table["currency"].dropna().unique(), NO_CURRENCY)
    start_ts, end_ts = _as_range(table, start, end, freq=freq, fiscal_year_start=fiscal_year_start)
    chosen: dict[str, list[str]] = {}
    for col, values in (where or {}).items():
        check_columns(make_query(where={col: values}), prepared.names, prepared.text)
        chosen[col] = _check_values(table, col, values)
    if selection:
        table_names = dims[by][by] if by in dims else ()
        selection = _check_values(table, by, selection, extra=table_names)

    say(_("computing the KPIs of {count} deals").format(count=number(len(table))))
    view = View(
        by=by,
        freq=freq,
        start=start_ts,
        end=end_ts,
        where=chosen or None,
        selection=tuple(selection or ()),
        targets=targets,
        fiscal_year_start=fiscal_year_start,
    )
    tables = view_tables(prepared, view)
    # scored among all peers (every partner but the deals without one), then the chosen ones are shown
    peers, shown = _scored(table, view.effective_where or None, by, dims)
    scored = dict(by=by, start=start_ts, end=end_ts, where=peers or None, fiscal_year_start=fiscal_year_start)
    # ranked among the groups that have deals: a name without any would take a rank and move
    # every other group's percentiles; it is listed after the ranked ones instead
    ranking = copy.copy(prepared)
    ranking.dimensions = {}
    scorecard = kpi_table(ranking, **scored)
    if shown is not None:
        scorecard = scorecard[scorecard[by].isin(shown)]
    scorecard = scorecard.sort_values("rank", kind="stable").reset_index(drop=True)
    scorecard["note"] = _no_deals_notes(scorecard)
    missing = _without_deals(table, by, dims, view.effective_where, shown)
    if missing:
        scorecard = pd.concat([scorecard, pd.DataFrame({by: missing, "note": _NO_DEALS})], ignore_index=True)
    tables["scorecard"] = scorecard
    say(_("finding the deals behind each row of the scorecard"))
    behind = deals_behind(prepared, "kpi_table", column=_HEADLINE, **{**scored, "by": None})
    selection_line = selection_text(view)
    if history is not None:
        say(_("computing the pipeline movement"))
        tables["movement_by"] = pipeline_movement(
            history,
            by=by,
            freq=freq,
            start=start_ts,
            end=end_ts,
            fiscal_year_start=fiscal_year_start,
            where=view.effective_where or None,
        )
    charts = view_charts(tables, by=by, currency=currency, subtitle=selection_line, width=CHART_WIDTH, font=PRINT_FONT)
    covered = data_coverage(table)
    context = {
        "selection": selection_line,
        "data_end": covered[1] if covered is not None else None,
        "title": _(title),  # the default translated; a title of one's own has no translation
        "by": by,
        "freq": freq,
        "start": start_ts,
        "end": end_ts,
        "where": view.effective_where,
        "currency": currency,
        "symbol": currency_symbol(currency),
        "result": result,
        "deals": len(table),
        "behind": behind,
        "partner_level": _partner_level(by, dims),
    }
    written: list[Path] = []
    needs_images = any(p.suffix.lower() == ".html" for p in paths) or png_dir is not None or svg_dir is not None
    svgs: dict[str, str] = {}
    if needs_images:
        say(_("drawing {count} charts").format(count=number(len(charts))))
        svgs = {name: _titled(svg, charts[name]) for name, svg in _render(charts, "svg").items()}
        if "movement_by" in tables:
            context["movement_svg"] = _movement_svg(tables["movement_by"], currency, selection_line)
    for out in paths:
        say(_("writing {file}").format(file=out))
        if out.suffix.lower() == ".html":
            out.write_text(_html(tables, svgs, context), encoding="utf-8")
        else:
            say(_("listing every deal of the selection"))
            deal_rows = selection_deals(prepared, view)
            out.write_bytes(_workbook(tables, context, deal_rows))
        written.append(out)
    for folder, fmt in ((svg_dir, "svg"), (png_dir, "png")):
        if folder is None:
            continue
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        say(
            _("writing {count} {format} images to {folder}").format(
                count=number(len(charts)), format=fmt.upper(), folder=folder
            )
        )
        images = svgs if fmt == "svg" else _render(charts, "png")
        for name, data in images.items():
            target = folder / f"{name}.{fmt}"
            if isinstance(data, str):
                target.write_text(data, encoding="utf-8")
            else:
                target.write_bytes(data)
            written.append(target)
    return written


# --------------------------------------------------------------------------- deals behind
#: The scorecard's headline: rows are ranked by the quality score, read from the deals won and
#: lost in the range; those are the deals a row opens.
_HEADLINE = "quality_score"
#: Deals a row of the HTML scorecard lists.
TOP_DEALS = 10
_NO_DEALS = "no deals yet"
_NONE_IN_RANGE = "no deals in this range"


def _no_deals_notes(scorecard: pd.DataFrame) -> pd.Series:
    """Why a ranked row has no numbers: its deals all fall outside the range; empty otherwise."""
    counts = scorecard[["created_count", "closed_count", "open_count"]].fillna(0).sum(axis=1)
    return pd.Series(np.where(counts.to_numpy() == 0, _NONE_IN_RANGE, ""), index=scorecard.index, dtype=object)


#: How a deal counts, said of a report's range (its one period), by the ``counts_as`` words that
#: say "the period".
_IN_RANGE = {
    "created in the period (won)": N_("created in the range (won)"),
    "created in the period (lost)": N_("created in the range (lost)"),
    "created in the period (still open)": N_("created in the range (still open)"),
    "open at the period end": N_("open at the range end"),
    "open at the period start": N_("open at the range start"),
    "open at the period start and end": N_("open at the range start and end"),
    "open, expected to close in the period": N_("open, expected to close in the range"),
}


def _in_range(counts_as: str) -> str:
    """How a deal counts, said of a report's range (its one period) in the report's language.

    >>> _in_range("won; open at the period end"), _in_range("excluded: no amount")
    ('won; open at the range end', 'excluded: no amount')
    """
    parts = str(counts_as).split("; ")
    return "; ".join(_(_IN_RANGE[p]) if p in _IN_RANGE else counts_as_text(p) for p in parts)


def _group_key(values: pd.Series) -> pd.Series:
    """A level's values as the KPI tables name the groups (a missing value is ``"(none)"``)."""
    return values.astype(object).where(values.notna(), "(none)").astype(str)


def top_deals(behind: pd.DataFrame, by: str, *, n: int = TOP_DEALS) -> dict[str, pd.DataFrame]:
    """The ``n`` largest counted deals of each group of ``by``, from :func:`deals_behind` rows
    of the whole selection, and each group's count.

    >>> rows = pd.DataFrame({"partner": ["A", "B", "A", "A"], "amount": [9.0, 8.0, 5.0, 1.0],
    ...                      "counts_as": ["won", "lost", "excluded: no amount", "lost"]})
    >>> {k: list(v["amount"]) for k, v in top_deals(rows, "partner", n=1).items()}
    {'A': [9.0], 'B': [8.0]}
    >>> top_deals(rows, "partner", n=1)["A"].attrs["of"]
    2
    """
    counted = behind[~behind["counts_as"].astype(str).str.startswith("excluded")]
    # largest first, won and lost together (deals_behind groups them by how they count)
    counted = counted.sort_values("amount", ascending=False, kind="stable", na_position="last")
    out: dict[str, pd.DataFrame] = {}
    for key, rows in counted.groupby(_group_key(counted[by]), sort=False):
        first = rows.head(n).copy()
        first["counts_as"] = first["counts_as"].astype(object).map(_in_range)
        first.attrs["of"] = len(rows)
        out[str(key)] = first
    return out


#: The measures a "Deals" sheet row says how it counts for: each feeds the scorecard columns named.
_DEALS_MEASURES = {
    N_("Won or lost in range (score, win rate, won amount, deal size, cycle)"): "quality_score",
    N_("Open at range end (pipeline)"): "open_amount",
    N_("Created in range (deal success)"): "success_rate",
}
_DEAL_TITLES = {
    "deal_id": N_("Deal ID"),
    "name": N_("Deal name"),
    "account": N_("Account"),
    "product": N_("Product"),
    "created": N_("Created"),
    "closed": N_("Closed"),
    "expected_close": N_("Expected close"),
    "amount": N_("Amount"),
    "probability": N_("Probability"),
}


def selection_deals(prepared, view: View) -> pd.DataFrame:
    """Every deal of a view's selection (its ``where`` and ``selection``) that the range's
    numbers read, with how it counts for each of the scorecard's kinds of number.

    A deal is listed when it is won or lost in the range, open at the range end, or created in
    the range, or when one of those would read it but a rule leaves it out (``excluded: no
    amount`` ...). Rows are sorted by amount, largest first.

    >>> from channelkpi.datasets import toy_deals
    >>> rows = selection_deals(prepare(toy_deals()), View(freq="Q", start="2024-04-01", end="2024-06-30"))
    >>> won_or_lost = rows.columns[-3]
    >>> won_or_lost
    'Won or lost in range (score, win rate, won amount, deal size, cycle)'
    >>> list(zip(rows["Deal ID"], rows["Amount"], rows[won_or_lost], rows["Open at range end (pipeline)"]))
    [('d6', 500.0, '', 'open at the range end'), ('d4', 350.0, 'won', ''), ('d5', 50.0, 'lost', '')]
    """
    options = dict(start=view.start, end=view.end, where=view.effective_where or None, by=None)
    frames, how = [], {}
    for title, column in _DEALS_MEASURES.items():
        rows = deals_behind(prepared, "kpi_table", column=column, fiscal_year_start=view.fiscal_year_start, **options)
        rows = rows[rows["counts_as"] != "excluded: outside period"]
        how[_(title)] = rows.set_index("deal_id")["counts_as"].astype(object).map(_in_range)
        frames.append(rows.drop(columns="counts_as"))
    listed = pd.concat(frames).drop_duplicates("deal_id")
    order = np.lexsort((listed["deal_id"].astype(str).to_numpy(), -listed["amount"].fillna(-np.inf).to_numpy(float)))
    listed = listed.iloc[order].reset_index(drop=True)
    for title, counts in how.items():
        mapped = listed["deal_id"].map(counts).astype(object)
        listed[title] = mapped.where(mapped.notna(), "")
    return listed.rename(
        columns=lambda c: (_(_DEAL_TITLES[c]) if c in _DEAL_TITLES else level_title(c)) if c not in how else c
    )


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
.ck-deals-row > td {padding: 0 0 4px 24px; border-top: none;}
.ck-deals-row summary {cursor: pointer; color: #56606b; font-size: 12px;}
.ck-deals {font-size: 12px; margin: 4px 0 8px;}
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
    ("rank", N_("Rank")),
    ("quality_score", N_("Quality score")),
    ("won_amount", N_("Won amount")),
    ("won_count", N_("Won deals")),
    ("avg_deal_size", N_("Average deal size")),
    ("win_rate", N_("Win rate")),
    ("win_rate_low", N_("95 % low")),
    ("win_rate_high", N_("95 % high")),
    ("cycle_days_median", N_("Median cycle (days)")),
    ("open_amount", N_("Open pipeline")),
    ("success_rate", N_("Deal success")),
]


def _table_html(frame: pd.DataFrame, columns: Sequence[tuple[str, str]], currency: str, *, cls: str) -> str:
    head = "".join(f"<th>{html_text(_(label))}</th>" for _col, label in columns)
    rows = []
    for rec in frame[[c for c, _label in columns]].itertuples(index=False):
        cells = []
        for (col, _label), value in zip(columns, rec, strict=True):
            kind = column_kind(col)
            text = cell_text(value, kind, currency) if kind != "other" else ("—" if pd.isna(value) else str(value))
            num = " class='ck-num'" if kind not in ("other", "date") else ""
            cells.append(f"<td{num}>{html_text(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table class='ck-table {cls}'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


_DEAL_COLUMNS = [
    ("name", N_("Deal")),
    ("account", N_("Account")),
    ("stage", N_("Stage")),
    ("amount", N_("Amount")),
    ("closed", N_("Closed")),
    ("counts_as", N_("How it counts")),
]


def _deals_html(rows: pd.DataFrame, symbol: str) -> str:
    """One row's largest deals as a small table: names escaped, amounts as money."""
    body = []
    for rec in rows.itertuples(index=False):
        get = rec._asdict()
        cells = []
        for col, _label in _DEAL_COLUMNS:
            value = get.get(col)
            if col == "amount":
                cells.append(f"<td class='ck-num'>{html_text(cell_text(value, 'money', symbol))}</td>")
            elif col == "closed":
                cells.append(f"<td>{html_text('—' if pd.isna(value) else f'{pd.Timestamp(value):%Y-%m-%d}')}</td>")
            else:
                cells.append(f"<td>{html_text(None if pd.isna(value) else value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    head = "".join(f"<th>{html_text(_(label))}</th>" for _col, label in _DEAL_COLUMNS)
    return f"<table class='ck-table ck-deals'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _scorecard_html(scorecard: pd.DataFrame, tops: Mapping[str, pd.DataFrame], level: str, symbol: str) -> str:
    """The scorecard: a row per group with its numbers (or why it has none), each followed by a
    collapsed list of the largest deals behind it."""
    columns = [(level, level_title(level)), *_SCORECARD]
    head = "".join(f"<th>{html_text(_(label))}</th>" for _col, label in columns)
    rows = []
    for rec in scorecard.to_dict("records"):
        name = display_name(rec[level])
        note = rec.get("note") or ""
        if note:  # a name of the partner table without deals: not a row of zeros that reads like failure
            cells = f"<td colspan='{len(columns) - 1}' class='ck-note'>{html_text(note)}</td>"
        else:
            cells = ""
            for col, _label in _SCORECARD:
                kind = column_kind(col)
                cells += f"<td class='ck-num'>{html_text(cell_text(rec[col], kind, symbol))}</td>"
        rows.append(f"<tr><td>{html_text(name)}</td>{cells}</tr>")
        top = tops.get(str(rec[level]))
        if top is None or not len(top):
            continue
        of = top.attrs.get("of", len(top))
        if of > len(top):
            what = _("the {count} largest of {total} deals").format(count=number(len(top)), total=number(of))
        else:
            what = (_("the {total} deal") if of == 1 else _("the {total} deals")).format(total=number(of))
        summary = _("Deals behind {name}: {what} won or lost in the range, by amount").format(name=name, what=what)
        rows.append(
            f"<tr class='ck-deals-row'><td colspan='{len(columns)}'><details><summary>{html_text(summary)}"
            f"</summary>{_deals_html(top, symbol)}</details></td></tr>"
        )
    return f"<table class='ck-table ck-scorecard'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _selection_text(ctx: Mapping) -> str:
    text = ctx["selection"]
    if ctx.get("data_end") is not None:
        text += " · " + _("data to {day}").format(day=date_text(ctx["data_end"]))
    return text


def _ledger_summary_html(result: LoadResult | None) -> str:
    if result is None:
        return (
            "<p class='ck-note'>"
            + html_text(_("These deals were passed in as a table: there is no load ledger."))
            + "</p>"
        )
    s = result.summary()
    line = _(
        "{file} read as {source}: {rows} rows read = {kept} kept + {merged} merged + {rejected} rejected; "
        "{won} won, {lost} lost, {open} open."
    ).format(
        file=result.file,
        source=said_note(result.source.label),
        **{k: number(s[k]) for k in ("kept", "merged", "rejected", "won", "lost", "open")},
        rows=number(s["rows_read"]),
    )
    counts = f"<p>{html_text(line)}</p>"
    if len(result.ledger):
        reasons = result.ledger.groupby(["outcome", "reason"]).size().reset_index(name="rows")
        # the codes stay the ledger's (data); the report says them in its language
        reasons[["outcome", "reason"]] = reasons[["outcome", "reason"]].map(_)
        counts += _table_html(
            reasons, [("outcome", N_("Outcome")), ("reason", N_("Reason")), ("rows", N_("Rows"))], "", cls="ck-ledger"
        )
    warnings = "".join(f"<li>{html_text(said_note(x))}</li>" for x in result.warnings)
    if warnings:
        counts += "<h3>" + html_text(_("Warnings")) + f"</h3><ul>{warnings}</ul>"
    return counts


def _movement_svg(movement: pd.DataFrame, currency: str, subtitle: str) -> str:
    """The waterfall of the movement's last period, over every group shown (one currency)."""
    if "currency" in movement and movement["currency"].nunique(dropna=False) > 1:
        movement = movement[movement["currency"].astype(str) == currency]
    chart = themed(
        movement_waterfall(movement, currency=currency, subtitle=subtitle, width=CHART_WIDTH), font=PRINT_FONT
    )
    svg = _render({"movement": chart}, "svg")["movement"]
    return _scoped(_titled(svg, chart), "movement")


def _movement_section(tables: Mapping[str, pd.DataFrame], ctx: Mapping) -> str:
    if "movement_by" not in tables:
        return ""
    figure = ctx.get("movement_svg") or ""
    heading = _("Pipeline movement")
    if figure:
        figure = f"<figure id='chart-movement' aria-label='{html_text(heading)}'>{figure}</figure>"
    movement = tables["movement_by"]
    table = movement_html(movement, by=ctx["by"], currency=ctx["currency"])
    gap = _movement_gap(tables, ctx)
    gap = f"<p class='ck-note'>{html_text(gap)}</p>" if gap else ""
    return f"<h2>{html_text(heading)}</h2>{_MOVEMENT_CSS}{figure}{gap}{table}"


def _movement_gap(tables: Mapping[str, pd.DataFrame], ctx: Mapping) -> str:
    # the Pipeline tile (the export's deals as they are now) beside the waterfall's end (as the
    # history recorded them): why they differ, in a sentence
    movement, now = tables["movement_by"], tables.get("now")
    if now is None or not len(now) or movement.empty or ctx.get("end") is None:
        return ""
    if "currency" in movement and movement["currency"].nunique(dropna=False) > 1:
        movement = movement[movement["currency"].astype(str) == ctx["currency"]]
    check = pd.DataFrame(
        {
            "currency": [ctx["currency"]],
            "tile_end": [pd.Timestamp(ctx["end"]).normalize()],
            "tile_amount": [float(now["open_amount"].iloc[0])],
            "waterfall_end": [pd.Timestamp(movement["period_end"].max()).normalize()],
            "export_amount": [np.nan],
        }
    )
    return pipeline_gap_caption(check, movement, currency=ctx["currency"])


# a row per group and a column per bucket is wider than a page: the table takes the page's width
# and no more (fixed layout, the group's column wider), headers wrap, and an amount too long for
# its column wraps inside it rather than pushing the table past the margin
_MOVEMENT_CSS = """<style>
table.ck-movement {width: 100%; table-layout: fixed; border-collapse: collapse; font-size: 12px;}
table.ck-movement caption {text-align: left; font-size: 12px; color: #56606b; caption-side: top;}
table.ck-movement th, table.ck-movement td {padding: 3px 4px; overflow-wrap: anywhere; vertical-align: bottom;}
table.ck-movement th:first-child {width: 20%;}
table.ck-movement td.ck-num {text-align: right; font-variant-numeric: tabular-nums;}
</style>"""


def _html(tables: Mapping[str, pd.DataFrame], svgs: Mapping[str, str], ctx: Mapping) -> str:
    cur = ctx["symbol"]
    level = ctx["by"]
    tiles = tiles_html(tile_values(tables, currency=ctx["currency"]))
    figures = "".join(
        f"<figure id='chart-{name}' aria-label='{html_text(_(CHART_TITLES[name]))}'>{_scoped(svg, name)}</figure>"
        for name, svg in svgs.items()
    )
    scorecard = _scorecard_html(tables["scorecard"], top_deals(ctx["behind"], level), level, cur)
    how, date, which = _("How:"), _("Date:"), _("Which deals:")
    defs = "".join(
        f"<dt>{html_text(_(d.title))}</dt><dd>{html_text(_(d.summary))}<br>{html_text(how)} {html_text(_(d.formula))}. "
        f"{html_text(date)} {html_text(_(d.date_field))}. {html_text(which)} {html_text(_(d.window))}.</dd>"
        for d in DEFINITIONS.values()
        if d.name != "kpi_table"
    )
    generated = moment_text(datetime.datetime.now())
    unranked = (
        "<p class='ck-note'>"
        + html_text(_("Deals without a partner are not ranked; they count in the eight KPIs above."))
        + "</p>"
        if ctx["partner_level"]
        else ""
    )
    h = {
        "kpis": _("The eight KPIs"),
        "changes": _("Changes compare with the same span just before the range."),
        "charts": _("Charts"),
        "scorecard": _("{level} scorecard").format(level=level_title(level)),
        "definitions": _("Definitions"),
        "quality": _("Data quality"),
        "meta": _("{selection} · {deals} deals").format(selection=_selection_text(ctx), deals=number(ctx["deals"])),
        "footer": _("channelkpi {version} · generated {when}").format(version=__version__, when=generated),
    }
    return (
        f"<!doctype html>\n<html lang='{html_text(current_language())}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html_text(ctx['title'])}</title>{_PAGE_CSS}{CSS}</head><body>"
        f"<h1>{html_text(ctx['title'])}</h1>"
        f"<div class='ck-meta'>{html_text(h['meta'])}</div>"
        f"<h2>{html_text(h['kpis'])}</h2>{tiles}"
        f"<p class='ck-note'>{html_text(h['changes'])}</p>"
        f"<h2>{html_text(h['charts'])}</h2>{figures}"
        f"<h2>{html_text(h['scorecard'])}</h2>{scorecard}{unranked}"
        f"{_movement_section(tables, ctx)}"
        f"<h2>{html_text(h['definitions'])}</h2><dl class='ck-defs'>{defs}</dl>"
        f"<h2>{html_text(h['quality'])}</h2>{_ledger_summary_html(ctx['result'])}"
        f"<footer>{html_text(h['footer'])}</footer>"
        "</body></html>\n"
    )


# --------------------------------------------------------------------------- Excel
#: The workbook's own sheets (Excel allows 31 characters in a name: so do the translations).
_BOOK_SHEETS = {
    "summary": N_("Summary"),
    "about": N_("About"),
    "movement": N_("Movement"),
    "deals": N_("Deals"),
    "definitions": N_("Definitions"),
    "ledger": N_("Ledger"),
}
#: The sheet of each table.
_SHEETS = {
    "scorecard": N_("Scorecard"),
    "kpis": N_("KPIs by period"),
    "trend": N_("Totals by period"),
    "pipeline_stage": N_("Pipeline by stage"),
    "waterfall": N_("Pipeline waterfall"),
    "targets": N_("Targets"),
    "channel_mix": N_("Channel mix"),
    "channel_rates": N_("Channel win rates"),
    "seasonality": N_("Seasonality by unit"),
    "seasonality_all": N_("Seasonality"),
    "cycles": N_("Cycle lengths"),
    "cohorts": N_("Deal success cohorts"),
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


#: The columns of the workbook's own sheets, as a report in another language than English heads
#: them (an English one keeps these names, as it always has).
_OWN_HEADINGS = {
    "summary": {
        "kpi": N_("KPI"),
        "value": N_("Value"),
        "previous_span": N_("Previous period, same span"),
        "n": N_("Deals counted"),
        "n_counts": N_("What is counted"),
        "note": N_("Note"),
        "definition": N_("Definition"),
    },
    "about": {"item": N_("About"), "value": N_("Value")},
    "definitions": {
        "kpi": N_("KPI"),
        "title": N_("Name"),
        "formula": N_("Formula"),
        "date_field": N_("Date"),
        "window": N_("Window"),
        "variants": N_("Variants"),
        "excludes": N_("Excludes"),
    },
}

#: The amount columns of the "Movement" sheet.
_MOVEMENT_AMOUNTS = (*MOVEMENT_COLUMNS, "unchanged", "memo")

#: Data rows a worksheet holds (Excel's 1,048,576 rows, less the header).
_EXCEL_ROWS = 1_048_575


def _scorecard_sheet(scorecard: pd.DataFrame) -> pd.DataFrame:
    """The scorecard as a sheet: a row without deals has its note and empty numbers, not zeros."""
    out = scorecard.copy()
    empty = out["note"].fillna("").astype(bool).to_numpy()
    if empty.any():
        numbers = [c for c in out.columns if column_kind(c) not in ("other", "date")]
        out[numbers] = out[numbers].astype(float)
        out.loc[empty, numbers] = np.nan
    return out


def _workbook(tables: Mapping[str, pd.DataFrame], ctx: Mapping, deal_rows: pd.DataFrame) -> bytes:
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    cur = ctx["symbol"]
    summary = _summary_frame(tables, ctx)
    # the sheets' names and the About sheet in the report's language (Excel shows the numbers
    # in the reader's own format: the cells stay numbers)
    named = {k: _(v) for k, v in _BOOK_SHEETS.items()}
    about = pd.DataFrame(
        {
            "item": [_("Report"), _("Range"), _("Selection"), _("Deals"), _("Source"), _("Generated by")],
            "value": [
                ctx["title"],
                _("{start} to {end}").format(start=ctx["start"].date(), end=ctx["end"].date()),
                _selection_text(ctx),
                number(ctx["deals"]),
                ctx["result"].file if ctx["result"] is not None else _("a deals table"),
                f"channelkpi {__version__}",
            ],
        }
    )
    if ctx["partner_level"]:
        about.loc[len(about)] = [
            _("Scorecard"),
            _("deals without a partner are not ranked; they count in the Summary"),
        ]
    about.loc[len(about)] = [
        _("Deals"),
        _("{count} deals of the selection: won or lost in the range, open at its end or created in it").format(
            count=number(len(deal_rows))
        ),
    ]
    if len(deal_rows) > _EXCEL_ROWS:
        about.loc[len(about)] = [
            _("Deals"),
            _("only the {count} largest fit in a sheet").format(count=number(_EXCEL_ROWS)),
        ]
        deal_rows = deal_rows.head(_EXCEL_ROWS)
    sheets: dict[str, pd.DataFrame] = {named["summary"]: summary.drop(columns="kind"), named["about"]: about}
    for key, name in _SHEETS.items():
        if key in tables:
            sheets[_(name)] = _scorecard_sheet(tables[key]) if key == "scorecard" else tables[key]
    if "movement_by" in tables:
        sheets[named["movement"]] = movement_sheet(tables["movement_by"])
    sheets[named["deals"]] = deal_rows
    sheets[named["definitions"]] = pd.DataFrame(
        [
            {
                "kpi": d.name,
                "title": _(d.title),
                "formula": _(d.formula),
                "date_field": _(d.date_field),
                "window": _(d.window),
                "variants": "; ".join(_(v) for v in d.variants),
                "excludes": _(d.excludes) if d.excludes else "",
            }
            for d in DEFINITIONS.values()
        ]
    )
    result = ctx["result"]
    sheets[named["ledger"]] = (
        result.ledger
        if result is not None
        else pd.DataFrame({"note": [_("no load ledger: the deals were passed in as a table")]})
    )
    # the KPI tables' columns headed in the report's language (English keeps the names of code);
    # the report's own sheets, whose columns are not KPI columns, name theirs here
    kpi_sheets = [_(name) for key, name in _SHEETS.items() if key in tables]
    if "movement_by" in tables:
        kpi_sheets.append(named["movement"])
    if current_language() != "en":
        for key, titles in _OWN_HEADINGS.items():
            frame = sheets[named[key]]
            sheets[named[key]] = frame.rename(columns={c: _(t) for c, t in titles.items() if c in frame.columns})
    raw = to_excel(sheets, number_formats=lambda col: excel_format(column_kind(col), cur), headings=kpi_sheets)
    # the summary's value column mixes money, rates and days: one format per row
    book = load_workbook(io.BytesIO(raw))
    sheet = book[named["summary"]]
    for i, kind in enumerate(summary["kind"], start=2):
        fmt = excel_format(kind, cur)
        for col in ("B", "C"):
            sheet[f"{col}{i}"].number_format = fmt or "General"
    # the deals' columns have people's titles, not KPI names: their formats are set here
    # the deals' headings are in the report's language, as selection_deals named them
    titles = {k: _(v) for k, v in _DEAL_TITLES.items()}
    deal_formats = {titles["amount"]: excel_format("money", cur), titles["probability"]: "0%"}
    deal_formats.update(dict.fromkeys((titles["created"], titles["closed"], titles["expected_close"]), "yyyy-mm-dd"))
    sheet = book[named["deals"]]
    for j, col in enumerate(deal_rows.columns, start=1):
        fmt = deal_formats.get(col) or ("yyyy-mm-dd" if pd.api.types.is_datetime64_any_dtype(deal_rows[col]) else None)
        if fmt:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=j, max_col=j):
                cell.number_format = fmt
            sheet.column_dimensions[get_column_letter(j)].width = max(
                sheet.column_dimensions[get_column_letter(j)].width or 0, 12
            )
    if named["movement"] in book.sheetnames:  # amounts of the movement, not KPI columns: formats here
        sheet = book[named["movement"]]
        money_fmt = excel_format("money", cur)
        for j, col in enumerate(sheets[named["movement"]].columns, start=1):
            fmt = (
                money_fmt
                if col in _MOVEMENT_AMOUNTS
                else "yyyy-mm-dd"
                if col in ("period_start", "period_end")
                else None
            )
            if fmt:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=j, max_col=j):
                    cell.number_format = fmt
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
