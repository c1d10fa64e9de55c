"""The lazy backend of stage 1: the deal rows where they live, through narwhals.

The passes filter and group the deals down to small aggregates (levels x period key x status,
with counts, integer-cent sums and exact medians), written once with narwhals, so the same code
runs natively on pandas, polars, DuckDB and PySpark. A pandas table is handed to DuckDB when
DuckDB is installed (it scans the pandas frame in place); otherwise pandas runs it. Both give
identical numbers.

The rows go through three steps: the table's own columns (:func:`lazy_pandas`,
:func:`lazy_native`), the row rules that do not depend on the query (:func:`derive_rows`: day
numbers, month indexes, cents, flags) and those that do (period keys, in range or not); then
the passes group them. A table that already holds :func:`derive_rows`' columns (a prepared
base table) skips the second step.

Examples
--------
>>> from channelkpi.datasets import make_deals
>>> from channelkpi.metrics.query import make_query
>>> deals = make_deals(300, seed=4)
>>> q = make_query(by="channel", freq="Y")
>>> frame, absent, engine, _ = lazy_pandas(deals, q, engine="pandas")
>>> stage1 = LazyStage1(frame, absent, q, {"outcomes"}, engine=engine)
>>> sorted(stage1.passes().tables)
['closed_in', 'created', 'outcomes']
>>> stage1.last_date() == deals[["created", "closed"]].max().max()
True
"""

from __future__ import annotations

import functools
import threading

import narwhals.stable.v2 as nw
import pandas as pd

from ..schema import CHANNELS, LEVELS
from . import rules
from .canonical import (
    ABSENT_VALUES,
    DATE_COLUMNS,
    NUMBER_COLUMNS,
    checked_lazy,
    checked_pandas,
    column_names,
    lazy_column_names,
)
from .contract import Passes
from .query import Engine, Query, check_columns

__all__ = ["LazyStage1", "lazy_pandas", "lazy_native", "read_columns", "derive_rows", "DERIVED", "collect_frame"]

#: The columns :func:`derive_rows` adds (those of ``expected_close`` only when asked).
DERIVED = (
    "cr_days",
    "cr_months",
    "cr_null",
    "cl_days",
    "cl_months",
    "cl_null",
    "ex_days",
    "ex_months",
    "ex_null",
    "cents",
    "wcents",
    "has_amount",
    "cbc",
    "cycle_ok",
    "tl",
)
_PREFIX = {"created": "cr", "closed": "cl", "expected_close": "ex"}
_ONE, _ZERO = nw.lit(1), nw.lit(0)


def _flag(cond) -> nw.Expr:
    """0/1 integers: they sum on every engine, booleans do not."""
    return nw.when(cond).then(_ONE).otherwise(_ZERO)


# --------------------------------------------------------------------------- the table
_LOCAL = threading.local()


def _connection(duckdb):
    """This thread's DuckDB connection: opening one costs more than a small query (~13 ms)."""
    con = getattr(_LOCAL, "con", None)
    if con is None:
        con = _LOCAL.con = duckdb.connect()
    return con


def _grouped_columns(q: Query) -> list[str]:
    """The deal columns the passes read for ``q``."""
    levels = list(q.by)
    return [
        *levels,
        *(["channel"] if "channel" not in levels else []),
        "status",
        "amount",
        "probability",
        *DATE_COLUMNS,
    ]


def read_columns(q: Query) -> list[str]:
    """The deal columns stage 1 reads for ``q``: those the passes read and those ``where=`` tests."""
    return [*dict.fromkeys([*_grouped_columns(q), *(col for col, _ in q.where)])]


