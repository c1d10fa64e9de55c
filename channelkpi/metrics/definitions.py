"""The KPI contract in code: each KPI's formula, date field, window and variants.

:func:`explain` prints it next to any number, so a reader knows exactly what was computed.

Examples
--------
>>> print(explain("win_rate"))  # doctest: +ELLIPSIS
Close rate (win rate) -- channelkpi.win_rate
  formula:   won / (won + lost) among deals closed in the period, by count
  date:      close date
...
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import ChannelKPIError
from ..i18n import N_, current_language, current_locale, using
from ..i18n import gettext as _

__all__ = ["BY_PRODUCT", "Definition", "DEFINITIONS", "explain"]


#: The labels of an explanation's lines (an English label is at most 10 characters wide).
_LINE_LABELS = (
    N_("formula:"),
    N_("date:"),
    N_("window:"),
    N_("variants:"),
    N_("excludes:"),
    N_("columns:"),
    N_("in words:"),
)


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
    #: the definition in a manager's words (a dashboard tile's "what is this?")
    summary: str = ""
    #: what this KPI's numbers mean by product, from a line-item export (``by="product"`` on a
    #: load result); the rule every KPI shares (:data:`BY_PRODUCT`) is said after it
    by_product: str = ""

    def __str__(self) -> str:
        # the contract's words are English in the code and read in the language in force; the
        # columns are names of code and stay as they are
        width = max(11, *(len(_(label)) + 1 for label in (*_LINE_LABELS, *_TABLE_LABELS)))
        said = lambda label, text: f"  {_(label):<{width}}{text}"  # noqa: E731
        lines = [
            f"{_(self.title)} -- channelkpi.{self.name}",
            said(N_("formula:"), _(self.formula)),
            said(N_("date:"), _(self.date_field)),
            said(N_("window:"), _(self.window)),
        ]
        if self.variants:
            lines.append(said(N_("variants:"), ("\n" + " " * (width + 2)).join(_(v) for v in self.variants)))
        if self.excludes:
            lines.append(said(N_("excludes:"), _(self.excludes)))
        if self.columns:
            # the names stay code: a word between them is said in the language, and outside
            # English the line says that downloads head these columns in words
            columns = _(self.columns)
            if current_language() != "en":
                columns = _(_CODE_NAMES).format(columns=columns)
            lines.append(said(N_("columns:"), columns))
        if self.summary:
            lines.append(said(N_("in words:"), _(self.summary)))
        if self.by_product:
            label, detail, rule = _("by product:"), _(self.by_product), _(BY_PRODUCT)
            lines.append(f"  {label} {detail}; {rule}")
        return "\n".join(lines)


#: The columns line outside English, where downloads head the columns in the reader's words.
_CODE_NAMES = N_("{columns} (names of code; a download heads them in words)")


_OUTCOME_WINDOW = N_(
    "the deals closed in the period; over the whole data, with no periods and no date range, every won "
    "or lost deal counts, with or without a close date"
)

DEFINITIONS = {
    d.name: d
    for d in (
        Definition(
            "average_deal_size",
            N_("Average deal size"),
            N_(
                "total amount of the won deals closed in the period / the number of those won deals that have an "
                "amount; the median is shown beside it"
            ),
            N_("close date"),
            _OUTCOME_WINDOW,
            (N_("on open deals: the mean amount of the open deals expected to close in the period"),),
            N_("won deals without an amount, lost and open deals"),
            "avg_deal_size, median_deal_size, won_count, won_amount, amount_count",
            N_(
                "The average value of a deal won in the period: the total won amount divided by the number of "
                "won deals that have an amount. Lost and open deals do not count."
            ),
        ),
        Definition(
            "deal_count",
            N_("Deal count"),
            N_(
                "number of won deals closed in the period; also the deals created in it, the deals closed in it "
                "(won and lost) and the deals open at its end"
            ),
            N_("close date (won, closed), creation date (created), the period's last day (open)"),
            _OUTCOME_WINDOW,
            (),
            N_("won and lost deals without a close date, once periods or a date range apply"),
            "won_count, created_count, closed_count, open_count",
            N_(
                "The number of deals won in the period, by their close date. Beside it: how many deals closed "
                "in the period, won or lost."
            ),
        ),
        Definition(
            "pipeline",
            N_("Opportunity pipeline"),
            N_(
                "on a given day: the deals created by then and not yet won or lost by then; value = sum of their "
                "amounts, weighted value = sum of amount x probability"
            ),
            N_("creation and close dates (as of the end of each period)"),
            N_(
                "the last day of each period; over the whole data, the last day of the date range or the last "
                "date in the data"
            ),
            (
                N_("change: vs the previous period end (count and value)"),
                N_(
                    "with targets: attainment = won amount / target; coverage = pipeline expected to close next "
                    "period / next target"
                ),
                N_(
                    "past period ends: each deal's current amount and stage; given the deals' history, each deal as "
                    "recorded at each period end"
                ),
            ),
            N_("deals without a created date, won/lost deals without a close date, deals closed before created"),
            "open_count, open_amount, weighted_amount, change_count, change_amount",
            N_("The value of the deals still open at the end of the period: created by then and not yet won or lost."),
        ),
        Definition(
            "pipeline_waterfall",
            N_("Pipeline waterfall"),
            N_(
                "open at the end = open at the start + created − won − lost: open at the start = open at the end "
                "of the period before; created = created in the period and still open at its end; won and lost = "
                "open at the end of the period before and won or lost in the period"
            ),
            N_("creation and close dates"),
            N_("from the end of one period to the end of the next"),
            (),
            N_("as for the pipeline; deals created and closed within one period appear in neither snapshot"),
            N_("start, created, won, lost, end (+ *_count)"),
            N_(
                "How the open pipeline moved in each period: where it started, what was added, what was won "
                "or lost, and where it ended."
            ),
        ),
        Definition(
            "pipeline_movement",
            N_("Pipeline movement"),
            N_(
                "open at the end = open at the start + new + pulled in + increased − decreased − pushed out − won"
                " − lost − removed + transferred in − transferred out, per group and currency, to the cent. The "
                "start is the end of the period before, the end is the period's last instant (a change dated the "
                "first day of a period belongs to that period); the pipeline at an instant is the deals open then"
                " (with a close window, only those expected to close in it; with a filter, only those that pass "
                "it then), each at its amount then. Each deal in the pipeline at the start or the end is in one "
                "bar, decided in this order. In at the start only: removed (deleted, or gone from the export by "
                "the end), won, lost (closed by the end), pushed out (open, its expected close moved out of the "
                "window), transferred out (open, it left the selection); all at the start amount. In at the end "
                "only: new (not open at the start: created since, reopened, or back in the export), pulled in "
                "(open at the start, its expected close moved into the window), transferred in (open at the start"
                " outside the selection); all at the end amount. In at both: transferred (its group or its "
                "currency changed: out of the old group at the start amount, into the new one at the end amount),"
                " else increased or decreased by the change of its amount, else unchanged. The end of a period is"
                " the start of the next"
            ),
            N_("each deal's state (status, amount, expected close, partner, owner, stage) at the two instants"),
            N_(
                "from the end of one period to the end of the next; the periods the history covers, up to the one "
                "holding its last instant"
            ),
            (
                N_(
                    "with a close window (a fixed range of expected close dates, the same for every period) the end "
                    "of one period is the start of the next; without one no deal is pushed out or pulled in"
                ),
                N_(
                    "beside the bars, not in the balance: the deals whose history begins in the period and that are "
                    "won or lost at its end (count, and amount at the end)"
                ),
                N_(
                    "transfers: over all groups, as many deals are transferred in as out; their amounts differ by "
                    "exactly the change in the transferred deals' amounts"
                ),
                N_("the deals behind any bar can be listed with their state at both ends; they add up to it"),
            ),
            N_("deals in the pipeline at neither end (other than those beside the bars); a missing amount counts as 0"),
            "start, new, pulled_in, increased, decreased, pushed_out, won, lost, removed, transferred_in, "
            "transferred_out, end, unchanged, memo (+ *_cents, *_count), currency",
            N_(
                "Why the open pipeline changed from one period end to the next: what was added (new deals, deals "
                "pulled into the close window, amounts raised, deals moved in from another partner) and what "
                "left (won, lost, deleted, pushed out, amounts cut, moved to another partner). The bars add up "
                "to the cent, and each deal is in one bar."
            ),
        ),
        Definition(
            "channel_performance",
            N_("Marketing channels"),
            N_(
                "per marketing channel (or raw lead source): deals created, deals won, won amount, share of the "
                "period's won amount, win rate, average deal size, median cycle"
            ),
            N_("creation date (deals created), close date (the rest)"),
            _OUTCOME_WINDOW,
            (N_("by raw lead source as well; which lead source counts as which channel can be set when loading"),),
            N_("as for win rate and average deal size"),
            "created_count, won_count, won_amount, won_share, win_rate, avg_deal_size, cycle_days_median",
            N_(
                "The share of the won amount that came through each marketing channel, by the deals' lead "
                "source (paid, earned, owned, partner, other)."
            ),
        ),
        Definition(
            "win_rate",
            N_("Close rate (win rate)"),
            N_("won / (won + lost) among deals closed in the period, by count"),
            N_("close date"),
            _OUTCOME_WINDOW,
            (
                N_("by value: won amount / (won + lost amount); no interval"),
                N_(
                    "against deals created: won deals closed in the period / deals created in the period (can exceed "
                    "1; no interval)"
                ),
                N_("interval: Wilson score 95 % on the count"),
            ),
            N_("open deals; won or lost deals without a close date once periods apply"),
            "win_rate, win_rate_low, win_rate_high, won_count, lost_count, n",
            N_(
                "Of the deals closed in the period, the share that was won (won divided by won plus lost, by "
                "count). The range beside it is where the true rate lies with 95 % confidence; it is wide when "
                "few deals closed."
            ),
        ),
        Definition(
            "seasonality",
            N_("Close-rate seasonality"),
            N_(
                "won / (won + lost) by month of the year over all years; the expected rate is all groups' rate in "
                "that month"
            ),
            N_("close date"),
            N_("all years in the range, folded onto January to December"),
            (N_("by unit (or any level): each group compared with the seasonal norm and with its own rate"),),
            N_("as for win rate"),
            "month, month_name, won_count, lost_count, n, win_rate, win_rate_low, win_rate_high, expected_rate, group_rate, difference",
            N_(
                "The win rate in each month of the year, over all years, compared with what all groups reach "
                "in that month."
            ),
        ),
        Definition(
            "deal_velocity",
            N_("Deal velocity"),
            N_(
                "cycle = days from creation to close of the won deals closed in the period (median by default, "
                "also the mean); sales velocity = open deals at the period start x win rate x average deal size / "
                "mean cycle (money per day)"
            ),
            N_("close date (cycle), the end of the period before (open deals)"),
            _OUTCOME_WINDOW,
            (
                N_("lost deals' cycle shown separately"),
                N_("the change in sales velocity is split exactly into the four inputs (log-mean split)"),
            ),
            N_("deals without a created date, deals closed before created (cycle); see win rate and deal size"),
            "cycle_days_median, cycle_days_mean, sales_velocity, open_start_count, win_rate, avg_deal_size",
            N_(
                "How long won deals take: the median number of days from creation to close, for the deals "
                "won in the period. Shorter is better."
            ),
        ),
        Definition(
            "quality_score",
            N_("Quality score"),
            N_(
                "100 x weighted mean of the percentile ranks among the period's peers: won amount 0.4, won count "
                "0.2, win rate pulled toward the overall rate when there are few deals (empirical-Bayes beta "
                "prior) 0.25, average deal size 0.15"
            ),
            N_("close date"),
            _OUTCOME_WINDOW,
            (N_("other weights can be given (scaled to sum to 1)"), N_("rank 1 = best in the period")),
            N_("as for win rate and average deal size; a group without a deal size ranks lowest on it"),
            "quality_score, rank, won_count, won_amount, win_rate_shrunk, avg_deal_size",
            N_(
                "A score from 0 to 100 for how a partner compares with all partners in the range: its won "
                "amount counts 40 %, its number of won deals 20 %, its win rate 25 % (pulled toward the average "
                "when it closed few deals, so 2 of 2 does not beat 38 of 50) and its average deal size 15 %."
            ),
        ),
        Definition(
            "deal_success",
            N_("Deal success (cohort conversion)"),
            N_(
                "of the deals created in the period: won so far / created, with the share still open (pending) beside it"
            ),
            N_("creation date"),
            N_("the deals created in the period (a cohort), followed to the end of the data"),
            (N_("by value: won amount / created amount"),),
            N_("deals without a created date once periods apply"),
            "success_rate, pending_share, created_count, won_count",
            N_(
                "Of the deals created in the period, the share won so far. Deals still open are pending, not "
                "lost: a young cohort is not a bad one."
            ),
        ),
        Definition(
            "partner_activation",
            N_("Partner activation"),
            N_(
                "per partner of the partner table: days from its signed date to its first deal created and to its "
                "first deal won; activation rate = partners whose first deal was created within N days of signing "
                "(day 0 to N) / partners whose N days have passed; active partners = partners signed by a period's "
                "end with a deal created in the trailing days up to it"
            ),
            N_("signed date (partner table), creation date (first deal, activity), close date (first win)"),
            N_(
                "partners signed in the range, their deals followed to a chosen day (by default the last date in "
                "the data)"
            ),
            (
                N_(
                    "N is 90 days unless chosen otherwise, the activity window 365 days; partners can be grouped by "
                    "any column of the partner table"
                ),
                N_("interval: Wilson score 95 % on the count of eligible partners"),
            ),
            N_(
                "deals created before the partner's signed date, (direct) deals and deals without a partner, deals "
                "of partners missing from the partner table (listed), deals without a created date; partners "
                "without a signed date, or signed before the deals begin, are left out of the rate; partners "
                "signed too recently are pending; an activity window reaching back before the deals has no share"
            ),
            "days_to_first_deal, days_to_first_win, status; signed, signed_before_data, pending, eligible, "
            "activated, activation_rate, "
            "activation_rate_low, activation_rate_high; partners, active, active_share",
            N_(
                "Of the partners signed long enough ago, the share that brought a first deal within N days of "
                "signing. Partners signed more recently are pending, not failures. Beside it: how many partners "
                "created a deal in the last twelve months."
            ),
        ),
        # ---- from a deal history (channelkpi.load_history)
        Definition(
            "stage_funnel",
            N_("Stage funnel"),
            N_(
                "per open stage: entered = moved on + moved back + won + lost + removed + still there, each deal "
                "counted once, by how its last visit to the stage ended; step conversion = moved on / entered; "
                "cumulative conversion = entered in order / entered in order at the first stage"
            ),
            N_("the instant a deal entered each stage (from its history)"),
            N_(
                "the deals whose first visit to an open stage began in the range (all deals without one), "
                "followed to the end of the history"
            ),
            (
                N_(
                    "entered counts the deals that ever entered the stage; entered in order only those that entered "
                    "it after every earlier stage, in order (other moves between allowed)"
                ),
                N_("visits: every entry counts (a deal that came back counts again)"),
                N_("stage order: the one given, else the CRM's, else by the stages' median entry time"),
            ),
            N_("closed stages (won, lost) are outcomes, not steps; deals outside the filter or the cohort"),
            "step, stage, entered, advanced, moved_back, won, lost, removed, still_there, visits, "
            "entered_in_order, step_conversion, cumulative_conversion",
            N_(
                "How the deals moved through the stages: of those that entered a stage, how many moved on, went "
                "back, were won or lost, or are still there; and what share of the deals that started at the "
                "first stage reached each stage in order."
            ),
        ),
        Definition(
            "time_in_stage",
            N_("Time in stage"),
            N_(
                "per open stage: days from entering to leaving, per visit; median and 75th percentile from the "
                "Kaplan-Meier estimate, in which a visit still in the stage (or whose deal was removed) counts as"
                " lasting at least until the end of the history (or the removal) and never as finished"
            ),
            N_("the instants a deal entered and left each stage"),
            N_("the visits that began in the range (all visits without one), followed to the end of the history"),
            (N_("a percentile is missing when fewer than that share of the visits is known to have finished"),),
            N_("closed stages (won, lost); deals outside the filter"),
            "step, stage, visits, finished, censored, removed, median_days, p75_days",
            N_(
                "How long deals wait in each stage: the median number of days before a deal moves on, counting "
                "the deals still waiting as at least as long as they have waited so far."
            ),
        ),
        Definition(
            "slipped_deals",
            N_("Slipped deals"),
            N_(
                "per period: slips = changes of an open deal's expected close date to a date in a later period; "
                "slipped deals = deals with a slip; days slipped = sum of (new − old date) in days; slipped "
                "amount = sum over the slipped deals of their amount after their last slip in the period (to the "
                "cent)"
            ),
            N_("the day the expected close date changed"),
            N_("the periods of the range (all periods with a slip, or the range given)"),
            (N_("moves to an earlier date or within the same period are not slips"),),
            N_("closed and removed states; deals outside the filter"),
            "slipped_count, slips, slip_days, slipped_amount, slipped_amount_cents, currency",
            N_(
                "The deals whose expected close date was pushed into a later period, how often and by how many "
                "days, and how much money they carry."
            ),
        ),
        Definition(
            "kpi_table",
            N_("All eight KPIs"),
            N_("every KPI above for the same groups and periods"),
            N_("see each KPI"),
            N_("see each KPI"),
            (),
            N_("see each KPI (the exclusions recorded are those of the outcome KPIs)"),
            "",
            N_("Every KPI above for the same groups and periods."),
        ),
    )
}

#: What every KPI's numbers mean by product when the deals came with line items (the rule is
#: :mod:`channelkpi.metrics.products`); each KPI adds what changes for it.
BY_PRODUCT = N_(
    "from a line-item export (a load result grouped by product, or filtered on a column of its lines): "
    "amounts are the product's line amounts, counts are the deals containing it, dates and status are the "
    "deal's; a deal with two products counts once in each, so the products' counts do not add up to the total"
)
_PRODUCT_DETAIL = {
    "average_deal_size": N_(
        "won amount = sum of the product's lines in won deals; deal size = that / won deals "
        "containing it (with an amount); the median is of those sums"
    ),
    "deal_count": N_("won, created, closed and open deals containing the product"),
    "pipeline": N_(
        "open deals containing the product; value = sum of its lines in them (weighted by the deal's probability)"
    ),
    "pipeline_waterfall": N_("open deals containing the product, valued at its lines"),
    "channel_performance": N_("within a product: deals containing it, its lines' won amount"),
    "win_rate": N_(
        "won deals containing the product / closed deals containing it; weight='value': its lines' "
        "amounts in won / in closed deals"
    ),
    "seasonality": N_("won deals containing the product and its lines' won amount"),
    "deal_velocity": N_("cycle lengths of the won deals containing the product; deal size from its lines"),
    "quality_score": N_(
        "products ranked on their won amount (lines), won deals and close rate (deals containing them)"
    ),
    "deal_success": N_("of the deals created containing the product, the share won so far"),
    "kpi_table": N_("every column as its KPI says by product"),
}
DEFINITIONS = {
    name: replace(d, by_product=_PRODUCT_DETAIL[name]) if name in _PRODUCT_DETAIL else d
    for name, d in DEFINITIONS.items()
}


def explain(kpi: str, *, locale: str | None = None) -> str:
    """The definition of a KPI (its function name, e.g. ``"win_rate"``) as printable text.

    Parameters
    ----------
    kpi : str or pandas.DataFrame
        A KPI function's name, or a table a KPI function returned (its ``attrs["channelkpi"]``
        is read, and how many rows it used and excluded per reason is added).
    locale : str, optional
        The language to explain in, a BCP 47 tag such as ``"nl-NL"`` or ``"de"``
        (:func:`channelkpi.i18n.resolve_locale`; a language without a translation reads as
        English, with a warning). Default: the locale in force (:func:`channelkpi.i18n.using`),
        else English.

    Returns
    -------
    str
        The formula, the date it uses, its window, variants, exclusions, columns and a sentence
        in plain words.

    Examples
    --------
    >>> print(explain("win_rate"))  # doctest: +ELLIPSIS
    Close rate (win rate) -- channelkpi.win_rate
      formula:   won / (won + lost) among deals closed in the period, by count
    ...
    >>> from channelkpi import win_rate
    >>> from channelkpi.datasets import toy_deals
    >>> explain(win_rate(toy_deals())).splitlines()[-1]
    '  rows:      6 in the table, 5 used; excluded: not_closed 1'
    """
    with using(locale or current_locale()):
        return _explain(kpi)


#: The labels a KPI table's explanation adds.
_TABLE_LABELS = (N_("variant:"), N_("past ends:"), N_("rows:"))


def _explain(kpi) -> str:
    import pandas as pd

    if isinstance(kpi, pd.DataFrame):
        meta = kpi.attrs.get("channelkpi")
        if not meta:
            raise ChannelKPIError(
                "this table carries no KPI definition", fix="pass a table a channelkpi KPI function returned"
            )
        text = str(DEFINITIONS[meta["kpi"]])
        width = max(11, *(len(_(label)) + 1 for label in (*_LINE_LABELS, *_TABLE_LABELS)))
        if meta.get("variant"):
            text += f"\n  {_(N_('variant:')):<{width}}{meta['variant']}"
        excluded = ", ".join(f"{k} {v}" for k, v in meta.get("excluded", {}).items()) or _("none")
        if meta.get("past_ends"):
            text += f"\n  {_(N_('past ends:')):<{width}}{meta['past_ends']}"
        rows = _("{rows} in the table, {used} used; excluded: {excluded}").format(
            rows=meta["rows"], used=meta["used"], excluded=excluded
        )
        text += f"\n  {_(N_('rows:')):<{width}}{rows}"
        return text
    if kpi not in DEFINITIONS:
        raise ChannelKPIError(f"no KPI called {kpi!r}", fix=f"use one of {sorted(DEFINITIONS)}")
    return str(DEFINITIONS[kpi])
