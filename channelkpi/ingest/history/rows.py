"""History rows: a file whose every row is a deal's state at an instant, read by the loader's steps.

A Salesforce ``OpportunityHistory`` export, a generic history table and one snapshot are read
exactly as :func:`~channelkpi.load_crm` reads an export -- :func:`~channelkpi.ingest.reader.read_raw`,
the presets, the outcome from the stage map, the money and date parsers -- but the rows are not
reconciled into one per deal: each row stays a state, stamped with the instant it began.

The loader's date parser reads calendar dates; a change instant also needs its time of day
(two stage changes a minute apart), which :func:`time_of_day` reads from the same cells.

Examples
--------
>>> csv = b'''OpportunityId,CreatedDate,StageName,Amount,CloseDate
... 006A,2025-01-10 09:30,Prospecting,100,2025-03-31
... 006A,2025-01-10 16:05,Closed Won,80,2025-02-01
... 006B,,Prospecting,50,2025-04-30
... '''
>>> rows = read_state_rows(csv, instant="created")
>>> rows.states[["deal_id", "valid_from", "stage", "status", "amount"]]
  deal_id          valid_from        stage status  amount
0    006A 2025-01-10 09:30:00  Prospecting   open   100.0
1    006A 2025-01-10 16:05:00   Closed Won    won    80.0
>>> [(e[1], e[2], e[3]) for e in rows.entries]
[(4, 'rejected', 'no_date')]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import ColumnError
from ..cells import RawTable
from ..detect import detect_preset
from ..mapping import map_columns
from ..money import Currencies
from ..outcome import check_stage_map, derive_outcome
from ..reader import Source, read_raw
from ..reconcile import screen_rows
from ..values import read_values

__all__ = ["StateRows", "give_back_memory", "raw_of", "read_state_rows", "time_of_day"]

# the loader's dates keep no time of day; a change instant needs it (RE2 syntax, for Arrow)
_TIME_RE2 = r"(?:^|[ T])(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?(?:[.,]\d+)?\s*(?P<ampm>[AaPp][Mm])?"


def give_back_memory() -> None:
    """Return the memory Arrow's pool keeps from freed buffers to the system.

    Reading a million-row history frees gigabytes of Arrow buffers (the file's text, parsed
    columns) that the pool would otherwise keep while pandas allocates the next step's arrays
    elsewhere: without this the peak is the sum of both.
    """
    pa.default_memory_pool().release_unused()


def raw_of(source: Source | RawTable, *, sheet: str | int | None = None) -> RawTable:
    """The file's cells: ``source`` itself when it was read already (a history file is read once,
    however many steps look at it)."""
    return source if isinstance(source, RawTable) else read_raw(source, sheet=sheet)


def time_of_day(values: pd.Series) -> np.ndarray:
    """The time of day written in each cell, as ``timedelta64[ns]`` (0 where there is none).

    ``08:55 PM``, ``20:55``, ``2025-01-02T20:55:10.000+0000`` are read as written (an offset is
    not applied: the loader's dates are also the dates as written).

    Examples
    --------
    >>> time_of_day(pd.Series(["02/23/26 08:55 PM", "2025-01-02T12:05:10Z", "2025-01-02", "12/01/25 12:10 AM"]))
    array([75300000000000, 43510000000000,              0,   600000000000],
          dtype='timedelta64[ns]')
    """

    # the regex runs once per distinct cell, in Arrow: a million change instants never become
    # Python objects (the indices map the distinct cells back to the rows)
    text = _as_text(values)
    encoded = pc.dictionary_encode(text)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = (
            encoded.combine_chunks() if encoded.num_chunks else pa.array([], pa.dictionary(pa.int32(), pa.string()))
        )
    distinct = encoded.dictionary
    parts = pc.extract_regex(distinct, _TIME_RE2)
    number = {k: pc.cast(pc.if_else(pc.equal(parts.field(k), ""), "0", parts.field(k)), pa.int64()) for k in "hms"}
    h, mi, s = (number[k].to_numpy(zero_copy_only=False) for k in "hms")
    h, mi, s = (np.nan_to_num(x.astype(float), nan=0).astype(np.int64) for x in (h, mi, s))
    ampm = pc.utf8_lower(parts.field("ampm")).to_numpy(zero_copy_only=False)
    h = np.where(ampm == "am", h % 12, np.where(ampm == "pm", h % 12 + 12, h))
    ns = np.append(((h * 60 + mi) * 60 + s) * 1_000_000_000, 0)  # the last: an empty cell
    codes = pc.fill_null(encoded.indices, len(distinct)).to_numpy(zero_copy_only=False)
    return ns[codes].astype("timedelta64[ns]")


def _as_text(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    """The cells as Arrow text; a cell that is not text (a number, a date from a workbook) is null."""
    try:
        return pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([v if isinstance(v, str) else None for v in values.astype(object)], pa.string())


def _id_ranks(ids: pd.Series) -> np.ndarray:
    """Each id's rank among the distinct ids (their sorted order), computed in Arrow."""
    encoded = pc.dictionary_encode(pa.chunked_array([pa.array(ids, type=pa.string(), from_pandas=True)]))
    encoded = encoded.combine_chunks() if encoded.num_chunks != 1 else encoded.chunk(0)
    rank = np.empty(len(encoded.dictionary), np.int64)
    rank[pc.sort_indices(encoded.dictionary).to_numpy()] = np.arange(len(rank))
    codes = pc.fill_null(encoded.indices, 0).to_numpy(zero_copy_only=False)
    return rank[codes] if len(rank) else np.zeros(len(ids), np.int64)


def _take(values, positions: np.ndarray) -> pd.Series:
    """The values at ``positions`` as a column (an array or a Series, whatever its index)."""
    values = values.array if isinstance(values, pd.Series) else values
    return pd.Series(values.take(positions) if hasattr(values, "take") else np.asarray(values)[positions])


@dataclass
class StateRows:
    """The kept rows of one file as states, and the ledger entries of the others."""

    states: pd.DataFrame  #: deal_id, valid_from, _row and the canonical columns, one per kept row
    entries: list[tuple]  #: (file, row, outcome, reason, detail, deal_id) of the rows not kept
    file: str
    rows_read: int
    label: str  #: the preset that read the file
    columns: dict[str, str]  #: role -> header
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, pd.Series] = field(default_factory=dict)  #: other columns asked for, per kept row


