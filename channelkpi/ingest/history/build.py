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
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import ChannelKPIError
from ...history import CHANGING, INTERVAL_DTYPES, History, end_of, make_intervals
from ...schema import DIRECT_PARTNER, DTYPES, validate_deals
from ..currencies import normalize_currency
from ..wording_notes import (
    DIFFER_FROM_HISTORY,
    NO_HISTORY,
    NOT_IN_EXPORT,
    ONLY_CURRENCY,
    UNKNOWN_CURRENCIES,
    UNKNOWN_CURRENCY,
)
from .rows import give_back_memory

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
    row = frame["_row"].to_numpy(np.int64)
    real = row >= 0  # states the pipeline made are no input row
    if not isinstance(detail, str):
        detail = np.asarray(list(detail), dtype=object)[real]
    everything = bool(real.all())
    n = int(real.sum())

    def pick(col: str) -> pd.Series:
        values = frame[col].reset_index(drop=True)
        return values if everything else values[real].reset_index(drop=True)

    # a million kept states share one file, outcome and reason: categories, not a string per row
    return pd.DataFrame(
        {
            "file": pick("_file").astype("category"),
            "row": row if everything else row[real],
            "outcome": pd.Categorical.from_codes(np.zeros(n, np.int8), [outcome]),
            "reason": pd.Categorical.from_codes(np.zeros(n, np.int8), [reason]),
            "detail": pd.Categorical.from_codes(np.zeros(n, np.int8), [detail])
            if isinstance(detail, str)
            else pd.Categorical(detail),
            "deal_id": pick("deal_id").astype(DTYPES["deal_id"]),
        }
    )


