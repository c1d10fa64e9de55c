"""Step 7, quality warnings: what is readable but suspicious (closed before created, dates
before 1990 or far ahead, negative or absurd amounts, won deals without an amount or a close
date, a footer count that disagrees). Nothing is dropped; each warning says what it affects.

Examples
--------
>>> import pandas as pd
>>> from channelkpi.schema import validate_deals
>>> deals = validate_deals(pd.DataFrame({"deal_id": ["a"], "status": ["won"], "amount": [-5.0]}))
>>> notes = []
>>> quality_warnings(deals, notes)
>>> for note in notes:
...     print(note)
1 won/lost deal(s) have no close date; period KPIs exclude them (no_close_date)
1 deal(s) have a negative amount (e.g. 'a')
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..schema import STATUSES
from .reader import RawTable
from .wording import (
    CLOSED_BEFORE_CREATED,
    CLOSED_WITHOUT_DATE,
    DATES_BEFORE_1990,
    DATES_FAR_AHEAD,
    FOOTER_COUNT,
    HUGE_AMOUNTS,
    NEGATIVE_AMOUNTS,
    WON_WITHOUT_AMOUNT,
)

__all__ = ["footer_count_warning", "quality_warnings"]

_TODAY = pd.Timestamp.today().normalize()


def _ids(out: pd.DataFrame, rows: np.ndarray, limit: int = 3) -> str:
    return ", ".join(map(repr, out["deal_id"].iloc[np.flatnonzero(rows)[:limit]]))


def quality_warnings(out: pd.DataFrame, warnings: list[str]) -> None:
    """Warn about values that are readable but suspicious; every row is kept."""
    created, closed = out["created"].to_numpy(), out["closed"].to_numpy()
    amount = out["amount"].to_numpy()
    status = out["status"].cat.codes.to_numpy() if isinstance(out["status"].dtype, pd.CategoricalDtype) else None
    won = status == STATUSES.index("won") if status is not None else (out["status"] == "won").to_numpy()
    lost = status == STATUSES.index("lost") if status is not None else (out["status"] == "lost").to_numpy()
    before = closed < created  # NaT on either side compares false
    if before.any():
        warnings.append(CLOSED_BEFORE_CREATED.format(count=int(before.sum()), deals=_ids(out, before)))
    closed_no_date = (won | lost) & np.isnat(closed)
    if closed_no_date.any():
        warnings.append(CLOSED_WITHOUT_DATE.format(count=int(closed_no_date.sum())))
    first = np.datetime64("1990-01-01", "ns")
    last = np.datetime64(_TODAY + pd.DateOffset(years=10), "ns")
    for col in ("created", "closed", "expected_close"):
        d = out[col].to_numpy()
        early, late = d < first, d > last
        if early.any():
            warnings.append(DATES_BEFORE_1990.format(column=col, count=int(early.sum()), date=out[col].min().date()))
        if late.any():
            warnings.append(DATES_FAR_AHEAD.format(column=col, count=int(late.sum()), date=out[col].max().date()))
    neg = amount < 0
    if neg.any():
        warnings.append(NEGATIVE_AMOUNTS.format(count=int(neg.sum()), deals=_ids(out, neg)))
    huge = np.abs(amount) > 1e11
    if huge.any():
        warnings.append(HUGE_AMOUNTS.format(count=int(huge.sum()), deals=_ids(out, huge, 1)))
    no_amount_won = won & np.isnan(amount)
    if no_amount_won.any():
        warnings.append(WON_WITHOUT_AMOUNT.format(count=int(no_amount_won.sum())))


def footer_count_warning(raw: RawTable, data_rows: int, warnings: list[str]) -> None:
    """Warn when a footer's "(N records)" disagrees with the data rows read (a cut-off export)."""
    for _, reason, detail in raw.rejected:
        m = re.search(r"\((\d[\d,.]*) records?\)", detail, re.IGNORECASE)
        if reason == "footer" and m:
            stated = int(re.sub(r"[,.]", "", m.group(1)))
            if stated != data_rows:
                warnings.append(FOOTER_COUNT.format(stated=stated, rows=data_rows))