def lazy_pandas(deals: pd.DataFrame, q: Query, *, engine: Engine = "auto", columns=None):
    """A pandas table as a narwhals LazyFrame under canonical names.

    Parameters
    ----------
    deals : pandas.DataFrame
        The deals, under canonical names or those ``columns=`` renames.
    q : Query
        What will be asked (the columns it reads are made cheap to read).
    engine : {"auto", "duckdb", "pandas"}
        DuckDB (``"auto"`` or ``"duckdb"``, when installed) scans the table in place;
        ``"pandas"`` (or no DuckDB) runs the passes in pandas.
    columns : mapping, optional
        ``{"their name": "canonical name"}``.

    Returns
    -------
    tuple
        The LazyFrame, the absent optional columns, the engine's name and the DuckDB
        connection (which must live as long as the frame; None on pandas).
    """
    deals, absent = checked_pandas(deals, columns)
    check_columns(q, *column_names(deals, absent))
    if engine != "pandas":
        try:
            import duckdb
        except ImportError:
            pass
        else:
            con = _connection(duckdb)
            deals = _cheap_text(deals, [c for c in read_columns(q) if c not in absent], con)
            # DuckDB scans the pandas frame in place (the categorical status becomes an ENUM)
            return nw.from_native(con.from_df(deals)), absent, "duckdb", con
    return nw.from_native(deals).lazy(), absent, "pandas", None


def _cheap_text(deals: pd.DataFrame, read: list[str], con) -> pd.DataFrame:
    """The table with the text columns stage 1 reads in the forms DuckDB reads fastest: Python
    objects as Arrow strings, and the status as a categorical (an ENUM to DuckDB).

    DuckDB converts a column of Python strings anew in every pass that reads it, and the
    passes read the levels and the status up to three times; converted once (by DuckDB
    itself, so the values read the same), they cost about two thirds of that (1 M deals:
    ~22 ms per column against ~10 ms per column and pass). Tables built from Python objects
    (``astype(object)``, some database drivers) have such columns; pandas' own ``str`` columns
    are Arrow strings already. The passes test the status several times per row: coded once
    (~20 ms), it is compared as a small integer (~30 ms less). Any status value stays what it
    is, so unknown ones are reported as from any other table. The other columns are not copied.
    """
    text = [c for c in read if deals[c].dtype == object]
    converted = {}
    if text:
        import pyarrow as pa

        arrow = con.from_df(pd.DataFrame({c: deals[c] for c in text}, copy=False)).to_arrow_table()
        converted = {
            c: pd.Series(pd.arrays.ArrowStringArray(arrow[c]), index=deals.index)
            for c in text
            if pa.types.is_string(arrow[c].type) or pa.types.is_large_string(arrow[c].type)
        }
    status = converted.get("status", deals["status"])
    if pd.api.types.is_string_dtype(status):
        converted["status"] = status.astype("category")
    return deals.assign(**converted) if converted else deals


def lazy_native(deals, q: Query | None = None, *, columns=None):
    """Any table narwhals reads (polars, DuckDB, PySpark ...) as a LazyFrame under canonical
    names, with its absent optional columns and the engine's name (after checking that it has
    the columns ``q`` groups and filters by)."""
    frame = nw.from_native(deals)
    if isinstance(frame, nw.DataFrame):
        frame = frame.lazy()
    frame, absent = checked_lazy(frame, columns)
    if q is not None:
        check_columns(q, *lazy_column_names(frame, absent))
    return frame, absent, frame.implementation.name.lower()


def _absent_value(col: str) -> nw.Expr:
    value = ABSENT_VALUES[col]
    if value is not None:
        return nw.lit(value)
    if col in DATE_COLUMNS:
        return nw.lit(None, dtype=nw.Datetime("us"))
    if col in NUMBER_COLUMNS:
        return nw.lit(None, dtype=nw.Float64)
    return nw.lit(None, dtype=nw.String)


# --------------------------------------------------------------------------- row rules
def _dates(frame, names: list[str]):
    """Day numbers and month indexes of the date columns ``names``, and every date's missing flag.

    The portable spelling is civil-date arithmetic in narwhals; on DuckDB and polars the same
    numbers come from their native date functions, several times faster than the arithmetic
    spelled out (:mod:`channelkpi.metrics.rules` has every spelling; the tests compare them).
    """
    nulls = {f"{_PREFIX[c]}_null": _flag(nw.col(c).is_null()) for c in DATE_COLUMNS}
    if frame.implementation.is_duckdb():
        rel = frame.to_native()
        cols = ", ".join(f'"{c}"' for c in rel.columns)
        native = ", ".join(
            f"{rules.duckdb_days(c)} AS {_PREFIX[c]}_days, {rules.duckdb_month_index(c)} AS {_PREFIX[c]}_months"
            for c in names
        )
        return nw.from_native(rel.project(f"{cols}, {native}")).with_columns(**nulls)
    if frame.implementation.is_polars():
        native = {}
        for c in names:
            native[f"{_PREFIX[c]}_days"] = rules.polars_days(c)
            native[f"{_PREFIX[c]}_months"] = rules.polars_month_index(c)
        return nw.from_native(frame.to_native().with_columns(**native)).with_columns(**nulls)
    portable = {}
    for c in names:
        portable[f"{_PREFIX[c]}_days"] = rules.narwhals_days(c)
        portable[f"{_PREFIX[c]}_months"] = rules.narwhals_month_index(c)
    return frame.with_columns(**portable, **nulls)


