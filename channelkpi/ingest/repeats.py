"""Rows that repeat a deal id: exact repeats, line items and stage history (part of step 6).

Examples
--------
>>> import numpy as np, pandas as pd
>>> out = pd.DataFrame({"deal_id": ["A", "A", "B"], "status": ["won", "won", "lost"], "amount": [10.0, 5.0, 7.0],
...     "stage": ["Closed Won", "Closed Won", "Closed Lost"], "currency": ["USD"] * 3,
...     "created": pd.NaT, "closed": pd.NaT, "expected_close": pd.NaT, "partner": "(direct)", "owner": None,
...     "department": None, "unit": None, "source": None, "channel": "unknown", "name": None, "account": None,
...     "product": ["Switch", "Support", "Switch"]})
>>> cells = pd.DataFrame({"Id": ["A", "A", "B"], "Product": ["Switch", "Support", "Switch"]})
>>> notes = []
>>> deals, ledger = merge_repeats(out, lambda rows: cells.iloc[rows], np.array([2, 3, 4]), notes)
>>> deals[["deal_id", "amount"]].values.tolist(), ledger
([['A', 15.0], ['B', 7.0]], [(3, 'merged', 'line_item', "line item of deal 'A', summed into row 2", 'A')])
>>> deals["product"].tolist()  # deal A has two products: it is neither
[nan, 'Switch']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import CurrencyError
from ..i18n import N_
from .wording import (
    CONFLICTING_STATUSES,
    DUPLICATE_ROW,
    EARLIER_STATE,
    EXACT_REPEATS,
    LINE_ITEM,
    LINE_ITEMS,
    STAGE_HISTORY,
)
from .wording_errors import CONVERT_BEFORE_SUMMING, LINE_ITEM_CURRENCIES

__all__ = ["GRAINS", "Grain", "merge_repeats"]

Grain = Literal["auto", "line_items", "stage_history"]
#: What repeated deal ids may be: see ``load_crm(grain=)``.
GRAINS = ("auto", "line_items", "stage_history")

_STATUS_RANK = {"won": 0, "lost": 1, "open": 2}


def _is_stage_history(multi: pd.DataFrame) -> bool:
    """Most repeated deals have rows in different stages: successive states, not line items."""
    if not len(multi):
        return False
    return bool((multi.groupby("deal_id", sort=False)["stage"].nunique(dropna=True) > 1).mean() > 0.5)


#: Text columns a merged deal takes from the rows that have them (besides the kept ones).
_DESCRIPTIVE = ("partner", "owner", "department", "unit", "source", "channel", "name", "account")


def _merge_history(rows: pd.DataFrame, entries, warnings, kept: list[str]) -> pd.DataFrame:
    """One row per deal from its history rows: the state entered last.

    A history row's created date is when that state was entered, so the latest one wins; rows
    of the same day prefer a closed state, then the later close date, then the later row. The
    deal's created date is its first state's, and a missing partner, owner, ... comes from the
    latest row that has one.
    """
    order = rows.assign(_closed_state=rows["status"].isin(["won", "lost"])).sort_values(
        ["deal_id", "created", "_closed_state", "closed", "_row"], na_position="first", kind="stable"
    )
    latest = order.drop_duplicates("deal_id", keep="last").set_index("deal_id")
    by_deal = order.groupby("deal_id", sort=False)
    latest["created"] = by_deal["created"].min()
    for c in (*_DESCRIPTIVE, "product", *kept):
        if c in latest.columns:
            latest[c] = latest[c].fillna(by_deal[c].last())  # GroupBy.last skips missing values
    latest = latest.drop(columns="_closed_state").reset_index()
    earlier = order[~order.index.isin(order.drop_duplicates("deal_id", keep="last").index)]
    kept_row = latest.set_index("deal_id")["_row"]
    entries.extend(
        (
            int(r),
            "merged",
            N_("stage_history"),
            EARLIER_STATE.format(deal=repr(i), stage=repr(st), row=int(kept_row[i])),
            i,
        )
        for r, i, st in zip(earlier["_row"], earlier["deal_id"], earlier["stage"], strict=True)
    )
    if len(earlier):
        warnings.append(STAGE_HISTORY.format(rows=len(earlier), deals=len(latest)))
    return latest


def merge_repeats(
    out: pd.DataFrame,
    cells_of: Callable[[np.ndarray], pd.DataFrame],
    rows: np.ndarray,
    warnings: list[str],
    grain: str = "auto",
    file: str | None = None,
    *,
    kept: list[str] | None = None,
) -> tuple[pd.DataFrame, list[tuple[int, str, str, str, object]]]:
    """One row per deal id: exact repeats counted once, then line items summed or stage
    history reduced to the latest state (see ``load_crm(grain=)``).

    ``out`` holds the canonical columns of the kept rows, ``rows`` their numbers in the file,
    and ``cells_of(positions)`` the rows' cells as exported (an exact repeat has equal cells);
    ``kept`` names the kept export columns among ``out``'s (merged like the partner).
    Returns the merged table and the ledger entries of the rows merged away.
    """
    entries: list[tuple[int, str, str, str, object]] = []
    dup = out["deal_id"].duplicated(keep=False).to_numpy()
    if not dup.any():
        return out, entries
    out = out.copy()
    out["_row"] = rows
    out["_sig"] = ""
    # a row's signature is all its cells as exported: equal signatures are exact repeats
    cells = cells_of(np.flatnonzero(dup))
    out.loc[dup, "_sig"] = ["\x1f".join(map(str, c)) for c in cells.itertuples(index=False, name=None)]
    d = out[dup]
    exact_drop = d.duplicated(["deal_id", "_sig"], keep="first")
    if exact_drop.any():
        first_row = d.groupby(["deal_id", "_sig"], sort=False)["_row"].transform("first")
        entries.extend(
            (int(r), "merged", N_("duplicate_row"), DUPLICATE_ROW.format(row=int(first)), i)
            for r, first, i in zip(
                d.loc[exact_drop, "_row"], first_row[exact_drop], d.loc[exact_drop, "deal_id"], strict=True
            )
        )
    d = d[~exact_drop]
    size = d.groupby("deal_id", sort=False)["deal_id"].transform("size")
    singles_left, multi = d[size == 1], d[size > 1]
    if grain == "stage_history" or (grain == "auto" and _is_stage_history(multi)):
        parts = [out[~dup], singles_left]
        if len(multi):
            parts.append(_merge_history(multi, entries, warnings, kept or []))
        out = pd.concat(parts).sort_values("_row", kind="stable")
        _dup_warning(entries, warnings)
        return out.drop(columns=["_row", "_sig"]), entries
    parts, conflicts = [out[~dup], singles_left], []
    if len(multi):
        merged, conflicts = _merge_line_items(multi, entries, file, kept or [])
        parts.append(merged)
        warnings.append(LINE_ITEMS.format(rows=len(multi) - len(merged), deals=len(merged)))
    out = pd.concat(parts).sort_values("_row", kind="stable")
    _dup_warning(entries, warnings)
    if conflicts:
        ex = "; ".join(f"{i!r} (row {r}): {s} -> {b}" for i, s, b, r in conflicts[:5])
        warnings.append(CONFLICTING_STATUSES.format(count=len(conflicts), examples=ex))
    return out.drop(columns=["_row", "_sig"]), entries


def _merge_line_items(multi: pd.DataFrame, entries, file: str | None, kept: list[str]) -> tuple[pd.DataFrame, list]:
    """One row per deal from its line items: amounts summed, the earliest created date, the
    latest close dates, the first value of the other columns, and the status won > lost > open
    (with the deals whose items disagree, to report). The product is the deal's only product,
    and missing where its items name several: the merged deal is none of them."""
    by_deal = multi.groupby("deal_id", sort=False)
    several = by_deal["currency"].nunique()
    if (several > 1).any():
        deal_id = several[several > 1].index[0]
        g = multi[multi["deal_id"] == deal_id]
        raise CurrencyError(
            LINE_ITEM_CURRENCIES.format(deal=repr(deal_id), currencies=sorted(g["currency"].dropna().unique())),
            file=file,
            row=int(g["_row"].iloc[0]),
            fix=CONVERT_BEFORE_SUMMING,
        )
    merged = multi.drop_duplicates("deal_id", keep="first").set_index("deal_id")
    merged["amount"] = by_deal["amount"].sum(min_count=1)
    merged["created"] = by_deal["created"].min()
    merged["closed"] = by_deal["closed"].max()
    merged["expected_close"] = by_deal["expected_close"].max()
    for c in (*_DESCRIPTIVE, "stage", "currency", *kept):
        if c in merged.columns:
            merged[c] = by_deal[c].first()  # the first value that is there (GroupBy.first skips missing ones)
    if "product" in merged.columns:
        merged["product"] = by_deal["product"].first().where(by_deal["product"].nunique() <= 1)
    rank = multi["status"].astype(str).map(_STATUS_RANK)
    best = multi.loc[rank.groupby(multi["deal_id"], sort=False).idxmin(), ["deal_id", "status"]].set_index("deal_id")[
        "status"
    ]
    statuses = by_deal["status"].unique()
    conflicts = [
        (i, sorted(map(str, statuses[i])), str(best[i]), int(merged.at[i, "_row"]))
        for i in statuses.index[by_deal["status"].nunique() > 1]
    ]
    merged["status"] = best
    merged = merged.reset_index()
    into = merged.set_index("deal_id")["_row"]
    later = multi[multi.duplicated("deal_id", keep="first")]
    entries.extend(
        (int(r), "merged", N_("line_item"), LINE_ITEM.format(deal=repr(i), row=int(into[i])), i)
        for r, i in zip(later["_row"], later["deal_id"], strict=True)
    )
    return merged, conflicts


def _dup_warning(entries, warnings) -> None:
    n_dups = sum(1 for e in entries if e[2] == "duplicate_row")
    if n_dups:
        warnings.append(EXACT_REPEATS.format(count=n_dups))
