"""Stage 2: from the compact aggregates to KPI tables, in pandas.

Builds the group x period grid (groups with no deals stay visible), turns integer cents back
into money, runs the as-of pipeline as cumulative flows, places the exact medians, and counts
what each KPI used and excluded. It works only on what stage 1 handed over
(:class:`~channelkpi.metrics.contract.Aggregates`): nothing here reads a deal row.

Examples
--------
>>> amounts_from_cents([1999, 5]).tolist(), ratio([1, 1], [4, 0]).tolist()
([19.99, 0.05], [0.25, nan])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import CHANNELS
from .contract import Aggregates
from .periods import period_frame
from .rules import NULL_KEY

__all__ = [
    "Frame",
    "Columns",
    "grid_keys",
    "build_frame",
    "exclusions",
    "with_dimension_groups",
    "with_periods",
    "amounts_from_cents",
    "ratio",
]

_STR = pd.StringDtype(na_value=np.nan)


def _levels(agg: Aggregates) -> list[str]:
    return list(agg.query.by)


def _observed_keys(agg: Aggregates, sources: list[tuple[str, str]]) -> list[int]:
    keys: list[int] = []
    for table, col in sources:
        t = agg.tables.get(table)
        if t is not None and len(t):
            keys.extend(int(k) for k in t[col].unique() if k != NULL_KEY)
    return keys


def with_dimension_groups(agg: Aggregates, tables) -> Aggregates:
    """Add the groups of a partner or owner table that have no deals in the selection, so that
    they show with zero counts ("no deals yet", not missing).

    A table adds groups when every ``by=`` level is one of its columns (``by="partner"``,
    ``by="tier"``, ``by=["tier", "partner"]`` with a partner table): its rows that ``where=``
    keeps (filters on its own columns; a filter on a deal column such as ``channel`` leaves
    every name, each with the deals it has there, maybe none), each as the group of its
    values (a missing one is the ``"(none)"`` group, as on the deals). Levels from several
    tables or from the deals (``by=["partner", "channel"]``) add nothing: there is no list
    of the combinations a deal could have.

    Examples
    --------
    >>> from channelkpi.metrics.query import make_query
    >>> q = make_query(by="tier")
    >>> agg = Aggregates(q, frozenset(), pd.DataFrame({"tier": ["gold"]}), 1, 0, pd.DataFrame())
    >>> table = pd.DataFrame({"partner": ["A", "B", "C"], "tier": ["gold", "silver", None]})
    >>> with_dimension_groups(agg, {"partner": table}).groups["tier"].tolist()
    ['(none)', 'gold', 'silver']
    """
    levels = _levels(agg)
    if not levels:
        return agg
    for table in tables.values():
        if not set(levels) <= set(table.columns):
            continue
        rows = table
        for col, values in agg.query.where:
            if col in rows.columns:
                rows = rows[rows[col].notna() & rows[col].astype(str).isin(values)]
        named = rows[levels].astype(object)
        named = named.where(named.notna(), "(none)").drop_duplicates()
        have = agg.groups[levels].astype(object)
        seen = set(map(tuple, have.to_numpy().tolist()))
        agg.without_deals = named[[t not in seen for t in map(tuple, named.to_numpy().tolist())]].reset_index(drop=True)
        groups = pd.concat([have, named], ignore_index=True).drop_duplicates()
        agg.groups = groups.sort_values(levels, kind="stable").reset_index(drop=True)
        break
    return agg


def grid_keys(agg: Aggregates, sources: list[tuple[str, str]]) -> list[int]:
    """The period keys of the result: the requested range, else the range the data covers."""
    q = agg.query
    if q.freq is None:
        return [0]
    observed = _observed_keys(agg, sources)
    lo = q.key(q.start) - q.lookback if q.start is not None else (min(observed) if observed else None)
    hi = q.key(q.end) if q.end is not None else (max(observed) if observed else None)
    if lo is None and hi is not None:
        lo = hi
    if hi is None and lo is not None:
        hi = max(lo, max(observed) if observed else lo)
    if lo is None or hi is None or hi < lo:
        return []
    return list(range(lo, hi + 1))


class Frame:
    """The grid of groups x periods, held as flat numpy columns (position = group * K + key offset).

    Aggregates are placed by position instead of merged on string keys, so stage 2 stays a
    small fraction of stage 1 even for 500 partners x 36 months.
    """

    def __init__(self, agg: Aggregates, keys: list[int]):
        self.agg = agg
        self.levels = _levels(agg)
        self.keys = keys
        self.k0 = min(keys) if keys else 0
        self.K = len(keys)
        groups = agg.groups.reset_index(drop=True) if self.levels else pd.DataFrame(index=[0])
        self.G = len(groups)
        if len(self.levels) > 1:
            self.index = pd.MultiIndex.from_frame(groups[self.levels].astype(object))
        elif self.levels:
            self.index = pd.Index(groups[self.levels[0]].astype(object))
        else:
            self.index = None
        cols = {lv: np.repeat(groups[lv].astype(object).to_numpy(), self.K) for lv in self.levels}
        cols["key"] = np.tile(np.asarray(keys, dtype=np.int64), self.G)
        self.cols: dict[str, np.ndarray] = cols  # made a DataFrame once, at the end
        self._positions: dict = {}

    def positions(self, table: pd.DataFrame, key_col: str, shift: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Grid position of every table row (-1 off the grid); computed once per table and key."""
        cache_key = (id(table), key_col, shift)
        if cache_key not in self._positions:
            if self.index is None:
                gid = np.zeros(len(table), dtype=np.int64)
            elif len(self.levels) > 1:
                gid = self.index.get_indexer(pd.MultiIndex.from_frame(table[self.levels].astype(object)))
            else:
                gid = self.index.get_indexer(table[self.levels[0]].astype(object))
            off = table[key_col].to_numpy(np.int64) + shift - self.k0
            ok = (gid >= 0) & (off >= 0) & (off < self.K)
            self._positions[cache_key] = (np.where(ok, gid * self.K + off, -1), table)  # keep table alive
        return self._positions[cache_key][0]

    def _rows(self, table, key_col, where, shift):
        pos = self.positions(table, key_col, shift)
        keep = pos >= 0
        if where is not None:
            keep &= where(table)
        return pos[keep], keep

    def sums(self, table: pd.DataFrame | None, key_col: str, column: str, *, where=None, shift: int = 0) -> np.ndarray:
        """``table[column]`` summed onto the grid (rows selected by ``where``, keys moved by ``shift``)."""
        return self._sums(table, key_col, [column], where=where, shift=shift)[0]

    def _sums(self, table, key_col, columns, *, where, shift) -> list[np.ndarray]:
        # the rows are selected once for all the columns
        size = self.G * self.K
        if table is None or not len(table) or not size:
            return [np.zeros(size) for _ in columns]
        pos, keep = self._rows(table, key_col, where, shift)
        return [np.bincount(pos, weights=table[c].to_numpy(float)[keep], minlength=size) for c in columns]

    def add(
        self, table: pd.DataFrame | None, key_col: str, columns: dict[str, str], *, where=None, shift: int = 0
    ) -> None:
        sums = self._sums(table, key_col, list(columns), where=where, shift=shift)
        self.cols.update(zip(columns.values(), sums))

    def place(self, table: pd.DataFrame | None, key_col: str, columns: dict[str, str], *, where=None) -> None:
        """Non-additive values (medians): one table row per grid position, NaN elsewhere."""
        for src, new in columns.items():
            arr = np.full(self.G * self.K, np.nan)
            if table is not None and len(table) and len(arr):
                pos, keep = self._rows(table, key_col, where, 0)
                arr[pos] = table[src].to_numpy(float)[keep]
            self.cols[new] = arr


