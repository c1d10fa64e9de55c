"""The deals table as stage 1 reads it: canonical names, required columns, readable types.

Any table goes in (pandas, polars, DuckDB, Spark, ... with ``columns=`` renaming a warehouse's
names); the same checks give the same errors on every engine. Absent optional columns count as
empty (``partner`` as ``"(direct)"``, ``channel`` as ``"unknown"``): stage 1 reads them as
constants instead of building them row by row.

Examples
--------
>>> import pandas as pd
>>> table = pd.DataFrame({"ID": ["a"], "status": ["won"], "amount": [1.0]})
>>> deals, absent = checked_pandas(table, {"ID": "deal_id"})
>>> list(deals.columns), absent[:3]
(['deal_id', 'status', 'amount'], ['name', 'account', 'product'])
>>> ABSENT_VALUES["partner"], ABSENT_VALUES["owner"]
('(direct)', None)
"""

from __future__ import annotations

import sys
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..errors import SchemaError
from ..schema import COLUMNS, DIRECT_PARTNER, DTYPES, REQUIRED
from .products import deals_by_line, line_levels, line_query

__all__ = [
    "OPTIONAL",
    "DATE_COLUMNS",
    "NUMBER_COLUMNS",
    "ABSENT_VALUES",
    "checked_names",
    "checked_pandas",
    "canonical_pandas",
    "checked_lazy",
    "column_names",
    "deals_of",
    "dimensions_of",
    "lines_of",
    "lazy_column_names",
]

OPTIONAL: tuple[str, ...] = tuple(c for c in COLUMNS if c not in REQUIRED)
DATE_COLUMNS = ("created", "closed", "expected_close")
NUMBER_COLUMNS = ("amount", "probability")
#: What an absent optional column holds in every row.
ABSENT_VALUES = MappingProxyType({c: {"partner": DIRECT_PARTNER, "channel": "unknown"}.get(c) for c in OPTIONAL})


def _load_result(x) -> bool:
    # a load result exists only once channelkpi.ingest is imported: looking it up (instead of
    # importing it) keeps a KPI call on a warehouse table from loading the export readers
    module = sys.modules.get("channelkpi.ingest.result")
    return module is not None and isinstance(x, module.LoadResult)


def deals_of(x, q=None):
    """The deals table of what a KPI function was given: a load result's ``.deals`` (with the
    columns of its partner and owner tables, joined on load), anything else as it is.

    Parameters
    ----------
    x : LoadResult, pandas.DataFrame, PreparedDeals or any table narwhals reads
    q : Query, optional
        The question asked. When its ``by=`` or ``where=`` names a column of a load result's
        line items (``product``, a kept field that differs between a deal's lines), the table is
        the deal x line table of :func:`channelkpi.metrics.products.deals_by_line`: amounts are
        the lines' amounts, counts are deals containing the product.

    Returns
    -------
    The deals table (a load result's ``deals`` may have been put on any engine, e.g.
    ``dataclasses.replace(result, deals=polars.from_pandas(result.deals))``).

    Examples
    --------
    >>> import channelkpi as ck
    >>> result = ck.load_crm(b"Deal ID,Status\\nD1,Won\\n")
    >>> deals_of(result) is result.deals, deals_of(result.deals) is result.deals
    (True, True)
    """
    if not _load_result(x):
        return x
    if q is None or x.lines is None or line_query(q.by, q.where, line_levels(x.lines)) is None:
        return x.deals
    if not isinstance(x.deals, pd.DataFrame):
        raise SchemaError(
            f"by={list(q.by)}, where= names a column of the line items, which are read with the deals in pandas; "
            f"these deals are a {type(x.deals).__name__}",
            fix="pass the load result with its pandas deals (or channelkpi.prepare(result)), or build the table "
            "with channelkpi.metrics.products.deals_by_line(result.deals, result.lines, by=...) and put that on "
            "your engine",
        )
    return deals_by_line(x.deals, x.lines, by=q.by, where=q.where)


def lines_of(x) -> pd.DataFrame | None:
    """The line items that come with ``x`` (a load result of a line-item export, or deals
    prepared from one); None for anything else.

    Examples
    --------
    >>> import channelkpi as ck
    >>> result = ck.load_crm(b"Deal ID,Status,Product,Amount\\nD1,Won,Switch,10\\nD1,Won,Support,5\\n")
    >>> lines_of(result)[["row", "deal_id", "product", "amount"]]
       row deal_id  product  amount
    0    2      D1   Switch    10.0
    1    3      D1  Support     5.0
    >>> lines_of(result.deals) is None
    True
    """
    if _load_result(x):
        return x.lines
    if isinstance(x, pd.DataFrame):  # (a column named "lines" is no line items)
        return None
    return getattr(x, "lines", None)


def dimensions_of(x) -> dict[str, pd.DataFrame]:
    """The partner and owner tables that come with ``x`` (a load result, or deals prepared
    from one), by key column; empty for a bare table.

    Examples
    --------
    >>> import channelkpi as ck
    >>> partners = pd.DataFrame({"partner": ["Acme", "Birch"], "tier": ["gold", "silver"]})
    >>> result = ck.load_crm(b"Deal ID,Partner,Status\\nD1,Acme,Won\\n", partners=partners)
    >>> {key: list(table.columns) for key, table in dimensions_of(result).items()}
    {'partner': ['partner', 'tier']}
    >>> dimensions_of(result.deals)
    {}
    """
    if _load_result(x):
        tables = {"partner": x.partners, "owner": x.owners}
    else:
        tables = dict(getattr(x, "dimensions", None) or {})
    return {key: table for key, table in tables.items() if table is not None}


