"""The KPI contract in code: each KPI's formula, date field, window and variants.

:func:`explain` prints it next to any number, so a reader knows exactly what was computed.

Examples
--------
>>> print(explain("win_rate"))  # doctest: +ELLIPSIS
Close rate (win rate) -- channelkpi.win_rate
  formula:   won / (won + lost) among deals closed in the period, by count
  date:      closed
...
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ChannelKPIError

__all__ = ["Definition", "DEFINITIONS", "explain"]


@dataclass(frozen=True)
class Definition:
    """One KPI's definition."""

    name: str
    title: str
    formula: str
    date_field: str
    window: str
    variants: tuple[str, ...] = ()
    excludes: str = ""
    columns: str = ""

    def __str__(self) -> str:
        lines = [
            f"{self.title} -- channelkpi.{self.name}",
            f"  formula:   {self.formula}",
            f"  date:      {self.date_field}",
            f"  window:    {self.window}",
        ]
        if self.variants:
            lines.append("  variants:  " + "\n             ".join(self.variants))
        if self.excludes:
            lines.append(f"  excludes:  {self.excludes}")
        if self.columns:
            lines.append(f"  columns:   {self.columns}")
        return "\n".join(lines)


_OUTCOME_WINDOW = (
    "deals closed in the period; with freq=None and no start/end every won/lost deal counts, "
    "with or without a close date"
)

