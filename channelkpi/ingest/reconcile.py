"""Step 6, reconcile rows: which rows are deals, their ids, and one row per deal, every other
row accounted for in the ledger (``rows_read == kept + merged + rejected``).

:func:`screen_rows` runs before the values are read: it rejects rows that cannot be deals (no
id and no status, an empty status, a deal the CRM deleted) and numbers the rows without an id.
:func:`reconcile_rows` then folds rows that repeat an id (:mod:`.repeats`) and builds the
canonical table.

Examples
--------
>>> from channelkpi.ingest.reader import read_raw
>>> from channelkpi.ingest.outcome import derive_outcome
>>> raw = read_raw(b"id,status,partner\\na,won,X\\n,,Y\\nb,,Z\\n,lost,W\\n")
>>> roles, notes = {"deal_id": "id", "status": "status"}, []
>>> outcome = derive_outcome(raw, roles, {}, notes)
>>> screened = screen_rows(raw, roles, outcome, "'id'", notes)
>>> screened.ids.tolist(), screened.rejected.tolist()
(['a', nan, 'b', 'row 5'], [False, True, True, False])
>>> [entry[:3] for entry in screened.ledger]
[(3, 'rejected', 'not_a_deal'), (4, 'rejected', 'no_status')]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..i18n import N_
from ..schema import DTYPES
from .cells import STR, arrow_text, chunk_joined, has_repeats, text_series
from .locate import rows_text
from .outcome import NONE, Outcome
from .reader import RawTable
from .repeats import merge_repeats
from .text import clean_text_column, looks_scientific
from .values import RECORD_ROLES, TEXT_ROLES, DealValues
from .wording import DELETED, IDS_MADE, NO_ID_NO_STATUS, SCIENTIFIC_IDS, STATUS_EMPTY
from .wording_notes import NO_ID_COLUMN

__all__ = ["Entry", "Screened", "line_rows", "reconcile_rows", "screen_rows", "start_screening"]

Entry = tuple[int, str, str, str, object]


@dataclass
class Screened:
    """The rows that are deals and their ids."""

    ids: pd.Series  #: the deal id of every row (made from the row number where there is none)
    rejected: np.ndarray  #: True for rows that are not deals
    ledger: list[Entry] = field(default_factory=list)  #: (row, "rejected", reason, detail, deal id)
    made: bool = False  #: some ids were made from row numbers
    id_header: str | None = None  #: the header the ids come from


def _ids_work(raw: RawTable, header: str):
    def clean() -> tuple[pd.Series, list[str], bool]:
        notes: list[str] = []
        ids = clean_text_column(raw.cells[header], header, notes)
        return ids, notes, looks_scientific(ids)

    return ("ids", header), clean


def _id_repeats_work(raw: RawTable, header: str):
    """Whether the cleaned ids of all rows repeat (rejected rows included: a superset)."""
    return ("id repeats", header), lambda: has_repeats(raw.cells.derive(*_ids_work(raw, header))[0])


def start_screening(raw: RawTable, roles: dict[str, str]) -> None:
    """Begin cleaning the deal ids, and looking for repeats, in the raw table's pool."""
    if "deal_id" in roles:
        raw.cells.start(*_ids_work(raw, roles["deal_id"]))
        raw.cells.start(*_id_repeats_work(raw, roles["deal_id"]))