def derive_rows(frame, *, expected: bool = True):
    """Add the row rules that do not depend on the query (:data:`DERIVED`; the day numbers and
    month indexes of ``expected_close`` only when ``expected``): day numbers, month indexes and
    missing flags of the dates, cents, and the flags of a deal's dates."""
    amount, probability = nw.col("amount"), nw.col("probability")
    frame = _dates(frame, ["created", "closed", *(["expected_close"] if expected else [])]).with_columns(
        cents=nw.when(amount.is_null()).then(nw.lit(0.0)).otherwise(rules.narwhals_cents(amount)),
        has_amount=_flag(~amount.is_null()),
        wcents=nw.when(amount.is_null() | probability.is_null())
        .then(nw.lit(0.0))
        .otherwise(rules.narwhals_cents(amount * probability)),
    )
    both = (nw.col("cl_null") == 0) & (nw.col("cr_null") == 0)
    return frame.with_columns(
        cbc=_flag(both & (nw.col("cl_days") < nw.col("cr_days"))),
        cycle_ok=nw.when(both & (nw.col("cl_days") >= nw.col("cr_days"))).then(nw.col("cl_days") - nw.col("cr_days")),
    ).with_columns(
        # deals that can be placed on a timeline (the as-of pipeline): a created date, a close
        # date once closed, and not closed before created
        tl=_flag(
            (nw.col("cr_null") == 0) & (nw.col("cbc") == 0) & ((nw.col("status") == "open") | (nw.col("cl_null") == 0))
        ),
    )


def _in_range(prefix: str, q: Query) -> nw.Expr:
    cond = nw.col(f"{prefix}_null") == 0
    first, last = q.day_range
    if first is not None:
        cond = cond & (nw.col(f"{prefix}_days") >= first)
    if last is not None:
        cond = cond & (nw.col(f"{prefix}_days") <= last)
    return cond


def _key(prefix: str, q: Query) -> nw.Expr:
    return rules.narwhals_key(f"{prefix}_days", f"{prefix}_months", f"{prefix}_null", q.freq, q.fiscal_year_start)


# --------------------------------------------------------------------------- collecting
def collect_frame(lf, order: list[str]) -> pd.DataFrame:
    """Collect an aggregate to pandas with stable dtypes on every engine.

    Counts come back UInt32 from polars and Int128/float from DuckDB: a negative difference
    of UInt32 counts wraps around, so every count and key becomes int64 here.
    """
    if lf.implementation.is_pyspark():
        # through Arrow: PySpark's own toPandas uses pandas options that pandas 3 deprecates
        out = lf.collect(backend="pyarrow").to_native().to_pandas()
    else:
        out = lf.collect(backend="pandas").to_native()
    # levels are text (a canonical level, a kept field, a partner table's column) and never
    # missing ("(none)"); the other columns of an aggregate are counts, keys, cents and measures
    levels = [
        c
        for c in out.columns
        if c in LEVELS or (c != "status" and not pd.api.types.is_numeric_dtype(out[c]) and out[c].notna().any())
    ]
    for col in out.columns:
        if col in levels or col == "status":
            continue
        if col in ("n", "weeks", "cl_in", "cr_in", "cbc", "has_amount", "cl_null", "cr_null") or col.endswith(
            ("_key", "_n", "flags")
        ):
            out[col] = out[col].fillna(0).astype("int64")
        elif "cents" in col or col.endswith("_sum"):
            out[col] = out[col].astype(float).fillna(0.0)
        else:
            out[col] = out[col].astype(float)
    if "status" in out.columns:
        out["status"] = out["status"].astype(str)
    for level in levels:
        out[level] = out[level].astype(object).where(out[level].notna(), None)
    return out.sort_values(order, kind="stable").reset_index(drop=True) if order else out


