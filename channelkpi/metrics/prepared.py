"""The prepared backend of stage 1: deals coded once for many KPI calls, as array arithmetic.

A dashboard or a notebook asks many questions of the same table: every control change is
three or four KPI calls. Each call of the lazy backend derives the same things from every
row again (days from dates, period keys, cents, flags, the groups' text). :func:`prepare`
derives them once, by the same row rules (:mod:`channelkpi.metrics.rules`); the passes of
stage 1 (:class:`PreparedStage1`) then are integer group codes and ``numpy.bincount`` over
those arrays, and they hand stage 2 exactly the tables the lazy backend hands it, so every
KPI gives the same numbers (the test suite compares the two backends' tables on many random
selections).

It earns its place by speed: on the dashboard benchmark (1 M deals) the lazy backend over a
DuckDB table with those row rules already applied takes about twice as long per control
change (``benchmarks/dashboard.py --base-table``).

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
from ..schema import CHANNELS, STATUSES
from . import rules
from .canonical import canonical_pandas, column_names, deals_of, dimensions_of, lines_of
from .contract import Passes
from .products import deals_by_line, line_levels, line_query
from .query import Query

__all__ = ["PreparedDeals", "PreparedStage1", "prepare"]

_DENSE = 1 << 22  # group codes up to this many cells are counted in a dense array
_OPEN, _WON, _LOST = (STATUSES.index(s) for s in ("open", "won", "lost"))


def prepare(deals, *, columns=None) -> PreparedDeals:
    """Code a deals table once so that many KPI calls on it run faster, with the same numbers.

    Parameters
    ----------
    deals : pandas.DataFrame or LoadResult
        The canonical deals table (from :func:`channelkpi.read_crm`), or a table whose
        columns ``columns=`` renames to the canonical names, or a :func:`channelkpi.load_crm`
        result (its partners and owners without deals then show in grouped results).
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
    """Day numbers and month indexes (0 when missing) and the missing mask."""
    if getattr(series.dt, "tz", None) is not None:
        series = series.dt.tz_localize(None)  # the wall-clock date, as the other engines read it
    return rules.numpy_dates(series.to_numpy())


class _Key:
    """Period keys of one date column as dense codes: ``values[code]`` is the key."""

    def __init__(self, keys: np.ndarray, null: np.ndarray):
        if null.all():
            self.code = np.zeros(len(keys), dtype=np.int32)
            self.values = np.array([rules.NULL_KEY], dtype=np.int64)
            return
        real = keys[~null]
        lo, hi = int(real.min()), int(real.max())
        self.code = np.where(null, hi - lo + 1, keys - lo).astype(np.int32)
        self.values = np.append(np.arange(lo, hi + 1, dtype=np.int64), rules.NULL_KEY)

    @property
    def keys(self) -> np.ndarray:
        """The key of every row (:data:`~channelkpi.metrics.rules.NULL_KEY` without a date)."""
        return self.values[self.code]


