"""The columns of a KPI table as a download heads them, in the reader's language.

A KPI table's columns are names of code (``won_amount``, ``win_rate_low``): notebooks, golden
tests and formulas read them, and an English download keeps them. A Dutch, German or French
analyst opening the CSV or the workbook in Excel reads the same columns under the names the
dashboard's tiles and the glossary (``channelkpi/locale/glossary.csv``) use: "Winratio",
"Abschlussquote", "Taux de conversion". The values under them stay as the table has them.

Examples
--------
>>> from channelkpi.i18n import using
>>> kpi_headings(["partner", "win_rate", "won_amount_prev", "tier"])
{}
>>> with using("nl-NL"):
...     kpi_headings(["partner", "win_rate", "won_amount_prev", "tier"])
{'partner': 'Partner', 'win_rate': 'Winratio', 'won_amount_prev': 'Gewonnen bedrag (vorige periode)'}
"""

from __future__ import annotations

from collections.abc import Iterable

from .i18n import N_, current_language
from .i18n import gettext as _

__all__ = ["COLUMN_HEADINGS", "column_heading", "kpi_headings"]

#: Each column of the KPI tables (and of the tables a report or the dashboard derives from them)
#: in English words; the catalogs say them in each language. Every heading is a different one, so
#: a workbook's column can be traced back to its name of code.
COLUMN_HEADINGS = {
    # the groups and the periods
    "partner": N_("Partner"),
    "owner": N_("Employee"),
    "department": N_("Department"),
    "unit": N_("Unit"),
    "channel": N_("Channel"),
    "source": N_("Lead source"),
    "stage": N_("Stage"),
    "status": N_("Status"),
    "product": N_("Product"),
    "currency": N_("Currency"),
    "period": N_("Period"),
    "period_start": N_("Period start"),
    "period_end": N_("Period end"),
    "period_label": N_("Period label"),
    "partial": N_("Partial period"),
    "as_of": N_("As of"),
    "month": N_("Month"),
    "month_name": N_("Month name"),
    "weeks": N_("Weeks"),
    "note": N_("Note"),
    # counts
    "won_count": N_("Won deals"),
    "lost_count": N_("Lost deals"),
    "created_count": N_("Deals created"),
    "closed_count": N_("Closed deals"),
    "open_count": N_("Open deals"),
    "open_start_count": N_("Open deals at the period start"),
    "change_count": N_("Change in open deals"),
    "n": N_("Deals in the win rate"),
    "count": N_("Number of deals"),
    # money
    "won_amount": N_("Won amount"),
    "avg_deal_size": N_("Average deal size"),
    "median_deal_size": N_("Median deal size"),
    "open_amount": N_("Open pipeline"),
    "weighted_amount": N_("Weighted pipeline"),
    "change_amount": N_("Change in open pipeline"),
    "sales_velocity": N_("Sales velocity (per day)"),
    "target": N_("Won-amount target"),
    "next_target": N_("Next period's target"),
    "next_pipeline": N_("Pipeline expected to close next period"),
    # rates, scores, days
    "win_rate": N_("Win rate"),
    "win_rate_low": N_("Win rate, 95 % range low"),
    "win_rate_high": N_("Win rate, 95 % range high"),
    "win_rate_shrunk": N_("Win rate, adjusted for few deals"),
    "expected_rate": N_("Expected win rate (all groups)"),
    "group_rate": N_("Win rate of the group"),
    "difference": N_("Versus the month's norm"),
    "won_share": N_("Share of won amount"),
    "share": N_("Share"),
    "success_rate": N_("Deal success"),
    "success_rate_value": N_("Deal success (by amount)"),
    "pending_share": N_("Share still open"),
    "lost_share": N_("Share lost"),
    "attainment": N_("Attainment"),
    "coverage": N_("Coverage"),
    "quality_score": N_("Quality score"),
    "rank": N_("Rank"),
    "cycle_days_median": N_("Median cycle (days)"),
    "cycle_days_mean": N_("Mean cycle (days)"),
    # the pipeline waterfall and the pipeline movement (amounts; their counts end in _count)
    "start": N_("Open at the start"),
    "created": N_("Created and still open"),
    "new": N_("New"),
    "pulled_in": N_("Pulled in"),
    "increased": N_("Increased"),
    "decreased": N_("Decreased"),
    "pushed_out": N_("Pushed out"),
    "won": N_("Won"),
    "lost": N_("Lost"),
    "removed": N_("Removed"),
    "transferred_in": N_("Transferred in"),
    "transferred_out": N_("Transferred out"),
    "end": N_("Open at the end"),
    "unchanged": N_("Unchanged"),
    "memo": N_("Opened and closed in the period"),
}
#: The canonical marketing channels, as :data:`channelkpi.formats.CHANNEL_NAMES` names them: the
#: won amount of each is a column (``won_amount_paid``).
_CHANNELS = (N_("paid"), N_("earned"), N_("owned"), N_("partner"), N_("other"), N_("unknown"))
#: Columns made from another one by a suffix: the value before, the change, the deals counted.
_PREVIOUS = N_("{heading} (previous period)")
_CHANGE = N_("{heading} (change)")
_DEALS = N_("{heading} (deals)")
_CHANNEL_AMOUNT = N_("Won amount ({channel})")


def column_heading(name: str) -> str | None:
    """A KPI table's column as a download heads it in the language in force; None for a column
    that is not one of channelkpi's (a field kept from the export keeps its own name).

    >>> from channelkpi.i18n import using
    >>> with using("de-DE"):
    ...     column_heading("win_rate"), column_heading("won_amount_paid"), column_heading("Region")
    ('Abschlussquote', 'Gewonnener Betrag (Paid Media)', None)
    """
    if name in COLUMN_HEADINGS:
        return _(COLUMN_HEADINGS[name])
    for suffix, template in (("_prev", _PREVIOUS), ("_change", _CHANGE)):
        if name.endswith(suffix):
            base = column_heading(name.removesuffix(suffix))
            return None if base is None else _(template).format(heading=base)
    if name.startswith("won_amount_"):
        channel = name.removeprefix("won_amount_")
        return _(_CHANNEL_AMOUNT).format(channel=_(channel) if channel in _CHANNELS else channel)
    if name.endswith("_count") and name.removesuffix("_count") in COLUMN_HEADINGS:
        return _(_DEALS).format(heading=column_heading(name.removesuffix("_count")))
    return None


def kpi_headings(columns: Iterable[object]) -> dict[str, str]:
    """``{column: heading}`` for renaming a KPI table's columns in the language in force: empty
    in English, whose downloads keep the names of code; a column not one of channelkpi's is left
    out (it keeps its name).

    >>> from channelkpi.i18n import using
    >>> with using("fr-FR"):
    ...     kpi_headings(["period", "n"])
    {'period': 'Période', 'n': 'Affaires dans le taux de conversion'}
    """
    if current_language() == "en":
        return {}
    out = {}
    for col in columns:
        heading = column_heading(str(col))
        if heading is not None:
            out[str(col)] = heading
    return out
