"""Deals coded once for many KPI calls: stage 1 as array arithmetic.

A dashboard or a notebook asks many questions of the same table: every control change is
three or four KPI calls. Each call of the general engine derives the same things from every
row again (days from dates, period keys, cents, flags, the groups' text). :func:`prepare`
derives them once; the passes of stage 1 then are integer group codes and ``numpy.bincount``
over those arrays, and they hand stage 2 exactly the tables the general engine hands it, so
every KPI gives the same numbers (the test suite compares the two engines' tables on many
random selections).

Examples
--------
>>> import channelkpi as ck
>>> from channelkpi.datasets import make_deals
>>> deals = make_deals(2_000, seed=3)
>>> prepared = ck.prepare(deals)
>>> fast = ck.win_rate(prepared, by="unit", start="2024-01", end="2024-12")
>>> slow = ck.win_rate(deals, by="unit", start="2024-01", end="2024-12")
>>> bool((fast["win_rate"] == slow["win_rate"]).all())
True
>>> fast.attrs["channelkpi"]["engine"]
'numpy'
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pandas as pd

from ..errors import ChannelKPIError
from ..schema import CHANNELS, LEVELS, STATUSES
from .engine import _NULL_KEY, CYCLE_WEEKS_CAP, Query, _canonical_pandas
from .periods import days_from_civil

__all__ = ["PreparedDeals", "prepare"]

_DENSE = 1 << 22  # group codes up to this many cells are counted in a dense array
_OPEN, _WON, _LOST = (STATUSES.index(s) for s in ("open", "won", "lost"))


def prepare(deals, *, columns=None) -> PreparedDeals:
    """Code a deals table once so that many KPI calls on it run faster, with the same numbers.

    Parameters
    ----------
    deals : pandas.DataFrame
        The canonical deals table (from :func:`channelkpi.read_crm`), or a table whose
        columns ``columns=`` renames to the canonical names.
    columns : mapping, optional
        ``{"their column": "canonical name"}``.

    Returns
    -------
    PreparedDeals
        Accepted by every KPI function in place of the table. Options the coded engine does
        not cover (a ``where=`` on a date or number column, ``engine="duckdb"`` or
        ``"pandas"``) run on the table itself.

    Notes
    -----
    The prepared deals are a snapshot: after changing the table, prepare it again. They take
    about 80 MB per million deals, plus about 35 MB per period size asked for (kept so that
    the next question at that size costs only the grouping).

    Examples
    --------
    >>> import channelkpi as ck
    >>> from channelkpi.datasets import make_deals
    >>> prepared = ck.prepare(make_deals(500, seed=1))
    >>> prepared
    PreparedDeals(500 deals)
    >>> int(ck.deal_count(prepared)["won_count"].iloc[0]) == int((prepared.deals["status"] == "won").sum())
    True
    """
    return PreparedDeals(deals, columns=columns)


def _dates(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Days since 1970-01-01 (0 when missing), year * 12 + month - 1, and the missing mask."""
    if getattr(series.dt, "tz", None) is not None:
        series = series.dt.tz_localize(None)  # the wall-clock date, as the other engines read it
    day = series.to_numpy().astype("datetime64[D]")
    null = np.isnat(day)
    # 32-bit: a million deals take 4 MB per column (dates within +-5.8 million years)
    days = np.where(null, 0, day.astype(np.int64)).astype(np.int32)
    ym = np.where(null, 0, day.astype("datetime64[M]").astype(np.int64) + 1970 * 12).astype(np.int32)
    return days, ym, null


class _Key:
    """Period keys of one date column as dense codes: ``values[code]`` is the key."""

    def __init__(self, keys: np.ndarray, null: np.ndarray):
        if null.all():
            self.code = np.zeros(len(keys), dtype=np.int32)
            self.values = np.array([_NULL_KEY], dtype=np.int64)
            return
        real = keys[~null]
        lo, hi = int(real.min()), int(real.max())
        self.code = np.where(null, hi - lo + 1, keys - lo).astype(np.int32)
        self.values = np.append(np.arange(lo, hi + 1, dtype=np.int64), _NULL_KEY)

    @property
    def keys(self) -> np.ndarray:
        """The key of every row (``_NULL_KEY`` without a date)."""
        return self.values[self.code]


