"""The eight channel-partner KPIs, exactly as the contract (``explain()``) defines them.

Every function takes the canonical deals table first and keyword-only options:

``by``
    ``None`` or one or several of ``partner``, ``owner``, ``department``, ``unit``,
    ``channel``, ``source``, ``stage``, ``name``, ``account``, ``product`` or any other text
    column of the deals (kept fields, a partner table's columns). Every group present in the
    deals appears in every period, with zero counts and missing rates when it had nothing; given
    a load result, so does every partner or owner of its tables.
``freq``
    ``None`` (the whole range), ``"W"``, ``"M"``, ``"Q"`` or ``"Y"``; adds ``period``,
    ``period_start`` and ``period_end``.
``start``, ``end``
    The date range (inclusive); ``end="2025-12"`` means the end of December 2025.
``fiscal_year_start``
    First month of the fiscal year (quarters and years are fiscal; FY named by its end year).
``compare``
    ``"previous"`` or ``"year"``: adds ``<column>_prev`` and ``<column>_change`` for every measure.
``where``
    ``{"partner": [...], "channel": [...]}``: keep only these deals (the rest count as
    ``filtered_out``).
``columns``
    ``{"their column": "canonical name"}`` for tables whose columns are named otherwise (a
    warehouse table); optional canonical columns that are absent count as empty.
``engine``
    ``"auto"`` (the default: a pandas table is aggregated by DuckDB when it is installed; a
    polars, DuckDB or PySpark table by its own engine) or ``"pandas"``.

The deals may be a pandas DataFrame, a polars DataFrame or LazyFrame, a DuckDB relation (e.g.
``duckdb.read_parquet("deals/*.parquet")``), a PySpark DataFrame, or anything else narwhals
reads; the row-level stage runs where the data lives and only small aggregates come back.

Each result is a new DataFrame (the input is never modified) whose ``attrs["channelkpi"]`` says
which KPI and definition it holds, how many rows it used and how many it excluded per reason.

Examples
--------
>>> import pandas as pd
>>> from channelkpi import validate_deals
>>> deals = validate_deals(pd.DataFrame({
...     "deal_id": ["a", "b", "c"], "partner": ["Acme", "Acme", "Acme"],
...     "status": ["won", "won", "lost"], "amount": [200.0, 400.0, 50.0],
...     "closed": ["2024-03-01", "2024-03-20", "2024-03-05"]}))
>>> average_deal_size(deals, by="partner")[["partner", "avg_deal_size", "won_count"]]
  partner  avg_deal_size  won_count
0    Acme          300.0          2
>>> round(float(win_rate(deals)["win_rate"].iloc[0]), 3)
0.667
"""

from __future__ import annotations

import dataclasses
import inspect
import textwrap
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import ChannelKPIError
from ..history import History
from ..schema import CHANNELS
from ..types import Basis, By, Compare, DateLike, Denominator, Engine, Freq, Weight, Where
from .canonical import dimensions_of
from .contract import Aggregates
from .definitions import DEFINITIONS
from .finish import (
    Columns,
    amounts_from_cents,
    build_frame,
    exclusions,
    grid_keys,
    ratio,
    with_dimension_groups,
    with_periods,
)
from .periods import lag
from .query import make_query
from .recorded import STOCK_COLUMNS, last_change, open_states, recorded_note
from .rules import CYCLE_WEEKS_CAP
from .stage1 import aggregate
from .stats import beta_prior, log_mean_split, mid_percentile, shrink, wilson_interval

__all__ = [
    "deal_count",
    "average_deal_size",
    "pipeline",
    "pipeline_waterfall",
    "channel_performance",
    "win_rate",
    "seasonality",
    "deal_velocity",
    "cycle_distribution",
    "quality_score",
    "deal_success",
    "kpi_table",
    "DEFAULT_QUALITY_WEIGHTS",
]

#: Weights of the quality score's components (percentile ranks among peers).
DEFAULT_QUALITY_WEIGHTS = {"won_amount": 0.4, "won_count": 0.2, "win_rate_shrunk": 0.25, "avg_deal_size": 0.15}

_OUTCOME_KEYS = [("outcomes", "cl_key")]
_COHORT_KEYS = [("created", "cr_key")]
_STOCK_KEYS = [("created", "cr_key"), ("outcomes", "cl_key")]


def _run(deals, needs, sources, *, by, freq, start, end, fiscal_year_start, compare, where, columns, engine):
    q = make_query(
        by=by, freq=freq, start=start, end=end, fiscal_year_start=fiscal_year_start, where=where, compare=compare
    )
    if isinstance(deals, History):
        return _run_recorded(deals, q, needs, sources, engine=engine, columns=columns)
    agg = with_dimension_groups(aggregate(deals, q, set(needs), engine=engine, columns=columns), dimensions_of(deals))
    keys = grid_keys(agg, sources)
    return agg, build_frame(agg, keys)


def _run_recorded(history: History, q, needs, sources, *, engine, columns):
    """Stage 1 on a history: every measure from the deals as they are now, except the open-at-
    period-end ones, which read each deal as recorded at each end (:mod:`.recorded`). Both
    runs end on the same day (``end``, else the last day the history records a change), so
    their periods are the same."""
    if q.end is None:
        q = dataclasses.replace(q, end=last_change(history))
    agg = aggregate(history.state(history.as_of), q, set(needs), engine=engine, columns=columns)
    frame = build_frame(agg, grid_keys(agg, sources))
    stock = {"flows", "coverage"} & set(needs)
    if not stock:
        return agg, frame
    states = aggregate(open_states(history), q, stock, engine=engine, columns=columns)
    recorded = build_frame(states, grid_keys(states, sources))
    on = [*q.by, "key"]
    cols = [c for c in STOCK_COLUMNS if c in recorded]
    frame = frame.drop(columns=cols).merge(recorded[[*on, *cols]], on=on, how="outer")
    # a group or period with open deals in the past and none now (or the reverse) counts zero
    counted = [c for c in frame if c.endswith(("_count", "_cents", "_n", "_sum", "_wcents"))]
    frame[counted] = frame[counted].fillna(0).astype("int64")
    agg.recorded = True
    return agg, frame.sort_values(on, kind="stable").reset_index(drop=True)


