"""Partner and owner tables (``load_crm(partners=..., owners=...)``), joined to the deals by name.

A table has its key column (``partner`` or ``owner``) and any others; headers are named like
kept columns (:func:`~channelkpi.ingest.keep.field_name`: ``"Signed"`` is ``signed``). The rules:

* **one row per name**: two rows whose names are equal ignoring case, spacing and accents are
  an error naming both rows;
* **matching**: a deal's name matches the table's exactly, else after ignoring case, spacing
  and accents (then the deal takes the table's spelling, and a warning lists the names);
  deals whose name is not in the table are listed in a warning and get empty table columns;
* **columns**: the table's text columns join the deals as text columns (levels for ``by=``
  and ``where=``); a column named ``signed`` or ending in ``_date``, ``_on`` or ``_at`` (or a
  DataFrame's datetime column) is read as dates and stays in the table (``result.partners``);
* **names**: an owner table's ``department`` and ``unit`` fill the canonical columns where
  the export left them empty (the export's own value wins where there is one); any other
  column whose name the deals already have joins as ``partner_<name>`` / ``owner_<name>``.

Examples
--------
>>> import pandas as pd
>>> deals = pd.DataFrame({"deal_id": ["1", "2", "3"], "partner": ["ACME ", "Birch", "Zed"]})
>>> table = pd.DataFrame({"Partner": ["Acme", "Birch", "Cedar"], "Tier": ["gold", "silver", "gold"]})
>>> notes = []
>>> joined, stored = join_dimension(deals, table, "partner", notes)
>>> joined[["partner", "tier"]].values.tolist()
[['Acme', 'gold'], ['Birch', 'silver'], ['Zed', nan]]
>>> stored["partner"].tolist()
['Acme', 'Birch', 'Cedar']
>>> for note in notes:
...     print(note)
partner names matched to the partner table only after ignoring case, spacing or accents: 'ACME ' -> 'Acme' (1 deal(s))
1 deal(s) have a partner the partner table does not list: 'Zed' (1); their tier is empty
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ColumnError, ValueParseError
from ..schema import DIRECT_PARTNER
from .cells import STR
from .keep import field_name
from .parse import parse_dates
from .reader import read_raw
from .text import clean_text
from .wording_notes import (
    JOINED_OWNER,
    JOINED_PARTNER,
    LOOSE_OWNERS,
    LOOSE_PARTNERS,
    UNLISTED_OWNER_MANY,
    UNLISTED_OWNER_ONE,
    UNLISTED_PARTNER_MANY,
    UNLISTED_PARTNER_ONE,
)

__all__ = ["DIMENSION_KEYS", "join_dimension", "match_key", "read_dimension"]

#: The tables ``load_crm`` joins, by key column.
DIMENSION_KEYS = ("partner", "owner")
#: Canonical columns an owner table fills where the export has no value.
_FILLS = {"owner": ("department", "unit"), "partner": ()}


def match_key(name: object) -> str:
    """A name as names are matched: no accents, case or spacing.

    >>> match_key("  Café   Noir "), match_key("CAFE NOIR")
    ('cafe noir', 'cafe noir')
    """
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", text).strip().casefold()


def _is_date_column(name: str) -> bool:
    return name == "signed" or name.endswith(("_date", "_on", "_at"))


def read_dimension(source, key: str, warnings: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """A partner or owner table (a CSV/xlsx path, bytes, or a DataFrame) as a checked frame:
    columns named by :func:`~channelkpi.ingest.keep.field_name`, one row per key, text cleaned,
    date columns parsed; and each row's label for messages ("row 3" of the file, or the
    DataFrame's index label).

    Raises
    ------
    ColumnError
        When the table has no ``key`` column, or two columns with one name.
    ValueParseError
        When a row has no name, two rows have the same name, or a date cannot be read.
    """
    label = f"{key}s table"
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        rows = [f"row {i!r}" for i in frame.index]
        file = f"{key}s="
    else:
        raw = read_raw(source)
        frame = raw.frame
        rows = [f"row {int(r)}" for r in raw.rows]
        file = Path(source).name if isinstance(source, (str, Path)) else raw.file
    names = [field_name(c) for c in frame.columns]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ColumnError(
            f"the {label} has several columns named {twice[0]!r} once headers are in snake case",
            file=file,
            column=twice[0],
            fix="give each column its own name",
        )
    frame.columns = names
    if key not in names:
        raise ColumnError(
            f"the {label} has no {key!r} column; its columns are {names}",
            file=file,
            fix=f"name the column of {key} names {key!r} (header 'Partner' or 'partner' alike)",
        )
    frame = frame.reset_index(drop=True)
    out = {}
    for col in names:
        values = frame[col]
        if _is_date_column(col) or pd.api.types.is_datetime64_any_dtype(values):
            parsed = parse_dates(values if pd.api.types.is_datetime64_any_dtype(values) else values.astype(object))
            if parsed.bad.any():
                i = int(np.flatnonzero(parsed.bad)[0])
                raise ValueParseError(
                    f"the {label}'s {col!r} is not a date in {rows[i]}",
                    file=file,
                    column=col,
                    value=values.iloc[i],
                    fix="write dates as YYYY-MM-DD",
                )
            out[col] = parsed.values.reset_index(drop=True)
        else:
            text = values.astype(object).where(values.notna(), None).astype(STR)
            out[col] = clean_text(text, f"{label} {col!r}", warnings).reset_index(drop=True)
    table = pd.DataFrame(out)
    blank = table[key].isna().to_numpy()
    if blank.any():
        i = int(np.flatnonzero(blank)[0])
        raise ValueParseError(
            f"the {label} has a row without a {key} name ({rows[i]})",
            file=file,
            column=key,
            fix=f"give every row a {key} name, or delete the row",
        )
    loose = table[key].map(match_key)
    repeated = loose.duplicated(keep=False).to_numpy()
    if repeated.any():
        first = loose[repeated].iloc[0]
        which = [rows[i] for i in np.flatnonzero((loose == first).to_numpy())]
        raise ValueParseError(
            f"the {label} lists {table[key][loose == first].iloc[0]!r} more than once ({', '.join(which)})"
            + (f"; {int(repeated.sum())} rows repeat a name in all" if repeated.sum() > len(which) else ""),
            file=file,
            column=key,
            value=table[key][loose == first].iloc[-1],
            fix=f"keep one row per {key} (names equal ignoring case, spacing and accents are the same {key})",
        )
    return table, rows


def join_dimension(deals: pd.DataFrame, source, key: str, warnings: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The deals with the table's text columns joined on ``key`` (see the module docstring),
    and the table as stored on the load result (its columns named as on the deals)."""
    if key not in DIMENSION_KEYS:  # pragma: no cover - the callers pass one of them
        raise ValueError(key)
    table, _rows = read_dimension(source, key, warnings)
    names = table[key]
    exact = set(names)
    by_loose = dict(zip(names.map(match_key), names))
    values = deals[key]
    distinct = pd.Series(values.dropna().unique(), dtype=object)
    spelled = {}
    unmatched = []
    for v in distinct:
        if v in exact:
            continue
        hit = by_loose.get(match_key(v))
        if hit is not None:
            spelled[v] = hit
        elif not (key == "partner" and v == DIRECT_PARTNER):
            unmatched.append(v)
    deals = deals.copy()
    counts = values.value_counts()
    if spelled:
        deals[key] = values.map(lambda v: spelled.get(v, v)).astype(STR)
        shown = ", ".join(f"{k!r} -> {v!r} ({int(counts[k])} deal(s))" for k, v in list(spelled.items())[:8])
        more = f" and {len(spelled) - 8} more" if len(spelled) > 8 else ""
        warnings.append((LOOSE_OWNERS if key == "owner" else LOOSE_PARTNERS).format(names=shown + more))
    # the columns that join, under the name they take on the deals
    renamed = {}
    for col in table.columns:
        if col == key or pd.api.types.is_datetime64_any_dtype(table[col]):
            continue
        name = col
        if col in deals.columns and col not in _FILLS[key]:
            name = f"{key}_{col}"
            n = 1
            while name in deals.columns or name in renamed.values():
                n += 1
                name = f"{key}_{col}_{n}"
        renamed[col] = name
    stored = table.rename(columns=renamed)
    if len(renamed) != sum(1 for c, n in renamed.items() if c == n):
        moved = [f"{c!r} as {n!r}" for c, n in renamed.items() if c != n]
        warnings.append((JOINED_OWNER if key == "owner" else JOINED_PARTNER).format(columns=moved))
    if unmatched:
        n_deals = int(counts[unmatched].sum())
        shown = ", ".join(f"{v!r} ({int(counts[v])})" for v in sorted(unmatched, key=lambda v: -counts[v])[:10])
        more = f" and {len(unmatched) - 10} more" if len(unmatched) > 10 else ""
        cols = ", ".join(renamed.values()) or "nothing"
        one = len(renamed) == 1
        template = {
            ("owner", True): UNLISTED_OWNER_ONE,
            ("owner", False): UNLISTED_OWNER_MANY,
            ("partner", True): UNLISTED_PARTNER_ONE,
            ("partner", False): UNLISTED_PARTNER_MANY,
        }[key, one]
        warnings.append(template.format(count=n_deals, names=shown + more, columns=cols))
    lookup = stored.set_index(key)
    for col, name in renamed.items():
        joined = deals[key].map(lookup[name]).astype(STR)
        if col in _FILLS[key] and col in deals.columns:
            deals[col] = deals[col].fillna(joined)
        else:
            deals[name] = joined
    return deals, stored
