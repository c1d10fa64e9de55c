"""How numbers and names read on screen: one place for the tiles, the tooltips, the tables and
the spreadsheets, so a number looks the same wherever it is shown.

Examples
--------
>>> column_kind("won_amount_prev"), column_kind("win_rate_change"), column_kind("open_count")
('money', 'rate', 'count')
>>> value_text(54850.0, "money"), value_text(812.5, "money"), value_text(0.4671, "rate")
('$54,850', '$812.50', '46.7%')
>>> format_value(1234567.0, "money"), display_name("(direct)")
('$1.2M', 'Direct (no partner)')
"""

from __future__ import annotations

import numpy as np

from .i18n import N_, current_language
from .i18n import gettext as _
from .schema import DIRECT_PARTNER

__all__ = [
    "DIRECT_LABEL",
    "BY_TITLES",
    "BY_PLURALS",
    "FREQ_TITLES",
    "plural",
    "level_title",
    "level_word",
    "display_name",
    "column_kind",
    "excel_format",
    "format_value",
    "value_text",
    "cell_text",
    "change_text",
    "number",
    "percent",
    "points",
    "money",
    "money_whole",
    "money_cents",
    "money_short",
    "days",
    "score",
    "ratio",
    "is_missing",
]

#: How deals without a partner are named on screen (the deals table keeps ``DIRECT_PARTNER``).
DIRECT_LABEL = N_("Direct (no partner)")

#: The columns a view can group by, with the names people use for them.
BY_TITLES = {"partner": N_("Partner"), "owner": N_("Employee"), "department": N_("Department"), "unit": N_("Unit")}
#: Many of a column's values, in words ("3 partners", "units: EMEA").
BY_PLURALS = {
    "partner": N_("partners"),
    "owner": N_("employees"),
    "department": N_("departments"),
    "unit": N_("units"),
    "channel": N_("channels"),
    "source": N_("sources"),
    "stage": N_("stages"),
}
#: Period sizes as a selection line says them.
FREQ_TITLES = {"M": N_("monthly"), "Q": N_("quarterly"), "Y": N_("yearly"), "W": N_("weekly")}

_MONEY = {
    "won_amount",
    "avg_deal_size",
    "median_deal_size",
    "open_amount",
    "weighted_amount",
    "change_amount",
    "sales_velocity",
    "start",
    "created",
    "won",
    "lost",
    "end",
    "target",
    "next_target",
    "next_pipeline",
    "amount",
}
_RATES = {
    "win_rate",
    "win_rate_low",
    "win_rate_high",
    "win_rate_shrunk",
    "success_rate",
    "success_rate_value",
    "pending_share",
    "lost_share",
    "won_share",
    "share",
    "expected_rate",
    "group_rate",
    "difference",
    "attainment",
    "partner_share",
}
_COUNTS = {"n", "rank", "weeks", "count", "month", "groups"}


def display_name(value: object) -> str:
    """A level value as people read it: deals without a partner are "Direct (no partner)".

    >>> display_name("(direct)"), display_name("Brightline IT")
    ('Direct (no partner)', 'Brightline IT')
    """
    text = str(value)
    return _(DIRECT_LABEL) if text == DIRECT_PARTNER else text


def level_title(column: str) -> str:
    """A level's name as a heading or a control says it: the canonical levels' own ("Employee"
    for ``owner``), else the column's name in words (a kept field, a partner or owner table's
    column).

    >>> level_title("owner"), level_title("lead_source"), level_title("tier"), level_title("Region")
    ('Employee', 'Lead source', 'Tier', 'Region')
    """
    if column in BY_TITLES:
        return _(BY_TITLES[column])
    words = " ".join(str(column).replace("_", " ").split())
    return words[:1].upper() + words[1:].lower() if words else str(column)


def level_word(column: str) -> str:
    """A level's name within a sentence ("by lead source", "choose that employee").

    >>> level_word("owner"), level_word("lead_source"), level_word("channel")
    ('employee', 'lead source', 'channel')
    """
    title = level_title(column)
    return title if current_language() == "de" else title.lower()  # German nouns keep their capital