def _finish(
    df: pd.DataFrame, agg: Aggregates, columns: list[str], kpi: str, used_excluded, *, compare, extra_attrs=None
) -> pd.DataFrame:
    """Select columns, add comparisons and periods, drop lookback periods, attach attrs."""
    q = agg.query
    lv = list(q.by)
    out = df[[*lv, "key", *columns]].copy()
    if compare is not None:
        shift = lag(q.freq, compare)
        prev = out[[*lv, "key", *columns]].copy()
        prev["key"] = prev["key"] + shift
        prev = prev.rename(columns={c: f"{c}_prev" for c in columns})
        out = out.merge(prev, on=[*lv, "key"], how="left")
        # added at once: a column inserted at a time costs more than its arithmetic
        changes = {f"{c}_change": out[c].astype(float) - out[f"{c}_prev"].astype(float) for c in columns}
        out = pd.concat([out, pd.DataFrame(changes, index=out.index)], axis=1)
        ordered = [x for c in columns for x in (c, f"{c}_prev", f"{c}_change")]
        out = out[[*lv, "key", *ordered]]
    if q.lookback and q.start is not None:
        out = out[out["key"] >= q.key(q.start)]
    out = with_periods(out.reset_index(drop=True), agg)
    if lv:
        out = out.sort_values([*lv, *(["period_start"] if q.freq else [])], kind="stable").reset_index(drop=True)
    used, excluded = used_excluded
    out.attrs["channelkpi"] = {
        "kpi": kpi,
        "definition": DEFINITIONS[kpi].formula,
        "rows": agg.rows,
        "used": used,
        "excluded": excluded,
        "engine": agg.engine,
        **({"past_ends": recorded_note(agg.recorded)} if "open_count" in columns else {}),
        **(extra_attrs or {}),
    }
    return out


def _common(by, freq, start, end, fiscal_year_start, compare, where, engine, columns=None):
    return {
        "by": by,
        "freq": freq,
        "start": start,
        "end": end,
        "fiscal_year_start": fiscal_year_start,
        "compare": compare,
        "where": where,
        "engine": engine,
        "columns": columns,
    }


# --------------------------------------------------------------------------- documentation
#: The options every KPI shares, documented once; :func:`_documented` puts those a function
#: takes into its docstring's Parameters (in signature order) where it says ``{common}``.
_PARAMETERS = {
    "deals": """deals : pandas.DataFrame, PreparedDeals, LoadResult or a table narwhals reads
    The canonical deals table (:mod:`channelkpi.schema`): pandas, :func:`prepare` output,
    polars, a DuckDB relation, PySpark; or a :func:`load_crm` result, whose partner and owner
    tables then add their partners and owners without deals (zero counts).""",
    "by": """by : Level or list of Level, optional
    Group by these columns: ``"partner"``, ``"owner"``, ``"department"``, ``"unit"``,
    ``"channel"``, ``"source"``, ``"stage"``, ``"name"``, ``"account"``, ``"product"``, or any
    other text column of the deals (a field kept with ``load_crm(keep=...)``, a partner table's
    ``"tier"``); several: their combinations. Every group present in the deals appears in every
    period. Default: {default}.""",
    "freq": """freq : {"W", "M", "Q", "Y"} or None
    Periods: ISO weeks, months, (fiscal) quarters or years; ``None``: the whole range as one.
    Default: {default}.""",
    "start": """start, end : date-like, optional
    The date range, inclusive; ``end="2025-12"`` means the end of December 2025.""",
    "fiscal_year_start": """fiscal_year_start : int
    First month of the fiscal year (1-12); a fiscal year is named by the year it ends in.""",
    "compare": """compare : {"previous", "year"}, optional
    Add ``<column>_prev`` and ``<column>_change`` for every measure: against the period
    before, or the same period a year before.""",
    "where": """where : dict of str -> list of str, optional
    Keep only these deals, e.g. ``{"partner": ["Acme"], "channel": ["partner"]}`` (the rest
    count as ``filtered_out``).""",
    "columns": """columns : dict of str -> str, optional
    ``{"their column": "canonical name"}`` for a table named otherwise (a warehouse table);
    optional canonical columns that are absent count as empty.""",
    "engine": """engine : {"auto", "duckdb", "pandas"}
    What aggregates a pandas table (``"auto"``: DuckDB when installed); other tables are
    aggregated by their own engine.""",
}


def _documented(func):
    """Put the shared options ``func`` takes into its docstring's ``{common}`` placeholder."""
    signature = inspect.signature(func)
    texts = []
    for name, param in signature.parameters.items():
        if name in _PARAMETERS:
            default = "``None``" if param.default is None else f"``{param.default!r}``".replace("'", '"')
            texts.append(_PARAMETERS[name].replace("{default}", default))
    func.__doc__ = func.__doc__.replace("{common}", textwrap.indent("\n".join(texts), "    ").lstrip())
    return func


# --------------------------------------------------------------------------- measures
def _outcome_measures(df: pd.DataFrame | Columns) -> None:
    df["won_amount"] = amounts_from_cents(df["won_cents"])
    df["lost_amount"] = amounts_from_cents(df["lost_cents"])
    df["closed_count"] = df["won_count"] + df["lost_count"]
    df["n"] = df["closed_count"]
    df["avg_deal_size"] = ratio(df["won_cents"], df["won_amount_n"]) / 100.0
    df["amount_count"] = df["won_amount_n"]
    df["win_rate"] = ratio(df["won_count"], df["n"])
    low, high = wilson_interval(df["won_count"], df["n"])
    df["win_rate_low"], df["win_rate_high"] = low, high
    if "won_cycle_n" in df:
        df["cycle_days_mean"] = ratio(df["won_cycle_sum"], df["won_cycle_n"])
        df["lost_cycle_days_mean"] = ratio(df["lost_cycle_sum"], df["lost_cycle_n"])
    if "won_cycle_median" in df:
        df["cycle_days_median"] = df["won_cycle_median"]
        df["lost_cycle_days_median"] = df["lost_cycle_median"]
    if "won_median_amount" in df:
        df["median_deal_size"] = df["won_median_amount"]


def _stock_measures(df: pd.DataFrame | Columns, agg: Aggregates) -> None:
    df["open_amount"] = amounts_from_cents(df["open_cents"])
    df["weighted_amount"] = amounts_from_cents(df["open_wcents"])
    df["open_start_amount"] = amounts_from_cents(df["open_start_cents"])
    if agg.query.freq is None and agg.query.start is None:
        # one snapshot and nothing before it to compare with
        df["change_count"] = np.nan
        df["change_amount"] = np.nan
    else:
        df["change_count"] = (df["open_count"] - df["open_start_count"]).astype("int64")
        df["change_amount"] = amounts_from_cents(df["open_cents"] - df["open_start_cents"])