def screen_rows(
    raw: RawTable, roles: dict[str, str], outcome: Outcome, looked_for: str, warnings: list[str]
) -> Screened:
    """Reject rows that cannot be deals and give every other row an id.

    ``looked_for`` names the id headers the preset knows, for the warning when there is none.
    """
    n = len(raw)
    if "deal_id" in roles:
        header = roles["deal_id"]
        ids, notes, scientific = raw.cells.derive(*_ids_work(raw, header))
        warnings.extend(notes)
        if scientific:
            warnings.append(SCIENTIFIC_IDS.format(header=repr(header)))
    else:
        ids = pd.Series(np.nan, index=range(n), dtype=object)
        warnings.append(NO_ID_COLUMN.format(looked_for=looked_for, argument="columns={'their id header': 'deal_id'}"))
    ledger: list[Entry] = []
    no_id = ids.isna().to_numpy()
    no_outcome = outcome.status == NONE
    empty_row = no_id & no_outcome
    for i in np.flatnonzero(empty_row):
        ledger.append((int(raw.rows[i]), "rejected", N_("not_a_deal"), NO_ID_NO_STATUS, None))
    rejected = empty_row.copy()
    no_status = ~no_id & no_outcome & ~outcome.deleted
    for i in np.flatnonzero(no_status):
        detail = STATUS_EMPTY.format(source=outcome.source)
        ledger.append((int(raw.rows[i]), "rejected", N_("no_status"), detail, ids.iloc[i]))
    rejected |= no_status
    for i in np.flatnonzero(outcome.deleted & ~rejected):
        ledger.append((int(raw.rows[i]), "rejected", N_("deleted"), DELETED, ids.iloc[i]))
    rejected |= outcome.deleted
    made = no_id & ~rejected
    if made.any():
        ids = ids.copy()
        ids[made] = [f"row {int(r)}" for r in raw.rows[made]]
        if "deal_id" in roles:
            warnings.append(
                IDS_MADE.format(count=int(made.sum()), header=repr(roles["deal_id"]), rows=rows_text(raw.rows[made]))
            )
    return Screened(ids, rejected, ledger, made=bool(made.any()), id_header=roles.get("deal_id"))


def _row_frame(screened: Screened, values: DealValues, outcome: Outcome) -> pd.DataFrame:
    """The canonical columns of every row, as the merging of repeated rows reads them."""
    return pd.DataFrame(
        {
            "deal_id": screened.ids,
            **{role: values.text[role].to_series() for role in TEXT_ROLES + RECORD_ROLES},
            "channel": values.channel.to_series(),
            "status": outcome.labels(),
            "created": values.created,
            "closed": values.closed,
            "expected_close": values.expected_close,
            "amount": values.amount,
            "currency": pd.Series(values.currency.label_rows(np.arange(len(values.amount))), dtype=object),
            "probability": values.probability,
            **{name: coded.to_series() for name, coded in values.kept.items()},
        }
    )


def _one_block(series: pd.Series) -> pd.Series:
    """A text column as one Arrow array: the deals table's columns are read whole by every
    engine, which groups a column of reader blocks a little slower."""
    if series.dtype != STR or arrow_text(series).num_chunks <= 1:
        return series
    return text_series(chunk_joined(series)).set_axis(series.index)


def _canonical(columns: dict[str, object], n: int) -> pd.DataFrame:
    """The canonical table from columns already in their canonical dtypes (as
    :func:`channelkpi.schema.validate_deals` would leave them), then the kept columns."""
    out = {}
    for col in [*DTYPES, *(c for c in columns if c not in DTYPES)]:
        value = columns[col]
        # the arrays are this load's own: the table takes them as they are, not copies
        series = value if isinstance(value, pd.Series) else pd.Series(value, dtype=DTYPES[col], copy=False)
        out[col] = series.set_axis(pd.RangeIndex(n))
    # one block per column: gathering same-typed columns into 2-D blocks would copy them
    return pd.DataFrame(out, copy=False)


