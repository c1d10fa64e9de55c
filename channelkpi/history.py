"""A deal's history: its successive states, each valid from one change to the next.

One model for every history source (a CRM's history file, stage-entry columns, dated snapshots
of the same export): per deal, intervals ``[valid_from, valid_to)`` carrying the fields that
change -- stage, status, amount, expected close date, partner, owner. :meth:`History.state`
turns them back into the canonical deals table as it was at any instant.

Instants and periods: ``state(t)`` holds the intervals with ``valid_from <= t < valid_to``. The
state at the end of a period is the state at its last instant (:func:`end_of`, one nanosecond
before the next period begins): a change dated the first day of a period belongs to that
period, as a deal created that day does in every KPI. So a snapshot dated 2025-11-01 opens
November; name a month-end snapshot by the month's last day (2025-10-31) to close October.

Examples
--------
>>> import pandas as pd
>>> from channelkpi.schema import validate_deals
>>> deals = validate_deals(pd.DataFrame({"deal_id": ["D1"], "status": ["won"], "partner": ["Acme"],
...                                      "amount": [80.0], "created": ["2025-01-10"], "closed": ["2025-03-02"]}))
>>> intervals = make_intervals(pd.DataFrame({
...     "deal_id": ["D1", "D1"],
...     "valid_from": pd.to_datetime(["2025-01-10", "2025-03-02"]),
...     "status": ["open", "won"], "stage": ["Proposal", "Closed Won"], "amount": [100.0, 80.0],
...     "expected_close": pd.to_datetime(["2025-02-28", None]), "closed": pd.to_datetime([None, "2025-03-02"]),
...     "created": pd.to_datetime(["2025-01-10", "2025-01-10"]), "partner": ["Acme", "Acme"]}))
>>> history = History(intervals=intervals, deals=deals, ledger=pd.DataFrame(), source="example",
...                   known=frozenset({"stage", "status", "amount"}), stages=None, as_of=pd.Timestamp("2025-03-02"))
>>> history.state("2025-02-01")[["deal_id", "status", "stage", "amount"]]
  deal_id status     stage  amount
0      D1   open  Proposal   100.0
>>> history.state("2025-01-01").empty  # not created yet
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import SchemaError
from .schema import DTYPES, validate_deals

__all__ = ["CHANGING", "INTERVAL_DTYPES", "History", "end_of", "make_intervals"]

_DATE = np.dtype("datetime64[ns]")

#: The fields whose changes a history can record.
CHANGING: tuple[str, ...] = ("stage", "status", "amount", "expected_close", "partner", "owner")

#: Interval column -> dtype, in order.
INTERVAL_DTYPES = MappingProxyType(
    {
        "deal_id": DTYPES["deal_id"],
        "valid_from": _DATE,
        "valid_to": _DATE,
        "removed": np.dtype(bool),
        "stage": DTYPES["stage"],
        "status": DTYPES["status"],
        "amount": np.dtype("float64"),
        "amount_cents": pd.Int64Dtype(),
        "currency": DTYPES["currency"],
        "expected_close": _DATE,
        "closed": _DATE,
        "created": _DATE,
        "partner": DTYPES["partner"],
        "owner": DTYPES["owner"],
        "probability": np.dtype("float64"),
    }
)


# the deal fields an interval carries (every one, constant where the source records no change)
_CARRIED = tuple(c for c in INTERVAL_DTYPES if c in DTYPES and c != "deal_id")


def _cents(amount: pd.Series) -> pd.Series:
    # rules.cents: half up, toward +infinity also for negatives
    return pd.Series(np.floor(amount.to_numpy(float) * 100 + 0.5), index=amount.index).astype(pd.Int64Dtype())


def _statuses(values: pd.Series) -> pd.Series:
    """Statuses in any case as :data:`~channelkpi.schema.STATUS_DTYPE` (recoded per distinct
    value, not per row)."""
    cat = values.astype("category")
    wanted = list(INTERVAL_DTYPES["status"].categories)
    lowered = [str(c).lower() for c in cat.cat.categories]
    to_code = np.array([wanted.index(c) if c in wanted else -1 for c in lowered] + [-1], dtype=np.int8)
    codes = to_code[cat.cat.codes.to_numpy()]  # a missing value's code -1 picks the last, -1
    return pd.Series(pd.Categorical.from_codes(codes, dtype=INTERVAL_DTYPES["status"]), index=values.index)


def _equal_next(ids: pd.Series) -> np.ndarray:
    """Whether each id but the last equals the next one (Arrow text compared where it lies)."""
    if isinstance(ids.dtype, pd.StringDtype) and ids.dtype.storage == "pyarrow" and len(ids) > 1:
        text = pa.chunked_array(ids.array.__arrow_array__())
        return pc.equal(text[:-1], text[1:]).to_numpy(zero_copy_only=False).astype(bool)
    values = ids.to_numpy()
    return np.asarray(values[:-1] == values[1:], dtype=bool)


def _in_order(ids: pd.Series, starts: pd.Series) -> bool:
    """Whether the rows are sorted by deal and start already (a history build sorts them: a
    million ids need no second sort)."""
    if len(ids) < 2:
        return True
    head, tail = ids.iloc[:-1].reset_index(drop=True), ids.iloc[1:].reset_index(drop=True)
    if not (head <= tail).all():
        return False
    same = (head == tail).to_numpy(bool)
    at = starts.to_numpy("datetime64[ns]")
    return bool((~same | (at[1:] >= at[:-1])).all())


def end_of(next_start: object) -> pd.Timestamp:
    """The last instant of the period that ends where ``next_start`` begins.

    >>> end_of("2025-11-01")
    Timestamp('2025-10-31 23:59:59.999999999')
    """
    return pd.Timestamp(next_start) - pd.Timedelta(1, "ns")


def make_intervals(rows: pd.DataFrame) -> pd.DataFrame:
    """Intervals in the canonical layout from rows holding at least ``deal_id`` and ``valid_from``.

    Missing columns are added empty (``removed`` False, ``partner`` ``"(direct)"``), values are
    cast to :data:`INTERVAL_DTYPES`, ``amount_cents`` is derived from ``amount`` (half up), rows
    are sorted by deal and time, and ``valid_to`` is set to the next ``valid_from`` of the same
    deal (NaT for the last).

    Parameters
    ----------
    rows : pandas.DataFrame
        One row per state.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`INTERVAL_DTYPES`, in order.

    Raises
    ------
    SchemaError
        When ``deal_id`` or ``valid_from`` is missing or empty, or two states of one deal begin
        at the same instant.

    Examples
    --------
    >>> rows = pd.DataFrame({"deal_id": ["A", "A"], "valid_from": pd.to_datetime(["2025-02-01", "2025-01-01"]),
    ...                      "status": ["won", "open"], "amount": [10.005, 10.0]})
    >>> make_intervals(rows)[["deal_id", "valid_from", "valid_to", "status", "amount_cents"]]
      deal_id valid_from   valid_to status  amount_cents
    0       A 2025-01-01 2025-02-01   open          1000
    1       A 2025-02-01        NaT    won          1001
    """
    for col in ("deal_id", "valid_from"):
        if col not in rows.columns or rows[col].isna().any():
            raise SchemaError(
                f"every history state needs a {col!r}",
                column=col,
                fix="give each row the deal it belongs to and the instant it began",
            )
    n = len(rows)
    out = {}
    for col, dtype in INTERVAL_DTYPES.items():
        if col in ("valid_to", "amount_cents"):
            continue
        if col in rows.columns:
            src = rows[col]
            if col == "status" and src.dtype != dtype:
                src = _statuses(src)
            if dtype == _DATE:  # a column of dates already is kept as it is (no copy)
                out[col] = src if src.dtype == _DATE else pd.to_datetime(src).astype(_DATE)
            else:
                out[col] = src.astype(dtype)
        else:
            default = {"removed": False, "partner": "(direct)"}.get(col)
            out[col] = pd.Series([default] * n if default is not None else None, index=rows.index, dtype=dtype)
    # copy=False: the columns are not copied into one block per dtype (a million states' dates
    # and amounts would be held twice while they were)
    frame = pd.DataFrame(out, index=rows.index, copy=False)
    if not _in_order(frame["deal_id"], frame["valid_from"]):
        frame = frame.sort_values(["deal_id", "valid_from"], kind="stable")
    frame = frame.reset_index(drop=True)
    # neighbours compared in place (no shifted copy of a million ids); no id or start is missing
    same = np.r_[False, _equal_next(frame["deal_id"])] if n else np.zeros(0, bool)
    at = frame["valid_from"].to_numpy(_DATE)
    clash = same & np.r_[False, at[1:] == at[:-1]]
    if clash.any():
        i = int(np.flatnonzero(clash)[0])
        raise SchemaError(
            f"deal {frame['deal_id'].iloc[i]!r} has two states beginning at {frame['valid_from'].iloc[i]}",
            fix="keep one row per deal and instant (the later change of the two)",
        )
    valid_to = np.full(n, np.datetime64("NaT"), _DATE)
    valid_to[:-1][same[1:]] = at[1:][same[1:]]  # the next start of the same deal
    frame.insert(2, "valid_to", valid_to)
    frame.insert(frame.columns.get_loc("amount") + 1, "amount_cents", _cents(frame["amount"]))
    return frame[list(INTERVAL_DTYPES)]


@dataclass(frozen=True, eq=False)
class History:
    """Every deal's successive states, and the deals as last seen.

    Attributes
    ----------
    intervals : pandas.DataFrame
        One row per deal and state, columns :data:`INTERVAL_DTYPES`, sorted by deal and
        ``valid_from``; a deal's intervals are contiguous; ``removed`` marks the time a deal was
        gone (deleted, or absent from the export).
    deals : pandas.DataFrame
        The canonical deals table of the latest known row of every deal ever seen (removed ones
        too): the fields that do not change come from here.
    ledger : pandas.DataFrame
        One row per input row: what became of it (kept, merged or rejected, and why).
    source : str
        What was read and how, in words.
    known : frozenset of str
        The fields (of :data:`CHANGING`) whose changes the source records; others are taken as
        constant.
    stages : tuple of str or None
        The CRM's stage order, where known.
    as_of : pandas.Timestamp
        The latest instant the history knows.
    warnings : tuple of str
        Everything worth knowing about the reading that did not stop it.
    """

    intervals: pd.DataFrame
    deals: pd.DataFrame
    ledger: pd.DataFrame
    source: str
    known: frozenset[str]
    stages: tuple[str, ...] | None
    as_of: pd.Timestamp
    warnings: tuple[str, ...] = field(default=())

    def at(self, t: object) -> pd.DataFrame:
        """The intervals valid at instant ``t`` that are not removed (one per deal)."""
        t = pd.Timestamp(t)
        iv = self.intervals
        valid = (iv["valid_from"] <= t) & (iv["valid_to"].isna() | (iv["valid_to"] > t)) & ~iv["removed"]
        return iv[valid.to_numpy()]

    def state(self, t: object) -> pd.DataFrame:
        """The canonical deals table as it was at instant ``t``.

        The changing fields come from the interval valid at ``t``; the rest from :attr:`deals`.
        Deals not yet created, or removed at ``t``, are absent. Rows keep the order of
        :attr:`deals`.

        Parameters
        ----------
        t : str, datetime or Timestamp
            The instant (a date means its midnight, the end of the day before).

        Returns
        -------
        pandas.DataFrame
            Canonical dtypes (:func:`channelkpi.schema.validate_deals` would change nothing).
        """
        now = self.at(t).set_index("deal_id")
        base = self.deals[self.deals["deal_id"].isin(now.index)].reset_index(drop=True)
        out = base.copy()
        aligned = now.reindex(base["deal_id"])
        for col in _CARRIED:
            out[col] = aligned[col].to_numpy()
        return validate_deals(out, name="history state")

    def summary(self) -> dict:
        """Counts that reconcile: ``rows_read == kept + merged + rejected``."""
        outcome = self.ledger["outcome"] if "outcome" in self.ledger else pd.Series([], dtype=object)
        counts = outcome.value_counts()
        kept, merged, rejected = (int(counts.get(k, 0)) for k in ("kept", "merged", "rejected"))
        return {
            "rows_read": kept + merged + rejected,
            "kept": kept,
            "merged": merged,
            "rejected": rejected,
            "deals": len(self.deals),
            "intervals": len(self.intervals),
        }