def _velocity(df: pd.DataFrame | Columns) -> None:
    df["sales_velocity"] = (
        df["open_start_count"] * df["win_rate"] * df["avg_deal_size"] / df["cycle_days_mean"]
    ).where(df["cycle_days_mean"] > 0)


# --------------------------------------------------------------------------- KPIs
@_documented
def deal_count(
    deals,
    *,
    by: By = None,
    freq: Freq = None,
    start: DateLike = None,
    end: DateLike = None,
    fiscal_year_start: int = 1,
    compare: Compare | None = None,
    where: Where = None,
    columns: Mapping[str, str] | None = None,
    engine: Engine = "auto",
) -> pd.DataFrame:
    """Deal count (KPI 2): won deals closed in each period, with created, closed and open counts.

    Parameters
    ----------
    {common}

    Returns
    -------
    pandas.DataFrame
        One row per group x period: ``won_count``, ``created_count`` (created in P),
        ``closed_count`` (won + lost closed in P) and ``open_count`` (open at the end of P; with
        ``freq=None`` as of ``end`` or the last date in the data).

    Examples
    --------
    >>> from channelkpi.datasets import toy_deals
    >>> deal_count(toy_deals(), freq="Q")[["period", "won_count", "created_count", "closed_count", "open_count"]]
        period  won_count  created_count  closed_count  open_count
    0  2024-Q1          2              4             3           1
    1  2024-Q2          1              2             2           1
    """
    agg, df = _run(
        deals,
        {"outcomes", "created", "flows"},
        _OUTCOME_KEYS + _COHORT_KEYS,
        **_common(by, freq, start, end, fiscal_year_start, compare, where, engine, columns),
    )
    _outcome_measures(df)
    cols = ["won_count", "created_count", "closed_count", "open_count"]
    return _finish(df, agg, cols, "deal_count", exclusions(agg, "outcome"), compare=compare)


@_documented
def average_deal_size(
    deals,
    *,
    by: By = None,
    freq: Freq = None,
    start: DateLike = None,
    end: DateLike = None,
    fiscal_year_start: int = 1,
    basis: Basis = "won",
    compare: Compare | None = None,
    where: Where = None,
    columns: Mapping[str, str] | None = None,
    engine: Engine = "auto",
) -> pd.DataFrame:
    """Average deal size (KPI 1): won amount / won deals closed in P, with the median.

    Won deals without an amount are excluded (``no_amount``); ``amount_count`` says how many
    amounts the average is over.

    Parameters
    ----------
    {common}
    basis : {"won", "open"}
        ``"open"`` gives the mean amount of open deals expected to close in P (as some CRMs
        report it) instead of won deals closed in P.

    Returns
    -------
    pandas.DataFrame
        One row per group x period: ``avg_deal_size``, ``median_deal_size``, ``won_count``,
        ``won_amount`` and ``amount_count`` (with ``basis="open"``: ``open_count`` and
        ``open_amount`` instead of the won columns).

    Examples
    --------
    >>> from channelkpi.datasets import toy_deals
    >>> average_deal_size(toy_deals(), by="partner")[["partner", "avg_deal_size", "won_count"]]
      partner  avg_deal_size  won_count
    0    Acme          300.0          2
    1   Birch          350.0          1
    """
    if basis not in ("won", "open"):
        raise ChannelKPIError(f"basis={basis!r}", fix="use basis='won' (default) or basis='open'")
    if basis == "open":
        agg, df = _run(
            deals,
            {"open_expected"},
            [("open_expected", "ex_key")],
            **_common(by, freq, start, end, fiscal_year_start, compare, where, engine, columns),
        )
        df["avg_deal_size"] = ratio(df["open_exp_cents"], df["open_exp_amount_n"]) / 100.0
        df["median_deal_size"] = df["open_exp_median_amount"]
        df["open_count"] = df["open_exp_count"]
        df["open_amount"] = amounts_from_cents(df["open_exp_cents"])
        df["amount_count"] = df["open_exp_amount_n"]
        cols = ["avg_deal_size", "median_deal_size", "open_count", "open_amount", "amount_count"]
        return _finish(
            df,
            agg,
            cols,
            "average_deal_size",
            _open_basis(agg),
            compare=compare,
            extra_attrs={"variant": "basis='open'"},
        )
    agg, df = _run(
        deals,
        {"outcomes"},
        _OUTCOME_KEYS,
        **_common(by, freq, start, end, fiscal_year_start, compare, where, engine, columns),
    )
    _outcome_measures(df)
    cols = ["avg_deal_size", "median_deal_size", "won_count", "won_amount", "amount_count"]
    return _finish(df, agg, cols, "average_deal_size", _won_only(agg, value=True), compare=compare)


def _open_basis(agg: Aggregates):
    """Exclusions of the open-basis deal size: closed deals, and open deals without an
    expected close date or expected outside the range."""
    st = agg.status
    opened = st["status"] == "open"
    used = int(agg.tables["open_expected"]["n"].sum())
    with_date = int(st.loc[opened & (st["ex_null"] == 0), "n"].sum())
    excluded = {
        "filtered_out": agg.filtered_out,
        "not_open": int(st.loc[~opened, "n"].sum()),
        "no_expected_close": int(st.loc[opened & (st["ex_null"] == 1), "n"].sum()),
        "outside_period": with_date - used,
    }
    return used, {k: v for k, v in excluded.items() if v}


def _won_only(agg: Aggregates, *, value=False):
    """Exclusions of a won-deals-only KPI: lost deals closed in P count as ``not_won``."""
    used, excluded = exclusions(agg, "outcome", value=value)
    st = agg.status
    lost = st["status"] == "lost"
    if agg.query.periods_apply:
        lost = lost & (st["cl_in"] == 1)
    if value:
        lost = lost & (st["has_amount"] == 1)
    n_lost = int(st.loc[lost, "n"].sum())
    excluded["not_won"] = n_lost
    return used - n_lost, {k: v for k, v in excluded.items() if v}


