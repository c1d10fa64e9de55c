"""A kept mapping (or ``columns=``) fitted to this month's export: headers it names that are
gone, and a deal id that common names would add although the mapping left it out.

A mapping is written for one export and used on the next ones. A header it ignores (``""``)
that is no longer there is simply not needed; a header it maps that is gone is an error that
names the mapping file, since that column would silently be missing. When the mapping names no
deal id, the loader still finds a column by its common name (``ID``); that column is used only
if its repeats are one deal's rows (:func:`~.identity.mixed_deals`), and a column the proposal
would have asked about is named in a warning rather than dropped in silence.

Examples
--------
>>> from channelkpi.ingest.reader import read_raw
>>> from channelkpi.ingest.mapfile import Mapping
>>> raw = read_raw(b"ref,phase\\nA,Won\\n")
>>> fitted_columns(Mapping(columns={"ref": "deal_id", "Notes": None}), raw, {"ref": "deal_id", "Notes": None})
{'ref': 'deal_id'}
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import ColumnError
from .identity import mixed_deals
from .mapfile import Mapping
from .mapping import ColumnMap
from .meaning import propose
from .presets import norm
from .reader import RawTable
from .wording_errors import (
    MAPPED_HEADER_GONE,
    MAPPED_HEADER_GONE_FILE,
    RESPELL_HEADER,
    RESPELL_HEADER_FILE,
)
from .wording_notes import ID_NOT_USED, MAY_BE_ID

__all__ = ["checked_identity", "fitted_columns"]


def fitted_columns(mapping: Mapping | None, raw: RawTable, columns: dict | None) -> dict | None:
    """``columns`` (the mapping's merged with the caller's) without the headers the mapping
    ignores that the export no longer has; ``columns`` as given without a mapping.

    Raises
    ------
    ColumnError
        For a header the mapping maps to a column that is not in the export, naming the mapping
        file, the header and the export's headers.
    """
    if mapping is None:
        return columns
    present = {norm(h) for h in raw.headers}
    out = {}
    for header, role in (columns or {}).items():
        if header in mapping.columns and norm(header) not in present:
            if role is None:
                continue  # an ignored column that is gone is not needed
            values = dict(header=repr(header), role=role, file=raw.file, headers=raw.headers[:40])
            raise ColumnError(
                MAPPED_HEADER_GONE_FILE.format(origin=repr(mapping.origin), **values)
                if mapping.origin
                else MAPPED_HEADER_GONE.format(**values),
                file=mapping.origin or raw.file,
                column=str(header),
                fix=RESPELL_HEADER_FILE.format(origin=repr(mapping.origin)) if mapping.origin else RESPELL_HEADER,
            )
        out[header] = role
    return out


def checked_identity(
    raw: RawTable, mapped: ColumnMap, given: dict, warnings: list[str], *, origin: str | None = None
) -> ColumnMap:
    """The column map without a deal id that the caller did not give and that merges different
    deals; with a warning when no deal id is mapped but the export has a column that may be one.
    """
    where = f"under [columns] of {origin!r}" if origin else "in columns="
    asked = {norm(h) for h in given}
    header = mapped.roles.get("deal_id")
    if header is not None and norm(header) not in asked:
        why = mixed_deals(raw, mapped.roles)
        if why:
            warnings.append(ID_NOT_USED.format(header=repr(header), why=why, where=where))
            roles = {r: h for r, h in mapped.roles.items() if r != "deal_id"}
            return replace(mapped, roles=roles)
    if header is None and asked:
        for g in propose(raw).guesses:
            if g.role == "deal_id" and norm(g.header) not in asked:
                warnings.append(
                    MAY_BE_ID.format(header=repr(g.header), certainty=g.certainty, reason=g.reason, where=where)
                )
                break
    return mapped