def _mapping(names: list[str], columns) -> dict[str, str]:
    """Check a ``columns={"their name": "canonical name"}`` mapping against the table's columns."""
    mapping = dict(columns or {})
    missing = [k for k in mapping if k not in names]
    if missing:
        raise SchemaError(
            f"columns= names {missing}, which the deals table does not have; its columns are {names}",
            fix="use the table's own column names as the keys of columns=",
        )
    bad = [v for v in mapping.values() if v not in COLUMNS]
    if bad:
        raise SchemaError(f"columns= maps to {bad}, which are not canonical columns", fix=f"map to {list(COLUMNS)}")
    return mapping


def checked_names(names: list[str], columns) -> tuple[dict[str, str], list[str]]:
    """The rename mapping (checked) and the absent optional columns; an error when a required
    column is missing."""
    mapping = _mapping(names, columns)
    renamed = [mapping.get(n, n) for n in names]
    missing = [c for c in REQUIRED if c not in renamed]
    if missing:
        raise SchemaError(
            f"the deals table is missing required column(s) {missing}; the columns there are {renamed}",
            fix="rename your columns to the canonical names with columns={'their name': 'deal_id', ...}, "
            "or load exports with channelkpi.read_crm",
        )
    return mapping, [c for c in OPTIONAL if c not in renamed]


def _type_errors(bad_dates: list[str], bad_numbers: list[str], dtypes: dict[str, str]) -> None:
    if bad_dates or bad_numbers:
        found = {c: dtypes[c] for c in [*bad_dates, *bad_numbers]}
        raise SchemaError(
            f"column(s) {bad_dates + bad_numbers} have the wrong type ({found}): dates must be dates or "
            "timestamps, amount and probability numbers",
            fix="pass a pandas table through channelkpi.validate_deals, or cast the columns where the data lives",
        )


def checked_pandas(deals: pd.DataFrame, columns) -> tuple[pd.DataFrame, list[str]]:
    """The pandas table under canonical names (not copied) and its absent optional columns,
    after checking that dates are dates and numbers numbers."""
    mapping, absent = checked_names([str(c) for c in deals.columns], columns)
    if mapping:
        deals = deals.rename(columns=mapping)  # (copy-on-write: the values are not copied)
    present = set(map(str, deals.columns))
    bad_dates = [c for c in DATE_COLUMNS if c in present and not pd.api.types.is_datetime64_any_dtype(deals[c])]
    bad_numbers = [c for c in NUMBER_COLUMNS if c in present and not pd.api.types.is_numeric_dtype(deals[c])]
    _type_errors(bad_dates, bad_numbers, {str(c): str(deals[c].dtype) for c in deals.columns})
    return deals, absent


def canonical_pandas(deals: pd.DataFrame, columns) -> pd.DataFrame:
    """:func:`checked_pandas` with the absent optional columns added (empty, or the defaults)."""
    deals, absent = checked_pandas(deals, columns)
    if absent:  # a partial table (e.g. without owner or expected_close): the absent columns are empty
        fill = {
            c: pd.Series(ABSENT_VALUES[c] if ABSENT_VALUES[c] is not None else np.nan, index=deals.index).astype(
                DTYPES[c]
            )
            for c in absent
        }
        deals = deals.assign(**fill)
    return deals


def _absent_text(absent: list[str]) -> list[str]:
    return [c for c in absent if DTYPES[c] == DTYPES["partner"]]


def _is_text(dtype) -> bool:
    return pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype | pd.CategoricalDtype)


def column_names(deals: pd.DataFrame, absent: list[str]) -> tuple[list[str], list[str]]:
    """The columns of a pandas table under canonical names, with the absent optional ones
    (which count as empty), and those of them that hold text: the columns ``by=`` can group by."""
    names = [*map(str, deals.columns), *absent]
    text = [str(c) for c in deals.columns if _is_text(deals[c].dtype)] + _absent_text(absent)
    return names, text


def lazy_column_names(lf, absent: list[str]) -> tuple[list[str], list[str]]:
    """:func:`column_names` of a narwhals LazyFrame (from its schema: nothing is computed)."""
    import narwhals.stable.v2 as nw

    schema = lf.collect_schema()
    kinds = (nw.String, nw.Categorical, nw.Enum, nw.Object)
    text = [c for c, t in schema.items() if isinstance(t, kinds) or t in kinds]
    return [*schema.names(), *absent], text + _absent_text(absent)


def checked_lazy(lf, columns):
    """A narwhals LazyFrame under canonical names and its absent optional columns, after the
    same checks as :func:`checked_pandas` on the frame's own engine."""
    import narwhals.stable.v2 as nw

    schema = lf.collect_schema()
    mapping, absent = checked_names(list(schema.names()), columns)
    if mapping:
        lf = lf.rename(mapping)
        schema = lf.collect_schema()
    dtypes = {c: str(t) for c, t in schema.items()}
    bad_dates = [c for c in DATE_COLUMNS if c in schema and not isinstance(schema[c], (nw.Datetime, nw.Date))]
    bad_numbers = [c for c in NUMBER_COLUMNS if c in schema and not schema[c].is_numeric()]
    _type_errors(bad_dates, bad_numbers, dtypes)
    return lf, absent