@_documented
def pipeline(
    deals,
    *,
    by: By = None,
    freq: Freq = None,
    start: DateLike = None,
    end: DateLike = None,
    fiscal_year_start: int = 1,
    as_of: DateLike = None,
    targets: pd.DataFrame | None = None,
    compare: Compare | None = None,
    where: Where = None,
    columns: Mapping[str, str] | None = None,
    engine: Engine = "auto",
) -> pd.DataFrame:
    """Opportunity pipeline (KPI 3): deals open at the end of each period (or ``as_of``).

    Open as of *t*: created on or before *t* and not closed by *t*. A past snapshot uses each
    deal's current amount and stage; given a :class:`~channelkpi.history.History`
    (:func:`channelkpi.load_history`), each deal's amount, stage, partner and owner as recorded
    at *t* (``explain()`` of the table says which).

    Parameters
    ----------
    {common}
    as_of : date-like, optional
        The snapshot date (with periods: the last period ends there).
    targets : pandas.DataFrame, optional
        :func:`channelkpi.read_targets` output: adds ``target``, ``won_amount``, ``attainment``
        (won amount / target), ``next_target``, ``next_pipeline`` (open at the end of P and
        expected to close in the next period) and ``coverage`` (next_pipeline / next_target).

    Returns
    -------
    pandas.DataFrame
        One row per group x period: ``open_count``, ``open_amount``, ``weighted_amount``
        (amount x probability), ``change_count`` and ``change_amount`` (against the previous
        period end; with ``freq=None`` against the day before ``start``, or zero).

    Examples
    --------
    >>> from channelkpi.datasets import toy_deals
    >>> table = pipeline(toy_deals())
    >>> table[["open_count", "open_amount", "weighted_amount"]]
       open_count  open_amount  weighted_amount
    0           1        500.0            250.0
    >>> table.attrs["channelkpi"]["as_of"]  # the last date in the deals
    '2024-05-10'
    """
    if as_of is not None:
        if freq is not None:
            end = as_of if end is None else min(pd.Timestamp(end), pd.Timestamp(as_of))
        else:
            end = as_of
    needs = {"flows"} | ({"outcomes", "coverage"} if targets is not None else set())
    agg, df = _run(
        deals, needs, _STOCK_KEYS, **_common(by, freq, start, end, fiscal_year_start, compare, where, engine, columns)
    )
    _stock_measures(df, agg)
    cols = ["open_count", "open_amount", "weighted_amount", "change_count", "change_amount"]
    extra = {"as_of": str(agg.as_of.date())} if freq is None else {}
    if targets is not None:
        _outcome_measures(df)
        df = _with_targets(df, agg, targets)
        cols += ["target", "won_amount", "attainment", "next_target", "next_pipeline", "coverage"]
    return _finish(df, agg, cols, "pipeline", exclusions(agg, "stock"), compare=compare, extra_attrs=extra)


def _with_targets(df: pd.DataFrame, agg: Aggregates, targets: pd.DataFrame) -> pd.DataFrame:
    from .targets import targets_on_grid

    q = agg.query
    if q.freq is None:
        raise ChannelKPIError("targets= needs periods", fix="pass freq='M', 'Q' or 'Y' with targets=")
    tg = targets_on_grid(targets, q)
    lv = list(q.by)
    df = df.merge(tg, on=[*lv, "key"], how="left")
    nxt = tg.rename(columns={"target": "next_target"})
    nxt["key"] = nxt["key"] - 1
    df = df.merge(nxt, on=[*lv, "key"], how="left")
    df["attainment"] = ratio(df["won_amount"], df["target"])
    df["next_pipeline"] = amounts_from_cents(df["next_expected_cents"])
    df["coverage"] = ratio(df["next_pipeline"], df["next_target"])
    return df


@_documented
def pipeline_waterfall(
    deals,
    *,
    by: By = None,
    freq: Freq = "M",
    start: DateLike = None,
    end: DateLike = None,
    fiscal_year_start: int = 1,
    where: Where = None,
    columns: Mapping[str, str] | None = None,
    engine: Engine = "auto",
) -> pd.DataFrame:
    """From one period end to the next: ``start + created - won - lost = end``.

    ``created`` counts deals created in P and still open at its end; ``won`` and ``lost`` count
    deals open at the previous end that closed in P. Deals created and closed within P appear
    in neither snapshot and not here.

    Parameters
    ----------
    {common}

    Returns
    -------
    pandas.DataFrame
        One row per group x period: the amounts ``start``, ``created``, ``won``, ``lost``,
        ``end`` and the same as counts (``start_count`` ... ``end_count``).

    Examples
    --------
    >>> from channelkpi.datasets import toy_deals
    >>> pipeline_waterfall(toy_deals(), freq="Q")[["period", "start", "created", "won", "lost", "end"]]
        period  start  created  won  lost    end
    0  2024-Q1    0.0     50.0  0.0   0.0   50.0
    1  2024-Q2   50.0    500.0  0.0  50.0  500.0
    """
    if freq is None:
        raise ChannelKPIError("a waterfall needs periods", fix="pass freq='M', 'Q', 'Y' or 'W'")
    if isinstance(deals, History):
        raise ChannelKPIError(
            "pipeline_waterfall reads deals as they are now; a history has the changes in between",
            fix="use channelkpi.pipeline_movement(history, ...), whose buckets balance with every change recorded",
        )
    agg, df = _run(
        deals, {"flows"}, _STOCK_KEYS, **_common(by, freq, start, end, fiscal_year_start, None, where, engine, columns)
    )
    df["start"] = amounts_from_cents(df["open_start_cents"])
    df["created"] = amounts_from_cents(df["wf_created_cents"])
    df["won"] = amounts_from_cents(df["wf_won_cents"])
    df["lost"] = amounts_from_cents(df["wf_lost_cents"])
    df["end"] = amounts_from_cents(df["open_cents"])
    df["start_count"] = df["open_start_count"]
    df["created_count"] = df["wf_created_count"]
    df["won_count"] = df["wf_won_count"]
    df["lost_count"] = df["wf_lost_count"]
    df["end_count"] = df["open_count"]
    cols = [
        "start",
        "created",
        "won",
        "lost",
        "end",
        "start_count",
        "created_count",
        "won_count",
        "lost_count",
        "end_count",
    ]
    return _finish(df, agg, cols, "pipeline_waterfall", exclusions(agg, "stock"), compare=None)


