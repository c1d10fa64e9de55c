"""Slipped deals: open deals whose expected close date was pushed into a later period.

A *slip* is a change of an open deal's expected close date to a date in a later period than
before (at the grain ``freq=``, fiscal years included): 28 March -> 2 April slips a month but not
a year, 3 March -> 28 March slips nothing. A move to an earlier period is a pull-in, not a slip.
The slip belongs to the period in which the change happened: a change stamped at midnight of
the first of a month is that month's (a period's state is read at its last instant, as in
:mod:`channelkpi.history`).

Per group and period: ``slipped_count`` deals slipped, ``slips`` changes, ``slip_days`` the days
they added up to, ``slipped_amount_cents`` the amount of the slipped deals, each counted once
at its amount after its last slip in the period (so a deal slipping twice is not counted twice).
Amounts in different currencies are never summed together: ``currency`` is part of the row.

Examples
--------
>>> import pandas as pd
>>> from channelkpi.history import History, make_intervals
>>> from channelkpi.schema import validate_deals
>>> rows = pd.DataFrame({"deal_id": ["A", "A", "A"], "status": ["open"] * 3, "amount": [100.0, 100.0, 80.0],
...     "valid_from": pd.to_datetime(["2025-01-02", "2025-02-10", "2025-02-20"]),
...     "expected_close": pd.to_datetime(["2025-02-28", "2025-03-15", "2025-04-30"])})
>>> deals = validate_deals(pd.DataFrame({"deal_id": ["A"], "status": ["open"]}))
>>> history = History(intervals=make_intervals(rows), deals=deals, ledger=pd.DataFrame(), source="example",
...                   known=frozenset({"amount", "expected_close"}), stages=None, as_of=pd.Timestamp("2025-02-28"))
>>> slipped_deals(history)[["period", "slipped_count", "slips", "slip_days", "slipped_amount"]]
    period  slipped_count  slips  slip_days  slipped_amount
0  2025-02              1      2         61            80.0
>>> slip_deals(history)[["deal_id", "from_date", "to_date", "days", "amount", "counted"]]
  deal_id  from_date    to_date  days  amount  counted
0       A 2025-02-28 2025-03-15    15   100.0    False
1       A 2025-03-15 2025-04-30    46    80.0     True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ChannelKPIError
from ..history import History
from ..schema import DTYPES
from ..types import By, DateLike, Where
from .definitions import DEFINITIONS
from .periods import period_frame
from .query import make_query
from .rules import Freq, month_index, period_key
from .visits import Group, check_history, deal_groups, documented, group_mask, levels_grid

__all__ = ["slipped_deals", "slip_deals", "period_keys"]

_STR = DTYPES["deal_id"]


def period_keys(dates: pd.Series, freq: Freq, fiscal_year_start: int) -> np.ndarray:
    """The period key of each date (its calendar day), by :func:`channelkpi.metrics.rules.period_key`."""
    rule = period_key(freq, fiscal_year_start)
    if rule.unit == "day":
        x = dates.to_numpy("datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    else:
        x = month_index(dates.dt.year.to_numpy(np.int64), dates.dt.month.to_numpy(np.int64))
    return np.asarray(rule.of(x), dtype=np.int64)


def _slip_rows(history, *, by, freq, fiscal_year_start, start, end, where):
    history = check_history(history)
    if freq is None:
        raise ChannelKPIError(
            "a slip moves a close date into a later period: freq=None has none", fix="pass freq='M', 'Q', 'Y' or 'W'"
        )
    q = make_query(by=by, freq=freq, start=start, end=end, fiscal_year_start=fiscal_year_start, where=where)
    groups = deal_groups(history, q)
    iv = history.intervals
    iv = iv[~iv["removed"].to_numpy(bool) & iv["deal_id"].isin(groups["deal_id"]).to_numpy()].reset_index(drop=True)
    # a deal gone and back is compared with its last state before it left: the slip is not lost
    before = iv.shift(1)
    same = iv["deal_id"].eq(before["deal_id"]).to_numpy()
    both_open = (iv["status"].astype(object).eq("open") & before["status"].astype(object).eq("open")).to_numpy()
    dated = (iv["expected_close"].notna() & before["expected_close"].notna()).to_numpy()
    candidates = same & both_open & dated
    old = before["expected_close"][candidates]
    new = iv["expected_close"][candidates]
    later = period_keys(new, q.freq, q.fiscal_year_start) > period_keys(old, q.freq, q.fiscal_year_start)
    picked = iv[candidates][later].copy()
    picked["from_date"] = old[later].to_numpy()
    day = picked["valid_from"].dt.normalize()  # the day of the change decides its period
    keep = np.ones(len(picked), dtype=bool)
    if q.start is not None:
        keep &= (day >= q.start).to_numpy()
    if q.end is not None:
        keep &= (day <= q.end).to_numpy()
    picked, day = picked[keep], day[keep]
    out = pd.DataFrame(
        {
            "deal_id": picked["deal_id"].astype(_STR).to_numpy(),
            "key": period_keys(day, q.freq, q.fiscal_year_start),
            "changed_at": picked["valid_from"].to_numpy(),
            "from_date": picked["from_date"].astype("datetime64[ns]").to_numpy(),
            "to_date": picked["expected_close"].to_numpy(),
            "amount_cents": picked["amount_cents"].to_numpy(),
            "currency": picked["currency"].astype(_STR).to_numpy(),
        }
    )
    out["days"] = ((out["to_date"] - out["from_date"]) / pd.Timedelta(days=1)).round().astype(np.int64)
    out["amount_cents"] = out["amount_cents"].astype(pd.Int64Dtype())
    out["amount"] = out["amount_cents"].astype("Float64").astype(float) / 100
    out = out.merge(groups, on="deal_id", how="left")
    out = out.sort_values(["deal_id", "changed_at"], kind="stable").reset_index(drop=True)
    # the amount of a deal counts once per period (and currency, should the deal change it): after
    # its last slip there
    out["counted"] = ~out.duplicated(["deal_id", "key", "currency"], keep="last")
    return out, q, groups, history


def _with_period(df: pd.DataFrame, q) -> pd.DataFrame:
    periods = period_frame(df["key"].unique() if len(df) else [], q.freq, q.fiscal_year_start)
    periods = periods.astype({"period": _STR, "period_start": "datetime64[ns]", "period_end": "datetime64[ns]"})
    return df.merge(periods, on="key", how="left")


@documented
def slip_deals(
    history: History,
    *,
    by: By = None,
    freq: Freq = "M",
    fiscal_year_start: int = 1,
    start: DateLike = None,
    end: DateLike = None,
    where: Where = None,
    period: str | None = None,
    group: Group = None,
) -> pd.DataFrame:
    """Every slip, one row each: the rows behind :func:`slipped_deals` (same options and rules).

    Parameters
    ----------
    history, by, freq, fiscal_year_start, start, end, where
        As for :func:`slipped_deals`.
    period : str, optional
        Only the slips of this period, by its label (``"2025-02"``, ``"2025-Q1"``).
    {group}

    Returns
    -------
    pandas.DataFrame
        ``deal_id``, the levels, ``period``, ``changed_at``, ``from_date``, ``to_date``, ``days``,
        ``amount`` and ``amount_cents`` (after the slip), ``currency``, and ``counted``: True on
        the deal's last slip in the period, the one whose amount the period's
        ``slipped_amount`` adds. The rows of a period and group add up to its row of
        :func:`slipped_deals`: ``slips`` = rows, ``slipped_count`` = distinct deals, ``slip_days``
        = sum of ``days``, ``slipped_amount_cents`` = sum of ``amount_cents`` where ``counted``.

    Examples
    --------
    >>> import pandas as pd
    >>> from channelkpi.history import History, make_intervals
    >>> from channelkpi.schema import validate_deals
    >>> rows = pd.DataFrame({"deal_id": ["A", "A"], "status": ["open", "open"], "amount": [500.0, 500.0],
    ...     "valid_from": pd.to_datetime(["2025-01-02 00:00", "2025-03-28 10:00"]),
    ...     "expected_close": pd.to_datetime(["2025-03-31", "2025-05-15"])})
    >>> history = History(intervals=make_intervals(rows), ledger=pd.DataFrame(), source="example",
    ...     deals=validate_deals(pd.DataFrame({"deal_id": ["A"], "status": ["open"]})),
    ...     known=frozenset({"expected_close"}), stages=None, as_of=pd.Timestamp("2025-03-31"))
    >>> slip_deals(history, freq="Q")[["deal_id", "period", "from_date", "to_date", "days", "amount"]]
      deal_id   period  from_date    to_date  days  amount
    0       A  2025-Q1 2025-03-31 2025-05-15    45   500.0
    """
    rows, q, _, _ = _slip_rows(
        history, by=by, freq=freq, fiscal_year_start=fiscal_year_start, start=start, end=end, where=where
    )
    rows = _with_period(rows, q)
    keep = np.ones(len(rows), dtype=bool)
    if period is not None:
        keep &= rows["period"].eq(str(period)).to_numpy()
    keep &= group_mask(rows, group, q.by)
    columns = ["deal_id", *q.by, "period", "changed_at", "from_date", "to_date", "days", "amount", "amount_cents"]
    return rows.loc[keep, [*columns, "currency", "counted"]].reset_index(drop=True)


@documented
def slipped_deals(
    history: History,
    *,
    by: By = None,
    freq: Freq = "M",
    fiscal_year_start: int = 1,
    start: DateLike = None,
    end: DateLike = None,
    where: Where = None,
) -> pd.DataFrame:
    """Per group and period: deals whose expected close date was pushed into a later period.

    Parameters
    ----------
    history : History
        The deals' history (:func:`channelkpi.load_history`); it must record expected close
        dates (``"expected_close" in history.known``) for any slip to show.
    {by}
    freq : {"W", "M", "Q", "Y"}
        The period grain: both what counts as a later period and the rows. Default ``"M"``.
    {fiscal_year_start}
    start, end : date-like, optional
        Only the changes made in this range (inclusive days); the rows cover it.
    {where}

    Returns
    -------
    pandas.DataFrame
        One row per group, currency and period from the first slip (or ``start``) to the
        period of ``as_of`` (or ``end``): the levels, ``currency``, ``period``,
        ``period_start``, ``period_end``, ``slipped_count``, ``slips``, ``slip_days``,
        ``slipped_amount`` (currency units, for display) and ``slipped_amount_cents``.
        ``attrs["channelkpi"]["warnings"]`` says when the history records no close-date changes.

    See Also
    --------
    slip_deals : the slips behind every row.

    Examples
    --------
    >>> import pandas as pd
    >>> from channelkpi.history import History, make_intervals
    >>> from channelkpi.schema import validate_deals
    >>> rows = pd.DataFrame({"deal_id": ["A", "A"], "status": ["open", "open"], "amount": [500.0, 500.0],
    ...     "valid_from": pd.to_datetime(["2025-01-02 00:00", "2025-03-28 10:00"]),
    ...     "expected_close": pd.to_datetime(["2025-03-31", "2025-05-15"])})
    >>> history = History(intervals=make_intervals(rows), ledger=pd.DataFrame(), source="example",
    ...     deals=validate_deals(pd.DataFrame({"deal_id": ["A"], "status": ["open"]})),
    ...     known=frozenset({"expected_close"}), stages=None, as_of=pd.Timestamp("2025-03-31"))
    >>> slipped_deals(history)[["period", "slipped_count", "slip_days", "slipped_amount_cents"]]
        period  slipped_count  slip_days  slipped_amount_cents
    0  2025-03              1         45                 50000
    """
    rows, q, groups, history = _slip_rows(
        history, by=by, freq=freq, fiscal_year_start=fiscal_year_start, start=start, end=end, where=where
    )
    lv = list(q.by)
    # the periods shown: the range asked for, else from the first slip to the history's as_of
    first = [int(rows["key"].min())] if len(rows) else []
    last = [int(period_keys(pd.Series([history.as_of]), q.freq, q.fiscal_year_start)[0])]
    if q.start is not None:
        first = [int(period_keys(pd.Series([q.start]), q.freq, q.fiscal_year_start)[0])]
    if q.end is not None:
        last = [int(period_keys(pd.Series([q.end]), q.freq, q.fiscal_year_start)[0])]
    keys = np.arange(first[0], max(last[0], first[0]) + 1, dtype=np.int64) if first else np.array([], np.int64)
    # each group with the currencies its deals were ever in (a group without one: a missing currency)
    iv = history.intervals[["deal_id", "currency"]].merge(groups, on="deal_id")
    currencies = pd.concat([iv[[*lv, "currency"]], rows[[*lv, "currency"]]]).drop_duplicates()
    grid = levels_grid(groups, q.by)
    grid = grid.merge(currencies, on=lv, how="left") if lv else grid.merge(currencies, how="cross")
    if grid.empty and not lv:
        grid = pd.DataFrame({"currency": pd.Series([pd.NA], dtype=_STR)})
    grid = grid.drop_duplicates().merge(pd.DataFrame({"key": keys}), how="cross")
    counted = rows["amount_cents"].where(rows["counted"], 0)
    agg = (
        rows.assign(counted_cents=counted)
        .groupby([*lv, "currency", "key"], dropna=False)
        .agg(
            slipped_count=("deal_id", "nunique"),
            slips=("deal_id", "size"),
            slip_days=("days", "sum"),
            slipped_amount_cents=("counted_cents", "sum"),
        )
        .reset_index()
    )
    grid = grid.astype({c: _STR for c in [*lv, "currency"]})
    agg = agg.astype({c: _STR for c in [*lv, "currency"]} | {"key": np.int64})
    out = grid.merge(agg, on=[*lv, "currency", "key"], how="left")
    for col in ("slipped_count", "slips", "slip_days"):
        out[col] = out[col].fillna(0).astype(np.int64)
    out["slipped_amount_cents"] = out["slipped_amount_cents"].astype(pd.Int64Dtype()).fillna(0)
    out["slipped_amount"] = out["slipped_amount_cents"].astype("Float64").astype(float) / 100
    out = _with_period(out, q)
    measures = ["slipped_count", "slips", "slip_days", "slipped_amount", "slipped_amount_cents"]
    out = out[[*lv, "currency", "period", "period_start", "period_end", *measures]]
    out = out.sort_values([*lv, "currency", "period_start"], kind="stable", na_position="last").reset_index(drop=True)
    warnings = []
    if "expected_close" not in history.known:
        warnings.append("the history records no changes of expected close dates: no slip can show")
    out.attrs["channelkpi"] = {
        "kpi": "slipped_deals",
        "definition": DEFINITIONS["slipped_deals"].formula,
        "as_of": history.as_of,
        "warnings": warnings,
        "rows": len(history.deals),
        "used": int(rows["deal_id"].nunique()),
        "excluded": {},
    }
    return out