class PreparedDeals:
    """A canonical deals table with its row-level values derived once (see :func:`prepare`)."""

    def __init__(self, deals, *, columns=None):
        if isinstance(deals, PreparedDeals):
            deals = deals.deals
        if not isinstance(deals, pd.DataFrame):
            raise ChannelKPIError(
                f"prepare() codes a pandas table; this is a {type(deals).__name__}",
                fix="pass a pandas table (for a load_crm result, its .deals); polars, DuckDB and Spark tables go "
                "straight to the KPI functions, which run on their engine",
            )
        deals = _canonical_pandas(deals, columns)
        self.deals = deals
        self.rows = len(deals)
        codes, uniques = pd.factorize(deals["status"])
        names = [str(u) for u in uniques] + ["nan"]  # code -1 (a missing status) reads as "nan"
        # open, won, lost have codes 0, 1, 2 whether or not they occur; anything else follows
        self.status_names = [*STATUSES, *dict.fromkeys(n for n in names if n not in STATUSES)]
        remap = np.array([self.status_names.index(n) for n in names], dtype=np.int64)
        self.status = remap[codes].astype(np.int32)
        self.cr_days, self.cr_ym, self.cr_null = _dates(deals["created"])
        self.cl_days, self.cl_ym, self.cl_null = _dates(deals["closed"])
        self.ex_days, self.ex_ym, self.ex_null = _dates(deals["expected_close"])
        amount = deals["amount"].to_numpy(dtype=float, na_value=np.nan)
        probability = deals["probability"].to_numpy(dtype=float, na_value=np.nan)
        self.amount = amount
        no_amount = np.isnan(amount)
        self.has_amount = ~no_amount
        # integer cents rounded half up, as every engine computes them
        with np.errstate(invalid="ignore"):
            self.cents = np.where(no_amount, 0.0, np.floor(amount * 100 + 0.5))
            self.wcents = np.where(no_amount | np.isnan(probability), 0.0, np.floor(amount * probability * 100 + 0.5))
        both = ~self.cr_null & ~self.cl_null
        diff = self.cl_days - self.cr_days
        self.cbc = both & (diff < 0)
        self.cycle_ok = both & (diff >= 0)
        self.cycle_sum = np.where(self.cycle_ok, diff, 0).astype(float)  # days, as weights
        self.cycle_nan = np.where(self.cycle_ok, self.cycle_sum, np.nan)  # for medians
        self.closed = (self.status == _WON) | (self.status == _LOST)
        # on a timeline (the as-of pipeline): created, closed with a date once closed, not closed before created
        self.tl = ~self.cr_null & ~self.cbc & ((self.status == _OPEN) | ~self.cl_null)
        # the pass by creation's flags that do not depend on the query (bits 2-6 of its packed key)
        static = self.cl_null * 4 + self.cr_null * 8 + self.cbc * 16 + self.has_amount * 32 + self.ex_null * 64
        present = np.bincount(static, minlength=128) > 0
        self.static_values = np.flatnonzero(present)
        self.static_code = (np.cumsum(present) - 1).astype(np.int32)[static]
        self._levels: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._keys: dict[tuple, object] = {}  # period keys and what derives from them, per period size
        self._masks: OrderedDict = OrderedDict()
        self._span: tuple | None = None

    def __len__(self) -> int:
        return self.rows

    def __repr__(self) -> str:
        return f"PreparedDeals({self.rows:,} deals)"

    def date_span(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        """The first and last created or close date (None, None without any)."""
        if self._span is None:
            days = np.concatenate([self.cr_days[~self.cr_null], self.cl_days[~self.cl_null]])
            epoch = pd.Timestamp("1970-01-01")
            self._span = (
                (epoch + pd.Timedelta(days=int(days.min())), epoch + pd.Timedelta(days=int(days.max())))
                if len(days)
                else (None, None)
            )
        return self._span

    # ----------------------------------------------------------------- coded columns
    def level(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Codes of a level column (missing values in the ``"(none)"`` group), its labels and
        the missing mask; coded on first use."""
        if name not in self._levels:
            codes, uniques = pd.factorize(self.deals[name])
            labels = list(np.asarray(uniques, dtype=object))
            null = codes < 0
            if null.any():
                if "(none)" not in labels:
                    labels.append("(none)")
                codes = np.where(null, labels.index("(none)"), codes)
            labels_array = np.empty(len(labels), dtype=object)
            labels_array[:] = labels
            self._levels[name] = (codes.astype(np.int32), labels_array, null)
        return self._levels[name]

    def _key(self, which: str, q: Query) -> _Key:
        cache = (which, q.freq, q.fiscal_year_start)
        if cache not in self._keys:
            days, ym, null = {
                "cr": (self.cr_days, self.cr_ym, self.cr_null),
                "cl": (self.cl_days, self.cl_ym, self.cl_null),
                "ex": (self.ex_days, self.ex_ym, self.ex_null),
            }[which]
            shift = q.fiscal_year_start - 1
            if q.freq is None:  # one period: every deal is in it, with or without the date
                keys, null = np.zeros(self.rows, dtype=np.int64), np.zeros(self.rows, dtype=bool)
            elif q.freq == "W":
                keys = (days.astype(np.int64) + 3) // 7
            else:
                ym = ym.astype(np.int64)
                keys = {"M": lambda: ym, "Q": lambda: (ym - shift) // 3, "Y": lambda: (ym - shift) // 12}[q.freq]()
            self._keys[cache] = _Key(np.where(null, _NULL_KEY, keys), null)
        return self._keys[cache]

    def _derived(self, q: Query) -> dict[str, np.ndarray]:
        """What the passes derive from the period keys alone, kept per period size."""
        cache = ("derived", q.freq, q.fiscal_year_start)
        if cache not in self._keys:
            cr, cl = self._key("cr", q), self._key("cl", q)
            S, F = len(self.status_names), len(self.static_values)
            cr_keys, cl_keys = cr.keys, cl.keys
            still_open = self.tl & (self.cl_null | (cl_keys > cr_keys))  # open at the end of its creation period
            from_start = self.tl & (cr_keys < cl_keys)  # open at the start of its close period
            oflags = self.tl.astype(np.int32) + 2 * self.has_amount + 4 * self.cycle_ok
            self._keys[cache] = {
                "created": ((cr.code.astype(np.int64) * S + self.status) * F + self.static_code).astype(np.int32),
                "outcomes": ((cl.code.astype(np.int64) * S + self.status) * 8 + oflags).astype(np.int32),
                "so_n": still_open,
                "so_cents": np.where(still_open, self.cents, 0.0),
                "fs_n": from_start,
                "fs_cents": np.where(from_start, self.cents, 0.0),
            }
        return self._keys[cache]

    def can_run(self, q: Query) -> bool:
        """Whether the coded engine answers ``q`` (a filter on a date or number column does not)."""
        return all(
            col in LEVELS or col == "status" or pd.api.types.is_string_dtype(self.deals[col]) for col, _ in q.where
        )

    def _selected(self, q: Query) -> np.ndarray | None:
        """The rows ``where=`` keeps (None: all); the last few filters are kept."""
        if not q.where:
            return None
        if q.where in self._masks:
            self._masks.move_to_end(q.where)
            return self._masks[q.where]
        mask = np.ones(self.rows, dtype=bool)
        for col, values in q.where:
            wanted = set(values)
            if col in LEVELS:
                codes, labels, null = self.level(col)
                hit = np.fromiter((str(v) in wanted for v in labels), dtype=bool, count=len(labels))
                mask &= hit[codes] & ~null
            elif col == "status":
                hit = np.array([n in wanted for n in self.status_names])
                mask &= hit[self.status]
            else:
                s = self.deals[col]
                mask &= (s.astype(str).isin(wanted) & s.notna()).to_numpy(bool)
        self._masks[q.where] = mask
        if len(self._masks) > 8:
            self._masks.popitem(last=False)
        return mask

    def _in_range(self, days: np.ndarray, null: np.ndarray, q: Query) -> np.ndarray:
        if not q.periods_apply:  # without periods or a date range every deal is in range
            return np.ones(self.rows, dtype=bool)
        inside = ~null
        if q.scan_start is not None:
            s = q.scan_start
            inside &= days >= days_from_civil(s.year, s.month, s.day)
        if q.end is not None:
            e = q.end
            inside &= days <= days_from_civil(e.year, e.month, e.day)
        return inside

    # ----------------------------------------------------------------- stage 1
    def passes(self, q: Query, needs: set[str]) -> dict:
        """The raw tables of stage 1 for ``q`` (what the general engine's passes return)."""
        levels = list(q.by)
        sel = self._selected(q)
        lv = [(*self.level(name)[:2], name) for name in levels]
        cr, cl = self._key("cr", q), self._key("cl", q)
        cr_in = self._in_range(self.cr_days, self.cr_null, q)
        cl_in = self._in_range(self.cl_days, self.cl_null, q)
        raw: dict = {"rows_total": self.rows if q.where else None}

        d = self._derived(q)
        S, F = len(self.status_names), len(self.static_values)

        # pass 1, by creation: levels x (period, status, flags that do not depend on the range)
        # x (in range by creation, by close)
        dynamic = cr_in.astype(np.int64) + 2 * cl_in
        g, out = self._grouped(lv, sel, ("combined", d["created"], len(cr.values) * S * F), ("dynamic", dynamic, 4))
        key, rest = np.divmod(out.pop("combined"), S * F)
        status, static = np.divmod(rest, F)
        out["cr_key"] = cr.values[key]
        out["status"] = self._status_labels[status]
        out["flags"] = self.static_values[static] + out.pop("dynamic")
        out["n"] = g.counts
        out["cents"] = g.sum(self.cents)
        # the weighted cents and the still-open and from-start sums feed only the pipeline
        flows, none = "flows" in needs, np.zeros(len(g.counts))
        out["wcents"] = g.sum(self.wcents) if flows else none
        out["so_n"] = g.sum(d["so_n"]).round().astype(np.int64) if flows else none.astype(np.int64)
        out["so_cents"] = g.sum(d["so_cents"]) if flows else none
        raw["created"] = pd.DataFrame(out)

        if "outcomes" in needs or "flows" in needs:
            closed = self.closed if sel is None else self.closed & sel
            g, out = self._grouped(
                lv, closed, ("combined", d["outcomes"], len(cl.values) * S * 8), ("cl_in", cl_in.astype(np.int64), 2)
            )
            key, rest = np.divmod(out.pop("combined"), S * 8)
            status, oflags = np.divmod(rest, 8)
            out["cl_key"] = cl.values[key]
            out["status"] = self._status_labels[status]
            out["cl_in"] = out.pop("cl_in")  # (the general engine's column order)
            out["oflags"] = oflags
            out["n"] = g.counts
            out["cents"] = g.sum(self.cents)
            none = np.zeros(len(g.counts))
            out["wcents"] = g.sum(self.wcents) if flows else none
            out["cycle_sum"] = g.sum(self.cycle_sum)
            out["fs_n"] = g.sum(d["fs_n"]).round().astype(np.int64) if flows else none.astype(np.int64)
            out["fs_cents"] = g.sum(d["fs_cents"]) if flows else none
            raw["outcomes"] = pd.DataFrame(out)
            raw["closed_in"] = self._closed_in(q, lv, cl, cl_in & closed, "lost_cycle" in needs)
        if "cycle_hist" in needs:
            rows = self.closed & cl_in & self.cycle_ok
            if sel is not None:
                rows &= sel
            weeks = np.minimum(self.cycle_sum // 7, CYCLE_WEEKS_CAP).astype(np.int64)
            g, out = self._grouped(
                lv, rows, ("status", self.status, self._status_labels), ("weeks", weeks, CYCLE_WEEKS_CAP + 1)
            )
            out["n"] = g.counts
            raw["cycle_hist"] = (
                pd.DataFrame(out).sort_values([*levels, "status", "weeks"], kind="stable").reset_index(drop=True)
            )
        if ("coverage" in needs and q.freq is not None) or "open_expected" in needs:
            ex = self._key("ex", q)
        if "coverage" in needs and q.freq is not None:
            rows = self.tl & ~self.ex_null & (cr.keys < ex.keys) & (self.cl_null | (cl.keys >= ex.keys))
            if sel is not None:
                rows &= sel
            g, out = self._grouped(lv, rows, ("ex_key", ex.code, ex.values))
            out["n"] = g.counts
            out["cents"] = g.sum(self.cents)
            raw["next_expected"] = pd.DataFrame(out)
        if "open_expected" in needs:
            rows = (self.status == _OPEN) & ~self.ex_null
            if q.periods_apply:
                rows &= self._in_range(self.ex_days, self.ex_null, q)
            if sel is not None:
                rows &= sel
            g, out = self._grouped(lv, rows, ("ex_key", ex.code, ex.values))
            out["n"] = g.counts
            out["amount_n"] = g.sum(self.has_amount).round().astype(np.int64)
            out["cents"] = g.sum(self.cents)
            out["median_amount"] = g.median(self.amount)
            raw["open_expected"] = pd.DataFrame(out)
        raw["selection"] = _Selection(self, q, sel, lv)
        return raw

    @staticmethod
    def _labels(lv, parts) -> dict[str, np.ndarray]:
        return {name: labels[part] for (_, labels, name), part in zip(lv, parts)}

    @property
    def _status_labels(self) -> np.ndarray:
        return np.asarray(self.status_names, dtype=object)

    def _grouped(self, lv, rows: np.ndarray | None, *keys) -> tuple[_Groups, dict[str, np.ndarray]]:
        """Group ``rows`` by the levels and ``keys`` (``(name, codes, values)``, where
        ``values[code]`` is the key, or ``(name, codes, size)`` for keys that are their codes):
        the groups and their key columns."""
        sizes = [len(k[2]) if isinstance(k[2], np.ndarray) else k[2] for k in keys]
        g = _Groups([*[(c, len(lab)) for c, lab, _ in lv], *[(k[1], size) for k, size in zip(keys, sizes)]], rows)
        parts = g.parts()
        out = self._labels(lv, parts)
        for (name, _, values), part in zip(keys, parts[len(lv) :]):
            out[name] = values[part] if isinstance(values, np.ndarray) else part
        return g, out

    def _closed_in(self, q: Query, lv, cl: _Key, closed_in: np.ndarray, lost_cycle: bool) -> pd.DataFrame:
        """Exact medians (and per-channel won cents) of the won deals closed in range."""
        frames = []
        for status in (_WON, _LOST) if lost_cycle else (_WON,):
            rows = closed_in & (self.status == status)
            g, out = self._grouped(lv, rows, ("cl_key", cl.code, cl.values))
            out["status"] = np.full(len(g.counts), self.status_names[status], dtype=object)
            out["cycle_median"] = g.median(self.cycle_nan)
            if status == _WON:
                out["median_amount"] = g.median(self.amount)
                if "channel" not in q.by:
                    codes, labels, _ = self.level("channel")
                    by_channel = g.sums_by(codes, len(labels), self.cents)
                    for ch in CHANNELS:
                        hit = np.flatnonzero(labels == ch)
                        out[f"cents_{ch}"] = by_channel[:, hit[0]] if len(hit) else np.zeros(len(g.counts))
            frames.append(pd.DataFrame(out))
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


class _Groups:
    """Rows (all, or those of a mask) grouped by integer codes: ``parts=[(codes, size), ...]``."""

    def __init__(self, parts: list[tuple[np.ndarray, int]], mask: np.ndarray | None):
        self.sizes = [max(int(size), 1) for _, size in parts]
        space = int(np.prod(self.sizes, dtype=np.float64))
        n = len(parts[0][0])
        # a mask keeping few rows: work on those rows; else on all, the others in a spare bin
        self.mask = mask
        self.rows = None if mask is None or np.count_nonzero(mask) > n // 2 else np.flatnonzero(mask)
        code = np.zeros(n if self.rows is None else len(self.rows), dtype=np.int64)
        for values, size in zip((v for v, _ in parts), self.sizes):
            code *= size
            code += values if self.rows is None else values[self.rows]
        if space < _DENSE:
            if self.rows is None and mask is not None:
                code[~mask] = space
            counts = np.bincount(code, minlength=space + 1)
            self.cells = np.flatnonzero(counts[:space])
            self.counts = counts[self.cells].astype(np.int64)
            self._code, self._size, self._dense = code, space + 1, True
        else:  # many levels at once: number the cells that occur
            if self.rows is None and mask is not None:
                self.rows = np.flatnonzero(mask)
                code = code[self.rows]
            inverse, cells = pd.factorize(code, sort=True)
            self.cells = np.asarray(cells, dtype=np.int64)
            self.counts = np.bincount(inverse, minlength=len(self.cells)).astype(np.int64)
            self._code, self._size, self._dense = inverse, len(self.cells), False

    def parts(self) -> list[np.ndarray]:
        """Each group's code in every part."""
        out, rest = [], self.cells
        for size in reversed(self.sizes):
            out.append(rest % size)
            rest = rest // size
        return out[::-1]

    def _take(self, values: np.ndarray) -> np.ndarray:
        return values if self.rows is None else values[self.rows]

    def sum(self, weights: np.ndarray) -> np.ndarray:
        """The sum of ``weights`` (one per row of the table) in each group."""
        out = np.bincount(self._code, weights=self._take(weights).astype(float, copy=False), minlength=self._size)
        return out[self.cells] if self._dense else out

    def sums_by(self, codes: np.ndarray, size: int, weights: np.ndarray) -> np.ndarray:
        """Sums of ``weights`` in each group x code (a ``groups x size`` array)."""
        size = max(size, 1)
        out = np.bincount(
            self._code * size + self._take(codes),
            weights=self._take(weights).astype(float, copy=False),
            minlength=self._size * size,
        ).reshape(-1, size)
        return out[self.cells] if self._dense else out

    def median(self, values: np.ndarray) -> np.ndarray:
        """The exact median of each group's non-missing values (NaN when it has none)."""
        if len(self.cells) == 1:  # one group (totals): a selection, no grouping
            vals = self._take(values)
            if self._dense and self.mask is not None and self.rows is None:
                vals = vals[self.mask]
            vals = vals[~np.isnan(vals)]
            return np.array([np.median(vals) if len(vals) else np.nan])
        # (rows in the spare bin make a group of their own, which the reindex drops)
        med = pd.Series(self._take(values), dtype=float).groupby(self._code).median()
        return med.reindex(self.cells if self._dense else np.arange(len(self.cells))).to_numpy(float)


class _Selection:
    """The rows a query selected, for the questions stage 2 asks later (snapshots, last date)."""

    def __init__(self, prepared: PreparedDeals, q: Query, sel: np.ndarray | None, lv):
        self.p, self.q, self.sel, self.lv = prepared, q, sel, lv

    def snapshot(self, as_of: pd.Timestamp) -> pd.DataFrame:
        """Open deals as of the end of ``as_of`` per group: n, cents, wcents."""
        p = self.p
        a = days_from_civil(as_of.year, as_of.month, as_of.day)
        rows = p.tl & (p.cr_days <= a) & (p.cl_null | (p.cl_days > a))
        if self.sel is not None:
            rows &= self.sel
        if not self.lv:
            return pd.DataFrame(
                {"n": [int(rows.sum())], "cents": [float(p.cents[rows].sum())], "wcents": [float(p.wcents[rows].sum())]}
            )
        g, out = p._grouped(self.lv, rows)
        out.update(n=g.counts, cents=g.sum(p.cents), wcents=g.sum(p.wcents))
        levels = [name for _, _, name in self.lv]
        return pd.DataFrame(out).sort_values(levels, kind="stable").reset_index(drop=True)

    def last_date(self) -> pd.Timestamp | None:
        """The last created or close date of the selected deals; None when there is none."""
        p = self.p
        days = []
        for d, null in ((p.cr_days, p.cr_null), (p.cl_days, p.cl_null)):
            ok = ~null if self.sel is None else ~null & self.sel
            if ok.any():
                days.append(int(d[ok].max()))
        return pd.Timestamp("1970-01-01") + pd.Timedelta(days=max(days)) if days else None