@_documented
def channel_performance(
    deals,
    *,
    by: By = "channel",
    freq: Freq = None,
    start: DateLike = None,
    end: DateLike = None,
    fiscal_year_start: int = 1,
    compare: Compare | None = None,
    where: Where = None,
    columns: Mapping[str, str] | None = None,
    engine: Engine = "auto",
) -> pd.DataFrame:
    """Marketing channels (KPI 4): deals created and won per channel, and its share of the won amount.

    Parameters
    ----------
    {common}

    Returns
    -------
    pandas.DataFrame
        One row per channel (or source) x period: ``created_count``, ``won_count``,
        ``won_amount``, ``won_share`` (of the period's won amount), ``win_rate``,
        ``avg_deal_size`` and ``cycle_days_median``.

    Examples
    --------
    >>> from channelkpi.datasets import toy_deals
    >>> channel_performance(toy_deals())[["channel", "created_count", "won_count", "won_amount", "won_share"]]
       channel  created_count  won_count  won_amount  won_share
    0     paid              2          0         0.0        0.0
    1  partner              4          3       950.0        1.0
    """
    agg, df = _run(
        deals,
        {"outcomes", "created"},
        _OUTCOME_KEYS + _COHORT_KEYS,
        **_common(by, freq, start, end, fiscal_year_start, compare, where, engine, columns),
    )
    _outcome_measures(df)
    total = df.groupby("key")["won_cents"].transform("sum")
    df["won_share"] = ratio(df["won_cents"], total)
    cols = ["created_count", "won_count", "won_amount", "won_share", "win_rate", "avg_deal_size", "cycle_days_median"]
    return _finish(df, agg, cols, "channel_performance", exclusions(agg, "outcome"), compare=compare)


@_documented
def win_rate(
    deals,
    *,
    by: By = None,
    freq: Freq = None,
    start: DateLike = None,
    end: DateLike = None,
    fiscal_year_start: int = 1,
    weight: Weight = "count",
    denominator: Denominator = "closed",
    compare: Compare | None = None,
    where: Where = None,
    columns: Mapping[str, str] | None = None,
    engine: Engine = "auto",
) -> pd.DataFrame:
    """Close rate (KPI 5): won / (won + lost) among deals closed in P, with a Wilson 95 % interval.

    Parameters
    ----------
    {common}
    weight : {"count", "value"}
        ``"value"`` gives won amount / (won + lost amount) (deals without amount excluded; no
        interval: a share of money is not a binomial proportion).
    denominator : {"closed", "created"}
        ``"created"`` gives won deals closed in P / deals created in P, some vendors' "close
        rate"; it can exceed 1 and has no interval.

    Returns
    -------
    pandas.DataFrame
        One row per group x period: ``win_rate``, ``win_rate_low``, ``win_rate_high``,
        ``won_count``, ``lost_count`` and ``n`` (with ``weight="value"`` also ``won_amount`` and
        ``lost_amount``).

    Examples
    --------
    >>> from channelkpi.datasets import toy_deals
    >>> win_rate(toy_deals(), by="partner")[["partner", "win_rate", "won_count", "lost_count"]].round(3)
      partner  win_rate  won_count  lost_count
    0    Acme     0.667          2           1
    1   Birch     0.500          1           1
    """
    if weight not in ("count", "value"):
        raise ChannelKPIError(f"weight={weight!r}", fix="use weight='count' or weight='value'")
    if denominator not in ("closed", "created"):
        raise ChannelKPIError(f"denominator={denominator!r}", fix="use denominator='closed' or 'created'")
    needs = {"outcomes"} | ({"created"} if denominator == "created" else set())
    sources = _OUTCOME_KEYS + (_COHORT_KEYS if denominator == "created" else [])
    agg, df = _run(
        deals, needs, sources, **_common(by, freq, start, end, fiscal_year_start, compare, where, engine, columns)
    )
    _outcome_measures(df)
    variant = {}
    if weight == "value":
        df["win_rate"] = ratio(df["won_cents"], df["won_cents"] + df["lost_cents"])
        df["win_rate_low"] = np.nan
        df["win_rate_high"] = np.nan
        variant = {"variant": "weight='value'"}
        used = exclusions(agg, "outcome", value=True)
    else:
        used = exclusions(agg, "outcome")
    if denominator == "created":
        if weight == "value":
            df["win_rate"] = ratio(df["won_cents"], df["created_cents"])
        else:
            df["win_rate"] = ratio(df["won_count"], df["created_count"])
        df["win_rate_low"] = np.nan
        df["win_rate_high"] = np.nan
        df["n"] = df["created_count"]
        variant = {"variant": f"denominator='created'{', weight=' + repr(weight) if weight == 'value' else ''}"}
    cols = ["win_rate", "win_rate_low", "win_rate_high", "won_count", "lost_count", "n"]
    if weight == "value":
        cols += ["won_amount", "lost_amount"]
    return _finish(df, agg, cols, "win_rate", used, compare=compare, extra_attrs=variant)