def _plural_word(word: str) -> str:
    head, _, last = word.rpartition(" ")
    if last.endswith(("s", "x", "z", "ch", "sh")):
        last += "es"
    elif last.endswith("y") and last[-2:-1] not in tuple("aeiou"):
        last = last[:-1] + "ies"
    else:
        last += "s"
    return f"{head} {last}" if head else last


def plural(column: str) -> str:
    """Many values of a column, in words.

    >>> plural("owner"), plural("region"), plural("lead_source"), plural("product_family")
    ('employees', 'regions', 'lead sources', 'product families')
    """
    if column in BY_PLURALS:
        return _(BY_PLURALS[column])
    # English plural rules only make English plurals: other languages say the column's name
    return _plural_word(level_word(column)) if current_language() == "en" else level_word(column)


def is_missing(value) -> bool:
    """True for None, NaN and infinities: a number that is not there (shown as "—")."""
    if value is None:
        return True
    try:
        return not np.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def column_kind(name: str) -> str:
    """How a KPI column's numbers read: ``money``, ``rate``, ``days``, ``score``, ``ratio``,
    ``count``, ``date`` or ``other`` (``_prev`` and ``_change`` columns read as their KPI).

    >>> column_kind("won_amount_prev"), column_kind("cycle_days_median"), column_kind("partner")
    ('money', 'days', 'other')
    """
    base = name
    for suffix in ("_prev", "_change"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    if base in _MONEY or base.startswith("won_amount_"):
        return "money"
    if base in _RATES or base.startswith("pct_"):
        return "rate"
    if base.startswith("cycle_days"):
        return "days"
    if base in ("quality_score", "best_quality"):
        return "score"
    if base == "coverage":
        return "ratio"
    if base in _COUNTS or base.endswith("_count"):
        return "count"
    if base in ("period_start", "period_end", "as_of"):
        return "date"
    return "other"


def excel_format(kind: str, symbol: str = "$") -> str | None:
    """The Excel number format of a :func:`column_kind` (None: Excel's default).

    >>> excel_format("money", "€"), excel_format("rate")
    ('"€"#,##0.00;-"€"#,##0.00', '0.0%')
    """
    symbol = symbol.replace('"', "")
    return {
        "money": f'"{symbol}"#,##0.00;-"{symbol}"#,##0.00',
        "rate": "0.0%",
        "days": "#,##0.0",
        "score": "0.0",
        "ratio": "0.00",
        "count": "#,##0",
        "date": "yyyy-mm-dd",
    }.get(kind)


# --------------------------------------------------------------------------- one function per format
def number(value, *, digits: int = 0, signed: bool = False) -> str:
    """A number with thousands separators and ``digits`` decimals (``signed``: always a sign).

    >>> number(1234.5), number(0.25, digits=1), number(-3, signed=True), number(2.5, digits=1, signed=True)
    ('1,234', '0.2', '-3', '+2.5')
    """
    return f"{value:{'+' if signed else ''},.{digits}f}"


def percent(value, *, digits: int = 1) -> str:
    """A share as a percentage.

    >>> percent(0.4671), percent(0.4671, digits=0), percent(1.0)
    ('46.7%', '47%', '100.0%')
    """
    return f"{value:.{digits}%}"


def points(difference) -> str:
    """A difference of two shares in percentage points, always signed.

    >>> points(0.0123), points(-0.05), points(0.0)
    ('+1.2 pts', '-5.0 pts', '+0.0 pts')
    """
    return _("{points} pts").format(points=f"{difference * 100:+.1f}")


def money(value, symbol: str = "$") -> str:
    """An amount in full: without cents from 1,000 on (nobody reads the cents of $54,850), with
    cents below.

    >>> money(54850.0), money(812.5), money(-1234.5, "€")
    ('$54,850', '$812.50', '-€1,234')
    """
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{number(abs(value), digits=0 if abs(value) >= 1000 else 2)}"


def money_whole(value, symbol: str = "$") -> str:
    """An amount in whole units, as a printed table's column of amounts lines up.

    >>> money_whole(812.5), money_whole(-1234.5, "€")
    ('$812', '-€1,234')
    """
    return f"{'-' if value < 0 else ''}{symbol}{number(abs(value))}"


def money_cents(cents: int, symbol: str = "$") -> str:
    """Whole cents as an amount to the cent, as a table whose rows add up to the cent shows it.

    >>> money_cents(123456), money_cents(-5, "€")
    ('$1,234.56', '-€0.05')
    """
    return f"{'-' if cents < 0 else ''}{symbol}{number(abs(cents) / 100, digits=2)}"


def money_short(value, symbol: str = "$") -> str:
    """An amount in at most four digits and a suffix (k, M, B), as a tile shows it.

    >>> money_short(1234567.0), money_short(-54850.0, "€"), money_short(812.5)
    ('$1.2M', '-€54.9k', '$812')
    """
    sign = "-" if value < 0 else ""
    for cut, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= cut:
            return f"{sign}{symbol}{number(abs(value) / cut, digits=1)}{suffix}"
    return f"{sign}{symbol}{number(abs(value))}"


def days(value, *, digits: int = 0, signed: bool = False) -> str:
    """A number of days.

    >>> days(41.6), days(0.5, digits=1), days(-0.5, digits=1, signed=True)
    ('42 days', '0.5 days', '-0.5 days')
    """
    return _("{days} days").format(days=number(value, digits=digits, signed=signed))


def score(value) -> str:
    """A quality score out of 100.

    >>> score(71.6)
    '72 / 100'
    """
    return f"{number(value)} / 100"


def ratio(value) -> str:
    """A ratio such as pipeline coverage, with two decimals.

    >>> ratio(1.5)
    '1.50'
    """
    return f"{value:.2f}"


# --------------------------------------------------------------------------- by kind of column
def format_value(value, kind: str, symbol: str = "$") -> str:
    """A tile's value, short: ``money`` ($1.2M), ``rate`` (41.0%), ``days``, ``score``, ``count``.

    >>> format_value(1234567.0, "money"), format_value(0.41, "rate"), format_value(float("nan"), "days")
    ('$1.2M', '41.0%', '—')
    """
    if is_missing(value):
        return "—"
    if kind == "money":
        return money_short(value, symbol)
    if kind == "rate":
        return percent(value)
    if kind == "days":
        return days(value)
    if kind == "score":
        return score(value)
    return number(value)


def value_text(value, kind: str, symbol: str = "$") -> str:
    """A number in full, as a tooltip says it: money without cents from 1,000 on (with cents
    below), rates with one decimal, days and scores with one decimal, counts whole.

    >>> value_text(-1234.5, "money", "€"), value_text(0.5, "days"), value_text(3, "count")
    ('-€1,234', '0.5 days', '3')
    """
    if is_missing(value):
        return "—"
    value = float(value)
    if kind == "money":
        return money(value, symbol)
    if kind == "rate":
        return percent(value)
    if kind == "days":
        return days(value, digits=1)
    if kind == "score":
        return number(value, digits=1)
    if kind == "ratio":
        return ratio(value)
    return number(value)


def cell_text(value, kind: str, symbol: str = "$") -> str:
    """A printed table's cell: whole amounts, rates with one decimal, days and scores with one
    decimal (the column heading names the unit), other values as they are.

    >>> cell_text(812.5, "money"), cell_text(12.25, "days"), cell_text(None, "rate"), cell_text("Acme", "other")
    ('$812', '12.2', '—', 'Acme')
    """
    if kind not in ("money", "rate", "days", "score", "ratio", "count"):
        missing = value is None or (isinstance(value, (float, np.floating)) and not np.isfinite(value))
        return "—" if missing else str(value)
    if is_missing(value):
        return "—"
    if kind == "money":
        return money_whole(value, symbol)
    if kind == "rate":
        return percent(value)
    if kind in ("days", "score"):
        return number(value, digits=1)
    if kind == "ratio":
        return ratio(value)
    return number(value)


def change_text(difference, kind: str, symbol: str = "$") -> str:
    """A change between two values of a KPI, always signed: rates in points, money short.

    >>> change_text(0.0123, "rate"), change_text(-1500.0, "money"), change_text(2.0, "days"), change_text(3, "count")
    ('+1.2 pts', '-$1.5k', '+2.0 days', '+3')
    """
    if kind == "rate":
        return points(difference)
    if kind == "money":
        return ("+" if difference >= 0 else "-") + money_short(abs(difference), symbol)
    if kind == "days":
        return days(difference, digits=1, signed=True)
    if kind == "score":
        return number(difference, digits=1, signed=True)
    return number(difference, signed=True)
