"""Stage 1 for any input: the backend is chosen by the input's type.

=====================================  =====================================================
input                                  backend
=====================================  =====================================================
:class:`~channelkpi.PreparedDeals`     :class:`~channelkpi.metrics.prepared.PreparedStage1`
                                       (numpy); options it does not cover run on its table
pandas DataFrame                       :class:`~channelkpi.metrics.lazy.LazyStage1` on DuckDB
                                       (``engine="auto"``/``"duckdb"``) or pandas
anything narwhals reads                :class:`~channelkpi.metrics.lazy.LazyStage1` on the
(polars, DuckDB, PySpark ...)          table's own engine
=====================================  =====================================================

A new kind of input registers its backend with ``open_stage1.register``.

Examples
--------
>>> from channelkpi.datasets import make_deals
>>> from channelkpi.metrics.query import make_query
>>> deals = make_deals(300, seed=2)
>>> q = make_query(by="unit", freq=None)
>>> type(open_stage1(deals, q, {"outcomes"})).__name__
'LazyStage1'
>>> agg = aggregate(deals, q, {"outcomes", "flows"})
>>> agg.as_of == deals[["created", "closed"]].max().max()  # the whole-range pipeline's day
True
"""

from __future__ import annotations

import functools

import pandas as pd

from ..errors import ChannelKPIError
from .canonical import deals_of
from .contract import Aggregates, Stage1, collect
from .lazy import LazyStage1, lazy_native, lazy_pandas
from .prepared import PreparedDeals, PreparedStage1
from .query import Engine, Query, check_columns, check_engine

__all__ = ["open_stage1", "aggregate"]


@functools.singledispatch
def open_stage1(deals, q: Query, needs, *, engine: Engine = "auto", columns=None) -> Stage1:
    """The stage-1 backend for ``deals`` (see the module docstring): anything narwhals reads
    runs on its own engine."""
    frame, absent, used = lazy_native(deals, q, columns=columns)
    # sources DuckDB or Spark read (Parquet, a warehouse) gain from one query whose branches
    # run side by side; a polars table in memory is scanned in parallel query by query
    together = frame.implementation.is_duckdb() or frame.implementation.is_pyspark()
    return LazyStage1(frame, absent, q, needs, engine=used, together=together)


@open_stage1.register
def _(deals: pd.DataFrame, q: Query, needs, *, engine: Engine = "auto", columns=None) -> Stage1:
    frame, absent, used, con = lazy_pandas(deals, q, engine=engine, columns=columns)
    return LazyStage1(frame, absent, q, needs, engine=used, connection=con)


@open_stage1.register
def _(deals: PreparedDeals, q: Query, needs, *, engine: Engine = "auto", columns=None) -> Stage1:
    if columns:
        raise ChannelKPIError(
            "columns= does not apply to prepared deals (they have the canonical names)",
            fix="pass columns= to channelkpi.prepare instead",
        )
    deals = deals.for_query(q)  # the deal x line table when q groups or filters by a line column
    check_columns(q, deals.names, deals.text)
    if engine == "auto" and deals.can_run(q):
        return PreparedStage1(deals, q, needs)
    return open_stage1(deals.deals, q, needs, engine=engine)  # what the coded engine does not cover


def aggregate(deals, q: Query, needs, *, engine: Engine = "auto", columns=None) -> Aggregates:
    """Run stage 1 for ``q`` on the backend for ``deals``: everything stage 2 needs.

    ``needs`` says what to compute besides the pass by creation, which always runs (see
    :data:`channelkpi.metrics.contract.NEEDS`).
    """
    check_engine(engine)
    return collect(open_stage1(deals_of(deals, q), q, needs, engine=engine, columns=columns), q, needs)