class Columns:
    """A table's columns while stage 2 adds its measures: each column is read from the table or
    from the measures added, which join the table once, in :meth:`frame`. (A DataFrame gains a
    column at a time at a cost far above the arithmetic on a table of a few rows.)

    Examples
    --------
    >>> cols = Columns(pd.DataFrame({"won": [1, 2], "n": [2, 4]}))
    >>> cols["rate"] = cols["won"] / cols["n"]
    >>> cols["won"] = cols["won"] * 10
    >>> "rate" in cols, cols.frame()
    (True,    won  n  rate
    0   10  2   0.5
    1   20  4   0.5)
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame
        self._added: dict[str, pd.Series] = {}

    def __getitem__(self, name: str) -> pd.Series:
        return self._added[name] if name in self._added else self._frame[name]

    def __setitem__(self, name: str, values) -> None:
        # as DataFrame.__setitem__ takes them: a Series by its labels, a number for every row
        index = self._frame.index
        if isinstance(values, pd.Series):
            values = values if values.index.equals(index) else values.reindex(index)
        else:
            values = pd.Series(values, index=index)
        self._added[name] = values.rename(name)

    def __contains__(self, name: object) -> bool:
        return name in self._added or name in self._frame.columns

    def frame(self) -> pd.DataFrame:
        """The table with the measures added (a column set again keeps its place)."""
        base = self._frame
        again = [c for c in self._added if c in base.columns]
        if again:
            base = base.copy()
            for c in again:
                base[c] = self._added[c]
        new = {c: v for c, v in self._added.items() if c not in base.columns}
        if not new:
            return base
        return pd.concat([base, pd.DataFrame(new, index=base.index)], axis=1)


def amounts_from_cents(cents) -> pd.Series:
    """Integer cents as amounts in the currency's unit (floats): how every amount a KPI returns is
    made. (Writing amounts for people, with a symbol, is :mod:`channelkpi.formats`' business.)

    >>> amounts_from_cents(pd.Series([12345, None], dtype="Int64")).tolist()
    [123.45, nan]
    """
    amounts = np.atleast_1d(np.asarray(cents, dtype=float)) / 100.0
    return pd.Series(amounts, index=_index(cents), name=getattr(cents, "name", None))


def ratio(num, den) -> pd.Series:
    """``num / den``, missing (NaN) where the denominator is not positive.

    >>> ratio(pd.Series([1, 2, 3]), pd.Series([4, 0, None])).tolist()
    [0.25, nan, nan]
    """
    index = _index(num, den)
    if index is None:  # Series on different rows: divided where their labels match
        num, den = pd.Series(num, dtype=float), pd.Series(den, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (num / den).where(den > 0)
    num, den = np.atleast_1d(np.asarray(num, dtype=float)), np.atleast_1d(np.asarray(den, dtype=float))
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.Series(np.where(den > 0, num / den, np.nan), index=index)


def _index(*values) -> pd.Index | None:
    """The rows of the Series among ``values`` (a default index for arrays and numbers alone),
    or None when they are on different rows. Stage 2 computes on arrays: a pandas operation on a
    table of a few rows costs more than the arithmetic."""
    indexes = [v.index for v in values if isinstance(v, pd.Series)]
    if indexes:
        first = indexes[0]
        return first if all(i is first or i.equals(first) for i in indexes[1:]) else None
    sizes = {np.size(v) for v in values if np.ndim(v)}
    return pd.RangeIndex(sizes.pop() if sizes else 1) if len(sizes) <= 1 else None


def _status_is(status: str):
    return lambda d: (d["status"] == status).to_numpy()


def build_frame(agg: Aggregates, keys: list[int]) -> pd.DataFrame:
    """Every base measure on the grid (counts as integers, money in cents)."""
    f = Frame(agg, keys)
    t = agg.tables
    if "outcomes" in t:
        out = t["outcomes"]
        for status in ("won", "lost"):
            rows = lambda d, s=status: (d["status"] == s).to_numpy() & (d["cl_in"].to_numpy() == 1)  # noqa: E731
            f.add(
                out,
                "cl_key",
                {
                    "n": f"{status}_count",
                    "amount_n": f"{status}_amount_n",
                    "cents": f"{status}_cents",
                    "cycle_n": f"{status}_cycle_n",
                    "cycle_sum": f"{status}_cycle_sum",
                },
                where=rows,
            )
        # medians and channel sums: their own table, of deals closed in range only
        closed_in = t["closed_in"]
        for status in ("won", "lost"):
            f.place(closed_in, "cl_key", {"cycle_median": f"{status}_cycle_median"}, where=_status_is(status))
        f.place(closed_in, "cl_key", {"median_amount": "won_median_amount"}, where=_status_is("won"))
        if "channel" not in f.levels:
            for ch in CHANNELS:
                f.add(closed_in, "cl_key", {f"cents_{ch}": f"won_cents_{ch}"}, where=_status_is("won"))
    if "open_expected" in t:
        f.add(
            t["open_expected"],
            "ex_key",
            {"n": "open_exp_count", "amount_n": "open_exp_amount_n", "cents": "open_exp_cents"},
        )
        f.place(t["open_expected"], "ex_key", {"median_amount": "open_exp_median_amount"})
    if "created" in t:
        cr = t["created"]
        cohort = lambda d: d["cr_in"].to_numpy() == 1  # noqa: E731
        f.add(
            cr, "cr_key", {"n": "created_count", "amount_n": "created_amount_n", "cents": "created_cents"}, where=cohort
        )
        for status in ("won", "lost", "open"):
            f.add(
                cr,
                "cr_key",
                {"n": f"cohort_{status}_count", "cents": f"cohort_{status}_cents"},
                where=lambda d, s=status: cohort(d) & (d["status"] == s).to_numpy(),
            )
    if "flows" in agg.needs:
        _add_pipeline(f, agg)
    cols = {
        col: values.round().astype("int64")
        if col.endswith("_count") or col.endswith("_n") or col.endswith("cents") or "cents_" in col
        else values
        for col, values in f.cols.items()
    }
    return pd.DataFrame(cols)


_OPEN = ("open_count", "open_cents", "open_wcents")
_OPEN_START = ("open_start_count", "open_start_cents", "open_start_wcents")


def _add_pipeline(f: Frame, agg: Aggregates) -> None:
    t = agg.tables
    q = agg.query
    if q.freq is None:  # the snapshots stage 1 took
        snap = agg.snapshots["open"].assign(key=0)
        f.add(snap, "key", dict(zip(("n", "cents", "wcents"), _OPEN)))
        if "open_start" in agg.snapshots:
            before = agg.snapshots["open_start"].assign(key=0)
            f.add(before, "key", dict(zip(("n", "cents", "wcents"), _OPEN_START)))
        else:  # no earlier snapshot: the deals open now are the deals to work
            for a, b in zip(_OPEN, _OPEN_START):
                f.cols[b] = f.cols[a]
        return
    inflow, outflow = t["created"], t["outcomes"]
    outflow = outflow[outflow["cl_key"] != NULL_KEY]
    if not f.keys:
        for c in (*_OPEN, *_OPEN_START):
            f.cols[c] = np.zeros(0)
    else:
        # open at the end of each period = everything created so far - everything closed so far,
        # as integer running sums over the whole history (a float running sum leaves residues)
        lows = [f.k0 - 1]
        for table, col in ((inflow[inflow["tl_n"] > 0], "cr_key"), (outflow[outflow["tl_n"] > 0], "cl_key")):
            if len(table):
                lows.append(int(table[col].min()))
        lo, hi = min(lows), max(f.keys)
        ext = Frame(agg, list(range(lo, hi + 1)))
        offset = f.k0 - lo
        for src, open_col, start_col in zip(("tl_n", "tl_cents", "tl_wcents"), _OPEN, _OPEN_START):
            delta = ext.sums(inflow, "cr_key", src) - ext.sums(outflow, "cl_key", src)
            running = np.cumsum(np.rint(delta).astype(np.int64).reshape(ext.G, ext.K), axis=1)
            previous = np.concatenate([np.zeros((ext.G, 1), dtype=np.int64), running[:, :-1]], axis=1)
            f.cols[open_col] = running[:, offset : offset + f.K].reshape(-1)
            f.cols[start_col] = previous[:, offset : offset + f.K].reshape(-1)
    for status in ("won", "lost"):
        f.add(
            outflow,
            "cl_key",
            {"fs_n": f"wf_{status}_count", "fs_cents": f"wf_{status}_cents"},
            where=lambda d, s=status: (d["status"] == s).to_numpy(),
        )
    f.add(inflow, "cr_key", {"so_n": "wf_created_count", "so_cents": "wf_created_cents"})
    if "next_expected" in t:
        f.add(t["next_expected"], "ex_key", {"n": "next_expected_count", "cents": "next_expected_cents"}, shift=-1)


def exclusions(agg: Aggregates, kind: str, *, value: bool = False, cycle: bool = False) -> tuple[int, dict[str, int]]:
    """Rows used and excluded per reason for a KPI of ``kind`` outcome / cohort / stock."""
    # the status table's columns as arrays: a few dozen rows, counted many times
    st = {col: agg.status[col].to_numpy() for col in agg.status.columns}
    st["status"] = st["status"].astype(object)
    q = agg.query
    reasons: dict[str, int] = {}
    if agg.filtered_out:
        reasons["filtered_out"] = agg.filtered_out

    def count(mask) -> int:
        return int(st["n"][mask].sum())

    closed = (st["status"] == "won") | (st["status"] == "lost")
    if kind == "outcome":
        reasons["not_closed"] = count(st["status"] == "open")
        if q.periods_apply:
            reasons["no_close_date"] = count(closed & (st["cl_null"] == 1))
            reasons["outside_period"] = count(closed & (st["cl_null"] == 0) & (st["cl_in"] == 0))
            used_mask = closed & (st["cl_in"] == 1)
        else:
            used_mask = closed
        if value:
            reasons["no_amount"] = count(used_mask & (st["has_amount"] == 0))
            used_mask = used_mask & (st["has_amount"] == 1)
        if cycle:
            reasons["no_created_date"] = count(used_mask & (st["cr_null"] == 1))
            reasons["closed_before_created"] = count(used_mask & (st["cbc"] == 1))
            used_mask = used_mask & (st["cr_null"] == 0) & (st["cbc"] == 0)
        used = count(used_mask)
    elif kind == "cohort":
        if q.periods_apply:
            reasons["no_created_date"] = count(st["cr_null"] == 1)
            reasons["outside_period"] = count((st["cr_null"] == 0) & (st["cr_in"] == 0))
            used = count(st["cr_in"] == 1)
        else:
            used = count(st["n"] >= 0)
    else:  # stock: the as-of pipeline
        reasons["no_created_date"] = count(st["cr_null"] == 1)
        reasons["no_close_date"] = count(closed & (st["cl_null"] == 1) & (st["cr_null"] == 0))
        reasons["closed_before_created"] = count((st["cbc"] == 1) & (st["cr_null"] == 0))
        used = count(st["n"] >= 0) - sum(
            reasons.get(k, 0) for k in ("no_created_date", "no_close_date", "closed_before_created")
        )
    return used, {k: v for k, v in reasons.items() if v}


def with_periods(df: pd.DataFrame, agg: Aggregates) -> pd.DataFrame:
    """Replace the integer key by ``period``, ``period_start``, ``period_end`` (if any)."""
    q = agg.query
    df = df.astype({lv: _STR for lv in _levels(agg)})
    if q.freq is None:
        return df.drop(columns=["key"])
    periods = period_frame(df["key"].unique() if len(df) else [], q.freq, q.fiscal_year_start)
    periods = periods.astype({"period": _STR, "period_start": "datetime64[ns]", "period_end": "datetime64[ns]"})
    out = df.merge(periods, on="key", how="left")
    lv = _levels(agg)
    rest = [c for c in out.columns if c not in (*lv, "key", "period", "period_start", "period_end")]
    return out[[*lv, "period", "period_start", "period_end", *rest]]