@_documented
def seasonality(
    deals,
    *,
    by: By = None,
    start: DateLike = None,
    end: DateLike = None,
    fiscal_year_start: int = 1,
    where: Where = None,
    columns: Mapping[str, str] | None = None,
    engine: Engine = "auto",
) -> pd.DataFrame:
    """Close rate by month of year over all years (KPI 5, seasonality).

    Parameters
    ----------
    {common}

    Returns
    -------
    pandas.DataFrame
        One row per group x month (1-12): ``month_name``, ``won_count``, ``lost_count``, ``n``,
        ``win_rate`` with its Wilson interval, ``expected_rate`` (the rate of all groups in that
        month: the seasonal norm), ``group_rate`` (the group's own rate over all months) and
        ``difference`` (win_rate - expected_rate).

    Examples
    --------
    >>> from channelkpi.datasets import toy_deals
    >>> months = seasonality(toy_deals())
    >>> months[months["n"] > 0][["month_name", "won_count", "lost_count", "win_rate"]]
      month_name  won_count  lost_count  win_rate
    1        Feb          1           0       1.0
    2        Mar          1           1       0.5
    3        Apr          0           1       0.0
    4        May          1           0       1.0
    """
    agg, df = _run(
        deals,
        {"outcomes"},
        _OUTCOME_KEYS,
        **_common(by, "M", start, end, fiscal_year_start, None, where, engine, columns),
    )
    lv = list(agg.query.by)
    df["month"] = (df["key"] % 12 + 1).astype("int64")
    g = df.groupby([*lv, "month"], dropna=False, sort=True)[["won_count", "lost_count"]].sum().reset_index()
    if not len(g):
        g = pd.DataFrame(
            {
                **{c: pd.Series(dtype=object) for c in lv},
                "month": pd.Series(dtype="int64"),
                "won_count": pd.Series(dtype="int64"),
                "lost_count": pd.Series(dtype="int64"),
            }
        )
    if lv:  # every group gets all twelve months
        months = pd.DataFrame({"month": np.arange(1, 13)})
        full = agg.groups.reset_index(drop=True).merge(months, how="cross")
        for c in lv:
            full[c] = full[c].astype(object)
            g[c] = g[c].astype(object)
        g = full.merge(g, on=[*lv, "month"], how="left").fillna({"won_count": 0, "lost_count": 0})
    else:
        g = pd.DataFrame({"month": np.arange(1, 13)}).merge(g, on="month", how="left").fillna(0)
    g["won_count"] = g["won_count"].astype("int64")
    g["lost_count"] = g["lost_count"].astype("int64")
    g["n"] = g["won_count"] + g["lost_count"]
    g["win_rate"] = ratio(g["won_count"], g["n"])
    g["win_rate_low"], g["win_rate_high"] = wilson_interval(g["won_count"], g["n"])
    overall = g.groupby("month")[["won_count", "n"]].transform("sum")
    g["expected_rate"] = ratio(overall["won_count"], overall["n"])
    if lv:
        own = g.groupby(lv, dropna=False)[["won_count", "n"]].transform("sum")
        g["group_rate"] = ratio(own["won_count"], own["n"])
    else:
        g["group_rate"] = ratio(g["won_count"].sum(), g["n"].sum()).iloc[0] if g["n"].sum() else np.nan
    g["difference"] = g["win_rate"] - g["expected_rate"]
    g = g.astype({c: "str" for c in lv})
    g.insert(len(lv) + 1, "month_name", pd.to_datetime(g["month"].astype(str), format="%m").dt.strftime("%b"))
    used, excluded = exclusions(agg, "outcome")
    g.attrs["channelkpi"] = {
        "kpi": "seasonality",
        "definition": DEFINITIONS["seasonality"].formula,
        "rows": agg.rows,
        "used": used,
        "excluded": excluded,
        "engine": agg.engine,
    }
    return g.reset_index(drop=True)


@_documented
def deal_velocity(
    deals,
    *,
    by: By = None,
    freq: Freq = None,
    start: DateLike = None,
    end: DateLike = None,
    fiscal_year_start: int = 1,
    compare: Compare | None = None,
    where: Where = None,
    columns: Mapping[str, str] | None = None,
    engine: Engine = "auto",
) -> pd.DataFrame:
    """Deal velocity (KPI 6): cycle length of won deals closed in P and sales velocity.

    ``sales_velocity`` (money per day) = ``open_start_count x win_rate x avg_deal_size /
    cycle_days_mean``, each input beside it. With periods, its change from the previous period
    (or ``compare="year"``) is split exactly into the four levers (a log-mean split; missing
    where an input is zero).

    Parameters
    ----------
    {common}

    Returns
    -------
    pandas.DataFrame
        One row per group x period: ``cycle_days_median``, ``cycle_days_mean`` (``closed -
        created`` in days of won deals), ``sales_velocity``, ``open_start_count``, ``win_rate``,
        ``avg_deal_size``, ``won_count``, ``lost_cycle_days_median`` and
        ``lost_cycle_days_mean``; with periods also ``velocity_change`` and its levers
        ``velocity_change_open``, ``..._win_rate``, ``..._deal_size``, ``..._cycle``.

    Examples
    --------
    >>> from channelkpi.datasets import toy_deals
    >>> deal_velocity(toy_deals())[["cycle_days_median", "cycle_days_mean", "won_count"]].round(2)
       cycle_days_median  cycle_days_mean  won_count
    0               38.0            40.67          3
    """
    agg, df = _run(
        deals,
        {"outcomes", "flows", "lost_cycle"},
        _OUTCOME_KEYS,
        **_common(by, freq, start, end, fiscal_year_start, compare, where, engine, columns),
    )
    _outcome_measures(df)
    _velocity(df)
    cols = [
        "cycle_days_median",
        "cycle_days_mean",
        "sales_velocity",
        "open_start_count",
        "win_rate",
        "avg_deal_size",
        "won_count",
        "lost_cycle_days_median",
        "lost_cycle_days_mean",
    ]
    if agg.query.freq is not None:
        df = _levers(df, agg, lag(agg.query.freq, compare or "previous"))
        cols += [
            "velocity_change",
            "velocity_change_open",
            "velocity_change_win_rate",
            "velocity_change_deal_size",
            "velocity_change_cycle",
        ]
    return _finish(df, agg, cols, "deal_velocity", exclusions(agg, "outcome", cycle=True), compare=compare)


@_documented
def cycle_distribution(
    deals,
    *,
    by: By = None,
    start: DateLike = None,
    end: DateLike = None,
    fiscal_year_start: int = 1,
    where: Where = None,
    columns: Mapping[str, str] | None = None,
    engine: Engine = "auto",
) -> pd.DataFrame:
    """Deal velocity's distribution: closed deals by cycle length in whole weeks, won vs lost.

    Deals closed in the range; deals without a created date or closed before created are
    excluded.

    Parameters
    ----------
    {common}

    Returns
    -------
    pandas.DataFrame
        One row per group x status (``won``/``lost``) x ``weeks`` (0-52; 52 holds a year and
        more) with ``count`` and ``share`` (of that group's and status's deals).

    Examples
    --------
    >>> from channelkpi.datasets import toy_deals
    >>> weeks = cycle_distribution(toy_deals())
    >>> weeks[weeks["count"] > 0]
       status  weeks  count     share
    5     won      5      2  0.666667
    6     won      6      1  0.333333
    59   lost      6      1  0.500000
    60   lost      7      1  0.500000
    """
    q = make_query(by=by, freq=None, start=start, end=end, fiscal_year_start=fiscal_year_start, where=where)
    agg = with_dimension_groups(
        aggregate(deals, q, {"cycle_hist"}, engine=engine, columns=columns), dimensions_of(deals)
    )
    lv = list(q.by)
    hist = agg.tables["cycle_hist"].rename(columns={"n": "count"})
    grid = pd.DataFrame({"status": ["won", "lost"]}).merge(
        pd.DataFrame({"weeks": np.arange(CYCLE_WEEKS_CAP + 1)}), how="cross"
    )
    if lv:
        grid = agg.groups.reset_index(drop=True).astype(object).merge(grid, how="cross")
        hist = hist.astype({c: object for c in lv})
    out = grid.merge(hist, on=[*lv, "status", "weeks"], how="left").fillna({"count": 0})
    out["count"] = out["count"].astype("int64")
    total = out.groupby([*lv, "status"], sort=False)["count"].transform("sum")
    out["share"] = ratio(out["count"], total)
    out = out.astype({c: "str" for c in lv})
    out.attrs["channelkpi"] = {
        "kpi": "deal_velocity",
        "definition": DEFINITIONS["deal_velocity"].formula,
        "rows": agg.rows,
        "used": int(out["count"].sum()),
        "excluded": exclusions(agg, "outcome", cycle=True)[1],
        "engine": agg.engine,
        "variant": "cycle length distribution",
    }
    return out


