"""The canonical deals table: one row per opportunity, the hub every KPI reads.

Column names and dtypes are defined here and nowhere else. CRM-specific names live only in the
ingestion presets (:mod:`channelkpi.ingest.presets`).

Examples
--------
>>> import pandas as pd
>>> from channelkpi.schema import validate_deals
>>> deals = validate_deals(pd.DataFrame({"deal_id": ["a", "b"], "status": ["won", "Lost"]}))
>>> deals[["deal_id", "partner", "status"]]
  deal_id   partner status
0       a  (direct)    won
1       b  (direct)   lost
>>> str(deals["status"].dtype), str(deals["created"].dtype)
('category', 'datetime64[ns]')
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
import pandas as pd

from .errors import SchemaError
from .types import LEVELS  # the columns a KPI can be grouped by

__all__ = [
    "STATUS_DTYPE",
    "COLUMNS",
    "REQUIRED",
    "STATUSES",
    "CHANNELS",
    "DIRECT_PARTNER",
    "DTYPES",
    "LEVELS",
    "empty_deals",
    "validate_deals",
]

#: The outcome of a deal, in this order.
STATUSES: tuple[str, ...] = ("open", "won", "lost")
#: Marketing-channel segments.
CHANNELS: tuple[str, ...] = ("paid", "earned", "owned", "partner", "other", "unknown")
#: The partner of a deal that no partner sourced.
DIRECT_PARTNER = "(direct)"

STATUS_DTYPE = pd.CategoricalDtype(list(STATUSES), ordered=False)
_STR = pd.StringDtype(na_value=np.nan)  # pandas' default "str" dtype
_DATE = np.dtype("datetime64[ns]")

#: Canonical column -> dtype, in canonical order.
DTYPES = MappingProxyType(
    {
        "deal_id": _STR,
        "name": _STR,
        "account": _STR,
        "product": _STR,
        "partner": _STR,
        "owner": _STR,
        "department": _STR,
        "unit": _STR,
        "channel": _STR,
        "source": _STR,
        "stage": _STR,
        "status": STATUS_DTYPE,
        "created": _DATE,
        "closed": _DATE,
        "expected_close": _DATE,
        "amount": np.dtype("float64"),
        "currency": _STR,
        "probability": np.dtype("float64"),
    }
)
COLUMNS: tuple[str, ...] = tuple(DTYPES)
REQUIRED: tuple[str, ...] = ("deal_id", "status")
_DATES = ("created", "closed", "expected_close")
_STRINGS = tuple(c for c, t in DTYPES.items() if t == _STR)


def empty_deals() -> pd.DataFrame:
    """Return an empty deals table with the canonical columns and dtypes.

    Returns
    -------
    pandas.DataFrame
        No rows; the columns of :data:`COLUMNS` with the dtypes of :data:`DTYPES`.

    Examples
    --------
    >>> empty_deals().dtypes["amount"]
    dtype('float64')
    >>> len(empty_deals())
    0
    """
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in DTYPES.items()})


def validate_deals(deals: pd.DataFrame, *, name: str = "deals") -> pd.DataFrame:
    """Check a table against the canonical schema and return a canonical copy.

    Missing optional columns are added empty (``partner`` as ``"(direct)"``, ``channel`` as
    ``"unknown"``), values are cast to the canonical dtypes, and ``status`` is lower-cased. The
    input is never modified.

    Other columns (fields kept from an export, ``load_crm(keep=...)``, or the columns of a
    partner or owner table) are kept after the canonical ones, in their order: text columns
    (object, string or categorical) as the canonical string dtype, so that they can group and
    filter deals like any level; other columns (dates, numbers) as given.

    Parameters
    ----------
    deals : pandas.DataFrame
        A table with at least ``deal_id`` and ``status``.
    name : str, default "deals"
        What to call the table in error messages.

    Returns
    -------
    pandas.DataFrame
        The canonical columns, in canonical order, with canonical dtypes.

    Raises
    ------
    SchemaError
        When a required column is missing (the message lists what is missing and what is
        there), a ``status`` is not one of open/won/lost, a ``deal_id`` is empty or repeated,
        or a column cannot be cast.

    Examples
    --------
    >>> deals = validate_deals(pd.DataFrame({"deal_id": ["a"], "status": ["Won"], "amount": ["10"]}))
    >>> deals[["status", "amount", "partner", "channel"]]
      status  amount   partner  channel
    0    won    10.0  (direct)  unknown
    >>> extra = validate_deals(pd.DataFrame({"deal_id": ["a"], "status": ["won"], "region": ["EMEA"]}))
    >>> list(extra.columns[-2:]), str(extra["region"].dtype)
    (['probability', 'region'], 'str')
    """
    if not isinstance(deals, pd.DataFrame):
        raise SchemaError(
            f"{name} must be a pandas DataFrame, got {type(deals).__name__}",
            fix="load an export with channelkpi.read_crm(path) or build a DataFrame",
        )
    missing = [c for c in REQUIRED if c not in deals.columns]
    if missing:
        raise SchemaError(
            f"{name} is missing required column(s) {missing}; the columns there are {[str(c) for c in deals.columns]}",
            fix="rename your columns to the canonical names "
            f"({', '.join(COLUMNS)}), e.g. deals.rename(columns={{'Id': 'deal_id'}})",
        )
    out = {}
    n = len(deals)
    for col, dtype in DTYPES.items():
        if col not in deals.columns:
            default = {"partner": DIRECT_PARTNER, "channel": "unknown"}.get(col)
            out[col] = pd.Series(default if default else None, index=deals.index, dtype=dtype)
            continue
        src = deals[col]
        try:
            if col == "status":
                out[col] = _status(src, name)
            elif col in _DATES:
                out[col] = _dates(src)
            elif dtype == _STR:
                out[col] = src.astype(_STR)
            else:
                out[col] = pd.to_numeric(src, errors="raise").astype("float64")
        except (TypeError, ValueError) as exc:
            if isinstance(exc, SchemaError):
                raise
            raise SchemaError(
                f"column {col!r} of {name} cannot be read as {dtype}: {exc}",
                column=col,
                fix=f"convert {col!r} to {dtype} first",
            ) from None
    for col in deals.columns:
        if col in DTYPES:
            continue
        src = deals[col]
        text = src.dtype == object or isinstance(src.dtype, pd.StringDtype | pd.CategoricalDtype)
        out[str(col)] = src.astype(_STR) if text else src
    result = pd.DataFrame(out, index=deals.index)
    result["partner"] = result["partner"].fillna(DIRECT_PARTNER)
    result["channel"] = result["channel"].fillna("unknown")
    ids = result["deal_id"]
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise SchemaError(
            f"{name} has {int(ids.isna().sum())} row(s) without a deal_id",
            row=row,
            column="deal_id",
            fix="give every deal an id (read_crm makes ids for exports without one)",
        )
    dup = ids.duplicated(keep=False)
    if dup.any():
        first = ids[dup].iloc[0]
        raise SchemaError(
            f"{name} has {int(dup.sum())} rows sharing {ids[dup].nunique()} deal_id(s)",
            column="deal_id",
            value=first,
            fix="one row per deal: read_crm merges line items; or deals.drop_duplicates('deal_id')",
        )
    prob = result["probability"]
    if ((prob < 0) | (prob > 1)).any():
        bad = prob[(prob < 0) | (prob > 1)].iloc[0]
        raise SchemaError(
            f"{name}: probability must be between 0 and 1",
            column="probability",
            value=float(bad),
            fix="divide percentages by 100",
        )
    if n == 0:
        return result.reset_index(drop=True)
    return result


def _status(src: pd.Series, name: str) -> pd.Series:
    if isinstance(src.dtype, pd.CategoricalDtype) and list(src.cat.categories) == list(STATUSES):
        values = src
    else:
        values = src.astype(_STR).str.strip().str.lower()
    bad = values.notna() & ~values.isin(STATUSES)
    if values.isna().any() or bad.any():
        pos = int(np.flatnonzero((values.isna() | bad).to_numpy())[0])
        raise SchemaError(
            f"{name}: status must be one of {list(STATUSES)}; found "
            f"{sorted(map(str, src[values.isna() | bad].unique()))[:5]}",
            row=pos,
            column="status",
            value=src.iloc[pos],
            fix="map your stages with channelkpi.read_crm(..., stage_map={'their stage': 'won'})",
        )
    return values.astype(STATUS_DTYPE)


def _dates(src: pd.Series) -> pd.Series:
    if isinstance(src.dtype, pd.DatetimeTZDtype):
        src = src.dt.tz_localize(None)
    out = pd.to_datetime(src, errors="raise")
    return out.dt.normalize().astype(_DATE)
