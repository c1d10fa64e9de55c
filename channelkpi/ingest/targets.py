"""Targets (quotas): partner x period -> amount, read from CSV or Excel like any export.

Reading a targets file is ingestion's job (the same reader and value parsers as deals); putting
the targets on a KPI's grid of groups and periods is the metrics' job
(:func:`channelkpi.metrics.targets.targets_on_grid`).

Examples
--------
>>> t = read_targets(b"partner,quarter,target\\nAcme,2025-Q1,\\"$10,000.00 \\"\\nAcme,2025-Q2,12000\\n")
>>> t[["partner", "period", "period_start", "period_end", "target"]]
  partner   period period_start period_end   target
0    Acme  2025-Q1   2025-01-01 2025-03-31  10000.0
1    Acme  2025-Q2   2025-04-01 2025-06-30  12000.0
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import ColumnError
from .locate import first_row_error
from .parse import parse_amounts, parse_dates
from .presets import norm
from .reader import Source, read_raw
from .wording_errors import (
    ADD_PERIOD_COLUMN,
    FILL_BOTH_DATES,
    NAME_IT_TARGET,
    NO_PERIOD_COLUMN,
    NO_TARGET_COLUMN,
    NO_TARGET_DATES,
    TARGET_NOT_AMOUNT,
    TARGET_PERIOD_UNREADABLE,
    TARGETS_UNKNOWN_HEADER,
    USE_HEADER_AS_IT_APPEARS,
    WRITE_PERIODS,
    WRITE_TARGETS_AS_NUMBERS,
)

__all__ = ["read_targets"]

_TARGET = ("target", "quota", "goal", "target amount", "quota amount", "amount", "target (usd)", "value")
_PERIOD = ("period", "quarter", "month", "year", "fiscal period", "fiscal quarter", "target period")
_FROM = ("from", "start", "period start", "start date", "valid from")
_TO = ("to", "end", "period end", "end date", "valid to")
_LEVEL_ALIASES = {
    "partner": ("partner", "partner name", "partner account", "channel partner", "reseller"),
    "owner": ("owner", "goal owner", "sales rep", "employee"),
    "department": ("department", "team"),
    "unit": ("unit", "region", "territory", "business unit"),
    "channel": ("channel",),
}
_Q = [
    (re.compile(r"^(?P<fy>fy)?\s*(?P<y>\d{4})\s*[-/ ]?\s*q(?P<q>[1-4])$"), "Q"),
    (re.compile(r"^q(?P<q>[1-4])\s*[-/ ]?\s*(?P<fy>fy)?\s*(?P<y>\d{4})$"), "Q"),
    (re.compile(r"^(?P<fy>fy)?\s*(?P<y>\d{4})\s*[-/ ]\s*(?P<m>\d{1,2})$"), "M"),
    (re.compile(r"^(?P<fy>fy)\s*(?P<y>\d{4})$"), "Y"),
    (re.compile(r"^(?P<y>\d{4})$"), "Y"),
]


def _parse_period(text: str, fiscal_year_start: int) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    t = norm(text).replace("quarter ", "q")
    for pattern, freq in _Q:
        m = pattern.match(t)
        if not m:
            continue
        y = int(m.group("y"))
        fiscal = bool(m.groupdict().get("fy"))
        fys = fiscal_year_start if fiscal else 1
        if freq == "M":
            start = pd.Timestamp(y, int(m.group("m")), 1)
            return start, start + pd.offsets.MonthEnd(0)
        first_month_ym = (y - (1 if fys != 1 else 0)) * 12 + fys - 1  # FY named by its end year
        if freq == "Q":
            ym = first_month_ym + 3 * (int(m.group("q")) - 1)
            start = pd.Timestamp(ym // 12, ym % 12 + 1, 1)
            return start, start + pd.DateOffset(months=3) - pd.Timedelta(days=1)
        start = pd.Timestamp(first_month_ym // 12, first_month_ym % 12 + 1, 1)
        return start, start + pd.DateOffset(months=12) - pd.Timedelta(days=1)
    return None


def read_targets(
    path_or_buffer: Source,
    *,
    fiscal_year_start: int = 1,
    columns: Mapping[str, str] | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read a targets file into ``<level>, period, period_start, period_end, target``.

    The level column is whichever of ``partner``, ``owner``, ``department``, ``unit`` or
    ``channel`` the file has (or none: company-wide targets). Periods may be written
    ``2025-Q1``, ``Q1 2025``, ``FY2026 Q1`` (fiscal, with ``fiscal_year_start``), ``2025-03``,
    ``2025``, or as ``From``/``To`` date columns (as Dynamics 365 goals are). Amounts may carry
    currency symbols and separators (``"$7,450,000.00 "``).

    Parameters
    ----------
    path_or_buffer : path, bytes or file
        CSV or ``.xlsx``.
    fiscal_year_start : int
        First month of the fiscal year, for ``FY`` labels.
    columns : dict, optional
        ``{"their header": "partner" | "period" | "from" | "to" | "target"}``.
    sheet : str or int, optional
        Sheet of a workbook.

    Returns
    -------
    pandas.DataFrame
        One row per target: the level column (if any), ``period`` (as written),
        ``period_start``, ``period_end`` and ``target``.

    Raises
    ------
    ColumnError
        When there is no target amount or period column (or ``columns=`` names a header that
        is not in the file).
    ValueParseError
        For a target that is not an amount or a period that cannot be read, naming the row.

    Examples
    --------
    >>> read_targets(b"Goal Owner,Target,From,To\\nEric,\\"$1,500.00 \\",1/1/2025,3/31/2025\\n", columns={"Goal Owner": "owner"})
      owner   period period_start period_end  target
    0  Eric  2025-01-01   2025-01-01 2025-03-31  1500.0
    """
    raw = read_raw(path_or_buffer, sheet=sheet)
    cells = raw.cells
    by_norm = {norm(h): h for h in raw.headers}
    chosen: dict[str, str] = {}
    for their, role in (columns or {}).items():
        if their not in raw.headers and norm(their) not in by_norm:
            raise ColumnError(
                TARGETS_UNKNOWN_HEADER.format(header=repr(their), headers=raw.headers),
                file=raw.file,
                fix=USE_HEADER_AS_IT_APPEARS,
            )
        chosen[role] = their if their in raw.headers else by_norm[norm(their)]

    def find(role, aliases):
        if role in chosen:
            return chosen[role]
        for a in aliases:
            if a in by_norm and by_norm[a] not in chosen.values():
                chosen[role] = by_norm[a]
                return by_norm[a]
        return None

    target_col = find("target", _TARGET)
    if target_col is None:
        raise ColumnError(
            NO_TARGET_COLUMN.format(headers=raw.headers),
            file=raw.file,
            fix=NAME_IT_TARGET.format(code="columns={'their header': 'target'}"),
        )
    level_cols = {lvl: find(lvl, aliases) for lvl, aliases in _LEVEL_ALIASES.items()}
    level_cols = {k: v for k, v in level_cols.items() if v is not None}
    period_col = find("period", _PERIOD)
    from_col, to_col = find("from", _FROM), find("to", _TO)
    amounts = parse_amounts(cells[target_col])
    if amounts.bad.any():
        raise first_row_error(
            raw,
            amounts.bad,
            TARGET_NOT_AMOUNT,
            column=target_col,
            values=cells[target_col],
            fix=WRITE_TARGETS_AS_NUMBERS,
        )
    out = pd.DataFrame({lvl: cells[col].astype(object) for lvl, col in level_cols.items()})
    if from_col and to_col:
        start = parse_dates(cells[from_col]).values
        end = parse_dates(cells[to_col]).values
        bad = start.isna() | end.isna()
        if bad.any():
            raise first_row_error(
                raw,
                bad.to_numpy(),
                NO_TARGET_DATES,
                column=from_col,
                values=cells[from_col],
                fix=FILL_BOTH_DATES,
            )
        label = cells[period_col].astype(str) if period_col else start.dt.strftime("%Y-%m-%d")
    elif period_col:
        parsed = [_parse_period(str(v), fiscal_year_start) if isinstance(v, str) else None for v in cells[period_col]]
        unreadable = np.array([p is None for p in parsed], dtype=bool)
        if unreadable.any():
            raise first_row_error(
                raw,
                unreadable,
                TARGET_PERIOD_UNREADABLE,
                column=period_col,
                values=cells[period_col],
                fix=WRITE_PERIODS,
            )
        start = pd.Series([p[0] for p in parsed], dtype="datetime64[ns]")
        end = pd.Series([p[1] for p in parsed], dtype="datetime64[ns]")
        label = cells[period_col].astype(str)
    else:
        raise ColumnError(
            NO_PERIOD_COLUMN.format(headers=raw.headers),
            file=raw.file,
            fix=ADD_PERIOD_COLUMN.format(code="columns={'their header': 'period'}"),
        )
    out["period"] = label.to_numpy()
    out["period_start"] = start.to_numpy()
    out["period_end"] = end.to_numpy()
    out["target"] = amounts.values.to_numpy()
    return out.reset_index(drop=True)