class PreparedDeals:
    """A canonical deals table with its row-level values derived once (see :func:`prepare`)."""

    def __init__(self, deals, *, columns=None):
        #: the partner and owner tables of a load result (their names show in grouped results)
        self.dimensions = dimensions_of(deals)
        #: the line items of a load result (``by="product"`` reads them, see :meth:`for_query`)
        self.lines = lines_of(deals)
        deals = deals_of(deals)
        if isinstance(deals, PreparedDeals):
            deals = deals.deals
        if not isinstance(deals, pd.DataFrame):
            raise ChannelKPIError(
                f"prepare() codes a pandas table; this is a {type(deals).__name__}",
                fix="pass a pandas table or a load_crm result; polars, DuckDB and Spark tables go "
                "straight to the KPI functions, which run on their engine",
            )
        deals = canonical_pandas(deals, columns)
        self.deals = deals
        self.rows = len(deals)
        #: the columns, and those of them a KPI can group by (text)
        self.names, self.text = column_names(deals, [])
        codes, uniques = pd.factorize(deals["status"])
        names = [str(u) for u in uniques] + ["nan"]  # code -1 (a missing status) reads as "nan"
        # open, won, lost have codes 0, 1, 2 whether or not they occur; anything else follows
        self.status_names = [*STATUSES, *dict.fromkeys(n for n in names if n not in STATUSES)]
        remap = np.array([self.status_names.index(n) for n in names], dtype=np.int64)
        self.status = remap[codes].astype(np.int32)
        self.cr_days, self.cr_months, self.cr_null = _dates(deals["created"])
        self.cl_days, self.cl_months, self.cl_null = _dates(deals["closed"])
        self.ex_days, self.ex_months, self.ex_null = _dates(deals["expected_close"])
        amount = deals["amount"].to_numpy(dtype=float, na_value=np.nan)
        probability = deals["probability"].to_numpy(dtype=float, na_value=np.nan)
        self.amount = amount
        no_amount = np.isnan(amount)
        self.has_amount = ~no_amount
        with np.errstate(invalid="ignore"):
            self.cents = np.where(no_amount, 0.0, rules.cents(amount, np.floor))
            self.wcents = np.where(no_amount | np.isnan(probability), 0.0, rules.cents(amount * probability, np.floor))
        both = ~self.cr_null & ~self.cl_null
        diff = self.cl_days - self.cr_days
        self.cbc = both & (diff < 0)
        self.cycle_ok = both & (diff >= 0)
        self.cycle_sum = np.where(self.cycle_ok, diff, 0).astype(float)  # days, as weights
        self.cycle_nan = np.where(self.cycle_ok, self.cycle_sum, np.nan)  # for medians
        self.closed = (self.status == _WON) | (self.status == _LOST)
        # on a timeline (the as-of pipeline): created, closed with a date once closed, not closed before created
        self.tl = ~self.cr_null & ~self.cbc & ((self.status == _OPEN) | ~self.cl_null)
        # the pass by creation's flags that do not depend on the query, packed (the others, in
        # range or not, are added per query: their bits are apart)
        static = rules.CREATED_FLAGS.pack_arrays(
            {name: getattr(self, name) for name in ("cl_null", "cr_null", "cbc", "has_amount", "ex_null")}
        )
        present = np.bincount(static, minlength=rules.CREATED_FLAGS.size) > 0
        self.static_values = np.flatnonzero(present)
        self.static_code = (np.cumsum(present) - 1).astype(np.int32)[static]
        self._levels: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._keys: dict[tuple, object] = {}  # period keys and what derives from them, per period size
        self._masks: OrderedDict = OrderedDict()
        self._span: tuple | None = None
        self._by_line: OrderedDict = OrderedDict()  # prepared deal x line tables, per line query

    def for_query(self, q: Query) -> PreparedDeals:
        """The prepared deals that answer ``q``: these, or, when ``q`` groups or filters by a
        line column (``product``), the deal x line table
        (:func:`channelkpi.metrics.products.deals_by_line`), prepared on first use and kept (the
        last few), so the next question by product costs only the grouping."""
        asked = line_query(q.by, q.where, line_levels(self.lines))
        if asked is None:
            return self
        if asked not in self._by_line:
            at, filters = asked
            table = deals_by_line(self.deals, self.lines, by=at, where=filters)
            prepared = PreparedDeals(table)
            prepared.dimensions = self.dimensions
            self._by_line[asked] = prepared
            while len(self._by_line) > 4:  # each is a prepared table as large as the lines
                self._by_line.popitem(last=False)
        self._by_line.move_to_end(asked)
        return self._by_line[asked]

    def __len__(self) -> int:
        return self.rows

    def __repr__(self) -> str:
        return f"PreparedDeals({self.rows:,} deals)"

    def date_span(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        """The first and last created or close date (None, None without any)."""
        if self._span is None:
            days = np.concatenate([self.cr_days[~self.cr_null], self.cl_days[~self.cl_null]])
            epoch = pd.Timestamp(rules.EPOCH)
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
            days, months, null = {
                "cr": (self.cr_days, self.cr_months, self.cr_null),
                "cl": (self.cl_days, self.cl_months, self.cl_null),
                "ex": (self.ex_days, self.ex_months, self.ex_null),
            }[which]
            if q.freq is None:  # one period: every deal is in it, with or without the date
                null = np.zeros(self.rows, dtype=bool)
            self._keys[cache] = _Key(rules.numpy_key(days, months, null, q.freq, q.fiscal_year_start), null)
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
            outcome = rules.OUTCOME_FLAGS
            oflags = outcome.pack_arrays({"tl": self.tl, "has_amount": self.has_amount, "cyc_n": self.cycle_ok})
            self._keys[cache] = {
                "created": ((cr.code.astype(np.int64) * S + self.status) * F + self.static_code).astype(np.int32),
                "outcomes": ((cl.code.astype(np.int64) * S + self.status) * outcome.size + oflags).astype(np.int32),
                "so_n": still_open,
                "so_cents": np.where(still_open, self.cents, 0.0),
                "fs_n": from_start,
                "fs_cents": np.where(from_start, self.cents, 0.0),
            }
        return self._keys[cache]

    def can_run(self, q: Query) -> bool:
        """Whether the coded engine answers ``q`` (a filter on a date or number column does not)."""
        return all(col in self.text for col, _ in q.where)

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
            if col == "status":
                hit = np.array([n in wanted for n in self.status_names])
                mask &= hit[self.status]
            elif col in self.text:  # a level, a kept field, a partner table's column
                codes, labels, null = self.level(col)
                hit = np.fromiter((str(v) in wanted for v in labels), dtype=bool, count=len(labels))
                mask &= hit[codes] & ~null
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
        first, last = q.day_range
        if first is not None:
            inside &= days >= first
        if last is not None:
            inside &= days <= last
        return inside

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


class PreparedStage1:
    """Stage 1 on prepared deals (see :class:`channelkpi.metrics.contract.Stage1`): integer
    group codes and ``numpy.bincount`` over the arrays :class:`PreparedDeals` coded once."""

    engine = "numpy"

    def __init__(self, prepared: PreparedDeals, q: Query, needs):
        self.p, self.q, self.needs = prepared, q, frozenset(needs)
        self.sel = prepared._selected(q)
        self.lv = [(*prepared.level(name)[:2], name) for name in q.by]

    def passes(self) -> Passes:
        """The raw tables of stage 1 (see :mod:`channelkpi.metrics.contract`)."""
        p, q, needs, sel, lv = self.p, self.q, self.needs, self.sel, self.lv
        levels = list(q.by)
        cr, cl = p._key("cr", q), p._key("cl", q)
        cr_in = p._in_range(p.cr_days, p.cr_null, q)
        cl_in = p._in_range(p.cl_days, p.cl_null, q)
        d = p._derived(q)
        S, F = len(p.status_names), len(p.static_values)
        status_labels = p._status_labels
        tables: dict[str, pd.DataFrame] = {}

        # pass 1, by creation: levels x (period, status, flags that do not depend on the range)
        # x (in range by creation, by close)
        dynamic = rules.CREATED_FLAGS.pack_arrays({"cr_in": cr_in, "cl_in": cl_in})
        g, out = p._grouped(
            lv,
            sel,
            ("combined", d["created"], len(cr.values) * S * F),
            ("dynamic", dynamic, rules.CREATED_FLAGS.size),
        )
        key, rest = np.divmod(out.pop("combined"), S * F)
        status, static = np.divmod(rest, F)
        out["cr_key"] = cr.values[key]
        out["status"] = status_labels[status]
        out["flags"] = p.static_values[static] + out.pop("dynamic")
        out["n"] = g.counts
        out["cents"] = g.sum(p.cents)
        # the weighted cents and the still-open and from-start sums feed only the pipeline
        flows, none = "flows" in needs, np.zeros(len(g.counts))
        out["wcents"] = g.sum(p.wcents) if flows else none
        out["so_n"] = g.sum(d["so_n"]).round().astype(np.int64) if flows else none.astype(np.int64)
        out["so_cents"] = g.sum(d["so_cents"]) if flows else none
        tables["created"] = pd.DataFrame(out)

        if "outcomes" in needs or flows:
            closed = p.closed if sel is None else p.closed & sel
            size = rules.OUTCOME_FLAGS.size
            g, out = p._grouped(
                lv, closed, ("combined", d["outcomes"], len(cl.values) * S * size), ("cl_in", cl_in.astype(np.int64), 2)
            )
            key, rest = np.divmod(out.pop("combined"), S * size)
            status, oflags = np.divmod(rest, size)
            out["cl_key"] = cl.values[key]
            out["status"] = status_labels[status]
            out["cl_in"] = out.pop("cl_in")  # (the lazy backend's column order)
            out["oflags"] = oflags
            out["n"] = g.counts
            out["cents"] = g.sum(p.cents)
            none = np.zeros(len(g.counts))
            out["wcents"] = g.sum(p.wcents) if flows else none
            out["cycle_sum"] = g.sum(p.cycle_sum)
            out["fs_n"] = g.sum(d["fs_n"]).round().astype(np.int64) if flows else none.astype(np.int64)
            out["fs_cents"] = g.sum(d["fs_cents"]) if flows else none
            tables["outcomes"] = pd.DataFrame(out)
            tables["closed_in"] = self._closed_in(cl, cl_in & closed, "lost_cycle" in needs)
        if "cycle_hist" in needs:
            rows = p.closed & cl_in & p.cycle_ok
            if sel is not None:
                rows &= sel
            weeks = np.minimum(p.cycle_sum // 7, rules.CYCLE_WEEKS_CAP).astype(np.int64)
            g, out = p._grouped(
                lv, rows, ("status", p.status, status_labels), ("weeks", weeks, rules.CYCLE_WEEKS_CAP + 1)
            )
            out["n"] = g.counts
            tables["cycle_hist"] = (
                pd.DataFrame(out).sort_values([*levels, "status", "weeks"], kind="stable").reset_index(drop=True)
            )
        if ("coverage" in needs and q.freq is not None) or "open_expected" in needs:
            ex = p._key("ex", q)
        if "coverage" in needs and q.freq is not None:
            rows = p.tl & ~p.ex_null & (cr.keys < ex.keys) & (p.cl_null | (cl.keys >= ex.keys))
            if sel is not None:
                rows &= sel
            g, out = p._grouped(lv, rows, ("ex_key", ex.code, ex.values))
            out["n"] = g.counts
            out["cents"] = g.sum(p.cents)
            tables["next_expected"] = pd.DataFrame(out)
        if "open_expected" in needs:
            rows = (p.status == _OPEN) & ~p.ex_null
            if q.periods_apply:
                rows &= p._in_range(p.ex_days, p.ex_null, q)
            if sel is not None:
                rows &= sel
            g, out = p._grouped(lv, rows, ("ex_key", ex.code, ex.values))
            out["n"] = g.counts
            out["amount_n"] = g.sum(p.has_amount).round().astype(np.int64)
            out["cents"] = g.sum(p.cents)
            out["median_amount"] = g.median(p.amount)
            tables["open_expected"] = pd.DataFrame(out)
        return Passes(tables, p.rows if q.where else None)

    def _closed_in(self, cl: _Key, closed_in: np.ndarray, lost_cycle: bool) -> pd.DataFrame:
        """Exact medians (and per-channel won cents) of the won deals closed in range."""
        p, lv = self.p, self.lv
        frames = []
        for status in (_WON, _LOST) if lost_cycle else (_WON,):
            rows = closed_in & (p.status == status)
            g, out = p._grouped(lv, rows, ("cl_key", cl.code, cl.values))
            out["status"] = np.full(len(g.counts), p.status_names[status], dtype=object)
            out["cycle_median"] = g.median(p.cycle_nan)
            if status == _WON:
                out["median_amount"] = g.median(p.amount)
                if "channel" not in self.q.by:
                    codes, labels, _ = p.level("channel")
                    by_channel = g.sums_by(codes, len(labels), p.cents)
                    for ch in CHANNELS:
                        hit = np.flatnonzero(labels == ch)
                        out[f"cents_{ch}"] = by_channel[:, hit[0]] if len(hit) else np.zeros(len(g.counts))
            frames.append(pd.DataFrame(out))
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    def snapshot(self, as_of: pd.Timestamp) -> pd.DataFrame:
        """Open deals as of the end of ``as_of`` per group: n, cents, wcents."""
        p = self.p
        a = rules.day_number(as_of)
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
        return pd.Timestamp(rules.EPOCH) + pd.Timedelta(days=max(days)) if days else None


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
