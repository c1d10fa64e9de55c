"""KPI computation: a row-level aggregation stage and a pandas finishing stage.

The modules, from the row rules up to the KPI functions (each imports only those above it;
``tests/test_architecture.py`` holds the order):

``rules``
    The row rules, declared once: day numbers, month indexes, period keys (weeks, months,
    fiscal quarters and years), cents rounded half up, the flag layouts; with their spelling
    for each engine.
``periods``, ``query``
    The checked options (``freq=``, ``fiscal_year_start=``, ``start``/``end``, ``where=``,
    ``compare=``) as a :class:`~channelkpi.metrics.query.Query`, and period labels.
``canonical``
    The deals table's names, required columns and types, on any engine.
``contract``
    Stage 1's contract: the :class:`~channelkpi.metrics.contract.Stage1` protocol and the
    :class:`~channelkpi.metrics.contract.Aggregates` it hands stage 2.
``lazy``, ``prepared``
    The two stage-1 backends: narwhals over the table where it lives (pandas via DuckDB,
    polars, DuckDB, Spark), and numpy over deals coded once (:func:`channelkpi.prepare`).
``stage1``
    Picks the backend by the input's type and runs it.
``finish``, ``stats``, ``definitions``
    Stage 2: the group x period grid, money, the as-of pipeline, exclusion counts; the
    statistics; the definitions printed next to each number.
``recorded``
    A history's open states as rows of a deals table, so that the open-at-period-end rule
    reads each deal as recorded then (the pipeline of a :class:`~channelkpi.history.History`).
``targets``, ``kpis``
    Targets on the KPI grid, and the KPI functions.
``behind``
    The deal rows behind one cell of a KPI table (:func:`deals_behind`), by the same rules.
``activation``
    Partner activation (:func:`partner_activation`): a partner table's signed dates against
    the partners' first deals, read through the same stage-1 backends.
``movement``, ``visits``, ``funnel``, ``stagetime``, ``survival``, ``slips``
    From a deal history (:class:`~channelkpi.history.History`): the pipeline movement buckets
    between period ends, stage visits and the stage order, the stage funnel, time in stage
    (Kaplan--Meier, censored visits never finished), and slipped close dates; each with the
    deals behind its numbers.
"""

# the KPI functions are public as channelkpi.<name>; the modules are the API. deals_behind and
# partner_activation are here too, imported on first use so that importing a metrics module
# stays cheap.
__all__: list[str] = ["deals_behind", "partner_activation"]


def __getattr__(name: str):
    if name == "deals_behind":
        from .behind import deals_behind

        return deals_behind
    if name == "partner_activation":
        from .activation import partner_activation

        return partner_activation
    raise AttributeError(f"module 'channelkpi.metrics' has no attribute {name!r}")
