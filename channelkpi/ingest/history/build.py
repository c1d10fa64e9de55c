"""States in, a :class:`~channelkpi.history.History` out: the pipeline every history source ends in.

Each source (:mod:`.salesforce`, :mod:`.hubspot`, :mod:`.snapshots`, a generic table) turns its
rows into *states*: one row per deal and instant, with the fields it records. This module

1. keeps one state per deal and instant (a later row of the same instant wins, closed states
   last) and merges a state equal to the one before it (nothing changed);
2. takes the fields the source does not record from the current export, constant per deal;
3. makes the last state equal the current export: a deal whose current values differ from its
   last recorded state gets a state beginning at ``as_of`` (the history does not say when it
   changed, and a warning says so); a current deal without history is in that state since it
   was created; a deal the history has but the export has not is removed;
4. builds the intervals (:func:`channelkpi.history.make_intervals`) and the ledger, every input
   row once: ``rows_read == kept + merged + rejected``.

Examples
--------
>>> states = pd.DataFrame({"deal_id": ["A", "A", "A"], "_file": "h.csv", "_row": [2, 3, 4],
...     "valid_from": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]),
...     "status": ["open", "open", "won"], "stage": ["Qualify", "Qualify", "Won"]})
>>> h = build_history(states, [], known={"stage", "status"}, source="example")
>>> h.intervals[["deal_id", "valid_from", "valid_to", "stage"]]
  deal_id valid_from   valid_to    stage
0       A 2025-01-01 2025-03-01  Qualify
1       A 2025-03-01        NaT      Won
>>> h.ledger[["row", "outcome", "reason"]].values.tolist()
[[2, 'kept', 'state'], [3, 'merged', 'unchanged'], [4, 'kept', 'state']]
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ...errors import ChannelKPIError
from ...history import CHANGING, INTERVAL_DTYPES, History, end_of, make_intervals
from ...schema import DIRECT_PARTNER, DTYPES, validate_deals

__all__ = ["CARRIED", "HISTORY_LEDGER_COLUMNS", "build_history", "default_as_of"]

#: Columns of :attr:`History.ledger`: the loader's ledger columns, with the file each row is from.
HISTORY_LEDGER_COLUMNS = ("file", "row", "outcome", "reason", "detail", "deal_id")

#: The deal fields an interval carries.
CARRIED = tuple(c for c in INTERVAL_DTYPES if c in DTYPES and c not in ("deal_id", "created"))


def default_as_of(instants: pd.Series) -> pd.Timestamp:
    """The end of the day of the latest change: an export is taken after the changes it shows,
    and that day's period is the last one (a period is read at its last instant).

    Examples
    --------
    >>> default_as_of(pd.Series(pd.to_datetime(["2026-03-07 21:00", "2026-02-01 00:00"])))
    Timestamp('2026-03-07 23:59:59.999999999')
    """
    latest = instants.max()
    if pd.isna(latest):
        raise ChannelKPIError("the history holds no dated change", fix="check the file, or pass as_of=")
    return end_of(pd.Timestamp(latest).normalize() + pd.Timedelta(days=1))


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Equal values, a missing value equal to a missing one (compared in their own dtype)."""
    if a.dtype != b.dtype:
        a, b = a.astype(object), b.astype(object)
    both_missing = a.isna().to_numpy(bool) & b.isna().to_numpy(bool)
    equal = a.eq(b.set_axis(a.index))
    return equal.fillna(False).to_numpy(bool) | both_missing


def _entries(frame: pd.DataFrame, outcome: str, reason: str, detail: Iterable[str] | str = "") -> pd.DataFrame:
    real = frame["_row"].to_numpy(np.int64) >= 0  # states the pipeline made are no input row
    if not isinstance(detail, str):
        detail = np.asarray(list(detail), dtype=object)[real]
    frame = frame[real]
    return pd.DataFrame(
        {
            "file": frame["_file"].to_numpy(object),
            "row": frame["_row"].to_numpy(np.int64),
            "outcome": outcome,
            "reason": reason,
            "detail": detail if isinstance(detail, str) else list(detail),
            "deal_id": frame["deal_id"].to_numpy(object),
        }
    )


