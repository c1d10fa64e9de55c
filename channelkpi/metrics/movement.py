"""Pipeline movement: how each group's open pipeline went from one period end to the next.

For a period P, ``t0`` is the end of the period before (the last instant before P begins) and
``t1`` the end of P (its last instant, :func:`channelkpi.history.end_of`): a change dated the
first day of a period belongs to that period, as a deal created that day does in every KPI. The *measured pipeline* at an instant is the deals open
then -- with ``close_window=``, only those expected to close inside the window; with
``where=``, only those whose state then passes the filter. Every deal in the measured
pipeline at ``t0`` or ``t1`` lands in exactly one bucket, decided in this order:

1. in at ``t0`` only: ``removed`` (deleted or gone from the export at ``t1``), else ``won`` /
   ``lost`` (closed at ``t1``), else ``pushed_out`` (still open, expected close now outside
   the window), else ``transferred_out`` (still open, now outside the ``where=`` selection);
2. in at ``t1`` only: ``new`` (not open at ``t0``: created since, reopened, or back in the
   export), else ``pulled_in`` (open at ``t0`` with its expected close outside the window),
   else ``transferred_in`` (open at ``t0`` outside the selection);
3. in at both: ``transferred`` (its group -- the ``by=`` levels or the currency -- changed:
   ``transferred_out`` of the old group at its ``t0`` amount, ``transferred_in`` to the new
   one at its ``t1`` amount), else ``increased`` / ``decreased`` by the amount change, else
   ``unchanged``.

So per group ``start + new + pulled_in + increased - decreased - pushed_out - won - lost -
removed + transferred_in - transferred_out = end``, in integer cents, and ``end`` of P is
``start`` of P+1. A deal whose history begins inside P and that is won or lost at ``t1`` is
the ``memo`` line (count and amount at ``t1``), not a bucket. A missing amount counts as 0.

Examples
--------
>>> import pandas as pd
>>> from channelkpi.history import History, make_intervals
>>> from channelkpi.schema import validate_deals
>>> rows = pd.DataFrame({
...     "deal_id": ["A", "A", "B"],
...     "valid_from": pd.to_datetime(["2025-01-05", "2025-02-10", "2025-02-03"]),
...     "status": ["open", "open", "open"], "amount": [100.0, 80.0, 50.0], "partner": ["Acme"] * 3,
...     "created": pd.to_datetime(["2025-01-05", "2025-01-05", "2025-02-03"])})
>>> deals = validate_deals(pd.DataFrame({"deal_id": ["A", "B"], "status": ["open", "open"],
...                                      "partner": ["Acme", "Acme"]}))
>>> history = History(intervals=make_intervals(rows), deals=deals, ledger=pd.DataFrame(), source="example",
...                   known=frozenset({"amount"}), stages=None, as_of=pd.Timestamp("2025-02-28"))
>>> pipeline_movement(history)[["period", "start", "new", "decreased", "end"]]
    period  start   new  decreased    end
0  2025-01    0.0  100.0        0.0  100.0
1  2025-02  100.0   50.0       20.0  130.0
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ChannelKPIError
from ..history import History
from ..types import By, DateLike, Freq, Where
from .definitions import DEFINITIONS
from .derived import derived
from .finish import amounts_from_cents
from .periods import period_frame
from .query import Query, check_columns, date_range, make_query

__all__ = ["BUCKETS", "SIGNS", "MEASURES", "pipeline_movement", "movement_deals"]

#: The movement buckets, in the order of the waterfall.
BUCKETS: tuple[str, ...] = (
    "new",
    "pulled_in",
    "increased",
    "decreased",
    "pushed_out",
    "won",
    "lost",
    "removed",
    "transferred_in",
    "transferred_out",
)
#: How each bucket enters the balance ``start + sum(sign * bucket) = end``.
SIGNS: Mapping[str, int] = {
    "new": 1,
    "pulled_in": 1,
    "increased": 1,
    "decreased": -1,
    "pushed_out": -1,
    "won": -1,
    "lost": -1,
    "removed": -1,
    "transferred_in": 1,
    "transferred_out": -1,
}
#: Every measure of a movement row: the two ends, the buckets, the deals that did not move and
#: the memo line (created and closed inside the period).
MEASURES: tuple[str, ...] = ("start", *BUCKETS, "end", "unchanged", "memo")
_CODE = {m: i for i, m in enumerate(MEASURES)}
_NONE = "(none)"  # the group of a missing level value, as the KPI tables show it
_MAX = np.iinfo(np.int64).max


@dataclass(frozen=True)
class _Grid:
    """The periods of a movement: boundary ``i`` is the end of period ``i - 1``."""

    bounds: np.ndarray  # datetime64[ns], one more than the periods
    periods: pd.DataFrame  # period, period_start, period_end (one row per period)


@dataclass(frozen=True)
class _Rows:
    """One row per deal and measure it counts in: the interval rows at both ends, the period,
    the group it counts in and the cents it carries."""

    i0: np.ndarray  # interval row at t0, -1 when the deal had no state then
    i1: np.ndarray  # interval row at t1
    period: np.ndarray
    measure: np.ndarray
    group: np.ndarray
    cents: np.ndarray


# --------------------------------------------------------------------------- options
def _window(close_window) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """``close_window=`` as its first and last day (inclusive)."""
    if close_window is None:
        return None
    if isinstance(close_window, str):
        text = close_window.strip()
        if not re.fullmatch(r"\d{4}(-\d{2})?", text):
            raise ChannelKPIError(
                f"close_window={close_window!r} is not a month or a year",
                fix="pass 'YYYY' or 'YYYY-MM', or a pair of days (first, last)",
            )
        return date_range(text, text)
    try:
        first, last = close_window
    except (TypeError, ValueError):
        raise ChannelKPIError(
            f"close_window={close_window!r} is not a window",
            fix="pass a pair of days (first, last), e.g. ('2025-10-01', '2025-12-31'), or 'YYYY' / 'YYYY-MM'",
        ) from None
    first, last = date_range(first, last)
    if first is None or last is None:
        raise ChannelKPIError("close_window= needs a first and a last day", fix="pass ('YYYY-MM-DD', 'YYYY-MM-DD')")
    return first, last


def _query(history, by, freq, start, end, fiscal_year_start, where) -> Query:
    if not isinstance(history, History):
        raise ChannelKPIError(
            f"pipeline movement needs a History, not {type(history).__name__}",
            fix="read the history with channelkpi.load_history(...) (a history file or dated snapshots)",
        )
    q = make_query(by=by, freq=freq, start=start, end=end, fiscal_year_start=fiscal_year_start, where=where)
    iv, deals = history.intervals, history.deals
    names = [*map(str, iv.columns), *(str(c) for c in deals.columns if c not in iv.columns)]
    text = [c for c in ("stage", "partner", "owner") if c in iv.columns]
    text += [
        str(c)
        for c in deals.columns
        if c not in text
        and (
            pd.api.types.is_object_dtype(deals[c].dtype)
            or isinstance(deals[c].dtype, pd.StringDtype | pd.CategoricalDtype)
        )
    ]
    check_columns(q, names, text)
    return q


def _grid(history: History, q: Query) -> _Grid:
    iv = history.intervals
    first_seen = iv["valid_from"].min() if len(iv) else pd.NaT
    last_seen = max(history.as_of, iv["valid_from"].max()) if len(iv) else history.as_of
    if q.freq is None:
        t0 = q.start if q.start is not None else first_seen
        t1 = (q.end if q.end is not None else last_seen).normalize() + pd.Timedelta(days=1)
        if pd.isna(t0) or pd.isna(t1) or t1 <= t0:
            return _Grid(np.array([], dtype="datetime64[ns]"), _periods_frame([], [], []))
        last = (t1 - pd.Timedelta(1)).normalize()
        label = f"{t0.date()} - {last.date()}"
        return _Grid(np.array([t0, t1], dtype="datetime64[ns]"), _periods_frame([label], [t0], [last]))
    if q.start is not None:
        lo = q.key(q.start)
    elif pd.notna(first_seen):
        lo = q.key(first_seen)
    else:
        lo = None
    # the last period: the one holding as_of (a change dated the 1st belongs to the new month)
    hi = q.key(q.end) if q.end is not None else (q.key(last_seen) if pd.notna(last_seen) else None)
    if lo is None or hi is None or hi < lo:
        return _Grid(np.array([], dtype="datetime64[ns]"), _periods_frame([], [], []))
    frame = period_frame(range(lo, hi + 2), q.freq, q.fiscal_year_start)
    bounds = frame["period_start"].to_numpy("datetime64[ns]")
    frame = frame.iloc[:-1]
    return _Grid(bounds, _periods_frame(frame["period"], frame["period_start"], frame["period_end"]))


def _periods_frame(labels, starts, ends) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": pd.Series(list(labels), dtype=object),
            "period_start": pd.Series(list(starts), dtype="datetime64[ns]"),
            "period_end": pd.Series(list(ends), dtype="datetime64[ns]"),
        }
    )


# --------------------------------------------------------------------------- the buckets
def _by_deal(history: History, col: str, deal_ids: pd.Index) -> pd.Series:
    """A deals-table column aligned to ``deal_ids`` (the deals the intervals name)."""
    deals = derived(
        history, "deals_by_id", lambda: history.deals.drop_duplicates("deal_id", keep="last").set_index("deal_id")
    )
    return deals[col].reindex(deal_ids)


def _level_codes(
    history: History, col: str, codes: np.ndarray, deal_ids: pd.Index, rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``col`` per interval row (of ``rows``, default all; ``codes``: their deals) as codes into
    its distinct values (a missing one included): factorized where it lives, so a level of the
    deals table costs one pass over the deals."""
    if col in history.intervals.columns:
        # the same for every call on this history: coded once
        part, uniques = derived(history, ("interval_codes", col), lambda: _factorized(history.intervals[col]))
        return (part if rows is None else part[rows]), uniques
    part, uniques = _factorized(_by_deal(history, col, deal_ids))
    return part[codes], uniques


