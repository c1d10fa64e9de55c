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

import pandas as pd

from .reader import RawTable

__all__ = ["footer_count_warning", "quality_warnings"]

_TODAY = pd.Timestamp.today().normalize()


def quality_warnings(out: pd.DataFrame, warnings: list[str]) -> None:
    """Warn about values that are readable but suspicious; every row is kept."""
    before = out["closed"].notna() & out["created"].notna() & (out["closed"] < out["created"])
    if before.any():
        warnings.append(
            f"{int(before.sum())} deal(s) closed before they were created; kept, and excluded "
            f"from cycle-length KPIs (e.g. {', '.join(map(repr, out.loc[before, 'deal_id'].head(3)))})"
        )
    closed_no_date = out["status"].isin(["won", "lost"]) & out["closed"].isna()
    if closed_no_date.any():
        warnings.append(
            f"{int(closed_no_date.sum())} won/lost deal(s) have no close date; period KPIs exclude them (no_close_date)"
        )
    for col in ("created", "closed", "expected_close"):
        d = out[col]
        early = d < pd.Timestamp("1990-01-01")
        late = d > _TODAY + pd.DateOffset(years=10)
        if early.any():
            warnings.append(f"{col}: {int(early.sum())} date(s) before 1990 (earliest {d.min().date()})")
        if late.any():
            warnings.append(f"{col}: {int(late.sum())} date(s) more than 10 years ahead (latest {d.max().date()})")
    neg = out["amount"] < 0
    if neg.any():
        warnings.append(
            f"{int(neg.sum())} deal(s) have a negative amount (e.g. {', '.join(map(repr, out.loc[neg, 'deal_id'].head(3)))})"
        )
    huge = out["amount"].abs() > 1e11
    if huge.any():
        warnings.append(
            f"{int(huge.sum())} deal(s) have an amount above 100 billion (e.g. {out.loc[huge, 'deal_id'].iloc[0]!r})"
        )
    no_amount_won = (out["status"] == "won") & out["amount"].isna()
    if no_amount_won.any():
        warnings.append(f"{int(no_amount_won.sum())} won deal(s) have no amount; value KPIs exclude them (no_amount)")


def footer_count_warning(raw: RawTable, data_rows: int, warnings: list[str]) -> None:
    """Warn when a footer's "(N records)" disagrees with the data rows read (a cut-off export)."""
    for _, reason, detail in raw.rejected:
        m = re.search(r"\((\d[\d,.]*) records?\)", detail, re.IGNORECASE)
        if reason == "footer" and m:
            stated = int(re.sub(r"[,.]", "", m.group(1)))
            if stated != data_rows:
                warnings.append(
                    f"the footer says {stated} records but {data_rows} data rows were read: "
                    "the export may be cut off or filtered"
                )