_LEVERS = [
    ("open_start_count", "open", 1),
    ("win_rate", "win_rate", 1),
    ("avg_deal_size", "deal_size", 1),
    ("cycle_days_mean", "cycle", -1),
]


def _levers(df: pd.DataFrame, agg: Aggregates, shift: int) -> pd.DataFrame:
    lv = list(agg.query.by)
    cols = ["sales_velocity"] + [c for c, _, _ in _LEVERS]
    prev = df[[*lv, "key", *cols]].copy()
    prev["key"] = prev["key"] + shift
    prev = prev.rename(columns={c: f"_{c}_old" for c in cols})
    df = df.merge(prev, on=[*lv, "key"], how="left")
    df["velocity_change"] = df["sales_velocity"] - df["_sales_velocity_old"]
    parts = log_mean_split(
        df["sales_velocity"],
        df["_sales_velocity_old"],
        [df[c] for c, _, _ in _LEVERS],
        [df[f"_{c}_old"] for c, _, _ in _LEVERS],
        [s for _, _, s in _LEVERS],
    )
    for (_, name, _), part in zip(_LEVERS, parts):
        df[f"velocity_change_{name}"] = part
    return df.drop(columns=[f"_{c}_old" for c in cols])


def _quality_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    """Checked weights, normalised to sum to 1."""
    w = dict(DEFAULT_QUALITY_WEIGHTS if weights is None else weights)
    unknown = set(w) - set(DEFAULT_QUALITY_WEIGHTS)
    if unknown or not w or any((not np.isfinite(v)) or v < 0 for v in w.values()) or sum(w.values()) <= 0:
        raise ChannelKPIError(
            f"weights={w} are not valid", fix=f"give non-negative weights for some of {list(DEFAULT_QUALITY_WEIGHTS)}"
        )
    total = sum(w.values())
    return {k: v / total for k, v in w.items()}


def _unranked(df: pd.DataFrame, agg: Aggregates) -> np.ndarray:
    """Rows of the groups a partner or owner table added without any deal: not peers."""
    out = np.zeros(len(df), dtype=bool)
    added = agg.without_deals
    if added is None or not len(added):
        return out
    levels = list(added.columns)
    rows = df[levels].astype(object).where(df[levels].notna(), "(none)").to_numpy().tolist()
    names = set(map(tuple, added.to_numpy().tolist()))
    return np.fromiter((tuple(r) in names for r in rows), dtype=bool, count=len(df))


def _quality(
    df: pd.DataFrame, weights: dict[str, float], unranked: np.ndarray | None = None
) -> tuple[dict[str, float], dict[int, str]]:
    """Add win_rate_shrunk, pct_<component>, quality_score and rank (peers = the same period's
    groups, except ``unranked`` rows: groups a partner table lists that have no deal yet, which
    get no score and no rank rather than pushing every peer's percentiles up)."""
    if unranked is not None and unranked.any():
        peers = df[~unranked].copy()
        weights, priors = _quality(peers, weights)
        added = [c for c in peers.columns if c not in df.columns]
        for col in ["win_rate_shrunk", "quality_score", *added]:
            df[col] = peers[col].reindex(df.index)
        df["rank"] = peers["rank"].reindex(df.index).astype("Int64")
        return weights, priors
    priors = {}
    won, n, keys = df["won_count"].to_numpy(float), df["n"].to_numpy(float), df["key"].to_numpy()
    shrunk = np.full(len(df), np.nan)
    order = np.argsort(keys, kind="stable")
    periods, starts = np.unique(keys[order], return_index=True)
    for key, rows in zip(periods, np.split(order, starts[1:])):
        prior = beta_prior(won[rows], n[rows])
        priors[int(key)] = str(prior)
        shrunk[rows] = shrink(won[rows], n[rows], prior)
    df["win_rate_shrunk"] = shrunk
    score = pd.Series(0.0, index=df.index)
    for comp, weight in weights.items():
        df[f"pct_{comp}"] = mid_percentile(df[comp], df["key"])
        score += weight * df[f"pct_{comp}"]
    df["quality_score"] = 100 * score
    df["rank"] = df.groupby("key")["quality_score"].rank(method="min", ascending=False).astype("int64")
    return weights, priors


@_documented
def quality_score(
    deals,
    *,
    by: By = "partner",
    freq: Freq = None,
    start: DateLike = None,
    end: DateLike = None,
    fiscal_year_start: int = 1,
    weights: Mapping[str, float] | None = None,
    compare: Compare | None = None,
    where: Where = None,
    columns: Mapping[str, str] | None = None,
    engine: Engine = "auto",
) -> pd.DataFrame:
    """Quality score (KPI 7): a 0-100 composite per group and period, ranked among peers.

    The weighted mean of percentile ranks among the period's peers of won amount (0.4), won
    count (0.2), win rate shrunk toward the overall rate with an empirical-Bayes beta prior
    (0.25) and average deal size (0.15).

    Parameters
    ----------
    {common}
    weights : dict of str -> float, optional
        Other weights for some of ``won_amount``, ``won_count``, ``win_rate_shrunk``,
        ``avg_deal_size`` (normalised to sum to 1 and recorded in ``attrs``).

    Returns
    -------
    pandas.DataFrame
        One row per group x period: ``quality_score``, ``rank`` (1 is the best), ``won_count``,
        ``won_amount``, ``win_rate_shrunk``, ``avg_deal_size``, ``win_rate``, ``n`` and the
        ``pct_*`` percentile rank of each component.

    Examples
    --------
    >>> from channelkpi.datasets import toy_deals
    >>> quality_score(toy_deals())[["partner", "quality_score", "rank"]]
      partner  quality_score  rank
    0    Acme           67.5     1
    1   Birch           32.5     2
    """
    w = _quality_weights(weights)
    agg, df = _run(
        deals,
        {"outcomes"},
        _OUTCOME_KEYS,
        **_common(by, freq, start, end, fiscal_year_start, compare, where, engine, columns),
    )
    _outcome_measures(df)
    w, priors = _quality(df, w, _unranked(df, agg))
    cols = [
        "quality_score",
        "rank",
        "won_count",
        "won_amount",
        "win_rate_shrunk",
        "avg_deal_size",
        "win_rate",
        "n",
        *[f"pct_{c}" for c in w],
    ]
    prior_text = next(iter(priors.values())) if len(priors) == 1 else priors
    return _finish(
        df,
        agg,
        cols,
        "quality_score",
        exclusions(agg, "outcome"),
        compare=compare,
        extra_attrs={"weights": w, "prior": prior_text},
    )


