"""HubSpot deal exports with ``Date entered "<stage> (<pipeline>)"`` columns: stage entries.

Each such column holds, per deal, the instant the deal entered that stage (``Date exited``
columns repeat the next entry and are not needed). The deal's stage and outcome are known from
each entry on; its amount and close date changes are not in the export, so they are taken as
constant (their current values) and a warning says so.

Examples
--------
>>> stage_of_header('Date entered "Contract sent (Sales Pipeline)"')
'Contract sent'
>>> stage_of_header("Date exited \\"Closed won (Sales Pipeline)\\"") is None
True
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..load import load_crm
from ..parse import parse_dates
from ..wording_notes import HUBSPOT_STAGES
from .rows import raw_of, time_of_day
from .salesforce import status_of
from .snapshots import kept_rows

__all__ = ["hubspot_states", "is_hubspot_stage_export", "stage_of_header"]

_ENTERED = re.compile(r'^\s*date entered\s*"?(.+?)(?:\s*\(([^()]*)\))?"?\s*$', re.IGNORECASE)


def stage_of_header(header: str) -> str | None:
    """The stage a ``Date entered`` column is about (without its pipeline), else None."""
    m = _ENTERED.match(header)
    return m[1].strip() if m else None


def is_hubspot_stage_export(headers: list[str]) -> bool:
    """Whether the export has ``Date entered`` columns."""
    return any(stage_of_header(h) for h in headers)


def hubspot_states(source, *, stage_map=None, sheet=None, dayfirst=None, tz=None, currency=None, fx=None):
    """The stage entries of a HubSpot export as states, the ledger entries of its rows, the
    fields they record, the file name, the warning about what is not recorded, and the stage
    order (the columns' order)."""
    if isinstance(source, (bytes, bytearray, memoryview)) or hasattr(source, "read"):
        source = bytes(source.read() if hasattr(source, "read") else source)
    result = load_crm(
        source, source="hubspot", stage_map=stage_map, sheet=sheet, dayfirst=dayfirst, tz=tz, currency=currency, fx=fx
    )
    raw = raw_of(source, sheet=sheet)
    rows = kept_rows(source, result, sheet)
    entries = [(result.file, int(r.row), r.outcome, r.reason, r.detail, r.deal_id) for r in result.ledger.itertuples()]
    entries += [
        (result.file, int(r), "kept", "state", "", i) for r, i in zip(rows, result.deals["deal_id"], strict=True)
    ]
    position = pd.Series(np.arange(len(raw.rows)), index=raw.rows)
    at_rows = position.reindex(rows).to_numpy()
    ids = result.deals["deal_id"].astype(object).to_numpy()
    parts, order = [], []
    for header in raw.headers:
        stage = stage_of_header(header)
        if stage is None:
            continue
        order.append(stage)
        cells = raw.cells[header].iloc[at_rows].reset_index(drop=True)
        at = parse_dates(cells, dayfirst=dayfirst, tz=tz).values.to_numpy("datetime64[ns]") + time_of_day(cells)
        there = ~np.isnat(at)
        parts.append(pd.DataFrame({"deal_id": ids[there], "valid_from": at[there], "stage": stage}))
    states = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["deal_id", "valid_from", "stage"])
    states["status"] = status_of(states["stage"], stage_map)
    states["_file"], states["_row"] = result.file, -1
    note = HUBSPOT_STAGES.format(file=result.file)
    return states, entries, frozenset({"stage", "status"}), result.file, note, tuple(dict.fromkeys(order))