DEFINITIONS = {
    d.name: d
    for d in (
        Definition(
            "average_deal_size",
            "Average deal size",
            "sum(amount of won deals closed in the period) / count(won deals closed in the period with an amount); also the median",
            "closed",
            _OUTCOME_WINDOW,
            ("basis='open': mean amount of open deals expected to close in the period (expected_close)",),
            "won deals without an amount (no_amount), lost and open deals (not_won, not_closed)",
            "avg_deal_size, median_deal_size, won_count, won_amount, amount_count",
        ),
        Definition(
            "deal_count",
            "Deal count",
            "number of won deals closed in the period; also deals created, closed (won + lost) and open at the period end",
            "closed (won, closed), created (created), as-of period end (open)",
            _OUTCOME_WINDOW,
            (),
            "won/lost deals without a close date once periods apply (no_close_date)",
            "won_count, created_count, closed_count, open_count",
        ),
        Definition(
            "pipeline",
            "Opportunity pipeline",
            "as of t: deals with created <= t and not closed by t (closed empty or after t); value = sum(amount), weighted = sum(amount x probability)",
            "created and closed (as of the end of each period)",
            "each period's last day; with freq=None the end date or the last date in the data",
            (
                "change: vs the previous period end (count and value)",
                "targets=: attainment = won amount / target; coverage = pipeline expected to close next period / next target",
                "past snapshots use each deal's current amount and stage (no stage history)",
            ),
            "deals without a created date, won/lost deals without a close date, deals closed before created",
            "open_count, open_amount, weighted_amount, change_count, change_amount",
        ),
        Definition(
            "pipeline_waterfall",
            "Pipeline waterfall",
            "end = start + created - won - lost: start = open at the previous period end; created = created in the period and still open at its end; won/lost = open at the previous end and closed in the period",
            "created and closed",
            "consecutive period ends",
            (),
            "as for the pipeline; deals created and closed within one period appear in neither snapshot",
            "start, created, won, lost, end (+ *_count)",
        ),
        Definition(
            "channel_performance",
            "Marketing channels",
            "per channel segment (or raw source): deals created, won count, won amount, share of the period's won amount, win rate, average deal size, median cycle",
            "created (created_count), closed (the rest)",
            _OUTCOME_WINDOW,
            ("by='source' for raw lead sources; channel_map= when loading decides the segments",),
            "as for win rate and average deal size",
            "created_count, won_count, won_amount, won_share, win_rate, avg_deal_size, cycle_days_median",
        ),
        Definition(
            "win_rate",
            "Close rate (win rate)",
            "won / (won + lost) among deals closed in the period, by count",
            "closed",
            _OUTCOME_WINDOW,
            (
                "weight='value': won amount / (won + lost amount); no interval",
                "denominator='created': won deals closed in the period / deals created in the period (can exceed 1; no interval)",
                "interval: Wilson score 95 % on the count",
            ),
            "open deals (not_closed); won/lost deals without a close date once periods apply (no_close_date)",
            "win_rate, win_rate_low, win_rate_high, won_count, lost_count, n",
        ),
        Definition(
            "seasonality",
            "Close-rate seasonality",
            "won / (won + lost) by month of year over all years; expected_rate = all groups' rate in that month",
            "closed",
            "all years in the range, folded onto January-December",
            ("by='unit' (or any level) compares each group with the seasonal norm and its own rate",),
            "as for win rate",
            "month, month_name, won_count, lost_count, n, win_rate, win_rate_low, win_rate_high, expected_rate, group_rate, difference",
        ),
        Definition(
            "deal_velocity",
            "Deal velocity",
            "cycle = closed - created in days for won deals closed in the period (median default, mean); sales velocity = open deals at the period start x win rate x average deal size / mean cycle (money per day)",
            "closed (cycle), as of the previous period end (open deals)",
            _OUTCOME_WINDOW,
            (
                "lost deals' cycle shown separately",
                "the change in sales velocity is split exactly into the four inputs (log-mean split)",
            ),
            "deals without a created date, deals closed before created (cycle); see win rate and deal size",
            "cycle_days_median, cycle_days_mean, sales_velocity, open_start_count, win_rate, avg_deal_size",
        ),
        Definition(
            "quality_score",
            "Quality score",
            "100 x weighted mean of percentile ranks among the period's peers: won amount 0.4, won count 0.2, win rate shrunk toward the overall rate (empirical-Bayes beta prior) 0.25, average deal size 0.15",
            "closed",
            _OUTCOME_WINDOW,
            ("weights= changes the weights (normalised to sum to 1)", "rank 1 = best in the period"),
            "as for win rate and average deal size; a group without a deal size ranks lowest on it",
            "quality_score, rank, won_count, won_amount, win_rate_shrunk, avg_deal_size",
        ),
        Definition(
            "deal_success",
            "Deal success (cohort conversion)",
            "of the deals created in the period: won so far / created, with the share still open (pending) beside it",
            "created",
            "deals created in the period (a cohort), followed to today",
            ("success_rate_value: won amount / created amount",),
            "deals without a created date once periods apply (no_created_date)",
            "success_rate, pending_share, created_count, won_count",
        ),
        Definition(
            "kpi_table",
            "All eight KPIs",
            "every KPI above for the same groups and periods",
            "see each KPI",
            "see each KPI",
            (),
            "see each KPI (the exclusions recorded are those of the outcome KPIs)",
        ),
    )
}


def explain(kpi: str) -> str:
    """The definition of a KPI (its function name, e.g. ``"win_rate"``) as printable text.

    Also accepts a KPI result table (it reads ``attrs["channelkpi"]``) and then adds how many
    rows it used and excluded per reason.
    """
    import pandas as pd

    if isinstance(kpi, pd.DataFrame):
        meta = kpi.attrs.get("channelkpi")
        if not meta:
            raise ChannelKPIError(
                "this table carries no KPI definition", fix="pass a table a channelkpi KPI function returned"
            )
        text = str(DEFINITIONS[meta["kpi"]])
        if meta.get("variant"):
            text += f"\n  variant:   {meta['variant']}"
        excluded = ", ".join(f"{k} {v}" for k, v in meta.get("excluded", {}).items()) or "none"
        text += f"\n  rows:      {meta['rows']} in the table, {meta['used']} used; excluded: {excluded}"
        return text
    if kpi not in DEFINITIONS:
        raise ChannelKPIError(f"no KPI called {kpi!r}", fix=f"use one of {sorted(DEFINITIONS)}")
    return str(DEFINITIONS[kpi])