def line_rows(frame: pd.DataFrame, rows: np.ndarray, entries: list[Entry], kept: list[str]) -> pd.DataFrame:
    """The line items of a line-item export: every row kept as part of a deal (exact repeats
    counted once), with ``row`` (its number in the file), ``deal_id``, ``product``, ``amount``
    and the kept columns whose value differs between the lines of some deal (the others are the
    deal's, as the deals table has them). A row that is the whole of its deal is its only line.

    Examples
    --------
    >>> frame = pd.DataFrame({"deal_id": ["A", "A", "A"], "product": ["X", "Y", "Y"], "amount": [1.0, 2.0, 2.0],
    ...                       "region": ["N", "N", "N"], "family": ["hw", "sw", "sw"]})
    >>> entries = [(3, "merged", "line_item", "", "A"), (4, "merged", "duplicate_row", "", "A")]
    >>> line_rows(frame, np.array([2, 3, 4]), entries, ["region", "family"])
       row deal_id product  amount family
    0    2       A       X     1.0     hw
    1    3       A       Y     2.0     sw
    """
    repeats = np.array([e[0] for e in entries if e[2] == "duplicate_row"], dtype=np.int64)
    keep = ~np.isin(rows, repeats)
    f = frame[keep]
    ids = f["deal_id"].astype(STR)
    varies = [
        c for c in kept if c not in ("row", "deal_id", "product", "amount") and (f.groupby(ids)[c].nunique() > 1).any()
    ]
    out = {
        "row": np.asarray(rows[keep], dtype=np.int64),
        "deal_id": ids.to_numpy(),
        "product": f["product"].astype(DTYPES["product"]).to_numpy(),
        "amount": f["amount"].to_numpy(dtype=float),
        **{c: f[c].astype(DTYPES["product"]).to_numpy() for c in varies},
    }
    types = {"deal_id": DTYPES["deal_id"], "product": DTYPES["product"], **dict.fromkeys(varies, DTYPES["product"])}
    return pd.DataFrame(out).astype(types)


def reconcile_rows(
    raw: RawTable,
    screened: Screened,
    values: DealValues,
    outcome: Outcome,
    *,
    grain: str,
    warnings: list[str],
    lines: list[pd.DataFrame] | None = None,
) -> tuple[pd.DataFrame, list[Entry]]:
    """The canonical deals table (one row per deal) and the ledger entries of merged rows.

    When rows were read as line items, their lines (:func:`line_rows`) are appended to ``lines``.
    """
    from ..schema import validate_deals

    keep = ~screened.rejected
    every = keep.all()
    ids = screened.ids if every else screened.ids[keep].reset_index(drop=True)
    header = screened.id_header
    # no repeat among the cleaned ids of every row: none among the kept ones either
    unique = header is not None and not screened.made and not raw.cells.derive(*_id_repeats_work(raw, header))
    if not unique and has_repeats(ids):
        frame = _row_frame(screened, values, outcome)[keep]
        positions = np.flatnonzero(keep)
        merged, entries = merge_repeats(
            frame,
            lambda dup: raw.cells.rows(positions[dup]),
            raw.rows[keep],
            warnings,
            grain,
            raw.file,
            kept=list(values.kept),
        )
        if lines is not None and any(e[2] == "line_item" for e in entries):
            lines.append(line_rows(frame, raw.rows[keep], entries, list(values.kept)))
        deals = validate_deals(merged.reset_index(drop=True), name=raw.file)
        return deals.assign(**{c: _one_block(deals[c]) for c in deals.columns if deals[c].dtype == STR}), entries

    def rows(column: np.ndarray) -> np.ndarray:
        return column if every else column[keep]

    def currency() -> pd.Series:
        return values.currency.to_series() if every else values.currency.to_series()[keep].reset_index(drop=True)

    # the text columns are written out row by row: independent pieces, shared with the pool
    work = {
        **{role: values.text[role].subset(keep).to_series for role in TEXT_ROLES + RECORD_ROLES},
        "channel": lambda: values.channel.subset(keep).to_series(STR),
        "currency": currency,
        **{name: (lambda c=coded: c.subset(keep).to_series(STR)) for name, coded in values.kept.items()},
    }
    text = raw.cells.all_of({name: (lambda f=f: _one_block(f())) for name, f in work.items()})
    status = pd.Series(pd.Categorical.from_codes(rows(outcome.status), dtype=DTYPES["status"]))
    deals = _canonical(
        {
            "deal_id": ids.astype(STR),
            **text,
            "status": status,
            "created": rows(values.created),
            "closed": rows(values.closed),
            "expected_close": rows(values.expected_close),
            "amount": rows(values.amount),
            "probability": rows(values.probability),
        },
        int(keep.sum()),
    )
    return deals, []
