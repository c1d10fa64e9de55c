"""Stage 1: the only code that touches deal rows.

It filters and groups the deals down to small aggregates (levels x period key x status, with
counts, integer-cent sums and exact medians) written once with narwhals, so the same code runs
natively on pandas, polars, DuckDB and PySpark. A pandas table is handed to DuckDB when DuckDB is
installed (it scans the pandas frame in place); otherwise pandas runs it. Both give identical
numbers. Everything after this stage (:mod:`channelkpi.metrics.finish`) works on the aggregates.
"""

from __future__ import annotations

import datetime
import functools
import threading
from dataclasses import dataclass, field

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd

from ..errors import ChannelKPIError, SchemaError
from ..schema import CHANNELS, COLUMNS, LEVELS
from .periods import check_fiscal_year_start, check_freq, date_key, days_from_civil, lag, period_frame

__all__ = ["Query", "Aggregates", "aggregate", "date_range", "make_query", "ENGINES"]

ENGINES = ("auto", "duckdb", "pandas")
_NULL_KEY = -(2**40)  # key of a missing date (never a real period)
_SENTINEL = datetime.datetime(1970, 1, 1)
CYCLE_WEEKS_CAP = 52  #: cycle histogram: the last weekly bin holds 52 weeks and more


@dataclass(frozen=True)
class Query:
    """What to aggregate: levels, period grain, date range, filters."""

    by: tuple[str, ...]
    freq: str | None
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    fiscal_year_start: int
    where: tuple[tuple[str, tuple], ...] = ()
    lookback: int = 0  # extra periods before ``start`` (for comparisons)

    @property
    def periods_apply(self) -> bool:
        return self.freq is not None or self.start is not None or self.end is not None

    def key(self, ts) -> int:
        return date_key(ts, self.freq, self.fiscal_year_start)

    @functools.cached_property
    def scan_start(self) -> pd.Timestamp | None:
        """Start of the rows to scan, including the lookback periods."""
        if self.start is None or not self.lookback:
            return self.start
        first = period_frame([self.key(self.start) - self.lookback], self.freq, self.fiscal_year_start)
        return pd.Timestamp(first["period_start"].iloc[0])


def _as_levels(by) -> tuple[str, ...]:
    if by is None:
        return ()
    levels = (by,) if isinstance(by, str) else tuple(by)
    bad = [b for b in levels if b not in LEVELS]
    if bad:
        raise ChannelKPIError(
            f"by={bad[0]!r} is not a level channelkpi can group by",
            fix=f"use one or several of {list(LEVELS)}",
        )
    if len(set(levels)) != len(levels):
        raise ChannelKPIError(f"by={list(levels)} names a level twice", fix="name each level once")
    return levels


