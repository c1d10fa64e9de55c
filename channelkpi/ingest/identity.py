"""Whether a column taken as the deal id by its name really holds one id per deal.

A repeated deal id is read as one deal's stage history or its line items (:mod:`.repeats`).
That is right only when the rows that share an id are the same deal: a column called ``id``
whose repeats carry different accounts or deal names is a number of another kind (a partner's
or a batch's), and merging its rows would lose deals. A creation date is not compared: a
stage-history export may carry the date of each state in a column named like it. Recognition by meaning
never takes such a column (:mod:`.meaning` asks); this check gives the same answer for a column
taken by its common name.

Examples
--------
>>> from channelkpi.ingest.reader import read_raw
>>> raw = read_raw(b"id,account,stage\\n7,Globex,Won\\n7,Initech,Lost\\n8,Hooli,Won\\n")
>>> print(mixed_deals(raw, {"deal_id": "id", "account": "account"}))
rows 2 and 3 share the id '7' but have different account values ('Globex', 'Initech')
>>> mixed_deals(read_raw(b"id,account,stage\\n7,Globex,Open\\n7,Globex,Won\\n"), {"deal_id": "id", "account": "account"})
"""

from __future__ import annotations

import pandas as pd

from .cells import blank_mask, has_repeats
from .reader import RawTable

__all__ = ["IDENTITY_FIELDS", "mixed_deals"]

#: The canonical columns that stay the same on every row of one deal (its states or its parts).
IDENTITY_FIELDS = ("account", "name")


def mixed_deals(raw: RawTable, roles: dict[str, str]) -> str | None:
    """Why the deal id column of ``roles`` does not identify deals (rows sharing an id differ in
    an identity field), in words; None when it does or when no field can tell.

    Only the rows whose id repeats are compared, and blank cells do not count as a difference.
    """
    header = roles.get("deal_id")
    if header is None:
        return None
    ids = raw.cells[header]
    if not has_repeats(ids):
        return None
    for role in IDENTITY_FIELDS:
        if role not in roles or roles[role] == header:
            continue
        values = raw.cells[roles[role]].astype(str).str.strip()
        frame = pd.DataFrame({"id": ids.astype(str).str.strip(), "value": values})
        frame = frame[~blank_mask(ids).astype(bool) & ~blank_mask(raw.cells[roles[role]]).astype(bool)]
        frame = frame[frame["id"].duplicated(keep=False)]
        if frame.empty:
            continue
        counts = frame.groupby("id", sort=False)["value"].nunique()
        mixed = counts[counts > 1]
        if mixed.empty:
            continue
        deal = mixed.index[0]
        rows = frame[frame["id"] == deal].drop_duplicates("value").index[:2]
        first, second = (int(raw.rows[i]) for i in rows)
        shown = ", ".join(repr(v) for v in frame.loc[rows, "value"])
        return f"rows {first} and {second} share the id {deal!r} but have different {role} values ({shown})"
    return None