@_documented
def deal_success(
    deals,
    *,
    by: By = None,
    freq: Freq = None,
    start: DateLike = None,
    end: DateLike = None,
    fiscal_year_start: int = 1,
    compare: Compare | None = None,
    where: Where = None,
    columns: Mapping[str, str] | None = None,
    engine: Engine = "auto",
) -> pd.DataFrame:
    """Deal success (KPI 8): of the deals created in P, the share won so far.

    Parameters
    ----------
    {common}

    Returns
    -------
    pandas.DataFrame
        One row per group x period: ``success_rate`` (won / created), ``pending_share`` (still
        open / created: a young cohort is pending, not bad), ``created_count``, ``won_count``,
        ``lost_share``, ``lost_count``, ``open_count`` and ``success_rate_value`` (won amount /
        created amount).

    Examples
    --------
    >>> from channelkpi.datasets import toy_deals
    >>> deal_success(toy_deals(), freq="Q")[["period", "created_count", "won_count", "success_rate", "pending_share"]]
        period  created_count  won_count  success_rate  pending_share
    0  2024-Q1              4          2           0.5            0.0
    1  2024-Q2              2          1           0.5            0.5
    """
    agg, df = _run(
        deals,
        {"created"},
        _COHORT_KEYS,
        **_common(by, freq, start, end, fiscal_year_start, compare, where, engine, columns),
    )
    df["won_count"] = df["cohort_won_count"]
    df["lost_count"] = df["cohort_lost_count"]
    df["open_count"] = df["cohort_open_count"]
    df["success_rate"] = ratio(df["won_count"], df["created_count"])
    df["pending_share"] = ratio(df["open_count"], df["created_count"])
    df["lost_share"] = ratio(df["lost_count"], df["created_count"])
    df["success_rate_value"] = ratio(df["cohort_won_cents"], df["created_cents"])
    cols = [
        "success_rate",
        "pending_share",
        "created_count",
        "won_count",
        "lost_share",
        "lost_count",
        "open_count",
        "success_rate_value",
    ]
    return _finish(df, agg, cols, "deal_success", exclusions(agg, "cohort"), compare=compare)


@_documented
def kpi_table(
    deals,
    *,
    by: By = None,
    freq: Freq = None,
    start: DateLike = None,
    end: DateLike = None,
    fiscal_year_start: int = 1,
    weights: Mapping[str, float] | None = None,
    compare: Compare | None = None,
    where: Where = None,
    columns: Mapping[str, str] | None = None,
    engine: Engine = "auto",
) -> pd.DataFrame:
    """All eight KPIs for a selection in one call (one row per group x period).

    Parameters
    ----------
    {common}
    weights : dict of str -> float, optional
        The quality score's weights (see :func:`quality_score`).

    Returns
    -------
    pandas.DataFrame
        Counts (``won_count``, ``lost_count``, ``created_count``, ``closed_count``,
        ``open_count``), deal size (``won_amount``, ``avg_deal_size``, ``median_deal_size``),
        pipeline (``open_amount``, ``weighted_amount``, ``change_count``, ``change_amount``),
        marketing channels (``won_amount_<channel>`` for each segment), close rate
        (``win_rate``, ``win_rate_low``, ``win_rate_high``, ``n``), velocity
        (``cycle_days_median``, ``cycle_days_mean``, ``open_start_count``, ``sales_velocity``),
        quality (``quality_score``, ``rank``, ``win_rate_shrunk``) and deal success
        (``success_rate``, ``pending_share``).

    Examples
    --------
    >>> from channelkpi.datasets import toy_deals
    >>> kpi_table(toy_deals(), by="partner")[["partner", "won_count", "won_amount", "win_rate", "rank"]].round(3)
      partner  won_count  won_amount  win_rate  rank
    0    Acme          2       600.0     0.667     1
    1   Birch          1       350.0     0.500     2
    """
    agg, df = _run(
        deals,
        {"outcomes", "created", "flows"},
        _OUTCOME_KEYS + _COHORT_KEYS,
        **_common(by, freq, start, end, fiscal_year_start, compare, where, engine, columns),
    )
    cols = Columns(df)  # the measures join the table once
    _outcome_measures(cols)
    _stock_measures(cols, agg)
    _velocity(cols)
    cols["won_count"] = cols["won_count"].astype("int64")
    channel_cols = []
    if "channel" not in agg.query.by:
        for ch in CHANNELS:
            cols[f"won_amount_{ch}"] = amounts_from_cents(cols[f"won_cents_{ch}"])
            channel_cols.append(f"won_amount_{ch}")
    cols["success_rate"] = ratio(cols["cohort_won_count"], cols["created_count"])
    cols["pending_share"] = ratio(cols["cohort_open_count"], cols["created_count"])
    df = cols.frame()
    _quality(df, _quality_weights(weights), _unranked(df, agg))
    cols = [
        "won_count",
        "lost_count",
        "created_count",
        "closed_count",
        "open_count",
        "won_amount",
        "avg_deal_size",
        "median_deal_size",
        "open_amount",
        "weighted_amount",
        "change_count",
        "change_amount",
        *channel_cols,
        "win_rate",
        "win_rate_low",
        "win_rate_high",
        "n",
        "cycle_days_median",
        "cycle_days_mean",
        "open_start_count",
        "sales_velocity",
        "quality_score",
        "rank",
        "win_rate_shrunk",
        "success_rate",
        "pending_share",
    ]
    return _finish(df, agg, cols, "kpi_table", exclusions(agg, "outcome"), compare=compare)