def _factorized(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    part, uniques = pd.factorize(values, use_na_sentinel=False)
    return part, np.asarray(uniques, dtype=object)


def _groups(history, q: Query, codes, deal_ids, rows: np.ndarray | None = None) -> tuple[np.ndarray, pd.DataFrame]:
    """Each interval row's (of ``rows``, default all; ``codes``: their deals) group (the ``by=``
    levels and the currency) as a code, and the table of the groups' values by code."""
    n = len(codes)
    group, uniques = np.zeros(n, dtype=np.int64), np.zeros(1, dtype=np.int64)
    levels: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for col in (*q.by, "currency"):
        part, values = _level_codes(history, col, codes, deal_ids, rows)
        if col != "currency":
            values = np.array([_NONE if pd.isna(v) else str(v) for v in values], dtype=object)
        else:
            values = np.array([None if pd.isna(v) else v for v in values], dtype=object)
        levels[col] = (part, values)
        # kept compact after each level, so many levels never overflow
        group, uniques = pd.factorize(group * max(len(values), 1) + part)
    first = np.zeros(len(uniques), dtype=np.int64)
    first[group[::-1]] = np.arange(n - 1, -1, -1)  # a row of each group
    # typed as every value of the level is (as when every row is read), whichever rows are
    table = pd.DataFrame(
        {col: pd.Series(values[part[first]], dtype=pd.Series(values).dtype) for col, (part, values) in levels.items()}
    )
    return group.astype(np.int64), table


def _selected(history: History, q: Query, codes, deal_ids) -> np.ndarray:
    n = len(history.intervals)
    keep = np.ones(n, dtype=bool)
    for col, values in q.where:
        # as the rows' values would be tested, one distinct value at a time
        part, uniques = _level_codes(history, col, codes, deal_ids)
        raw = pd.Series(uniques, dtype=object)
        keep &= (raw.notna() & raw.astype(str).isin(values)).to_numpy(bool)[part]
    return keep


def _deal_runs(iv: pd.DataFrame, *, check: bool = True) -> tuple[np.ndarray, pd.Index] | None:
    """Each interval row's deal as a code (0, 1, ... in the order the deals come) and the deals'
    ids, when each deal's intervals are contiguous and in time order; else None.

    Found from where the id changes from one row to the next, so only the first row of each
    deal is hashed (the check that no deal comes back), not every row."""
    ids = iv["deal_id"]
    if not len(ids):
        return None
    new = ids.ne(ids.shift()).to_numpy(dtype=bool, na_value=True, copy=True)
    new[0] = True
    firsts = ids.iloc[np.flatnonzero(new)]
    if check:
        vf = iv["valid_from"].to_numpy("datetime64[ns]").view(np.int64)
        if firsts.nunique(dropna=False) < len(firsts) or not np.all(new[1:] | (np.diff(vf) > 0)):
            return None
    return np.cumsum(new, dtype=np.int64) - 1, pd.Index(firsts)


def _sorted(history: History) -> History:
    """``history`` with its intervals sorted by deal and time, as the lookups need (the model
    sorts them; a history built otherwise is sorted here, on a copy)."""
    iv = history.intervals
    if iv.empty or derived(history, "deal_runs", lambda: _deal_runs(iv)) is not None:
        return history
    codes = pd.factorize(iv["deal_id"], use_na_sentinel=False)[0]
    vf = iv["valid_from"].to_numpy("datetime64[ns]").view(np.int64)
    order = np.lexsort((vf, codes))
    return History(
        iv.iloc[order].reset_index(drop=True), history.deals, history.ledger, history.source,
        history.known, history.stages, history.as_of, history.warnings,
    )  # fmt: skip


def _movement_rows(
    history: History, q: Query, window, bounds: np.ndarray, *, steady: bool = False
) -> tuple[_Parts, pd.DataFrame]:
    """Every deal's contribution to every measure of every period (see the module docstring);
    ``history`` is :func:`_sorted`.

    With ``steady=True`` the periods in which a deal stays in one measured interval from ``t0``
    to ``t1`` (``unchanged``, and in ``start`` and ``end``: most deal x period pairs) are not
    listed but summed per group and period as runs (:class:`_Runs`); only the periods
    where a deal changes or arrives are listed."""
    iv = history.intervals
    n_periods = len(bounds) - 1
    c = _columns(history)
    # a period's state is read at its last instant (history.end_of): one nanosecond before the
    # boundary, so a change dated the first of a month belongs to that month
    b = bounds.view(np.int64) - 1
    # only the deals with a selected state at one of the boundaries can count: every contribution
    # (and the memo line) reads one; all of such a deal's rows are kept, in order
    rows, selected = _kept_rows(history, q, c, b)

    def take(values: np.ndarray) -> np.ndarray:
        return values if rows is None else values[rows]

    codes, vf, vt = take(c.codes), take(c.vf), take(c.vt)
    open_, won, lost, removed, cents = take(c.open_), take(c.won), take(c.lost), take(c.removed), take(c.cents)
    in_window = np.ones(len(codes), dtype=bool)
    if window is not None:
        close = iv["expected_close"]
        in_window = take(((close >= window[0]) & (close <= window[1])).to_numpy(bool))
    group, groups = _groups(history, q, codes, c.deal_ids, rows)
    measured = open_ & in_window & selected

    bf = np.searchsorted(b, vf, "left")  # the boundaries an interval holds at: [bf, bt)
    bt = np.searchsorted(b, vt, "left")
    width = n_periods + 2
    composite = codes * width + bf  # sorted: by deal, then time

    n_rows = len(codes)

    def search(deal: np.ndarray, boundary: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(composite, deal * width + boundary, "right") - 1
        safe = np.maximum(pos, 0)
        ok = (pos >= 0) & (codes[safe] == deal) & (bt[safe] > boundary)
        return np.where(ok, safe, -1)

    def at(deal: np.ndarray, boundary: np.ndarray, guess: np.ndarray) -> np.ndarray:
        """The interval row of ``deal`` valid at ``boundary`` (-1: none): the deal's last row
        that begins at or before it, if it lasts past it. ``guess`` (a neighbouring row, most
        often the one) is checked first; the rest are searched for."""
        if not len(deal):
            return np.zeros(0, dtype=np.int64)
        g = np.clip(guess, 0, n_rows - 1)
        after = np.minimum(g + 1, n_rows - 1)
        ok = (guess >= 0) & (guess < n_rows) & (codes[g] == deal) & (bf[g] <= boundary) & (bt[g] > boundary)
        ok &= (g == n_rows - 1) | (codes[after] != deal) | (bf[after] > boundary)  # the last such row
        out = np.where(ok, g, -1)
        rest = np.flatnonzero(~ok)
        if len(rest):
            out[rest] = search(deal[rest], boundary[rest])
        return out

    # (deal, period) pairs with the deal measured at one end at least, from the measured
    # intervals' boundaries: as t0 of the period that follows, as t1 of the one before
    rows_m = np.flatnonzero(measured & (bt > bf))
    first_b = bf[rows_m]
    runs = None
    if steady:
        # an interval measured at boundaries [bf, bt) spans the periods bf .. bt-2 unchanged; the
        # period of its last boundary (bt-1) is where it changes and is listed
        listed_from = np.maximum(first_b, np.minimum(bt[rows_m] - 1, n_periods))
        runs = _steady_runs(rows_m, first_b, listed_from, group, cents, len(groups), n_periods)
        if runs is not None:
            first_b = listed_from
    lens = bt[rows_m] - first_b
    rep = np.repeat(rows_m, lens)
    offset = np.arange(len(rep)) - np.repeat(np.cumsum(lens) - lens, lens)
    boundary = np.repeat(first_b, lens) + offset
    as_t0 = boundary < n_periods
    s_i0, s_p = rep[as_t0], boundary[as_t0]
    s_i1 = np.where(bt[s_i0] > s_p + 1, s_i0, -1)
    moved = s_i1 < 0
    s_i1[moved] = at(codes[s_i0[moved]], s_p[moved] + 1, s_i0[moved] + 1)
    # as t1 only when the deal was not measured at t0 (else the pair is already above): at the
    # first boundary of each measured interval
    arrives = bf[rows_m] >= 1
    e_i1, e_b = rows_m[arrives], bf[rows_m][arrives]
    e_i0 = at(codes[e_i1], e_b - 1, e_i1 - 1)
    fresh = (e_i0 < 0) | ~measured[np.maximum(e_i0, 0)]
    i0 = np.concatenate([s_i0, e_i0[fresh]])
    i1 = np.concatenate([s_i1, e_i1[fresh]])
    period = np.concatenate([s_p, e_b[fresh] - 1])

    has0, has1 = i0 >= 0, i1 >= 0
    j0, j1 = np.maximum(i0, 0), np.maximum(i1, 0)
    in0, in1 = has0 & measured[j0], has1 & measured[j1]
    open0, open1 = has0 & open_[j0], has1 & open_[j1]
    a0, a1 = np.where(in0 | open0, cents[j0], 0), np.where(has1, cents[j1], 0)
    g0, g1 = group[j0], group[j1]
    only0, only1, both = in0 & ~in1, in1 & ~in0, in0 & in1
    gone = has1 & removed[j1]
    out_bucket = np.select(
        [
            ~has1 | gone,
            won[j1],
            lost[j1],
            open1 & ~in_window[j1],
        ],
        [_CODE["removed"], _CODE["won"], _CODE["lost"], _CODE["pushed_out"]],
        _CODE["transferred_out"],
    )
    in_bucket = np.select([~open0, open0 & ~in_window[j0]], [_CODE["new"], _CODE["pulled_in"]], _CODE["transferred_in"])
    moved_group = both & (g0 != g1)
    stay = both & ~moved_group
    stay_bucket = np.select([a1 > a0, a1 < a0], [_CODE["increased"], _CODE["decreased"]], _CODE["unchanged"])

    # memo: deals whose history begins inside the period and that are closed at its end
    first = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else np.array([], dtype=np.int64)
    starts_inside = first[(bf[first] >= 1) & (bf[first] <= n_periods)]
    m_i1 = at(codes[starts_inside], bf[starts_inside], starts_inside)
    m_j1 = np.maximum(m_i1, 0)
    memo = (m_i1 >= 0) & ~removed[m_j1] & (won[m_j1] | lost[m_j1]) & selected[m_j1]
    m_i1 = m_i1[memo]

    parts = [
        (in0, _CODE["start"], g0, a0),
        (in1, _CODE["end"], g1, a1),
        (only0, out_bucket, g0, a0),
        (only1, in_bucket, g1, a1),
        (moved_group, _CODE["transferred_out"], g0, a0),
        (moved_group, _CODE["transferred_in"], g1, a1),
        (stay, stay_bucket, g0, np.abs(a1 - a0) + np.where(a1 == a0, a0, 0)),
    ]
    memo_rows = (_row_of(rows, m_i1), bf[starts_inside[memo]] - 1, group[m_i1], cents[m_i1])
    if runs is not None and rows is not None:
        runs = _Runs(runs.count, runs.cents, rows[runs.rows])
    return _Parts(_row_of(rows, i0), _row_of(rows, i1), period, parts, memo_rows, c.codes, runs), groups


@dataclass(frozen=True)
class _Columns:
    """The interval columns every movement reads, as arrays (made once per history): each
    row's deal (a code, in the order of :func:`_deal_runs`), the first row of each deal, the
    instants of its interval (``valid_to`` NaT: never ends) and its state."""

    codes: np.ndarray
    deal_ids: pd.Index
    firsts: np.ndarray
    vf: np.ndarray
    vt: np.ndarray
    open_: np.ndarray
    won: np.ndarray
    lost: np.ndarray
    removed: np.ndarray
    cents: np.ndarray


def _columns(history: History) -> _Columns:
    """The :class:`_Columns` of ``history`` (:func:`_sorted`)."""

    def make() -> _Columns:
        iv = history.intervals
        runs = derived(history, "deal_runs", lambda: _deal_runs(iv))
        codes, deal_ids = runs if runs is not None else _deal_runs(iv, check=False)
        vf = iv["valid_from"].to_numpy("datetime64[ns]").view(np.int64)
        vt = iv["valid_to"].to_numpy("datetime64[ns]").view(np.int64)
        vt = np.where(vt == np.iinfo(np.int64).min, _MAX, vt)  # NaT: still valid at as_of, and after
        removed = iv["removed"].to_numpy(bool)
        status = iv["status"]
        arrays = (
            np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else np.array([], dtype=np.int64),
            vf,
            vt,
            status.isin(["open"]).to_numpy(bool) & ~removed,
            status.isin(["won"]).to_numpy(bool),
            status.isin(["lost"]).to_numpy(bool),
            removed,
            iv["amount_cents"].to_numpy(dtype=np.int64, na_value=0),
        )
        for array in (codes, *arrays):
            array.flags.writeable = False  # shared by every later call
        return _Columns(codes, deal_ids, *arrays)

    return derived(history, "movement_columns", make)


#: How many selections' rows a history keeps (:func:`_selection`): a dashboard goes back and
#: forth between a few.
_SELECTIONS = 4


def _selection(history: History, q: Query, c: _Columns) -> tuple[np.ndarray, np.ndarray] | None:
    """The rows of the deals with a state in the ``where=`` selection at some time, in order,
    and which of those rows are in it; None without a selection (every row is).

    Kept for the last few selections of ``history``: a control change that keeps the selection
    (the range, the period size) then never reads the rows of the deals outside it."""
    if not q.where:
        return None
    kept = derived(history, "movement_selections", OrderedDict)  # where -> rows, most recent last
    if q.where in kept:
        kept.move_to_end(q.where)
        return kept[q.where]
    selected = _selected(history, q, c.codes, c.deal_ids)
    deal_kept = np.logical_or.reduceat(selected, c.firsts) if len(selected) else np.zeros(0, dtype=bool)
    rows = np.flatnonzero(deal_kept[c.codes])
    rows = rows.astype(np.int32) if len(c.codes) < 2**31 else rows
    out = (rows, selected[rows])
    for array in out:
        array.flags.writeable = False
    kept[q.where] = out
    while len(kept) > _SELECTIONS:
        kept.popitem(last=False)
    return out


def _deal_spans(c: _Columns) -> tuple[np.ndarray, np.ndarray]:
    """Per deal, the first instant of its first interval and the last end of any of them."""
    return c.vf[c.firsts], np.maximum.reduceat(c.vt, c.firsts)


def _kept_rows(history: History, q: Query, c: _Columns, b: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """The rows of the deals that can count at the boundary instants ``b`` (None: every row),
    in order, and which of them are in the ``where=`` selection.

    A deal is kept when it has a selected row valid at one of the instants, or (more, never
    fewer) when its selected rows span a time that overlaps them: every row of a kept deal is
    kept, so its buckets are as they are with every deal."""
    selection = _selection(history, q, c)
    if selection is None:
        if not len(c.codes):
            return None, np.ones(0, dtype=bool)
        first, last = derived(history, "movement_deal_spans", lambda: _deal_spans(c))
        deal_kept = (first <= b[-1]) & (last > b[0])
        if deal_kept.all() or not deal_kept.any():
            return None, np.ones(len(c.codes), dtype=bool)
        rows = np.flatnonzero(deal_kept[c.codes])
        return rows, np.ones(len(rows), dtype=bool)
    rows, selected = selection
    keep = selected & (c.vf[rows] <= b[-1]) & (c.vt[rows] > b[0])
    if not keep.any():
        # no deal counts: every row, so the (empty) table's columns are typed as they are when
        # some do
        return None, _selected(history, q, c.codes, c.deal_ids)
    codes = c.codes[rows]
    firsts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    deal_kept = np.logical_or.reduceat(keep, firsts)
    kept = np.repeat(deal_kept, np.diff(np.r_[firsts, len(rows)]))
    return rows[kept].astype(np.int64), selected[kept]


def _row_of(rows: np.ndarray | None, index: np.ndarray) -> np.ndarray:
    """Indices into the kept ``rows`` as interval rows (-1 stays -1)."""
    if rows is None:
        return index
    return np.where(index >= 0, rows[np.maximum(index, 0)], -1)


@dataclass(frozen=True)
class _Runs:
    """Deals that stay in one measured interval over a run of periods: per group and period,
    how many and their cents (each counts in ``start``, ``unchanged`` and ``end``), and the
    interval rows (for the deals used)."""

    count: np.ndarray  # (groups, periods)
    cents: np.ndarray
    rows: np.ndarray


def _steady_runs(rows_m, first_b, listed_from, group, cents, n_groups, n_periods) -> _Runs | None:
    """The runs ``[first_b, listed_from)`` of periods of the intervals ``rows_m``, summed by
    group and period with a difference array (add at the run's first period, subtract after its
    last, then a running sum); None when a sum might not be exact in a double."""
    has = listed_from > first_b
    r, lo, hi = rows_m[has], first_b[has], listed_from[has]
    c = cents[r]
    if float(np.abs(c).sum()) >= 2**53:
        return None
    width = n_periods + 1
    size = n_groups * width
    start, stop = group[r] * width + lo, group[r] * width + hi
    count = np.bincount(start, minlength=size) - np.bincount(stop, minlength=size)
    total = np.bincount(start, weights=c, minlength=size).astype(np.int64) - np.bincount(
        stop, weights=c, minlength=size
    ).astype(np.int64)
    count = np.cumsum(count.reshape(n_groups, width), axis=1)[:, :n_periods]
    total = np.cumsum(total.reshape(n_groups, width), axis=1)[:, :n_periods]
    return _Runs(count, total, r)


@dataclass(frozen=True)
class _Parts:
    """The pairs (deal, period) with the deal in the pipeline at one end at least, and for each
    measure the pairs it holds (a mask), the bucket, the group and the cents; the memo deals
    apart. Summed without ever building one row per contribution (:meth:`totals`), or listed
    (:meth:`rows`)."""

    i0: np.ndarray
    i1: np.ndarray
    period: np.ndarray
    parts: list
    memo: tuple
    codes: np.ndarray  # the deal of each interval row
    runs: _Runs | None = None  # pairs summed as runs, not listed (see _movement_rows(steady=True))

    def rows(self) -> _Rows:
        pieces = [
            tuple(np.broadcast_to(x, mask.shape)[mask] for x in (self.i0, self.i1, self.period, measure, g, amount))
            for mask, measure, g, amount in self.parts
        ]
        m_i1, m_period, m_group, m_cents = self.memo
        pieces.append((np.full(len(m_i1), -1), m_i1, m_period, np.full(len(m_i1), _CODE["memo"]), m_group, m_cents))
        return _Rows(*(np.concatenate([p[c] for p in pieces]).astype(np.int64, copy=False) for c in range(6)))

    def deals_used(self) -> int:
        steady = self.runs.rows if self.runs is not None else np.array([], dtype=np.int64)
        rows = np.concatenate([np.where(self.i1 >= 0, self.i1, self.i0), self.memo[0], steady])
        return int(np.count_nonzero(np.bincount(self.codes[rows]))) if len(rows) else 0

    def totals(self, n_groups: int, n_periods: int) -> tuple[np.ndarray, np.ndarray]:
        """Count and cents per (group, period, measure), as arrays of that shape."""
        m = len(MEASURES)
        size = n_groups * n_periods * m
        m_i1, m_period, m_group, m_cents = self.memo
        pieces = [(g[mask], self.period[mask], measure if np.isscalar(measure) else measure[mask], amount[mask])
                  for mask, measure, g, amount in self.parts]  # fmt: skip
        pieces.append((m_group, m_period, _CODE["memo"], m_cents))
        bound = sum(float(np.abs(p[3]).sum()) for p in pieces)
        counts = np.zeros(size, dtype=np.int64)
        if size <= 50_000_000 and bound < 2**53:
            # every partial sum of these integers is exact in a double
            sums = np.zeros(size, dtype=np.float64)
            for g, period, measure, amount in pieces:
                flat = (g * n_periods + period) * m + measure
                counts += np.bincount(flat, minlength=size)
                sums += np.bincount(flat, weights=amount, minlength=size)
            sums = sums.astype(np.int64)
        else:
            rows = self.rows()
            flat = (rows.group * n_periods + rows.period) * m + rows.measure
            summed = pd.Series(rows.cents).groupby(flat).agg(["sum", "size"])
            sums = np.zeros(size, dtype=np.int64)
            sums[summed.index.to_numpy()] = summed["sum"].to_numpy()
            counts[summed.index.to_numpy()] = summed["size"].to_numpy()
        counts, sums = counts.reshape(n_groups, n_periods, m), sums.reshape(n_groups, n_periods, m)
        if self.runs is not None:
            for measure in ("start", "unchanged", "end"):
                counts[:, :, _CODE[measure]] += self.runs.count
                sums[:, :, _CODE[measure]] += self.runs.cents
        return counts, sums


def _empty(q: Query) -> pd.DataFrame:
    cols = {c: pd.Series(dtype=object) for c in q.by}
    cols["currency"] = pd.Series(dtype=object)
    frame = pd.DataFrame(cols)
    for c, s in _periods_frame([], [], []).items():
        frame[c] = s
    for m in MEASURES:
        frame[m] = pd.Series(dtype=float)
    for m in MEASURES:
        frame[f"{m}_cents"] = pd.Series(dtype=pd.Int64Dtype())
    for m in MEASURES:
        frame[f"{m}_count"] = pd.Series(dtype=np.int64)
    return frame


def pipeline_movement(
    history: History,
    *,
    by: By = "partner",
    freq: Freq = "M",
    start: DateLike = None,
    end: DateLike = None,
    close_window=None,
    fiscal_year_start: int = 1,
    where: Where = None,
) -> pd.DataFrame:
    """Why each group's open pipeline changed from one period end to the next, in buckets
    that add up to the cent.

    ``start + new + pulled_in + increased - decreased - pushed_out - won - lost - removed +
    transferred_in - transferred_out = end`` for every row; each deal in the pipeline at either
    end is in exactly one bucket (``unchanged`` when it did not move); ``end`` of a period is
    ``start`` of the next. The rules and their order are in :mod:`channelkpi.metrics.movement`
    and ``explain("pipeline_movement")``.

    Parameters
    ----------
    history : History
        What :func:`channelkpi.load_history` returns: every deal's states over time.
    by : str or list of str, optional
        Group by these levels. ``partner``, ``owner`` and ``stage`` are taken from each state
        (a change moves the deal between groups: ``transferred``); any other text column of
        the deals (``department``, ``unit``, a kept column, a partner table's ``tier``) from
        the deals table. Default ``"partner"``; ``None``: one group.
    freq : {"W", "M", "Q", "Y"} or None
        Periods (quarters and years fiscal); ``None``: one period from ``start`` (default: the
        first instant of the history) to ``end`` (default: the history's ``as_of``).
    start, end : date-like, optional
        The periods shown: those holding these days, inclusive (default: the periods the
        history covers, up to the one holding ``as_of``).
    close_window : tuple of two dates, or str, optional
        Measure only the deals expected to close in this window (inclusive days, e.g.
        ``("2025-10-01", "2025-12-31")``, or ``"2025"`` / ``"2025-12"``); deals whose expected
        close moves out of it are ``pushed_out``, into it ``pulled_in``. The window is the
        same for every period, so ``end`` of one is ``start`` of the next. Without it there
        is no pushed or pulled bucket.
    fiscal_year_start : int
        First month of the fiscal year (1-12).
    where : dict of str -> list of str, optional
        Keep only the deals whose state passes the filter at each instant, e.g.
        ``{"partner": ["Acme"]}``: a deal that changes partner into or out of the selection
        while open is ``transferred_in`` / ``transferred_out``, so the filtered rows equal the
        unfiltered table's rows for those partners.

    Returns
    -------
    pandas.DataFrame
        One row per group x currency x period (every group seen in the range in every
        period): the ``by=`` levels, ``currency`` (amounts of several currencies are never
        summed together), ``period``, ``period_start``, ``period_end``; the amounts of
        :data:`MEASURES` (``start``, the buckets, ``end``, ``unchanged``, ``memo``) for
        display, the same in integer cents (``<measure>_cents``, Int64) and the deals in
        each (``<measure>_count``). ``increased`` / ``decreased`` are the amount changes;
        ``memo`` the deals created and closed inside the period (at their closing amount).
        ``attrs["channelkpi"]`` records the definition, the window and the deals used.

    Raises
    ------
    ChannelKPIError
        For an option that is not valid (a ``by=`` level the deals lack, a bad window).

    Examples
    --------
    >>> from channelkpi.history import History, make_intervals
    >>> from channelkpi.schema import validate_deals
    >>> rows = pd.DataFrame({
    ...     "deal_id": ["A", "A", "B", "B"],
    ...     "valid_from": pd.to_datetime(["2025-01-05", "2025-02-10", "2025-01-20", "2025-02-15"]),
    ...     "status": ["open", "won", "open", "open"], "amount": [100.0, 90.0, 40.0, 40.0],
    ...     "partner": ["Acme", "Acme", "Acme", "Birch"]})
    >>> deals = validate_deals(pd.DataFrame({"deal_id": ["A", "B"], "status": ["won", "open"]}))
    >>> history = History(intervals=make_intervals(rows), deals=deals, ledger=pd.DataFrame(), source="example",
    ...                   known=frozenset({"status", "amount", "partner"}), stages=None,
    ...                   as_of=pd.Timestamp("2025-03-01"))
    >>> table = pipeline_movement(history, start="2025-02", end="2025-02")
    >>> table[["partner", "start", "won", "transferred_in", "transferred_out", "end"]]
      partner  start   won  transferred_in  transferred_out   end
    0    Acme  140.0  100.0             0.0             40.0   0.0
    1   Birch    0.0    0.0            40.0              0.0  40.0
    """
    q = _query(history, by, freq, start, end, fiscal_year_start, where)
    window = _window(close_window)
    history = _sorted(history)
    grid = _grid(history, q)
    n_periods = len(grid.periods)
    if n_periods == 0 or history.intervals.empty:
        return _attach(_empty(q), history, q, window, 0)
    parts, groups = _movement_rows(history, q, window, grid.bounds, steady=True)
    counts, sums = parts.totals(len(groups), n_periods)
    seen = np.flatnonzero(counts.reshape(len(groups), n_periods * len(MEASURES)).any(axis=1))
    order = groups.iloc[seen].sort_values([*q.by, "currency"], kind="stable", na_position="last").index.to_numpy()
    g = np.repeat(order, n_periods)
    p = np.tile(np.arange(n_periods), len(order))
    out = groups.iloc[g].reset_index(drop=True)
    out = pd.concat([out, grid.periods.iloc[p].reset_index(drop=True)], axis=1)
    # every group seen, in every period: the grid is the groups' blocks of the totals, in order
    block_sums = sums[order].reshape(len(order) * n_periods, len(MEASURES))
    block_counts = counts[order].reshape(len(order) * n_periods, len(MEASURES))
    data = {}
    for k, m in enumerate(MEASURES):
        data[m] = block_sums[:, k] / 100.0
    for k, m in enumerate(MEASURES):
        data[f"{m}_cents"] = pd.array(block_sums[:, k], dtype=pd.Int64Dtype())
    for k, m in enumerate(MEASURES):
        data[f"{m}_count"] = block_counts[:, k].astype(np.int64)
    out = pd.concat([out, pd.DataFrame(data)], axis=1)
    used = parts.deals_used()
    return _attach(out, history, q, window, used)


def _attach(out: pd.DataFrame, history: History, q: Query, window, used: int) -> pd.DataFrame:
    variant = f"close_window={window[0].date()}..{window[1].date()}" if window is not None else ""
    out.attrs["channelkpi"] = {
        "kpi": "pipeline_movement",
        "definition": DEFINITIONS["pipeline_movement"].formula,
        "rows": _deal_count(history),
        "used": used,
        "excluded": {},
        "engine": "pandas",
        "variant": variant,
        "history": history.source,
    }
    return out


def _deal_count(history: History) -> int:
    deals = history.deals
    return derived(history, "deal_count", lambda: int(deals["deal_id"].nunique()) if "deal_id" in deals else 0)


# --------------------------------------------------------------------------- the deals behind
def _norm(label) -> str:
    return re.sub(r"[\s_-]+", "", str(label)).upper()


def _period_bounds(history: History, q: Query, period) -> tuple[np.ndarray, pd.DataFrame]:
    """The two boundaries and the period row of the period ``period`` names."""
    if q.freq is None:
        grid = _grid(history, q)
        return grid.bounds, grid.periods
    if isinstance(period, pd.Timestamp | np.datetime64) or hasattr(period, "isoformat"):
        key = q.key(pd.Timestamp(period))
    else:
        text = str(period).strip()
        key = None
        year = re.search(r"\d{4}", text)
        if year:
            y = int(year.group())
            lo, hi = q.key(pd.Timestamp(y - 1, 1, 1)), q.key(pd.Timestamp(min(y + 1, 9998), 12, 31))
            frame = period_frame(range(lo, hi + 1), q.freq, q.fiscal_year_start)
            hits = frame["key"][[_norm(x) == _norm(text) for x in frame["period"]]]
            key = int(hits.iloc[0]) if len(hits) else None
        if key is None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            key = q.key(pd.Timestamp(text))
        if key is None:
            example = period_frame([q.key(pd.Timestamp("2025-01-01"))], q.freq, q.fiscal_year_start)["period"].iloc[0]
            raise ChannelKPIError(
                f"period={period!r} is not a period of freq={q.freq!r}",
                fix=f"give the label the movement table shows (e.g. {example!r}) or a date in the period",
            )
    frame = period_frame([key, key + 1], q.freq, q.fiscal_year_start)
    bounds = frame["period_start"].to_numpy("datetime64[ns]")
    return bounds, _periods_frame(frame["period"][:1], frame["period_start"][:1], frame["period_end"][:1])


def _group_filter(group, levels: list[str]) -> dict[str, str]:
    keys = [*levels, "currency"]
    if group is None:
        return {}
    if isinstance(group, Mapping):
        values = dict(group)
    elif isinstance(group, tuple):
        values = dict(zip(levels, group, strict=False)) if len(group) <= len(levels) else dict(zip(keys, group))
    else:
        if len(levels) != 1:
            raise ChannelKPIError(
                f"group={group!r} names one value, but by={levels} has {len(levels)} levels",
                fix=f"pass a dict with the keys {keys}",
            )
        values = {levels[0]: group}
    unknown = [k for k in values if k not in keys]
    if unknown:
        raise ChannelKPIError(f"group= names {unknown[0]!r}, which is not a level of by={levels}", fix=f"use {keys}")
    return {k: _NONE if v is None and k != "currency" else v for k, v in values.items()}


def movement_deals(
    history: History,
    *,
    period,
    group=None,
    bucket: str | Sequence[str] | None = None,
    by: By = "partner",
    freq: Freq = "M",
    start: DateLike = None,
    end: DateLike = None,
    close_window=None,
    fiscal_year_start: int = 1,
    where: Where = None,
) -> pd.DataFrame:
    """The deals behind a cell of :func:`pipeline_movement`, with their state at both ends.

    Their ``amount_cents`` add up to the cell's ``<bucket>_cents`` and there are
    ``<bucket>_count`` of them.

    Parameters
    ----------
    history : History
        The history the movement table was computed from.
    period : str or date
        The period: the label the table shows (``"2025-10"``, ``"2025-Q4"``, ``"FY2027 Q1"``)
        or a date inside it. Ignored with ``freq=None`` (the one period of ``start``/``end``).
    group : dict, tuple or str, optional
        The row: ``{"partner": "Acme", "currency": "EUR"}``, a tuple of the ``by=`` levels'
        values (optionally followed by the currency), or one value when ``by=`` is one level
        (``"(none)"`` for a missing one). Default: every group.
    bucket : str or list of str, optional
        One of :data:`MEASURES` (``"start"``, ``"new"`` ... ``"end"``, ``"unchanged"``,
        ``"memo"``), or several (``list(BUCKETS)``: the deals of the waterfall's bars). Default:
        every bucket, ``unchanged`` and ``memo`` (not ``start`` and ``end``: each deal once per
        group it moved in or out of).
    by, freq, start, end, close_window, fiscal_year_start, where
        As for :func:`pipeline_movement` (pass the same ones).

    Returns
    -------
    pandas.DataFrame
        One row per deal and bucket: ``deal_id``, ``bucket``, the group (``by=`` levels and
        ``currency``) it counts in, ``amount`` and ``amount_cents`` (what it adds to the
        bucket: the amount change for ``increased``/``decreased``, the ``t0`` amount for
        buckets that leave, the ``t1`` amount for those that arrive), ``how`` (e.g. created,
        reopened), and ``status``, ``stage``, ``amount``, ``expected_close``, ``partner``,
        ``owner`` at ``t0`` and at ``t1`` (suffixes ``_t0``, ``_t1``; empty when the deal had
        no state), plus ``name`` and ``account`` where the deals have them.

    Raises
    ------
    ChannelKPIError
        For a period, group or bucket the table does not have.

    Examples
    --------
    >>> from channelkpi.history import History, make_intervals
    >>> from channelkpi.schema import validate_deals
    >>> rows = pd.DataFrame({
    ...     "deal_id": ["A", "A", "B"], "valid_from": pd.to_datetime(["2025-01-05", "2025-02-10", "2025-01-20"]),
    ...     "status": ["open", "won", "open"], "amount": [100.0, 90.0, 40.0], "partner": ["Acme"] * 3})
    >>> deals = validate_deals(pd.DataFrame({"deal_id": ["A", "B"], "status": ["won", "open"]}))
    >>> history = History(intervals=make_intervals(rows), deals=deals, ledger=pd.DataFrame(), source="example",
    ...                   known=frozenset({"status", "amount"}), stages=None, as_of=pd.Timestamp("2025-03-01"))
    >>> movement_deals(history, period="2025-02", group="Acme", bucket="won")[
    ...     ["deal_id", "bucket", "amount", "status_t0", "amount_t0", "status_t1", "amount_t1"]]
      deal_id bucket  amount status_t0  amount_t0 status_t1  amount_t1
    0       A    won   100.0      open      100.0       won       90.0
    """
    q = _query(history, by, freq, start, end, fiscal_year_start, where)
    buckets = [bucket] if isinstance(bucket, str) else None if bucket is None else list(bucket)
    for name in buckets or ():
        if name not in MEASURES:
            raise ChannelKPIError(f"bucket={name!r} is not a movement bucket", fix=f"use one of {list(MEASURES)}")
    window = _window(close_window)
    wanted = _group_filter(group, list(q.by))
    bounds, _ = _period_bounds(history, q, period)
    iv = history.intervals
    if len(bounds) < 2 or iv.empty:
        rows = _Rows(*(np.array([], dtype=np.int64) for _ in range(6)))
        groups = pd.DataFrame({c: pd.Series(dtype=object) for c in [*q.by, "currency"]})
    else:
        history = _sorted(history)
        iv = history.intervals
        parts, groups = _movement_rows(history, q, window, bounds)
        rows = parts.rows()
    keep = np.ones(len(rows.group), dtype=bool)
    if buckets is None:
        keep &= ~np.isin(rows.measure, [_CODE["start"], _CODE["end"]])
    else:
        keep &= np.isin(rows.measure, [_CODE[name] for name in buckets])
    for col, value in wanted.items():
        # tested on the groups' table, one value per group, then on the rows' group codes
        col_values = groups[col]
        hit = (col_values.isna() if value is None else col_values.astype(object).eq(str(value))).to_numpy(bool)
        keep &= hit[rows.group]
    sel = np.flatnonzero(keep)
    i0, i1 = rows.i0[sel], rows.i1[sel]
    out = groups.iloc[rows.group[sel]].reset_index(drop=True)
    deal_id = iv["deal_id"].iloc[np.where(i1 >= 0, i1, i0)].to_numpy(dtype=object)
    out.insert(0, "deal_id", deal_id)
    measure = np.asarray(MEASURES, dtype=object)[rows.measure[sel]]
    out.insert(1, "bucket", measure)
    out["amount"] = amounts_from_cents(rows.cents[sel]).to_numpy()
    out["amount_cents"] = pd.array(rows.cents[sel], dtype=pd.Int64Dtype())
    out["how"] = _how(history, i0, i1, measure)
    for suffix, idx in (("_t0", i0), ("_t1", i1)):
        for col in ("status", "stage", "amount", "expected_close", "partner", "owner"):
            values = iv[col].iloc[np.maximum(idx, 0)].reset_index(drop=True)
            out[col + suffix] = values.mask(pd.Series(idx < 0, dtype=bool))
    for col in ("name", "account"):
        if col in history.deals.columns:
            out[col] = _by_deal(history, col, pd.Index(deal_id)).to_numpy()
    rank = pd.Series([MEASURES.index(m) for m in measure], dtype=np.int64, name="_rank")
    order = pd.concat([rank, out["deal_id"].astype(str)], axis=1).sort_values(["_rank", "deal_id"], kind="stable")
    return out.iloc[order.index.to_numpy()].reset_index(drop=True)


def _how(history: History, i0: np.ndarray, i1: np.ndarray, measure: np.ndarray) -> np.ndarray:
    """Why a deal is in its bucket, in a word or two."""
    if not len(measure):
        return np.full(0, "", dtype=object)
    c = _columns(history)
    j0, j1 = np.maximum(i0, 0), np.maximum(i1, 0)
    removed0 = c.removed[j0]
    closed0 = c.won[j0] | c.lost[j0]
    # a memo deal is won or lost at t1
    status1 = np.where(c.won[j1], "won", np.where(c.lost[j1], "lost", ""))
    how = np.full(len(measure), "", dtype=object)
    new = measure == "new"
    how[new & (i0 < 0)] = "created"
    how[new & (i0 >= 0) & removed0] = "back in the export"
    how[new & (i0 >= 0) & ~removed0 & closed0] = "reopened"
    memo = measure == "memo"
    how[memo] = ["created and " + s for s in status1[memo]]
    how[measure == "removed"] = "deleted or left the export"
    how[measure == "pushed_out"] = "expected close moved out of the window"
    how[measure == "pulled_in"] = "expected close moved into the window"
    how[np.isin(measure, ["increased", "decreased"])] = "amount changed"
    for m, text in (("transferred_out", "moved to another group"), ("transferred_in", "moved from another group")):
        how[measure == m] = text
    return how
