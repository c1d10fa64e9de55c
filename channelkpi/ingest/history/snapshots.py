"""Dated snapshots: exports of the same report taken on different days, compared deal by deal.

Each snapshot is read by :func:`~channelkpi.load_crm` (any CRM it reads); its date comes from
``as_of={file: date}`` or from an ISO date in the file name (``deals_2025-11-01.csv``). A
snapshot dated D is the state at instant D (midnight: the end of the day before). A deal whose
values differ from the previous snapshot gets a state from D; a deal missing from a later
snapshot is removed from D; a deal that comes back gets a new state.

Examples
--------
>>> snapshot_date("exports/deals_2025-11-01.csv")
Timestamp('2025-11-01 00:00:00')
>>> snapshot_date("deals 20251101.xlsx")
Timestamp('2025-11-01 00:00:00')
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import ChannelKPIError
from ..load import load_crm
from ..reader import read_raw
from .build import CARRIED

__all__ = ["kept_rows", "snapshot_date", "snapshot_files", "snapshot_states"]

_ISO = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)")
_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")


def snapshot_date(name: str | os.PathLike) -> pd.Timestamp | None:
    """The ISO date in a file name (``2025-11-01`` or ``20251101``), or None."""
    for m in _ISO.finditer(Path(name).name):
        try:
            return pd.Timestamp(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            continue
    return None


def snapshot_files(source) -> list:
    """The snapshot files of a folder (the exports in it, by name) or a list."""
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
        files = sorted(p for p in Path(source).iterdir() if p.suffix.lower() in _SUFFIXES)
        if not files:
            raise ChannelKPIError(
                f"the folder {str(source)!r} holds no export (.csv, .tsv, .txt, .xlsx)",
                fix="put the dated exports in it, or pass a list of files",
            )
        return files
    return list(source)


def _date_of(item, as_of: Mapping | None) -> pd.Timestamp:
    name = Path(item).name if isinstance(item, (str, os.PathLike)) else None
    if as_of:
        for key in (item, name, str(item)):
            if key is not None and key in as_of:
                return pd.Timestamp(as_of[key])
    found = snapshot_date(name) if name else None
    if found is None:
        raise ChannelKPIError(
            "cannot tell the date of this snapshot",
            file=name or "<buffer>",
            fix="put an ISO date in its name (deals_2025-11-01.csv) or pass as_of={file: date}",
        )
    return found


def snapshot_states(sources: Sequence, *, as_of: Mapping | None = None, **options):
    """The states of dated snapshots, the ledger entries of their rows, and the last snapshot's result.

    ``options`` go to :func:`~channelkpi.load_crm` for every snapshot.
    """
    if not len(sources):
        raise ChannelKPIError("no snapshot to compare", fix="pass two or more dated exports of the same report")
    sources = [s.read() if hasattr(s, "read") else s for s in sources]  # read twice below
    dated = sorted(((_date_of(s, as_of), i, s) for i, s in enumerate(sources)), key=lambda t: (t[0], t[1]))
    for (d1, _, s1), (d2, _, s2) in zip(dated, dated[1:], strict=False):
        if d1 == d2:
            raise ChannelKPIError(
                f"two snapshots are dated {d1.date()}: {Path(s1).name if isinstance(s1, (str, os.PathLike)) else s1!r} "
                f"and {Path(s2).name if isinstance(s2, (str, os.PathLike)) else s2!r}",
                fix="keep one export per day, or give each its date with as_of={file: date}",
            )
    parts, entries, results = [], [], []
    previous: set = set()
    removed_rows = []
    for date, _, src in dated:
        result = load_crm(src, **options)
        results.append(result)
        d = result.deals
        # every row the loader set aside, and the rows it merged into a deal
        entries += [
            (result.file, int(r.row), r.outcome, r.reason, r.detail, r.deal_id) for r in result.ledger.itertuples()
        ]
        rows = kept_rows(src, result, options.get("sheet"))
        frame = d[["deal_id", *CARRIED, "created"]].copy()
        frame["deal_id"] = frame["deal_id"].astype(object)
        frame["valid_from"] = date
        frame["_file"], frame["_row"] = result.file, rows
        frame["removed"] = False
        parts.append(frame)
        here = set(frame["deal_id"])
        for gone in sorted(previous - here):
            removed_rows.append((gone, date))
        previous |= here
        previous -= previous - here
    states = pd.concat(parts, ignore_index=True)
    if removed_rows:
        gone = pd.DataFrame(removed_rows, columns=["deal_id", "valid_from"])
        # a removed state takes the values of the state before it, not a later return
        states["deal_id"] = states["deal_id"].astype(object)
        gone["deal_id"] = gone["deal_id"].astype(object)
        before = pd.merge_asof(
            gone.sort_values("valid_from"),
            states.sort_values("valid_from")
            .drop(columns=["removed"])
            .rename(columns={"valid_from": "_at"})
            .assign(valid_from=lambda f: f["_at"]),
            on="valid_from",
            by="deal_id",
            allow_exact_matches=False,
        )
        cols = [*CARRIED, "created"]
        rem = before[["deal_id", "valid_from", *cols]].assign(removed=True, _file="(snapshots)", _row=-1)
        states = pd.concat([states, rem], ignore_index=True)
    return states, entries, results, [date for date, _, _ in dated]


def kept_rows(src, result, sheet) -> np.ndarray:
    """The file row of each deal of a load: the data rows its ledger does not list, in order
    (the loader keeps a deal's first row and lists the others)."""
    rows = read_raw(src, sheet=sheet).rows
    rows = rows[~np.isin(rows, result.ledger["row"].to_numpy())]
    return np.asarray(rows[: len(result.deals)], dtype=np.int64)
