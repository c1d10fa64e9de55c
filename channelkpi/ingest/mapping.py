"""Step 3, map columns: which header feeds each canonical column (its *role*).

Examples
--------
>>> from channelkpi.ingest.reader import read_raw
>>> from channelkpi.ingest.presets import BY_NAME
>>> raw = read_raw(b"Opportunity ID,Stage,Amount Currency,Amount\\n1,Closed Won,EUR,5\\n")
>>> columns = map_columns(raw, BY_NAME["salesforce_report"], {"Stage": "stage"})
>>> columns.roles
{'stage': 'Stage', 'deal_id': 'Opportunity ID', 'amount': 'Amount', 'currency': 'Amount Currency'}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import ColumnError
from .presets import ROLES, Preset, norm
from .reader import RawTable
from .wording_errors import (
    COLUMNS_TWICE,
    COLUMNS_UNKNOWN_HEADER,
    COLUMNS_UNKNOWN_ROLE,
    MAP_TO_ROLE,
    ONE_HEADER_PER_COLUMN,
    USE_HEADER_AS_IN_FIRST_ROW,
)

__all__ = ["ColumnMap", "map_columns"]


@dataclass(frozen=True)
class ColumnMap:
    """Which header feeds each role, and the headers left aside."""

    roles: dict[str, str]  #: role -> header
    ignored: list[str] = field(default_factory=list)  #: headers ``columns=`` maps to None
    #: re-import bookkeeping columns the preset drops (Dynamics 365 "(Do Not Modify) ...")
    dropped: list[str] = field(default_factory=list)


def map_columns(raw: RawTable, preset: Preset, columns: Mapping | None = None) -> ColumnMap:
    """Map the file's headers to roles: ``columns=`` first, then the preset's aliases, then common names.

    Raises
    ------
    ColumnError
        When ``columns=`` names a header that is not in the file, a role channelkpi does not know,
        or two headers for one role.
    """
    headers = list(raw.headers)
    by_norm: dict[str, str] = {}
    for h in headers:
        by_norm.setdefault(norm(h), h)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    ignored: list[str] = []
    for their, role in (columns or {}).items():
        header = their if their in headers else by_norm.get(norm(their))
        if header is None:
            raise ColumnError(
                COLUMNS_UNKNOWN_HEADER.format(header=repr(their), headers=headers[:40]),
                file=raw.file,
                column=str(their),
                fix=USE_HEADER_AS_IN_FIRST_ROW,
            )
        if role is None:
            ignored.append(header)
            used.add(header)
            continue
        if role not in ROLES:
            raise ColumnError(
                COLUMNS_UNKNOWN_ROLE.format(header=repr(their), role=repr(role)),
                file=raw.file,
                column=str(their),
                value=role,
                fix=MAP_TO_ROLE.format(roles=list(ROLES)),
            )
        if role in mapping:
            raise ColumnError(
                COLUMNS_TWICE.format(first=repr(mapping[role]), second=repr(header), role=repr(role)),
                file=raw.file,
                fix=ONE_HEADER_PER_COLUMN,
            )
        mapping[role] = header
        used.add(header)
    for role in ROLES:
        if role in mapping:
            continue
        for cand in preset.candidates(role):
            header = by_norm.get(cand)
            if header is not None and header not in used:
                mapping[role] = header
                used.add(header)
                break
    # the currency that goes with the chosen amount ("Amount Currency", "Amount (Converted) Currency")
    if "amount" in mapping and preset.currency_suffix and "currency" not in (columns or {}).values():
        companion = by_norm.get(norm(mapping["amount"]) + preset.currency_suffix)
        if companion:
            if "currency" in mapping and mapping["currency"] != companion:
                used.discard(mapping["currency"])
            mapping["currency"] = companion
    dropped = [
        h
        for h in headers
        if preset.drop_prefixes and norm(h).startswith(preset.drop_prefixes) and h not in mapping.values()
    ]
    return ColumnMap(mapping, ignored, dropped)