def read_state_rows(
    source: Source,
    *,
    instant: str,
    source_name: str = "auto",
    columns: Mapping[str, str | None] | None = None,
    stage_map: Mapping[str, str] | None = None,
    dayfirst: bool | None = None,
    tz: str | None = None,
    currency: str | None = None,
    fx=None,
    sheet: str | int | None = None,
    extra: tuple[str, ...] = (),
) -> StateRows:
    """Read every row of a history file as a deal's state beginning at the ``instant`` role's value.

    Parameters
    ----------
    source : path, bytes, file or RawTable
        The file, or its cells when already read.
    instant : str
        The role whose date-time is the instant the row's state began (``"created"``: the
        ``CreatedDate`` of a Salesforce history row).
    extra : tuple of str
        Headers (normalised names) whose raw text is returned per kept row, when present.

    Returns
    -------
    StateRows
    """
    raw = raw_of(source, sheet=sheet)
    warnings = list(raw.notes)
    preset, _why = detect_preset(raw.headers, source=source_name, columns=columns, file=raw.file)
    mapped = map_columns(raw, preset, columns)
    if instant not in mapped.roles:
        raise ColumnError(
            f"no column says when each state began (looked for {preset.candidates(instant)[:4]})",
            file=raw.file,
            fix="pass columns={'their date-time header': 'changed_at'}",
        )
    if "deal_id" not in mapped.roles:
        raise ColumnError(
            f"no deal id column (looked for {preset.candidates('deal_id')[:4]}); a history row must say which deal",
            file=raw.file,
            fix="pass columns={'their id header': 'deal_id'}",
        )
    roles = dict(mapped.roles)
    outcome = derive_outcome(raw, roles, check_stage_map(stage_map), warnings)
    screened = screen_rows(raw, roles, outcome, roles["deal_id"], warnings)
    # without a currency column a row's currency is unknown (NaN, or an inline symbol's): the
    # history build takes it from the current export first, then from currency= (only converting
    # amounts with fx= needs the reporting currency here)
    labelled = currency if ("currency" in roles or fx is not None) else None
    header = roles[instant]
    # the time of day first, while little else is held; each column is then let go of as soon
    # as it is read (the file's columns are never all held parsed at once)
    clock = time_of_day(raw.cells[header])
    values = read_values(
        raw,
        roles,
        outcome,
        screened.rejected,
        dayfirst=dayfirst,
        tz=tz,
        currency=labelled,
        fx=fx,
        warnings=warnings,
        let_go=True,
    )
    raw.cells.release()
    give_back_memory()
    entries = [(raw.file, r, "rejected", why, detail, None) for r, why, detail in raw.rejected]
    entries += [(raw.file, r, out, why, detail, i) for r, out, why, detail, i in screened.ledger]
    day = {"created": values.created, "closed": values.closed}.get(instant)
    at = pd.Series(day).to_numpy("datetime64[ns]") + clock
    del clock
    no_date = np.isnat(at) & ~screened.rejected
    cells = raw.cells[header] if no_date.any() else None  # only to quote the cells not read
    for i in np.flatnonzero(no_date):
        value = cells.iloc[i]
        entries.append(
            (
                raw.file,
                int(raw.rows[i]),
                "rejected",
                "no_date",
                f"column {header!r}: {'empty' if pd.isna(value) else repr(value)} is not a date; "
                "fix: give the instant the state began",
                screened.ids.iloc[i],
            )
        )
    keep = ~(screened.rejected | no_date)
    # each deal's states together and in time order (stable: the file's order at one instant), so
    # the history build finds them sorted and copies nothing; the ids are coded in Arrow (a
    # million ids never become Python strings) and each column is taken once, in that order
    kept = np.flatnonzero(keep)
    kept = kept[np.lexsort((at[kept].view(np.int64), _id_ranks(screened.ids)[kept]))]
    by_norm = {re.sub(r"[^a-z0-9]", "", h.lower()): h for h in raw.headers}
    more = {name: raw.cells[by_norm[name]].take(kept).reset_index(drop=True) for name in extra if name in by_norm}
    # everything this step reads from the cells is taken: their tidied rows and parses go now
    # (not with the cells, which the caller may hold), and Arrow's pool gives their buffers back
    del cells
    raw.cells.release()
    give_back_memory()
    # columns the file does not have are not part of the row's state
    present = {"stage": "stage" in roles, "partner": "partner" in roles, "owner": "owner" in roles}
    present["amount"] = "amount" in roles
    present["currency"] = "currency" in roles or "amount" in roles
    present["expected_close"] = present["closed"] = "close_date" in roles or "expected_close" in roles
    present["probability"] = "probability" in roles or "stage" in roles
    # each column is taken in the kept order and its per-row source let go of at once: the
    # states are built while only one column is held twice (text is taken from its distinct
    # values by code, so its rows are made once, in their order)
    text = {role: values.text[role] for role in ("stage", "partner", "owner")}
    sources = {
        "deal_id": screened.ids,
        "valid_from": at,
        "_row": raw.rows,
        **{role: lambda role=role: text[role].subset(kept).to_series() for role in text},
        "status": lambda: _take(outcome.labels(), kept),
        "amount": values.amount,
        "currency": lambda cur=values.currency: Currencies(cur.codes[kept], cur.labels).to_series(),
        "expected_close": values.expected_close,
        "closed": values.closed,
        "probability": values.probability,
    }
    del values, at, screened
    taken = {}
    for name in list(sources):
        source = sources.pop(name)
        if present.get(name, True):
            taken[name] = source() if callable(source) else _take(source, kept)
        del source
    frame = pd.DataFrame(taken, copy=False)  # the columns are new: not copied again into blocks
    return StateRows(
        states=frame,
        entries=entries,
        file=raw.file,
        rows_read=len(raw) + len(raw.rejected),
        label=preset.label,
        columns=roles,
        warnings=warnings,
        extra=more,
    )