def _deal_codes(ids: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Each row's deal as an integer code in the ids' sorted order, and the ids the codes index.

    Rows already sorted by deal (as :mod:`.rows` reads them) are coded from where the id
    changes: no hashing of millions of id strings.
    """
    if len(ids) > 1 and isinstance(ids.dtype, pd.StringDtype) and ids.dtype.storage == "pyarrow":
        text = pa.chunked_array(ids.array.__arrow_array__())
        head, tail = text[:-1], text[1:]
        if pc.all(pc.less_equal(head, tail)).as_py():
            change = np.r_[True, pc.not_equal(head, tail).to_numpy(zero_copy_only=False).astype(bool)]
            return np.cumsum(change) - 1, pd.Index(ids[change].array)
    code, uniques = pd.factorize(ids, sort=True)
    return code, pd.Index(uniques)


def _from_current(current: pd.DataFrame, col: str, pos: np.ndarray, index: pd.Index) -> pd.Series:
    """The current export's ``col`` of each row's deal (missing where the deal is not there), in
    the export's dtype."""
    values = current[col].array.take(np.where(pos >= 0, pos, -1), allow_fill=True)
    return pd.Series(values, index=index, name=col)


def _currencies(
    s: pd.DataFrame, pos: np.ndarray, current: pd.DataFrame | None, currency: str | None, warnings: list[str]
) -> pd.Series:
    """Each state's currency: as read, else the deal's in the current export, else ``currency=``,
    else the single currency of the data (said in a warning); never missing without a word."""
    values = s["currency"].astype(DTYPES["currency"])
    if current is not None and "currency" in current:
        values = values.fillna(_from_current(current, "currency", pos, s.index).astype(DTYPES["currency"]))
    # a deal of the current export keeps the export's value, so its last state stays the export's
    missing = values.isna().to_numpy(bool) & (pos < 0)
    if not missing.any():
        return values
    if currency:
        return values.mask(missing, normalize_currency(currency))
    seen = set(values.dropna().unique())
    if current is not None and "currency" in current:
        seen |= set(current["currency"].dropna().unique())
    with_amount = int((missing & s["amount"].notna().to_numpy(bool)).sum())
    if len(seen) == 1:
        (only,) = seen
        warnings.append(ONLY_CURRENCY.format(count=int(missing.sum()), currency=only))
        return values.mask(missing, only)
    if with_amount:
        warnings.append(
            UNKNOWN_CURRENCIES.format(count=with_amount, number=len(seen), currencies=", ".join(sorted(seen)))
            if seen
            else UNKNOWN_CURRENCY.format(count=with_amount)
        )
    return values


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
    currency: str | None = None,
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
    currency : str, optional
        The currency of states that name none, for deals the current export lacks (or without
        one); by default the data's single currency.
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
    code, ids = _deal_codes(s["deal_id"])
    cur = None
    cur_pos = np.full(len(ids), -1, dtype=np.int64)  # each deal's row in the current export
    if current is not None:
        cur = current.set_index(current["deal_id"], drop=False)
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
    same_deal = code[1:] == code[:-1]
    # rows read in deal and time order with no two at one instant need no sort (and no copy)
    if not ((code[1:] >= code[:-1]).all() and (~same_deal | (at[1:] > at[:-1])).all()):
        order = np.lexsort((s["_row"].to_numpy(np.int64), closed_state, at, code))  # stable, by those keys
        s, code, at = s.iloc[order], code[order], at[order]
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
            s[col] = _from_current(current, col, pos, s.index)
        else:
            s[col] = pd.Series(DIRECT_PARTNER if col == "partner" else None, index=s.index, dtype=INTERVAL_DTYPES[col])
    if n:
        s["currency"] = _currencies(s, pos, current, currency, warnings)
    # a deal with no partner in the history nor in the current export is direct
    s["partner"] = s["partner"].fillna(DIRECT_PARTNER)

    # a state equal to the one before it records no change
    same_deal = np.r_[False, code[1:] == code[:-1]]
    unchanged = same_deal.copy()
    for col in (*CARRIED, "removed"):
        unchanged &= _same(s[col], s[col].shift())
    if unchanged.any():
        before = s["_row"].shift().to_numpy()[unchanged]
        ledger.append(_entries(s[unchanged], "merged", "unchanged", (f"same state as row {int(r)}" for r in before)))
        kept, kept_code = s[~unchanged], code[~unchanged]
    else:
        kept, kept_code = s, code
    del s
    ledger.append(_entries(kept, "kept", "state"))
    kept = kept.assign(_pos=cur_pos[kept_code])  # the row in the current export

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
            warnings.append(DIFFER_FROM_HISTORY.format(count=len(ids), deals=named, as_of=as_of))
        del last, is_last, last_pos, here, differs, removed_last  # a row per deal: not needed below
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
                warnings.append(NO_HISTORY.format(count=len(missing)))
        gone = kept.loc[kept["_pos"].to_numpy(np.int64) < 0].drop_duplicates("deal_id", keep="last")
        gone = gone[~gone["removed"].to_numpy(bool)]
        if len(gone):
            when = gone["_deleted_at"] if "_deleted_at" in gone else pd.Series(pd.NaT, index=gone.index)
            when = when.where(when.notna() & (when > gone["valid_from"]) & (when <= as_of), as_of)
            row = gone.assign(valid_from=when.to_numpy(), removed=True, _row=-1, _file="(current export)")
            added.append(
                row[[*CARRIED, "deal_id", "valid_from", "removed", "_file", "_row", "_pos"]].reset_index(drop=True)
            )
            warnings.append(NOT_IN_EXPORT.format(count=len(gone)))
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
    # the intervals hold the states now: the rows and the per-row work go before the ledger is sorted
    del rows, kept, code, kept_code, pos, created, at, closed_state, same_deal, unchanged, clash
    give_back_memory()
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


_LABELS = ("file", "outcome", "reason", "detail")


def _label_codes(values: pd.Series) -> pd.Categorical:
    """Labels as a categorical of text (one dtype of categories, however they were made)."""
    text = DTYPES["deal_id"]
    cat = values if values.dtype == "category" else values.astype(text).astype("category")
    return pd.Categorical.from_codes(cat.cat.codes, categories=pd.Index(cat.cat.categories.astype(text)))


def _ledger(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The ledger parts as one table by file and row; the labels as categories (a million rows
    repeat a handful of them).

    The order is found first, and each column is then joined and put in that order on its own, so
    that a million-row ledger is never held joined and ordered at once.
    """
    parts = [p for p in parts if len(p)] or parts[:1]

    def joined(col: str):
        if col in _LABELS:
            cats = [_label_codes(p[col]) for p in parts]
            return pd.api.types.union_categoricals(cats) if len(cats) > 1 else cats[0]
        if col == "row":
            return np.concatenate([p[col].to_numpy(np.int64) for p in parts])
        return _joined_text([p[col] for p in parts])

    files, rows = joined("file"), joined("row")
    if len(files.categories) > 1:
        file_code = np.argsort(np.argsort(files.categories.to_numpy(object)))[files.codes]
        order = np.lexsort((rows, file_code))
        del file_code
    else:  # one file: by row alone
        order = _by_row(rows)
    if (order[1:] > order[:-1]).all():  # rising, so every row in place already
        order = slice(None)
    columns = {"file": files[order], "row": rows[order]}
    del files, rows
    for col in HISTORY_LEDGER_COLUMNS:
        if col not in columns:
            columns[col] = joined(col)[order]
    return pd.DataFrame({col: columns.pop(col) for col in HISTORY_LEDGER_COLUMNS}, copy=False)


def _by_row(rows: np.ndarray) -> np.ndarray:
    """The positions of ``rows`` in rising order (stable), as a stable argsort.

    A file's rows each appear once: their order is then found by placing each at its row number,
    in 32-bit integers, without sorting a million numbers.

    >>> _by_row(np.array([5, 3, 4, 9])).tolist(), _by_row(np.array([3, 1, 3])).tolist()
    ([1, 2, 0, 3], [1, 0, 2])
    """
    if not len(rows) or len(rows) >= 2**31:
        return np.argsort(rows, kind="stable")
    low, high = int(rows.min()), int(rows.max())
    if high - low >= 4 * len(rows) + 1024:  # sparse row numbers: not worth a table
        return np.argsort(rows, kind="stable")
    at = np.full(high - low + 1, -1, np.int32)
    at[rows - low] = np.arange(len(rows), dtype=np.int32)
    order = at[at >= 0]
    if len(order) != len(rows):  # a row number repeats: sorted the ordinary way
        return np.argsort(rows, kind="stable")
    return order


def _joined_text(columns: list[pd.Series]) -> pd.api.extensions.ExtensionArray:
    """Text columns end to end, as one text array: their Arrow blocks side by side, not copied."""
    text = DTYPES["deal_id"]
    arrays = [c.astype(text).array for c in columns]
    chunks = [chunk for a in arrays for chunk in pa.chunked_array(a.__arrow_array__()).chunks]
    if len({chunk.type for chunk in chunks}) > 1:
        chunks = [chunk.cast(pa.large_string()) for chunk in chunks]
    return pd.array(pa.chunked_array(chunks, type=chunks[0].type), dtype=text) if chunks else arrays[0]
