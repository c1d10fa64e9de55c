"""``load_history``: a history source in, a :class:`~channelkpi.history.History` out.

The source kind is decided from what is given (a list or folder: dated snapshots) or from the
headers (OpportunityFieldHistory, HubSpot "Date entered" columns, a history file with a change
instant per row); each kind turns its rows into states (:mod:`.rows`, :mod:`.salesforce`,
:mod:`.hubspot`, :mod:`.snapshots`) and :func:`.build.build_history` makes the history.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ...errors import ChannelKPIError, ColumnError
from ...history import History
from ..cells import RawTable
from ..load import load_crm
from ..reader import Source, read_raw
from ..result import LoadResult
from .build import build_history
from .hubspot import hubspot_states, is_hubspot_stage_export
from .rows import give_back_memory, read_state_rows
from .salesforce import field_history_states, is_field_history, opportunity_history_states
from .snapshots import snapshot_files, snapshot_states

__all__ = ["HistoryKind", "load_history"]

HistoryKind = Literal["auto", "salesforce_history", "salesforce_field_history", "hubspot", "table", "snapshots"]
_KINDS = ("auto", "salesforce_history", "salesforce_field_history", "hubspot", "table", "snapshots")
_TABLE_FIELDS = {
    "stage": "stage",
    "status": "status",
    "amount": "amount",
    "close_date": "expected_close",
    "expected_close": "expected_close",
    "partner": "partner",
    "owner": "owner",
}


def _current(current, options) -> LoadResult | None:
    if current is None or isinstance(current, LoadResult):
        return current
    keep = {k: v for k, v in options.items() if k in ("dayfirst", "tz", "currency", "fx", "stage_map")}
    return load_crm(current, **keep)


def _kind(source, source_kind: str, columns, sheet) -> tuple[str, RawTable | None]:
    """The kind of history, and the file's cells when they were read to decide it (read once)."""
    if source_kind not in _KINDS:
        raise ChannelKPIError(f"source_kind={source_kind!r}", fix=f"use one of {list(_KINDS)}")
    if source_kind in ("snapshots", "hubspot"):  # these read their files themselves
        return source_kind, None
    if source_kind == "auto" and (
        isinstance(source, (list, tuple)) or (isinstance(source, (str, os.PathLike)) and Path(source).is_dir())
    ):
        return "snapshots", None
    raw = read_raw(source, sheet=sheet)
    if source_kind != "auto":
        return source_kind, raw
    headers = raw.headers
    if is_field_history(headers):
        return "salesforce_field_history", raw
    if is_hubspot_stage_export(headers):
        return "hubspot", raw
    if columns and "changed_at" in columns.values():
        return "table", raw
    return "salesforce_history", raw


