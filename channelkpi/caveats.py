"""What a set of deals cannot show: the gaps in an export that change what a chart means.

A load's warnings (:attr:`channelkpi.LoadResult.warnings`) list everything worth knowing about a
file, in the words of the person who will fix the export. A few of them change what the charts
*mean*: without a partner column every deal counts as direct and the partner views are empty;
without deal ids a deal exported as several rows counts several times. :func:`data_caveats` finds
those from the deals themselves (and the load's column mapping, when there is one) and says, for
someone looking at a dashboard or a handout, what each one does to the numbers and what to do
about it there, never with a Python argument.

Examples
--------
>>> import pandas as pd
>>> from channelkpi import validate_deals
>>> deals = validate_deals(pd.DataFrame({"deal_id": ["a", "b"], "status": ["won", "lost"],
...                                      "amount": [5.0, 7.0], "closed": ["2024-03-01", "2024-03-09"]}))
>>> [c.key for c in data_caveats(deals)]
['no_partner', 'unknown_channels', 'no_created']
>>> print(data_caveats(deals)[0].problem)
No deal has a partner: partner views are empty, and the other KPIs count every deal as direct.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .formats import channel_name, number, percent
from .i18n import gettext as _
from .ingest import wording
from .ingest.wording import template_pattern
from .ingest.wording_notes import NOT_AMOUNTS, NOT_DATES
from .schema import DIRECT_PARTNER

__all__ = [
    "Caveat",
    "data_caveats",
    "has_partners",
    "has_lead_sources",
    "unreadable_values",
    "UNKNOWN_CHANNEL_SHARE",
    "NO_CLOSE_DATE_SHARE",
]

#: From this share of deals without a known marketing channel on, the channel views mostly show
#: "other" and "unknown".
UNKNOWN_CHANNEL_SHARE = 0.3
#: From this share of closed deals without a close date on, period KPIs leave out a visible part.
NO_CLOSE_DATE_SHARE = 0.05


@dataclass(frozen=True)
class Caveat:
    """One gap in the data that changes what a view means.

    Attributes
    ----------
    key : str
        ``no_partner``, ``no_deal_id``, ``unknown_channels``, ``converted_currency``,
        ``no_created``, ``no_close_date`` or ``no_amount``.
    problem : str
        What is missing and what that does to the numbers.
    action : str
        What to do about it, in the dashboard or in the CRM export.
    """

    key: str
    problem: str
    action: str

    def __str__(self) -> str:
        return f"{self.problem} {self.action}"


def has_partners(deals: pd.DataFrame) -> bool:
    """Whether any deal has a partner (deals without one carry ``"(direct)"``).

    >>> has_partners(pd.DataFrame({"partner": ["(direct)", "Acme"]}))
    True
    >>> has_partners(pd.DataFrame({"partner": ["(direct)"]}))
    False
    """
    partners = deals["partner"].dropna()
    return bool(len(partners)) and bool((partners.astype(str) != DIRECT_PARTNER).any())


def has_lead_sources(deals: pd.DataFrame, result=None) -> bool:
    """Whether the deals can show a marketing channel: the export has a lead-source (or channel)
    column and some deal's channel is known.

    >>> has_lead_sources(pd.DataFrame({"channel": ["unknown", "partner"]}))
    True
    >>> has_lead_sources(pd.DataFrame({"channel": ["unknown"]}))
    False
    """
    if result is not None and not set(result.source.columns) & {"source", "channel"}:
        return False
    return bool((deals["channel"].astype(str) != "unknown").any())


# The load's warnings about values it could not read and left empty (amounts, dates, dates out
# of range, impossible probabilities), as patterns of their templates: the column and the count.
_LEFT_EMPTY = tuple(
    template_pattern(t) for t in (NOT_AMOUNTS, NOT_DATES, wording.DATES_OUT_OF_RANGE, wording.BAD_PROBABILITY)
)


def unreadable_values(result) -> list[tuple[str, int]]:
    """The columns of a load with values that could not be read (left empty), and how many.

    Parameters
    ----------
    result : LoadResult
        A :func:`channelkpi.load_crm` result; its warnings say which values were left empty.

    Returns
    -------
    list of (str, int)
        Each column as the warning names it (quoted) and its number of values left empty.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> unreadable_values(SimpleNamespace(warnings=[
    ...     "'Amount': 2 value(s) are not amounts and were left empty (row 3 'x', row 9 'y')"]))
    [("'Amount'", 2)]
    """
    found = []
    for warning in getattr(result, "warnings", None) or ():
        m = next((m for p in _LEFT_EMPTY if (m := p.fullmatch(str(warning)))), None)
        if m and m.group("count").isdigit():
            found.append((m.group("header"), int(m.group("count"))))
    return found


def _share(part: int, whole: int) -> str:
    return percent(part / whole if whole else 0.0, digits=0)


def data_caveats(deals: pd.DataFrame, result=None) -> list[Caveat]:
    """The gaps in ``deals`` that change what a chart means, most serious first.

    Parameters
    ----------
    deals : pandas.DataFrame
        The canonical deals table.
    result : LoadResult, optional
        The :func:`channelkpi.load_crm` result the deals come from: its column mapping tells a
        column the export lacks from a column whose cells are empty.

    Returns
    -------
    list of Caveat
        Empty when nothing changes what the views mean.
    """
    mapped = set(result.source.columns) if result is not None else None
    out: list[Caveat] = []
    n = len(deals)
    if not has_partners(deals):
        if mapped is not None and "partner" not in mapped:
            problem = _(
                "This file has no partner column: partner views are empty, and the other KPIs count every deal "
                "as direct."
            )
            action = _("To see partners, export the report with the partner field.")
        else:
            problem = _(
                "No deal has a partner: partner views are empty, and the other KPIs count every deal as direct."
            )
            action = _("To see partners, export the report with the partner field filled in.")
        out.append(Caveat("no_partner", problem, action))
    if mapped is not None and "deal_id" not in mapped:
        out.append(
            Caveat(
                "no_deal_id",
                _(
                    "This file has no deal id column: each row counts as one deal, so a deal exported as "
                    "several rows (one per product) counts several times."
                ),
                _("Export the report with the opportunity (deal) id field."),
            )
        )
    channel = deals["channel"].astype(str)
    other, unknown = int((channel == "other").sum()), int((channel == "unknown").sum())
    if mapped is not None and not mapped & {"source", "channel"}:
        out.append(
            Caveat(
                "unknown_channels",
                _(
                    "This file has no lead-source column: every deal's marketing channel is '{channel}', "
                    "so the channel views have nothing to compare."
                ).format(channel=channel_name("unknown")),
                _("Export the report with the lead source field."),
            )
        )
    elif n and (other + unknown) / n >= UNKNOWN_CHANNEL_SHARE:
        parts = []
        if other:
            sources = deals.loc[channel == "other", "source"].dropna().astype(str).value_counts().index[:2]
            examples = _(" or ").join(repr(s) for s in sources)
            parts.append(
                _("{share} count as '{channel}'").format(share=_share(other, n), channel=channel_name("other"))
                + (" " + _("(sources such as {examples})").format(examples=examples) if examples else "")
            )
        if unknown:
            parts.append(
                _("{share} as '{channel}' (no source)").format(
                    share=_share(unknown, n), channel=channel_name("unknown")
                )
            )
        action = (
            _(
                "The channel views show them as such: choose the channels to compare in the Channels box; to "
                "place the others, export the lead source with values such as 'Partner', 'Paid search', "
                "'Webinar' or 'Referral'."
            )
            if other + unknown < n
            else _(
                "The channel views show them as such: to place them, export the lead source with values such "
                "as 'Partner', 'Paid search', 'Webinar' or 'Referral'."
            )
        )
        out.append(
            Caveat(
                "unknown_channels",
                _("{share} of the deals have no known marketing channel: {parts}.").format(
                    share=_share(other + unknown, n), parts="; ".join(parts)
                ),
                action,
            )
        )
    currencies = sorted(deals["currency"].dropna().astype(str).unique()) if "currency" in deals else []
    if len(currencies) > 1:
        out.append(
            Caveat(
                "converted_currency",
                _(
                    "Amounts in {currencies} were converted into one currency, at one rate per currency: totals "
                    "over a long range mix rates of other dates."
                ).format(currencies=", ".join(currencies)),
                _("The rates used are listed on the Data quality tab."),
            )
        )
    if n and deals["created"].isna().all():
        out.append(
            Caveat(
                "no_created",
                _(
                    "These deals have no created date: deal success by cohort, cycle lengths and the "
                    "pipeline's new deals are empty."
                ),
                _("Export the report with the created date."),
            )
        )
    closed = deals["status"].isin(["won", "lost"])
    undated = int((closed & deals["closed"].isna()).sum())
    if undated and undated / max(int(closed.sum()), 1) >= NO_CLOSE_DATE_SHARE:
        out.append(
            Caveat(
                "no_close_date",
                _("{count} won or lost deals ({share}) have no close date: the period KPIs leave them out.").format(
                    count=number(undated), share=_share(undated, int(closed.sum()))
                ),
                _("Fill in their close dates in the CRM and export again (the Data quality tab lists them)."),
            )
        )
    if n and deals["amount"].isna().all():
        out.append(
            Caveat(
                "no_amount",
                _("These deals have no amounts: won amount, deal size and pipeline value are empty."),
                _("Export the report with the amount field."),
            )
        )
    return out