def _collect_parts(parts: dict[str, tuple[object, list[str]]]) -> dict[str, pd.DataFrame]:
    """Collect several lazy aggregates as one query (tagged and stacked, then split again).

    Used for sources DuckDB or Spark read: the engine runs the branches side by side. DuckDB
    over Parquet files spreads them over the cores (1 M deals in one file: 0.57 s as separate
    queries, 0.46 s as one); Spark runs one job instead of several.
    """
    names = list(parts)
    if len(names) == 1:
        lf, order = parts[names[0]]
        return {names[0]: collect_frame(lf, order)}
    columns = {name: list(lf.collect_schema().names()) for name, (lf, _) in parts.items()}
    tagged = [lf.with_columns(nw.lit(i, dtype=nw.Int64).alias("_part")) for i, (lf, _) in enumerate(parts.values())]
    stacked = collect_frame(nw.concat(tagged, how="diagonal"), [])
    part = stacked["_part"].to_numpy()
    out = {}
    for i, name in enumerate(names):
        table = stacked.loc[part == i, columns[name]].reset_index(drop=True)
        order = parts[name][1]
        out[name] = table.sort_values(order, kind="stable").reset_index(drop=True) if order else table
    return out


# --------------------------------------------------------------------------- the backend
class LazyStage1:
    """Stage 1 on a narwhals LazyFrame (see :class:`channelkpi.metrics.contract.Stage1`).

    Parameters
    ----------
    frame : narwhals.LazyFrame
        The deals under canonical names (from :func:`lazy_pandas` or :func:`lazy_native`), or
        a base table that also holds :data:`DERIVED` (with ``derived=True``).
    absent : list of str
        Optional columns the table does not have (read as their :data:`ABSENT_VALUES`).
    q, needs
        The query and what it needs (:data:`channelkpi.metrics.contract.NEEDS`).
    engine : str
        The engine's name, reported with every result.
    together : bool
        Collect the passes as one query (sources DuckDB or Spark read: the engine runs the
        branches side by side); tables in memory are scanned in parallel query by query.
    connection : object, optional
        Kept alive as long as the frame (the DuckDB connection a pandas table is scanned on).
    derived : bool
        The frame is a base table that holds :data:`DERIVED` already (with those of
        ``expected_close``).
    """

    def __init__(
        self,
        frame,
        absent,
        q: Query,
        needs,
        *,
        engine: str,
        together: bool = False,
        connection=None,
        derived: bool = False,
    ):
        self.engine = engine
        self.q, self.needs = q, frozenset(needs)
        self.together, self.connection, self.derived = together, connection, derived
        self.expected = bool({"coverage", "open_expected"} & self.needs)
        wanted = [c for c in read_columns(q) if c in absent]
        if wanted:  # the absent columns a pass reads or a filter tests, as constants
            frame = frame.with_columns(**{c: _absent_value(c) for c in wanted})
        self.unfiltered = frame
        for col, values in q.where:
            frame = frame.filter(nw.col(col).cast(nw.String).is_in(list(values)))
        self.read = _grouped_columns(q) + (list(DERIVED) if derived else [])
        self.filtered = frame

    @functools.cached_property
    def base(self):
        """The selected deals with every row rule of the query applied."""
        q = self.q
        base = self.filtered.select(self.read)
        if not self.derived:
            base = derive_rows(base, expected=self.expected)
        keys = {"cr_key": _key("cr", q), "cl_key": _key("cl", q)}
        if self.expected:
            keys["ex_key"] = _key("ex", q)
        base = base.with_columns(
            # a missing owner/unit/... is a group of its own, shown as "(none)"
            *[nw.col(level).fill_null("(none)") for level in q.by],
            **keys,
            # without periods or a date range every deal is in range
            cl_in=_flag(_in_range("cl", q)) if q.periods_apply else _ONE,
            cr_in=_flag(_in_range("cr", q)) if q.periods_apply else _ONE,
        )
        if base.implementation.is_polars():
            # polars evaluates a lazy plan anew for each query: compute the derived columns once
            # (still in polars, nothing leaves the engine) so the passes share them
            base = nw.from_native(base.to_native().collect().lazy())
        return base

    def passes(self) -> Passes:
        """The raw tables of stage 1 (see :mod:`channelkpi.metrics.contract`)."""
        q, needs, base = self.q, self.needs, self.base
        levels = list(q.by)
        # every aggregate below is a lazy query; they are collected together at the end
        parts: dict[str, tuple[object, list[str]]] = {}
        if q.where:  # the rows before the filter
            parts["rows"] = (self.unfiltered.select(nw.len().alias("n")), [])
        flows = "flows" in needs

        # pass 1, by creation: cohorts (rows in range), pipeline inflows, groups, exclusion counts
        created = rules.CREATED_FLAGS
        still_open = (nw.col("tl") == 1) & ((nw.col("cl_null") == 1) | (nw.col("cl_key") > nw.col("cr_key")))
        parts["created"] = (
            base.with_columns(
                so_n=_flag(still_open),
                so_cents=nw.when(still_open).then(nw.col("cents")).otherwise(nw.lit(0.0)),
                flags=created.pack({name: nw.col(name) for name in created.names}),
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
            outcome = rules.OUTCOME_FLAGS
            # as in pass 1, 0/1 flags are group keys: counts and sums "of the rows with the flag"
            # follow from the groups
            parts["outcomes"] = (
                base.filter(nw.col("status").is_in(["won", "lost"]))
                .with_columns(
                    cyc_n=_flag(~nw.col("cycle_ok").is_null()),
                    cyc=nw.col("cycle_ok").fill_null(0),
                    fs_n=_flag(from_start),
                    fs_cents=nw.when(from_start).then(nw.col("cents")).otherwise(nw.lit(0.0)),
                )
                .with_columns(oflags=outcome.pack({name: nw.col(name) for name in outcome.names}))
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
            weeks = rules.narwhals_floordiv(nw.col("cycle_ok"), 7).clip(upper_bound=rules.CYCLE_WEEKS_CAP)
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
            parts["next_expected"] = (
                base.filter(
                    (nw.col("tl") == 1)
                    & (nw.col("ex_null") == 0)
                    & (nw.col("cr_key") < nw.col("ex_key"))
                    & ((nw.col("cl_null") == 1) | (nw.col("cl_key") >= nw.col("ex_key")))
                )
                .group_by(*levels, "ex_key")
                .agg(nw.len().alias("n"), nw.col("cents").sum().alias("cents")),
                [],
            )
        if "open_expected" in needs:
            opened = base.filter((nw.col("status") == "open") & (nw.col("ex_null") == 0))
            if q.periods_apply:
                opened = opened.filter(_in_range("ex", q))
            parts["open_expected"] = (
                opened.group_by(*levels, "ex_key").agg(
                    nw.len().alias("n"),
                    nw.col("has_amount").sum().alias("amount_n"),
                    nw.col("cents").sum().alias("cents"),
                    nw.col("amount").median().alias("median_amount"),
                ),
                [],
            )
        if self.together:
            raw = _collect_parts(parts)
        else:
            raw = {name: collect_frame(lf, order) for name, (lf, order) in parts.items()}
        rows = int(raw.pop("rows")["n"].iloc[0]) if "rows" in raw else None
        if "closed_in_lost" in raw:
            raw["closed_in"] = pd.concat([raw["closed_in"], raw.pop("closed_in_lost")], ignore_index=True)
        return Passes(raw, rows)

    def last_date(self) -> pd.Timestamp | None:
        """The last created or close date of the (filtered) deals; None when there is none."""
        # a missing date counts as day 0: the minimum of the null flags says whether any date is there
        out = collect_frame(
            self.base.select(
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
        return pd.Timestamp(rules.EPOCH) + pd.Timedelta(days=int(max(days))) if days else None

    def snapshot(self, as_of: pd.Timestamp) -> pd.DataFrame:
        """Open deals as of the end of ``as_of`` per group: n, cents, wcents."""
        levels = list(self.q.by)
        a = rules.day_number(as_of)
        opened = self.base.filter(
            (nw.col("tl") == 1) & (nw.col("cr_days") <= a) & ((nw.col("cl_null") == 1) | (nw.col("cl_days") > a))
        )
        measures = [nw.len().alias("n"), nw.col("cents").sum().alias("cents"), nw.col("wcents").sum().alias("wcents")]
        if levels:
            return collect_frame(opened.group_by(*levels).agg(*measures), levels)
        return collect_frame(opened.select(*measures), [])


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