def load_history(
    source: Source | Sequence[Source],
    *,
    current: Source | LoadResult | None = None,
    columns: Mapping[str, str | None] | None = None,
    as_of: str | pd.Timestamp | Mapping[str, object] | None = None,
    source_kind: HistoryKind = "auto",
    stage_map: Mapping[str, str] | None = None,
    dayfirst: bool | None = None,
    tz: str | None = None,
    currency: str | None = None,
    fx: Mapping[str, float] | pd.DataFrame | None = None,
    sheet: str | int | None = None,
) -> History:
    """Read a deal history: every deal's successive states, and every input row accounted for.

    Parameters
    ----------
    source : path, bytes, file, or a list or folder of them
        A Salesforce ``OpportunityHistory`` export (API names, with or without ``PrevAmount``,
        ``PrevCloseDate``, ``FromOpportunityStageName``; or a report with labels), an
        ``OpportunityFieldHistory`` export (``OpportunityId, Field, OldValue, NewValue,
        CreatedDate``), a HubSpot deals export with ``Date entered "<stage> (<pipeline>)"``
        columns, a history table described by ``columns=``, or a list (or folder) of exports of
        the same report taken on different days (any CRM :func:`~channelkpi.load_crm` reads).
    current : path, bytes or LoadResult, optional
        The current export. The fields the history does not record come from it, and the last
        state of every deal equals it (``history.state(history.as_of)`` is its deals table).
        Required for ``OpportunityFieldHistory``; for snapshots, the last snapshot by default.
    columns : dict, optional
        ``{"their header": "canonical name"}`` as for :func:`~channelkpi.load_crm`, plus
        ``"changed_at"`` for the instant each row's state began (a history table:
        ``{"Deal": "deal_id", "Changed": "changed_at", "Stage": "stage", ...}``).
    as_of : date or dict, optional
        The instant of the current export (default: the end of the day of the latest change); for
        snapshots, ``{file name: date}`` where the file names carry no ISO date.
    source_kind : str, default "auto"
        ``"salesforce_history"``, ``"salesforce_field_history"``, ``"hubspot"``, ``"table"``
        or ``"snapshots"``; ``"auto"`` decides from the headers (a list or folder: snapshots).
    stage_map : dict, optional
        ``{"their stage": "won" | "lost" | "open"}``, as for :func:`~channelkpi.load_crm`.
    currency : str, optional
        The currency of history rows that name none. Each deal's currency comes from the file's
        currency column, else from the deal in ``current=``, else from ``currency=``, else it is
        the single currency of the data (a warning says so); with none of these it stays unknown
        and a warning says so. Also passed to :func:`~channelkpi.load_crm` for ``current=`` and
        snapshots.
    dayfirst, tz, fx, sheet
        As for :func:`~channelkpi.load_crm`.

    Returns
    -------
    History
        ``.intervals``, ``.deals``, ``.ledger`` (every input row: kept, merged or rejected, with
        the reason), ``.state(t)``, ``.summary()``, ``.known`` (the fields whose changes are
        recorded), ``.warnings``.

    Raises
    ------
    ChannelKPIError
        Naming the file, row, column, value and the fix, for input that cannot be read.

    Examples
    --------
    >>> history_csv = b'''OpportunityId,CreatedDate,StageName,Amount,CloseDate
    ... 006A,2025-01-10T09:30:00Z,Prospecting,100,2025-03-31
    ... 006A,2025-02-03T16:05:00Z,Negotiation,80,2025-04-30
    ... 006A,2025-02-20T11:00:00Z,Negotiation,80,2025-04-30
    ... '''
    >>> current_csv = b'''Id,StageName,Amount,CloseDate,CreatedDate
    ... 006A,Negotiation,80,2025-04-30,2025-01-10
    ... '''
    >>> h = load_history(history_csv, current=current_csv)
    >>> h.intervals[["deal_id", "valid_from", "valid_to", "stage", "amount_cents"]]
      deal_id          valid_from          valid_to        stage  amount_cents
    0    006A 2025-01-10 09:30:00 2025-02-03 16:05:00  Prospecting         10000
    1    006A 2025-02-03 16:05:00                 NaT  Negotiation          8000
    >>> {k: h.summary()[k] for k in ("rows_read", "kept", "merged", "rejected")}
    {'rows_read': 3, 'kept': 2, 'merged': 1, 'rejected': 0}
    >>> h.state("2025-02-01")[["deal_id", "stage", "amount"]]
      deal_id        stage  amount
    0    006A  Prospecting   100.0
    """
    options = {"dayfirst": dayfirst, "tz": tz, "currency": currency, "fx": fx, "stage_map": stage_map}
    kind, raw = _kind(source, source_kind, columns, sheet)
    # a history file's states are read before the current export, and its cells are let go then:
    # a million rows' cells and the current deals need not be held at once
    cur = _current(current, options) if kind in ("snapshots", "salesforce_field_history", "hubspot") else None
    at = None if isinstance(as_of, Mapping) else (pd.Timestamp(as_of) if as_of is not None else None)
    warnings: list[str] = []
    if kind == "snapshots":
        files = snapshot_files(source)
        states, entries, results, dates = snapshot_states(
            files, as_of=as_of if isinstance(as_of, Mapping) else None, columns=columns, sheet=sheet, **options
        )
        last = cur or results[-1]
        warnings += [f"{r.file}: {w}" for r in results for w in r.warnings]
        described = f"{len(files)} snapshots of {results[-1].source.label}, {dates[0].date()} to {dates[-1].date()}"
        return build_history(
            states,
            entries,
            known=set(_TABLE_FIELDS.values()),
            source=described,
            current=last.deals,
            as_of=at or dates[-1],
            warnings=warnings,
            currency=currency,
        )
    if kind == "salesforce_field_history":
        if cur is None:
            raise ChannelKPIError(
                "an OpportunityFieldHistory export records changes, not states: the current export is needed",
                fix="pass current= the Opportunity export of the same org",
            )
        states, entries, known, rows_read, file = field_history_states(
            raw, cur.deals, stage_map=stage_map, dayfirst=dayfirst, tz=tz, sheet=sheet
        )
        return build_history(
            states,
            entries,
            known=known,
            source=f"Salesforce OpportunityFieldHistory {file!r}",
            current=cur.deals,
            as_of=at,
            full_state=False,
            warnings=warnings,
            currency=currency,
        )
    if kind == "hubspot":
        states, entries, known, file, note, stages = hubspot_states(
            source, stage_map=stage_map, sheet=sheet, **{k: options[k] for k in ("dayfirst", "tz", "currency", "fx")}
        )
        warnings.append(note)
        base = cur or load_crm(source, source="hubspot", sheet=sheet, **options)
        return build_history(
            states,
            entries,
            known=known,
            source=f"HubSpot stage entries {file!r}",
            current=base.deals,
            as_of=at,
            stages=stages,
            full_state=False,
            warnings=warnings,
            currency=currency,
        )
    if kind == "table":
        cols = {k: ("created" if v == "changed_at" else v) for k, v in (columns or {}).items()}
        if "created" not in cols.values():
            raise ColumnError(
                "a history table needs the column of the instant each row's state began",
                fix="pass columns={'their date-time header': 'changed_at', ...}",
            )
        rows = read_state_rows(raw, instant="created", columns=cols, source_name="generic", sheet=sheet, **options)
        known = {_TABLE_FIELDS[r] for r in rows.columns if r in _TABLE_FIELDS} | (
            {"status"} if "stage" in rows.columns else set()
        )
        label = f"history table {rows.file!r}"
    else:
        rows, known = opportunity_history_states(raw, columns=columns, sheet=sheet, **options)
        label = f"Salesforce OpportunityHistory {rows.file!r} ({rows.label})"
    raw = None  # the cells are read: let them go before the current export is loaded
    give_back_memory()
    cur = _current(current, options)
    # the states are handed over, not copied (``assign`` would copy every column), and their file
    # is one category, not a string per row
    states, rows.states = rows.states, None
    states["_file"] = pd.Categorical.from_codes(np.zeros(len(states), np.int8), [rows.file])
    return build_history(
        states,
        rows.entries,
        known=known,
        source=label,
        current=None if cur is None else cur.deals,
        as_of=at,
        full_state=True,
        warnings=rows.warnings,
        currency=currency,
    )