def _carried_defaults(n: int) -> dict[str, pd.Series]:
    return {c: pd.Series([DIRECT_PARTNER if c == "partner" else None] * n, dtype=object) for c in CARRIED}


def build_history(
    states: pd.DataFrame,
    entries: list[tuple],
    *,
    known: Iterable[str],
    source: str,
    current: pd.DataFrame | None = None,
    as_of: pd.Timestamp | None = None,
    stages: tuple[str, ...] | None = None,
    full_state: bool = True,
    warnings: list[str] | None = None,
) -> History:
    """The history of the ``states`` (see the module's steps).

    Parameters
    ----------
    states : pandas.DataFrame
        ``deal_id``, ``valid_from``, ``_file``, ``_row`` and any of the carried fields; an
        optional ``removed`` column marks a state in which the deal is gone, an optional
        ``_deleted_at`` the instant a deal was deleted.
    entries : list of tuple
        Ledger entries ``(file, row, outcome, reason, detail, deal_id)`` of the rows the source
        did not turn into states.
    known : iterable of str
        The fields of :data:`channelkpi.history.CHANGING` whose changes the source records.
    source : str
        What was read, in words.
    current : pandas.DataFrame, optional
        The current export's canonical deals table.
    as_of : Timestamp, optional
        The instant of the current export (default: :func:`default_as_of` of the states).
    full_state : bool
        Whether a state of a deal the current export lacks is still a deal (a full state row) or
        a change to an unknown deal (rejected).
    warnings : list of str, optional
        Warnings so far.
    """
    warnings = list(warnings or [])
    known = frozenset(known) & set(CHANGING)
    ledger = [pd.DataFrame(list(entries), columns=list(HISTORY_LEDGER_COLUMNS))]
    s = states.copy(deep=False)
    if "removed" not in s:
        s["removed"] = False
    if as_of is None:
        stamps = s["valid_from"] if "_deleted_at" not in s else pd.concat([s["valid_from"], s["_deleted_at"]])
        as_of = default_as_of(stamps) if len(s) else None
    if as_of is None:
        raise ChannelKPIError(
            "the history holds no state", fix="check the file: every row was rejected (see the ledger)"
        )
    as_of = pd.Timestamp(as_of)
    late = s["valid_from"] > as_of
    if late.any():
        first = s[late].iloc[0]
        raise ChannelKPIError(
            f"a change of deal {first['deal_id']!r} at {first['valid_from']} is after as_of={as_of}",
            file=str(first["_file"]),
            row=int(first["_row"]),
            fix="pass an as_of at or after the latest change (the instant the current export was taken)",
        )

    # deals as integer codes in the ids' sorted order: sorting, grouping and looking deals up in
    # the current export then work on integers, not on millions of id strings
    code, ids = pd.factorize(s["deal_id"], sort=True)
    cur = None
    cur_pos = np.full(len(ids), -1, dtype=np.int64)  # each deal's row in the current export
    if current is not None:
        cur = current.set_index(current["deal_id"].astype(object), drop=False)
        cur_pos = pd.Index(current["deal_id"]).get_indexer(ids).astype(np.int64)
        unknown = cur_pos[code] < 0
        if unknown.any() and not full_state:
            ledger.append(
                _entries(
                    s[unknown],
                    "rejected",
                    "unknown_deal",
                    "the deal is not in the current export; fix: export the current report with every deal",
                )
            )
            s, code = s[~unknown], code[~unknown]

    # one state per deal and instant: the later row wins, a closed state over an open one
    closed_state = s["status"].isin(["won", "lost"]).to_numpy(bool) if "status" in s else np.zeros(len(s), bool)
    at = s["valid_from"].to_numpy("datetime64[ns]").view(np.int64)
    order = np.lexsort((s["_row"].to_numpy(np.int64), closed_state, at, code))  # stable, as a sort by those keys
    s, code, at = s.iloc[order].assign(_closed_state=closed_state[order]), code[order], at[order]
    clash = np.r_[(code[1:] == code[:-1]) & (at[1:] == at[:-1]), False]
    if clash.any():
        ledger.append(_entries(s[clash], "merged", "same_instant", "another row of the same deal and instant wins"))
        s, code = s[~clash], code[~clash]

    # fields the source does not record: constant per deal, from the current export
    n = len(s)
    pos = cur_pos[code]
    for col in CARRIED:
        if col in s:
            continue
        if cur is not None:
            values = current[col].astype(object).to_numpy()
            s[col] = np.where(pos >= 0, values.take(np.maximum(pos, 0)) if len(values) else None, np.nan)
        else:
            s[col] = _carried_defaults(n)[col].to_numpy()
    if cur is not None:  # a deal the current export lacks has no partner there: "(direct)"
        s["partner"] = s["partner"].astype(object).where(s["partner"].notna(), DIRECT_PARTNER)

    # a state equal to the one before it records no change
    same_deal = np.r_[False, code[1:] == code[:-1]]
    unchanged = same_deal.copy()
    for col in (*CARRIED, "removed"):
        unchanged &= _same(s[col], s[col].shift())
    if unchanged.any():
        before = s["_row"].shift().to_numpy()[unchanged]
        ledger.append(_entries(s[unchanged], "merged", "unchanged", (f"same state as row {int(r)}" for r in before)))
    kept, kept_code = s[~unchanged], code[~unchanged]
    ledger.append(_entries(kept, "kept", "state"))
    kept = kept.drop(columns=["_closed_state"]).assign(_pos=cur_pos[kept_code])  # the row in the current export

    added = []
    if cur is not None:
        # each deal's last state beside its row of the current export, by position
        is_last = np.r_[kept_code[1:] != kept_code[:-1], True] if len(kept_code) else np.zeros(0, bool)
        last_pos = cur_pos[kept_code[is_last]]
        last = kept[is_last][last_pos >= 0].reset_index(drop=True)
        here = last_pos[last_pos >= 0]
        differs = np.zeros(len(here), bool)
        changed_cols = {}
        removed_last = last["removed"].to_numpy(bool)
        for col in CARRIED:
            d = ~_same(last[col], cur[col].iloc[here].reset_index(drop=True))
            d |= removed_last
            if d.any():
                changed_cols[col] = int(d.sum())
            differs |= d
        ids = cur.index[here[differs]]
        if len(ids):
            at_as_of = last["valid_from"][differs].eq(as_of).to_numpy()
            row = cur.iloc[here[differs]][list(CARRIED)].copy()
            row["deal_id"] = ids
            row["_pos"] = here[differs]
            row["valid_from"] = as_of
            row["removed"] = False
            row["_file"], row["_row"] = "(current export)", -1
            if at_as_of.any():  # a change stamped at as_of itself: the export is that state
                drop = kept["deal_id"].isin(ids[at_as_of]) & kept["valid_from"].eq(as_of)
                kept = kept[~drop.to_numpy()]
            added.append(row.reset_index(drop=True))
            named = ", ".join(f"{c.replace('_', ' ')} ({k})" for c, k in changed_cols.items())
            warnings.append(
                f"{len(ids)} deal(s) of the current export differ from their last recorded state ({named}); "
                f"their current values are taken to begin at as_of={as_of} because the history does not say when "
                "they changed"
            )
        has_history = np.zeros(len(cur), dtype=bool)
        where = kept["_pos"].to_numpy(np.int64)
        has_history[where[where >= 0]] = True
        missing = cur.index[~has_history]
        if len(missing):
            row = cur.loc[missing, list(CARRIED)].copy()
            row["deal_id"] = missing
            row["_pos"] = np.flatnonzero(~has_history)
            created = cur.loc[missing, "created"]
            row["valid_from"] = created.where(created.notna() & (created <= as_of), as_of).to_numpy()
            row["removed"] = False
            row["_file"], row["_row"] = "(current export)", -1
            added.append(row.reset_index(drop=True))
            if full_state or len(missing) < len(cur):
                warnings.append(
                    f"{len(missing)} deal(s) of the current export have no history; each is taken to be in its "
                    "current state since it was created"
                )
        gone = kept.loc[kept["_pos"].to_numpy(np.int64) < 0].drop_duplicates("deal_id", keep="last")
        gone = gone[~gone["removed"].to_numpy(bool)]
        if len(gone):
            when = gone["_deleted_at"] if "_deleted_at" in gone else pd.Series(pd.NaT, index=gone.index)
            when = when.where(when.notna() & (when > gone["valid_from"]) & (when <= as_of), as_of)
            row = gone.assign(valid_from=when.to_numpy(), removed=True, _row=-1, _file="(current export)")
            added.append(
                row[[*CARRIED, "deal_id", "valid_from", "removed", "_file", "_row", "_pos"]].reset_index(drop=True)
            )
            warnings.append(
                f"{len(gone)} deal(s) of the history are not in the current export: they are removed from the "
                "instant the CRM deleted them where it says so, else from as_of"
            )
    rows = pd.concat([kept, *added], ignore_index=True) if added else kept.reset_index(drop=True)

    deals = _deals(rows, cur)
    # the deals table begins with the current export's rows, in order: a row's position there is its deal's
    pos = rows["_pos"].to_numpy(np.int64)
    created = np.full(len(rows), np.datetime64("NaT"), dtype="datetime64[ns]")
    created[pos >= 0] = deals["created"].to_numpy("datetime64[ns]")[pos[pos >= 0]]
    if (pos < 0).any():
        by_id = deals.set_index(deals["deal_id"].astype(object))["created"]
        created[pos < 0] = by_id.reindex(rows["deal_id"][pos < 0].astype(object)).to_numpy("datetime64[ns]")
    rows["created"] = created
    intervals = make_intervals(rows)
    return History(
        intervals=intervals,
        deals=deals,
        ledger=_ledger(ledger),
        source=source,
        known=known,
        stages=stages,
        as_of=as_of,
        warnings=tuple(warnings),
    )


