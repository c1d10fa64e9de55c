"""Products from line items: the deals table a KPI reads when it groups or filters by a line column.

A line-item export has one row per product of a deal; loading it gives one row per deal (the
lines summed) and keeps the lines (``LoadResult.lines``: ``row``, ``deal_id``, ``product``,
``amount`` and the kept columns whose value differs between the lines of a deal). A *line
column* is a column of the lines other than ``row``, ``deal_id`` and ``amount``.

When ``by=`` or ``where=`` names a line column, the KPIs read the **deal x line table** instead
of the deals (:func:`deals_by_line`):

* one row per deal and value of the line columns in ``by`` (a deal with two products is two
  rows), with every column of the deal, the line columns set to the lines' values, and
  ``amount`` the sum of those lines' amounts (``deal_amount`` keeps the deal's own);
* a ``where=`` on a line column keeps the lines it names (a deal is kept with the sum of the
  lines that pass); a deal none of whose lines passes stays as one row with that column empty, so
  the ordinary filter leaves it out and counts it as ``filtered_out``;
* a deal without lines keeps its own row and values.

Then every engine runs unchanged on that table and the numbers mean: a product's **amounts
are the sums of its lines** (won amount = its lines in won deals); its **counts are deals
containing it** (won count = won deals containing it; win rate = won deals containing it /
closed deals containing it); dates and status are the deal's. A deal with two products counts
once in each, so the products' counts (and a deal's lines in a ``where=`` spanning several
products, summed once) need not add up to the deal-level total; their won amounts do, when
every deal's lines sum to its amount.

Examples
--------
>>> import pandas as pd
>>> deals = pd.DataFrame({"deal_id": ["A", "B"], "status": ["won", "lost"], "amount": [15.0, 7.0],
...                       "product": [None, "Switch"]})
>>> lines = pd.DataFrame({"row": [2, 3, 4], "deal_id": ["A", "A", "B"],
...                       "product": ["Switch", "Support", "Switch"], "amount": [10.0, 5.0, 7.0]})
>>> deals_by_line(deals, lines, by=("product",))[["deal_id", "status", "product", "amount", "deal_amount"]]
  deal_id status  product  amount  deal_amount
0       A    won   Switch    10.0         15.0
1       A    won  Support     5.0         15.0
2       B   lost   Switch     7.0          7.0
>>> line_levels(lines)
['product']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = ["LINE_KEYS", "line_levels", "line_query", "deals_by_line"]

#: Columns of ``LoadResult.lines`` that are not levels: the file row, the deal, the line amount.
LINE_KEYS = ("row", "deal_id", "amount")


def line_levels(lines: pd.DataFrame | None) -> list[str]:
    """The line columns (``product`` and the kept columns that differ between a deal's lines).

    Examples
    --------
    >>> line_levels(None)
    []
    """
    if lines is None:
        return []
    return [str(c) for c in lines.columns if c not in LINE_KEYS]


def line_query(
    by: Sequence[str], where: Iterable[tuple[str, Sequence]], line_columns: Sequence[str]
) -> tuple[tuple[str, ...], tuple[tuple[str, tuple[str, ...]], ...]] | None:
    """The part of a query that reads lines: the line columns of ``by`` and the ``where=`` items
    on line columns; None when it names none (the deals are read as they are).

    Examples
    --------
    >>> line_query(("partner", "product"), [("channel", ("paid",))], ["product"])
    (('product',), ())
    >>> line_query(("partner",), [], ["product"]) is None
    True
    """
    at = [c for c in by if c in line_columns]
    filters = tuple((c, tuple(sorted(map(str, v)))) for c, v in where if c in line_columns)
    if not at and not filters:
        return None
    return tuple(at), filters


def _passes(lines: pd.DataFrame, filters) -> np.ndarray:
    """Lines kept by the ``where=`` items on line columns (text compared, as every engine does)."""
    ok = np.ones(len(lines), dtype=bool)
    for col, wanted in filters:
        s = lines[col]
        ok &= (s.astype(str).isin(set(wanted)) & s.notna()).to_numpy(bool)
    return ok


def deals_by_line(
    deals: pd.DataFrame,
    lines: pd.DataFrame,
    *,
    by: Sequence[str] = ("product",),
    where: Iterable[tuple[str, Sequence]] = (),
) -> pd.DataFrame:
    """The deal x line table for a query that groups or filters by line columns (the rule is in
    the module docstring).

    Parameters
    ----------
    deals : pandas.DataFrame
        The canonical deals (one row per deal).
    lines : pandas.DataFrame
        Their lines (``LoadResult.lines``).
    by : sequence of str
        The query's levels; those that are line columns split a deal into one row per value.
    where : iterable of (column, values)
        The query's filters (``Query.where``); those on line columns choose the lines summed.

    Returns
    -------
    pandas.DataFrame
        The deals' columns (in their order, then ``deal_amount``), one row per deal and value of
        the line levels, in the deals' order; the deals themselves when the query names no line
        column.

    Examples
    --------
    >>> import pandas as pd
    >>> deals = pd.DataFrame({"deal_id": ["A", "B"], "status": ["won", "won"], "amount": [15.0, 7.0]})
    >>> lines = pd.DataFrame({"row": [2, 3, 4], "deal_id": ["A", "A", "B"],
    ...                       "product": ["Switch", "Support", "Support"], "amount": [10.0, 5.0, 7.0]})
    >>> t = deals_by_line(deals, lines, by=(), where=[("product", ("Switch",))])
    >>> t[["deal_id", "product", "amount"]]
      deal_id product  amount
    0       A  Switch    10.0
    1       B     NaN     NaN
    """
    levels = line_levels(lines)
    asked = line_query(tuple(by), where, levels)
    if asked is None:
        return deals
    at, filters = asked
    filtered = [c for c, _ in filters if c not in at]
    chosen = lines[_passes(lines, filters)]
    groups = chosen.groupby(["deal_id", *at], sort=False, dropna=False)
    parts = {"amount": groups["amount"].sum(min_count=1)}
    for col in filtered:  # a value that passes, so that the engine's own filter keeps the row
        parts[col] = groups[col].first()
    summed = pd.DataFrame(parts).reset_index()
    replaced = ["amount", *at, *filtered]
    has_lines = deals["deal_id"].isin(lines["deal_id"]).to_numpy(bool)
    position = pd.RangeIndex(len(deals))
    lined = deals[has_lines].assign(_pos=position[has_lines], deal_amount=deals["amount"][has_lines])
    lined = lined.drop(columns=[c for c in replaced if c in lined.columns])
    lined = lined.merge(summed.astype({"deal_id": lined["deal_id"].dtype}), on="deal_id", how="left", sort=False)
    own = deals[~has_lines].assign(_pos=position[~has_lines], deal_amount=deals["amount"][~has_lines])
    for col in replaced:
        if col not in own.columns:  # a line column the deals lack (a kept field of the lines only)
            own[col] = pd.Series(pd.NA, index=own.index, dtype=lines[col].dtype)
    out = pd.concat([lined, own], ignore_index=True).sort_values("_pos", kind="stable")
    for col in replaced:  # the deals' dtypes, which every engine reads as the deals' own columns
        if col in deals.columns and out[col].dtype != deals[col].dtype:
            out[col] = out[col].astype(deals[col].dtype)
    columns = [*deals.columns, *(c for c in replaced if c not in deals.columns)]
    if "deal_amount" not in columns:
        columns.append("deal_amount")
    return out[columns].reset_index(drop=True)