def _as_date(value, name: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ChannelKPIError(f"{name}={value!r} is not a date", fix=f"pass {name} as 'YYYY-MM-DD'") from None
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def date_range(start=None, end=None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Read a KPI date range (inclusive days); ``end="2025-12"`` or ``"2025"`` is the end of
    that month or year.

    >>> [str(d.date()) for d in date_range("2025-01", "2025-12")]
    ['2025-01-01', '2025-12-31']
    """
    start_ts, end_ts = _as_date(start, "start"), _as_date(end, "end")
    if isinstance(end, str) and len(end.strip()) in (4, 7):  # the whole year or month
        end_ts = (end_ts + (pd.offsets.YearEnd(0) if len(end.strip()) == 4 else pd.offsets.MonthEnd(0))).normalize()
    if start_ts is not None and end_ts is not None and start_ts > end_ts:
        raise ChannelKPIError(f"start={start_ts.date()} is after end={end_ts.date()}", fix="swap start and end")
    return start_ts, end_ts


def make_query(*, by=None, freq=None, start=None, end=None, fiscal_year_start=1, where=None, compare=None) -> Query:
    """Check and normalise the common KPI options."""
    freq = check_freq(freq)
    fys = check_fiscal_year_start(fiscal_year_start)
    start_ts, end_ts = date_range(start, end)
    where_items: list[tuple[str, tuple]] = []
    for col, values in (where or {}).items():
        if col not in COLUMNS:
            raise ChannelKPIError(
                f"where= names {col!r}, which is not a deals column", fix=f"use one of {list(COLUMNS)}"
            )
        vals = (values,) if isinstance(values, str) or not hasattr(values, "__iter__") else tuple(values)
        where_items.append((col, tuple(str(v) for v in vals)))
    lookback = 0
    if compare is not None:
        if compare not in ("previous", "year"):
            raise ChannelKPIError(f"compare={compare!r}", fix="use compare='previous' or compare='year'")
        if freq is None:
            raise ChannelKPIError("compare= needs periods", fix="pass freq='M', 'Q', 'Y' or 'W' together with compare=")
        lookback = lag(freq, compare)
    return Query(_as_levels(by), freq, start_ts, end_ts, fys, tuple(where_items), lookback)


# --------------------------------------------------------------------------- expressions
def _floordiv(x: nw.Expr, k: int) -> nw.Expr:
    """``x // k`` for non-negative ``x``: as a float floor, because narwhals spells integer ``//``
    (Python's floor semantics for negatives) as a large CASE expression on SQL engines.
    Exact here: every operand is far below 2**53."""
    return (x / k).floor().cast(nw.Int64)


def _days(col: str) -> nw.Expr:
    """Days since 1970-01-01 (civil-date arithmetic: no engine has a portable date difference).

    0 for a missing date: test the date column itself for null.
    """
    # computed on a null-free copy: pandas cannot cast a missing year to int
    c = nw.col(col).fill_null(nw.lit(_SENTINEL))
    m = c.dt.month().cast(nw.Int64)
    march = nw.when(m <= 2)
    y = c.dt.year().cast(nw.Int64) - march.then(nw.lit(1, dtype=nw.Int64)).otherwise(nw.lit(0, dtype=nw.Int64))
    mp = march.then(m + 9).otherwise(m - 3)  # months since March
    doy = _floordiv(153 * mp + 2, 5) + c.dt.day().cast(nw.Int64) - 1
    # years since 0000-03-01 are positive for every date pandas can hold, so no era split
    return y * 365 + _floordiv(y, 4) - _floordiv(y, 100) + _floordiv(y, 400) + doy - 719468


def _key(col: str, q: Query) -> nw.Expr:
    if q.freq is None:  # one period: every deal is in it, with or without the date
        return nw.lit(0, dtype=nw.Int64)
    c = nw.col(col).fill_null(nw.lit(_SENTINEL))
    if q.freq == "W":
        expr = _floordiv(_days(col) + 3, 7)
    else:
        ym = c.dt.year().cast(nw.Int64) * 12 + c.dt.month().cast(nw.Int64) - 1
        shift = q.fiscal_year_start - 1
        expr = {"M": ym, "Q": _floordiv(ym - shift, 3), "Y": _floordiv(ym - shift, 12)}[q.freq]
    return nw.when(nw.col(col).is_null()).then(nw.lit(_NULL_KEY, dtype=nw.Int64)).otherwise(expr).cast(nw.Int64)


def _duckdb_days(col: str) -> str:
    return f"date_diff('day', DATE '1970-01-01', CAST(\"{col}\" AS DATE))"


def _duckdb_key(col: str, q: Query) -> str:
    ym = f'(year("{col}") * 12 + month("{col}") - 1)'
    shift = q.fiscal_year_start - 1
    expr = {
        None: "0",
        "W": f"(({_duckdb_days(col)} + 3) // 7)",
        "M": ym,
        "Q": f"(({ym} - {shift}) // 3)",
        "Y": f"(({ym} - {shift}) // 12)",
    }[q.freq]
    if q.freq is None:  # one period: every deal is in it, with or without the date
        return "CAST(0 AS BIGINT)"
    return f'CASE WHEN "{col}" IS NULL THEN {_NULL_KEY} ELSE CAST({expr} AS BIGINT) END'


def _with_dates(frame, q: Query):
    """Add ``cr_days``, ``cl_days`` (days since 1970) and ``cr_key``, ``cl_key`` (period keys).

    The portable version is civil-date arithmetic in narwhals; on DuckDB and polars the same
    numbers come from their native date functions, which are several times faster than the
    arithmetic spelled out. The test suite checks that they give identical results.
    """
    if frame.implementation.is_duckdb():
        rel = frame.to_native()
        cols = ", ".join(f'"{c}"' for c in rel.columns)
        rel = rel.project(
            f"{cols}, "
            f"CASE WHEN created IS NULL THEN 0 ELSE {_duckdb_days('created')} END AS cr_days, "
            f"CASE WHEN closed IS NULL THEN 0 ELSE {_duckdb_days('closed')} END AS cl_days, "
            f"{_duckdb_key('created', q)} AS cr_key, {_duckdb_key('closed', q)} AS cl_key"
        )
        return nw.from_native(rel)
    if frame.implementation.is_polars():
        return nw.from_native(frame.to_native().with_columns(**_polars_dates(q)))
    return frame.with_columns(
        cr_days=_days("created"), cl_days=_days("closed"), cr_key=_key("created", q), cl_key=_key("closed", q)
    )


def _polars_dates(q: Query) -> dict:
    """``_with_dates`` in polars' own date functions (the civil arithmetic costs it several times more)."""
    import polars as pl

    def days(col: str):
        return pl.col(col).cast(pl.Date).cast(pl.Int64).fill_null(0)

    def key(col: str):
        if q.freq is None:
            return pl.lit(0, dtype=pl.Int64)
        if q.freq == "W":
            expr = (days(col) + 3) // 7
        else:
            ym = pl.col(col).dt.year().cast(pl.Int64) * 12 + pl.col(col).dt.month().cast(pl.Int64) - 1
            shift = q.fiscal_year_start - 1
            expr = {"M": ym, "Q": (ym - shift) // 3, "Y": (ym - shift) // 12}[q.freq]
        return pl.when(pl.col(col).is_null()).then(pl.lit(_NULL_KEY, dtype=pl.Int64)).otherwise(expr)

    return {"cr_days": days("created"), "cl_days": days("closed"), "cr_key": key("created"), "cl_key": key("closed")}


_DATE_OF = {"cl_days": "closed", "cr_days": "created", "ex_days": "expected_close"}


def _in_range(days_col: str, q: Query) -> nw.Expr:
    cond = ~nw.col(_DATE_OF[days_col]).is_null()
    s = q.scan_start
    if s is not None:
        cond = cond & (nw.col(days_col) >= days_from_civil(s.year, s.month, s.day))
    if q.end is not None:
        e = q.end
        cond = cond & (nw.col(days_col) <= days_from_civil(e.year, e.month, e.day))
    return cond


# --------------------------------------------------------------------------- aggregates
@dataclass
class Aggregates:
    """The compact result of stage 1 (all pandas, small)."""

    query: Query
    groups: pd.DataFrame  #: every level combination in the (filtered) deals
    rows: int  #: deals in the input
    filtered_out: int  #: deals removed by ``where=``
    status: pd.DataFrame  #: flags x status -> n (for exclusion counts), plus min/max days
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    engine: str = "pandas"
    timeline: object = None  #: lazy deals that can be placed on a timeline (for snapshots)
    connection: object = None  #: the DuckDB connection the lazy frames live on
    frame: object = None  #: the lazy (filtered) deals, for the rare question stage 2 asks of them


def _collect(lf, order: list[str]) -> pd.DataFrame:
    """Collect an aggregate to pandas with stable dtypes on every engine.

    Counts come back UInt32 from polars and Int128/float from DuckDB: a negative difference
    of UInt32 counts wraps around, so every count and key becomes int64 here.
    """
    if lf.implementation.is_pyspark():
        # through Arrow: PySpark's own toPandas uses pandas options that pandas 3 deprecates
        out = lf.collect(backend="pyarrow").to_native().to_pandas()
    else:
        out = lf.collect(backend="pandas").to_native()
    for col in out.columns:
        if col in LEVELS or col == "status":
            continue
        if col in ("n", "weeks", "cl_in", "cr_in", "cbc", "has_amount", "cl_null", "cr_null") or col.endswith(
            ("_key", "_n")
        ):
            out[col] = out[col].fillna(0).astype("int64")
        elif "cents" in col or col.endswith("_sum"):
            out[col] = out[col].astype(float).fillna(0.0)
        else:
            out[col] = out[col].astype(float)
    if "status" in out.columns:
        out["status"] = out["status"].astype(str)
    for level in LEVELS:
        if level in out.columns:
            out[level] = out[level].astype(object).where(out[level].notna(), None)
    return out.sort_values(order, kind="stable").reset_index(drop=True) if order else out


_LOCAL = threading.local()


def _connection(duckdb):
    """This thread's DuckDB connection: opening one costs more than a small query (~13 ms)."""
    con = getattr(_LOCAL, "con", None)
    if con is None:
        con = _LOCAL.con = duckdb.connect()
    return con


def _native_frame(deals):
    """A narwhals LazyFrame over the deals on the best engine available (and the DuckDB
    connection channelkpi opened for it, which must live as long as the frame)."""
    if isinstance(deals, pd.DataFrame):
        try:
            import duckdb
        except ImportError:
            return nw.from_native(deals).lazy(), "pandas", None
        con = _connection(duckdb)
        # DuckDB scans the pandas frame in place (the categorical status becomes an ENUM)
        return nw.from_native(con.from_df(deals)), "duckdb", con
    frame = nw.from_native(deals)
    if isinstance(frame, nw.DataFrame):
        frame = frame.lazy()
    return frame, frame.implementation.name.lower(), None


def aggregate(deals, q: Query, needs: set[str], *, engine: str = "auto", columns=None) -> Aggregates:
    """Run stage 1: passes over the rows by creation and by close, plus what ``needs`` adds.

    ``needs`` may hold ``"outcomes"`` (closed deals by close period, with the won deals in range
    for the medians and channel sums), ``"lost_cycle"`` (the cycle median of lost deals too),
    ``"flows"`` (the as-of pipeline), ``"cycle_hist"`` (cycle lengths in weeks),
    ``"coverage"`` (open deals by expected close, for targets) and ``"open_expected"`` (open
    deals by expected close in range). The pass by creation always runs: it carries the
    cohorts, the pipeline's inflows, the group list and the exclusion counts.
    """
    if engine not in ENGINES:
        raise ChannelKPIError(f"engine={engine!r}", fix=f"use one of {list(ENGINES)}")
    from .prepared import PreparedDeals

    if isinstance(deals, PreparedDeals):
        if columns:
            raise ChannelKPIError(
                "columns= does not apply to prepared deals (they have the canonical names)",
                fix="pass columns= to channelkpi.prepare instead",
            )
        if engine == "auto" and deals.can_run(q):
            raw = deals.passes(q, needs)
            selection = raw.pop("selection")
            return _assemble(
                raw,
                q,
                "numpy",
                raw.pop("rows_total"),
                timeline=selection if "flows" in needs else None,
                frame=selection,
            )
        deals = deals.deals  # what the coded engine does not cover runs on the table itself
    # tables in memory (pandas, polars) are scanned in parallel query by query; sources DuckDB
    # or Spark read (Parquet, a warehouse) gain from one query whose branches run side by side
    from_memory = isinstance(deals, pd.DataFrame)
    if isinstance(deals, pd.DataFrame):
        deals = _canonical_pandas(deals, columns)
        if engine == "pandas":
            lf, used, con = nw.from_native(deals).lazy(), "pandas", None
        else:
            lf, used, con = _native_frame(deals)
    else:
        lf, used, con = _native_frame(deals)
        lf = _canonical_lazy(lf, columns)
    levels = list(q.by)
    one, zero = nw.lit(1), nw.lit(0)

    def flag(cond):  # 0/1 integers: they sum on every engine, booleans do not
        return nw.when(cond).then(one).otherwise(zero)

    frame = lf
    for col, values in q.where:
        frame = frame.filter(nw.col(col).cast(nw.String).is_in(list(values)))
    # every aggregate below is a lazy query; they are collected together at the end
    parts: dict[str, tuple[object, list[str]]] = {}
    if q.where:  # the rows before the filter
        parts["rows"] = (lf.select(nw.len().alias("n")), [])
    columns = [
        *levels,
        *(["channel"] if "channel" not in levels else []),
        "status",
        "amount",
        "probability",
        "created",
        "closed",
        "expected_close",
    ]
    base = _with_dates(frame.select(columns), q).with_columns(
        # money in integer cents, rounded half up the same way on every engine (round() is
        # half-to-even on some and half-away-from-zero on others)
        cents=nw.when(nw.col("amount").is_null()).then(nw.lit(0.0)).otherwise((nw.col("amount") * 100 + 0.5).floor()),
        has_amount=flag(~nw.col("amount").is_null()),
        wcents=nw.when(nw.col("amount").is_null() | nw.col("probability").is_null())
        .then(nw.lit(0.0))
        .otherwise((nw.col("amount") * nw.col("probability") * 100 + 0.5).floor()),
        cl_null=flag(nw.col("closed").is_null()),
        cr_null=flag(nw.col("created").is_null()),
        ex_null=flag(nw.col("expected_close").is_null()),
    )
    if levels:  # a missing owner/unit/... is a group of its own, shown as "(none)"
        base = base.with_columns(*[nw.col(level).fill_null("(none)") for level in levels])
    both = ~nw.col("closed").is_null() & ~nw.col("created").is_null()
    base = base.with_columns(
        cbc=flag(both & (nw.col("cl_days") < nw.col("cr_days"))),
        cycle_ok=nw.when(both & (nw.col("cl_days") >= nw.col("cr_days"))).then(nw.col("cl_days") - nw.col("cr_days")),
        # without periods or a date range every deal is in range
        cl_in=flag(_in_range("cl_days", q)) if q.periods_apply else one,
        cr_in=flag(_in_range("cr_days", q)) if q.periods_apply else one,
    ).with_columns(
        # deals that can be placed on a timeline (the as-of pipeline): a created date, a close
        # date once closed, and not closed before created
        tl=flag(
            (nw.col("cr_null") == 0) & (nw.col("cbc") == 0) & ((nw.col("status") == "open") | (nw.col("cl_null") == 0))
        ),
    )
    if base.implementation.is_polars():
        # polars evaluates a lazy plan anew for each query: compute the derived columns once
        # (still in polars, nothing leaves the engine) so the passes below share them
        base = nw.from_native(base.to_native().collect().lazy())
    flows = "flows" in needs
    tl = base.filter(nw.col("tl") == 1) if flows else None

    # pass 1, by creation: cohorts (rows in range), pipeline inflows, groups, exclusion counts
    still_open = (nw.col("tl") == 1) & ((nw.col("cl_null") == 1) | (nw.col("cl_key") > nw.col("cr_key")))
    parts["created"] = (
        base.with_columns(
            so_n=flag(still_open),
            so_cents=nw.when(still_open).then(nw.col("cents")).otherwise(nw.lit(0.0)),
            flags=_packed(CREATED_FLAGS),
        )
        .group_by(*levels, "cr_key", "status", "flags")
        .agg(
            nw.len().alias("n"),
            nw.col("cents").sum().alias("cents"),
            nw.col("wcents").sum().alias("wcents"),
            nw.col("so_n").sum().alias("so_n"),
            nw.col("so_cents").sum().alias("so_cents"),
        ),
        [],
    )

    # pass 2, by close: outcome KPIs (rows in range) and the pipeline's outflows (all on the timeline)
    if "outcomes" in needs or flows:
        by_channel = {}
        if "channel" not in levels:
            # conditional sums as precomputed columns: a when() inside an aggregation is not portable
            by_channel = {
                f"cents_{ch}": nw.when(nw.col("channel") == ch).then(nw.col("cents")).otherwise(nw.lit(0.0))
                for ch in CHANNELS
            }
        from_start = (nw.col("tl") == 1) & (nw.col("cr_key") < nw.col("cl_key"))
        # as in pass 1, 0/1 flags are group keys: counts and sums "of the rows with the flag"
        # follow from the groups
        parts["outcomes"] = (
            base.filter(nw.col("status").is_in(["won", "lost"]))
            .with_columns(
                cyc_n=flag(~nw.col("cycle_ok").is_null()),
                cyc=nw.col("cycle_ok").fill_null(0),
                fs_n=flag(from_start),
                fs_cents=nw.when(from_start).then(nw.col("cents")).otherwise(nw.lit(0.0)),
            )
            .with_columns(oflags=_packed(OUTCOME_FLAGS))
            .group_by(*levels, "cl_key", "status", "cl_in", "oflags")
            .agg(
                nw.len().alias("n"),
                nw.col("cents").sum().alias("cents"),
                nw.col("wcents").sum().alias("wcents"),
                nw.col("cyc").sum().alias("cycle_sum"),
                nw.col("fs_n").sum().alias("fs_n"),
                nw.col("fs_cents").sum().alias("fs_cents"),
            ),
            [],
        )
        parts.update(_closed_in_range(base, levels, by_channel, "lost_cycle" in needs))
    if "cycle_hist" in needs:
        # cycle lengths of closed deals in whole weeks, the last bin holding a year and more
        weeks = _floordiv(nw.col("cycle_ok"), 7).clip(upper_bound=CYCLE_WEEKS_CAP)
        parts["cycle_hist"] = (
            base.filter(
                nw.col("status").is_in(["won", "lost"]) & (nw.col("cl_in") == 1) & ~nw.col("cycle_ok").is_null()
            )
            .with_columns(weeks=weeks)
            .group_by(*levels, "status", "weeks")
            .agg(nw.len().alias("n")),
            [*levels, "status", "weeks"],
        )
    if "coverage" in needs and q.freq is not None:
        # open at the end of period ex_key - 1 and expected to close in ex_key
        ex_key = _key("expected_close", q)
        parts["next_expected"] = (
            tl.with_columns(ex_key=ex_key)
            .filter(
                ~nw.col("expected_close").is_null()
                & (nw.col("cr_key") < nw.col("ex_key"))
                & ((nw.col("cl_null") == 1) | (nw.col("cl_key") >= nw.col("ex_key")))
            )
            .group_by(*levels, "ex_key")
            .agg(nw.len().alias("n"), nw.col("cents").sum().alias("cents")),
            [],
        )
    if "open_expected" in needs:
        opened = base.filter((nw.col("status") == "open") & ~nw.col("expected_close").is_null()).with_columns(
            ex_days=_days("expected_close"), ex_key=_key("expected_close", q)
        )
        if q.periods_apply:
            opened = opened.filter(_in_range("ex_days", q))
        parts["open_expected"] = (
            opened.group_by(*levels, "ex_key").agg(
                nw.len().alias("n"),
                nw.col("has_amount").sum().alias("amount_n"),
                nw.col("cents").sum().alias("cents"),
                nw.col("amount").median().alias("median_amount"),
            ),
            [],
        )
    together = not from_memory and used in ("duckdb", "pyspark")
    raw = _collect_parts(parts) if together else {name: _collect(lf, order) for name, (lf, order) in parts.items()}
    rows_total = int(raw.pop("rows")["n"].iloc[0]) if "rows" in raw else None
    if "closed_in_lost" in raw:
        raw["closed_in"] = pd.concat([raw["closed_in"], raw.pop("closed_in_lost")], ignore_index=True)
    return _assemble(raw, q, used, rows_total, timeline=tl, connection=con, frame=base)


def _collect_parts(parts: dict[str, tuple[object, list[str]]]) -> dict[str, pd.DataFrame]:
    """Collect several lazy aggregates as one query (tagged and stacked, then split again).

    Used for sources DuckDB or Spark read: the engine runs the branches side by side. DuckDB
    over Parquet files spreads them over the cores (1 M deals in one file: 0.57 s as separate
    queries, 0.46 s as one); Spark runs one job instead of several.
    """
    names = list(parts)
    if len(names) == 1:
        lf, order = parts[names[0]]
        return {names[0]: _collect(lf, order)}
    columns = {name: list(lf.collect_schema().names()) for name, (lf, _) in parts.items()}
    tagged = [lf.with_columns(nw.lit(i, dtype=nw.Int64).alias("_part")) for i, (lf, _) in enumerate(parts.values())]
    stacked = _collect(nw.concat(tagged, how="diagonal"), [])
    part = stacked["_part"].to_numpy()
    out = {}
    for i, name in enumerate(names):
        table = stacked.loc[part == i, columns[name]].reset_index(drop=True)
        order = parts[name][1]
        out[name] = table.sort_values(order, kind="stable").reset_index(drop=True) if order else table
    return out


#: The 0/1 flags packed into one group key by the pass by creation (bit i = flag i) ...
CREATED_FLAGS = ("cr_in", "cl_in", "cl_null", "cr_null", "cbc", "has_amount", "ex_null")
#: ... and by the pass by close.
OUTCOME_FLAGS = ("tl", "has_amount", "cyc_n")


def _assemble(
    raw: dict, q: Query, used: str, rows_total: int | None, *, timeline=None, connection=None, frame=None
) -> Aggregates:
    """The engine-independent part of stage 1: unpack the flag keys, derive the sums that follow
    from them, list the groups, check the statuses and count the exclusions.

    Every engine hands over the same raw tables: ``created`` (levels x ``cr_key`` x status x
    packed flags) and, when asked, ``outcomes`` (levels x ``cl_key`` x status x ``cl_in`` x
    packed flags), ``closed_in``, ``cycle_hist``, ``next_expected`` and ``open_expected``.
    """
    levels = list(q.by)
    tables = dict(raw)
    created = tables["created"]
    flags = list(CREATED_FLAGS)
    _unpack(created, "flags", flags)
    created["amount_n"] = created["n"] * created["has_amount"]
    # on the timeline or not follows from the group (the same test as the tl column): the
    # timeline sums are the group's own, or zero, without an aggregate of their own
    on_timeline = (
        (created["cr_null"] == 0) & (created["cbc"] == 0) & ((created["status"] == "open") | (created["cl_null"] == 0))
    ).to_numpy(np.int64)
    created["tl_n"] = created["n"] * on_timeline
    created["tl_cents"] = created["cents"] * on_timeline
    created["tl_wcents"] = created.pop("wcents") * on_timeline
    groups = (
        created[levels].drop_duplicates().sort_values(levels, kind="stable").reset_index(drop=True)
        if levels
        else pd.DataFrame(index=[0])
    )
    unknown = sorted(set(map(str, created["status"].unique())) - {"open", "won", "lost"})
    if unknown:
        counts = created[created["status"].astype(str).isin(unknown)].groupby("status")["n"].sum()
        raise SchemaError(
            "status must be open, won or lost; the deals table also has "
            + ", ".join(f"{k!r} ({v} rows)" for k, v in counts.items()),
            column="status",
            fix="load exports with channelkpi.read_crm (stage_map= says what a stage means), or map the values "
            "where the data lives",
        )
    status = created.groupby(["status", *flags], as_index=False).agg(n=("n", "sum"))
    if "outcomes" in tables:
        outcomes = tables["outcomes"]
        _unpack(outcomes, "oflags", list(OUTCOME_FLAGS))
        on_timeline = outcomes.pop("tl")
        outcomes["amount_n"] = outcomes["n"] * outcomes.pop("has_amount")
        outcomes["cycle_n"] = outcomes["n"] * outcomes.pop("cyc_n")
        outcomes["tl_n"] = outcomes["n"] * on_timeline
        outcomes["tl_cents"] = outcomes["cents"] * on_timeline
        outcomes["tl_wcents"] = outcomes.pop("wcents") * on_timeline
    rows_kept = int(status["n"].sum())
    if rows_total is None:
        rows_total = rows_kept
    return Aggregates(q, groups, rows_total, rows_total - rows_kept, status, tables, used, timeline, connection, frame)


def _packed(flags) -> nw.Expr:
    """0/1 flag columns as one small integer: one group-by key instead of several."""
    return sum((nw.col(f) * (1 << i) for i, f in enumerate(flags)), nw.lit(0))


def _unpack(frame: pd.DataFrame, column: str, flags) -> None:
    """Replace the ``_packed`` column of a collected aggregate by its 0/1 flags."""
    packed = frame.pop(column).to_numpy(np.int64)
    for i, f in enumerate(flags):
        frame[f] = (packed >> i) & 1


def _closed_in_range(base, levels: list[str], by_channel: dict, lost_cycle: bool) -> dict:
    """What only won deals closed in range carry: the exact medians of deal size and cycle and
    the won amount per channel (and the cycle median of lost deals when asked), by levels x close
    period x status.

    They are an aggregate of their own over just those rows: a median keeps every value of its
    group, and computing these for rows no KPI reads (lost amounts, deals outside the range)
    cost as much as all the other sums together.
    """
    keys = [*levels, "cl_key", "status"]
    closed_in = base.filter(nw.col("cl_in") == 1)
    won = closed_in.filter(nw.col("status") == "won")
    if by_channel:  # (grouped by channel, the channel sums are the plain sums)
        won = won.with_columns(**by_channel)
    parts = {
        "closed_in": (
            won.group_by(*keys).agg(
                nw.col("cycle_ok").median().alias("cycle_median"),
                nw.col("amount").median().alias("median_amount"),
                *[nw.col(c).sum() for c in by_channel],
            ),
            [],
        )
    }
    if lost_cycle:
        parts["closed_in_lost"] = (
            closed_in.filter(nw.col("status") == "lost")
            .group_by(*keys)
            .agg(nw.col("cycle_ok").median().alias("cycle_median")),
            [],
        )
    return parts


def last_date(agg: Aggregates) -> pd.Timestamp | None:
    """The last created or close date of the (filtered) deals; None when there is none."""
    if agg.engine == "numpy":
        return agg.frame.last_date()
    # a missing date counts as day 0: the minimum of the null flags says whether any date is there
    out = _collect(
        agg.frame.select(
            nw.col("cr_days").max().alias("cr_max"),
            nw.col("cl_days").max().alias("cl_max"),
            nw.col("cr_null").min().alias("cr_null"),
            nw.col("cl_null").min().alias("cl_null"),
            nw.len().alias("n"),
        ),
        [],
    )
    row = out.iloc[0]
    if row["n"] == 0:  # no deals (a filter kept none): no dates
        return None
    days = [row[m] for m, null in (("cr_max", "cr_null"), ("cl_max", "cl_null")) if row[null] == 0]
    return pd.Timestamp("1970-01-01") + pd.Timedelta(days=int(max(days))) if days else None


def snapshot(agg: Aggregates, as_of: pd.Timestamp) -> pd.DataFrame:
    """Open deals as of the end of ``as_of`` per group: n, cents, wcents."""
    if agg.engine == "numpy":
        return agg.timeline.snapshot(as_of)
    tl = agg.timeline
    levels = list(agg.query.by)
    a = days_from_civil(as_of.year, as_of.month, as_of.day)
    opened = tl.filter((nw.col("cr_days") <= a) & (nw.col("closed").is_null() | (nw.col("cl_days") > a)))
    measures = [nw.len().alias("n"), nw.col("cents").sum().alias("cents"), nw.col("wcents").sum().alias("wcents")]
    if levels:
        return _collect(opened.group_by(*levels).agg(*measures), levels)
    return _collect(opened.select(*measures), [])


def _renamed(names: list[str], columns) -> dict[str, str]:
    """Check a ``columns={"their name": "canonical name"}`` mapping against the table's columns."""
    mapping = dict(columns or {})
    missing = [k for k in mapping if k not in names]
    if missing:
        raise SchemaError(
            f"columns= names {missing}, which the deals table does not have; its columns are {names}",
            fix="use the table's own column names as the keys of columns=",
        )
    bad = [v for v in mapping.values() if v not in COLUMNS]
    if bad:
        raise SchemaError(f"columns= maps to {bad}, which are not canonical columns", fix=f"map to {list(COLUMNS)}")
    return mapping


_OPTIONAL = [c for c in COLUMNS if c not in ("deal_id", "status")]
_DATE_COLUMNS = ("created", "closed", "expected_close")
_NUMBER_COLUMNS = ("amount", "probability")


def _missing_required(names: list[str]) -> None:
    missing = [c for c in ("deal_id", "status") if c not in names]
    if missing:
        raise SchemaError(
            f"the deals table is missing required column(s) {missing}; the columns there are {names}",
            fix="rename your columns to the canonical names with columns={'their name': 'deal_id', ...}, "
            "or load exports with channelkpi.read_crm",
        )


def _type_errors(bad_dates, bad_numbers, dtypes: dict[str, str]) -> None:
    if bad_dates or bad_numbers:
        found = {c: dtypes[c] for c in [*bad_dates, *bad_numbers]}
        raise SchemaError(
            f"column(s) {bad_dates + bad_numbers} have the wrong type ({found}): dates must be dates or "
            "timestamps, amount and probability numbers",
            fix="pass a pandas table through channelkpi.validate_deals, or cast the columns where the data lives",
        )


def _canonical_pandas(deals: pd.DataFrame, columns) -> pd.DataFrame:
    """The same checks as for any other engine; absent optional columns become empty."""
    names = [str(c) for c in deals.columns]
    mapping = _renamed(names, columns)
    if mapping:
        deals = deals.rename(columns=mapping)
        names = [str(c) for c in deals.columns]
    _missing_required(names)
    absent = [c for c in _OPTIONAL if c not in names]
    if absent:  # a partial table (e.g. without owner or expected_close): the absent columns are empty
        from ..schema import DIRECT_PARTNER, DTYPES

        empty = {c: pd.Series(np.nan, index=deals.index).astype(DTYPES[c]) for c in absent}
        if "partner" in empty:
            empty["partner"] = pd.Series(DIRECT_PARTNER, index=deals.index, dtype=DTYPES["partner"])
        if "channel" in empty:
            empty["channel"] = pd.Series("unknown", index=deals.index, dtype=DTYPES["channel"])
        deals = deals.assign(**empty)
    bad_dates = [c for c in _DATE_COLUMNS if not pd.api.types.is_datetime64_any_dtype(deals[c])]
    bad_numbers = [c for c in _NUMBER_COLUMNS if not pd.api.types.is_numeric_dtype(deals[c])]
    _type_errors(bad_dates, bad_numbers, {str(c): str(deals[c].dtype) for c in deals.columns})
    return deals


def _canonical_lazy(lf, columns):
    """Rename, fill absent optional columns and check types on the frame's own engine."""
    schema = lf.collect_schema()
    names = list(schema.names())
    mapping = _renamed(names, columns)
    if mapping:
        lf = lf.rename(mapping)
        schema = lf.collect_schema()
        names = list(schema.names())
    _missing_required(names)
    absent = [c for c in _OPTIONAL if c not in names]
    if absent:
        fill = {
            "partner": nw.lit("(direct)"),
            "channel": nw.lit("unknown"),
            **{
                c: nw.lit(None, dtype=nw.String) for c in ("owner", "department", "unit", "source", "stage", "currency")
            },
            **{c: nw.lit(None, dtype=nw.Datetime("us")) for c in _DATE_COLUMNS},
            **{c: nw.lit(None, dtype=nw.Float64) for c in _NUMBER_COLUMNS},
        }
        lf = lf.with_columns(**{c: fill[c] for c in absent})
        schema = lf.collect_schema()
    dtypes = {c: str(t) for c, t in schema.items()}
    bad_dates = [c for c in _DATE_COLUMNS if not isinstance(schema[c], (nw.Datetime, nw.Date))]
    bad_numbers = [c for c in _NUMBER_COLUMNS if not schema[c].is_numeric()]
    _type_errors(bad_dates, bad_numbers, dtypes)
    return lf