def _deals(rows: pd.DataFrame, cur: pd.DataFrame | None) -> pd.DataFrame:
    """The current export's deals in its order, then every other deal as last seen."""
    if cur is not None:  # only the deals the current export lacks are read from the rows
        rows = rows[rows["_pos"].to_numpy(np.int64) < 0]
    seen = rows[~rows["removed"].to_numpy(bool)]
    others = seen.drop_duplicates("deal_id", keep="last")
    first = rows.groupby("deal_id", sort=False)["valid_from"].min()
    extra = others[["deal_id", *CARRIED]].copy()
    if "created" in rows and rows["created"].notna().any():
        given = rows.groupby("deal_id", sort=False)["created"].min()
        extra["created"] = given.reindex(extra["deal_id"]).to_numpy()
    else:
        extra["created"] = first.reindex(extra["deal_id"]).dt.normalize().to_numpy()
    extra = validate_deals(extra.reset_index(drop=True), name="history")
    if cur is None:
        return extra
    base = cur.reset_index(drop=True)
    if not len(extra):
        return base
    return validate_deals(pd.concat([base, extra], ignore_index=True), name="history")


def _ledger(parts: list[pd.DataFrame]) -> pd.DataFrame:
    frame = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    frame = frame.sort_values(["file", "row"], kind="stable").reset_index(drop=True)
    return frame.astype({"row": "int64", "outcome": "str", "reason": "str", "detail": "str"})
