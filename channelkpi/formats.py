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

Numbers, amounts, percentages, days and dates follow the locale in force
(:func:`channelkpi.i18n.using`), through Babel's copy of the Unicode CLDR: the symbol an amount
carries is the caller's (from the ``currency`` ISO code), where it goes and which characters
separate the digits are the locale's. English keeps the forms above.

>>> from channelkpi.i18n import using
>>> with using("nl-NL"):
...     money_cents(123456, "€"), value_text(0.125, "rate"), format_value(1234567.0, "money", "€")
('€\\xa01.234,56', '12,5%', '€\\xa01,2\\xa0mln.')
>>> with using("de-DE"):
...     money_cents(123456, "€"), value_text(0.125, "rate"), format_value(54850.0, "money", "€")
('1.234,56\\xa0€', '12,5\\xa0%', '54.850\\xa0€')
>>> with using("fr-FR"):
...     money_cents(123456, "€"), days(41.6), month_label(pd.Timestamp("2025-01-31"))
('1\\u202f234,56\\xa0€', '42\\xa0jours', 'janv. 2025')
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal

import numpy as np
import pandas as pd
from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton, format_time, get_month_names
from babel.numbers import (
    format_currency,
    format_decimal,
    format_percent,
    get_minus_sign_symbol,
    parse_pattern,
)
from babel.units import format_unit

from .i18n import N_, current_language, current_locale, resolve_locale
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
    "CHANNEL_NAMES",
    "channel_name",
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
    "signed_money",
    "days",
    "score",
    "ratio",
    "is_missing",
    "month_label",
    "month_word",
    "quarter_label",
    "day_label",
    "date_text",
    "moment_text",
    "period_text",
    "currency_affixes",
    "babel_locale",
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
#: The canonical marketing channels as a legend or a choice box names them (the deals keep the code:
#: a click or a filter looks the code up, never the name).
CHANNEL_NAMES = {
    "paid": N_("paid"),
    "earned": N_("earned"),
    "owned": N_("owned"),
    "partner": N_("partner"),
    "other": N_("other"),
    "unknown": N_("unknown"),
}
#: Other canonical columns a click or a filter names ("Channel: paid"), as their words read.
_COLUMN_TITLES = {"channel": N_("Channel"), "source": N_("Lead source"), "stage": N_("Stage")}
#: Names of levels that partner and owner tables and kept fields often carry (their words, in
#: lower case), so "Region" of a partner table reads "Regio" in Dutch; others keep their words.
_FIELD_TITLES = {
    "region": N_("Region"),
    "tier": N_("Tier"),
    "manager": N_("Manager"),
    "country": N_("Country"),
    "segment": N_("Segment"),
    "territory": N_("Territory"),
    "industry": N_("Industry"),
    "product": N_("Product"),
    "product family": N_("Product family"),
    "team": N_("Team"),
    "city": N_("City"),
    "state": N_("State"),
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


def channel_name(code: object) -> str:
    """A marketing channel's code as people read it in the language in force (English shows the
    code itself); a value that is not a canonical channel is returned as :func:`display_name` says it.

    >>> from channelkpi.i18n import using
    >>> channel_name("paid")
    'paid'
    >>> with using("nl"):
    ...     channel_name("paid"), channel_name("unknown"), channel_name("Webinar")
    ('betaalde media', 'onbekend', 'Webinar')
    """
    text = str(code)
    return _(CHANNEL_NAMES[text]) if text in CHANNEL_NAMES else display_name(text)


def level_title(column: str) -> str:
    """A level's name as a heading or a control says it: the canonical levels' own ("Employee"
    for ``owner``), else the column's name in words (a kept field, a partner or owner table's
    column).

    >>> level_title("owner"), level_title("lead_source"), level_title("tier"), level_title("Region")
    ('Employee', 'Lead source', 'Tier', 'Region')
    """
    if column in BY_TITLES:
        return _(BY_TITLES[column])
    if column in _COLUMN_TITLES:
        return _(_COLUMN_TITLES[column])
    words = " ".join(str(column).replace("_", " ").split())
    if words.lower() in _FIELD_TITLES:
        return _(_FIELD_TITLES[words.lower()])
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

    Excel stores a format in its own notation (``,`` groups, ``.`` decimals) and shows it with the
    separators of the reader's Windows or macOS region; only the symbol's place follows the locale
    in force.

    >>> excel_format("money", "€"), excel_format("rate")
    ('"€"#,##0.00;-"€"#,##0.00', '0.0%')
    >>> from channelkpi.i18n import using
    >>> with using("de-DE"):
    ...     excel_format("money", "€")
    '#,##0.00 "€";-#,##0.00 "€"'
    """
    symbol = symbol.replace('"', "")
    money_format = f'"{symbol}"#,##0.00;-"{symbol}"#,##0.00' if symbol.strip() else "#,##0.00;-#,##0.00"
    if not _english() and kind == "money":
        before, after = currency_affixes(symbol)
        quote = lambda text: f'"{text.strip()}"' if text.strip() else ""  # noqa: E731
        lead = quote(before) + (" " if before.strip() and before != before.rstrip() else "")
        tail = (" " if after.strip() and after != after.lstrip() else "") + quote(after)
        negative = f"{lead}-#,##0.00{tail}" if lead else f"-#,##0.00{tail}"
        money_format = f"{lead}#,##0.00{tail};{negative}"
    return {
        "money": money_format,
        "rate": "0.0%",
        "days": "#,##0.0",
        "score": "0.0",
        "ratio": "0.00",
        "count": "#,##0",
        "date": "yyyy-mm-dd",
    }.get(kind)


# --------------------------------------------------------------------------- the locale's patterns
def _english() -> bool:
    """English keeps channelkpi's own forms ($54,850, 46.7%, 42 days, 5 Jan)."""
    return current_language() == "en"


def _babel() -> str:
    return babel_locale(current_locale())


@functools.cache
def babel_locale(tag: str) -> str:
    """The CLDR locale that formats for ``tag`` (a resolved tag, :func:`channelkpi.i18n.resolve_locale`):
    itself, or its language's usual region when the CLDR has no data for that pair (``nl-XX``,
    ``de-US``).

    >>> babel_locale("de-AT"), babel_locale("nl-XX")
    ('de_AT', 'nl_NL')
    """
    babel = tag.replace("-", "_")
    try:
        Locale.parse(babel)
    except (UnknownLocaleError, ValueError):
        return resolve_locale(tag.split("-")[0]).replace("-", "_")
    return babel


@functools.cache
def _cldr(locale: str) -> Locale:
    return Locale.parse(locale)


#: The spaces CLDR patterns put between a number and its symbol or unit.
_SPACES = " \xa0\u202f"

#: The number part of a CLDR pattern (``#,##0.00`` in ``¤ #,##0.00``).
_DIGITS = re.compile(r"[#0,]*0(?:\.[0#]+)?")


def _pattern(pattern: str, digits: int) -> str:
    """A CLDR pattern with ``digits`` decimals (its symbols, spaces and sign kept)."""
    return _DIGITS.sub("#,##0" + ("." + "0" * digits if digits else ""), pattern)


def _money(value, symbol: str, digits: int) -> str:
    """``value`` in the locale's currency pattern with ``digits`` decimals and ``symbol``.

    Babel shows a currency argument it does not know as a code as it is, so the symbol stays the
    caller's; a code (``"CHF"``, ``"SEK"``) gets the locale's name for it.
    """
    pattern = _pattern(_cldr(_babel()).currency_formats["standard"].pattern, digits)
    text = format_currency(value, symbol.strip(), format=pattern, locale=_babel(), currency_digits=False)
    # no symbol (an unknown currency, a count in a money column's place): no space kept for it
    return text if symbol.strip() else text.strip(_SPACES)


def currency_affixes(symbol: str) -> tuple[str, str]:
    """What the locale in force writes before and after a positive amount in ``symbol``: ``("$",
    "")`` in English, ``("€\\xa0", "")`` in Dutch, ``("", "\\xa0€")`` in German and French.

    >>> currency_affixes("$")
    ('$', '')
    >>> from channelkpi.i18n import using
    >>> with using("nl-NL"):
    ...     currency_affixes("€")
    ('€\\xa0', '')
    """
    if _english():
        return symbol, ""
    before, _, after = _money(0, symbol, 0).partition("0")
    return before, after


def _signed(text: str, negative: bool) -> str:
    """``text`` (a negative number as the locale writes it) with ``+`` for the minus sign when
    the number is not negative."""
    return text if negative else text.replace(get_minus_sign_symbol(_babel()), "+", 1)


# --------------------------------------------------------------------------- one function per format
def number(value, *, digits: int = 0, signed: bool = False) -> str:
    """A number with thousands separators and ``digits`` decimals (``signed``: always a sign).

    >>> number(1234.5), number(0.25, digits=1), number(-3, signed=True), number(2.5, digits=1, signed=True)
    ('1,234', '0.2', '-3', '+2.5')
    """
    if _english():
        return f"{value:{'+' if signed else ''},.{digits}f}"
    pattern = _pattern("#,##0", digits)
    if signed:
        return _signed(format_decimal(-abs(float(value)), format=pattern, locale=_babel()), value < 0)
    return format_decimal(value, format=pattern, locale=_babel())


def percent(value, *, digits: int = 1) -> str:
    """A share as a percentage.

    >>> percent(0.4671), percent(0.4671, digits=0), percent(1.0)
    ('46.7%', '47%', '100.0%')
    """
    if _english():
        return f"{value:.{digits}%}"
    pattern = _pattern(_cldr(_babel()).percent_formats[None].pattern, digits)
    return format_percent(value, format=pattern, locale=_babel())


def points(difference) -> str:
    """A difference of two shares in percentage points, always signed.

    >>> points(0.0123), points(-0.05), points(0.0)
    ('+1.2 pts', '-5.0 pts', '+0.0 pts')
    """
    if _english():
        return f"{difference * 100:+.1f} pts"
    return _("{points} pts").format(points=number(difference * 100, digits=1, signed=True))


def money(value, symbol: str = "$") -> str:
    """An amount in full: without cents from 1,000 on (nobody reads the cents of $54,850), with
    cents below.

    >>> money(54850.0), money(812.5), money(-1234.5, "€")
    ('$54,850', '$812.50', '-€1,234')
    """
    if _english():
        sign = "-" if value < 0 else ""
        return f"{sign}{symbol}{number(abs(value), digits=0 if abs(value) >= 1000 else 2)}"
    return _money(value, symbol, 0 if abs(value) >= 1000 else 2)


def money_whole(value, symbol: str = "$") -> str:
    """An amount in whole units, as a printed table's column of amounts lines up.

    >>> money_whole(812.5), money_whole(-1234.5, "€")
    ('$812', '-€1,234')
    """
    if _english():
        return f"{'-' if value < 0 else ''}{symbol}{number(abs(value))}"
    return _money(value, symbol, 0)


def money_cents(cents: int, symbol: str = "$") -> str:
    """Whole cents as an amount to the cent, as a table whose rows add up to the cent shows it.

    >>> money_cents(123456), money_cents(-5, "€")
    ('$1,234.56', '-€0.05')
    """
    if _english():
        return f"{'-' if cents < 0 else ''}{symbol}{number(abs(cents) / 100, digits=2)}"
    # the cents as a decimal, so no binary fraction rounds a cent away
    amount = Decimal(int(cents)).scaleb(-2)
    return _money(amount, symbol, 2)


def _abbreviates(value: float) -> bool:
    """Whether the locale's short form abbreviates amounts of this size (German writes
    thousands in full: ``54.850 €``, not ``54 Tsd. €``)."""
    formats = _cldr(_babel()).compact_currency_formats.get("short", {}).get("other", {})
    size = str(10 ** (len(str(int(round(abs(value))))) - 1))
    pattern = formats.get(size)
    return pattern is not None and bool(re.sub(r"[0#¤\s.,'\u00a0\u202f-]", "", str(pattern.pattern)))


def _compact(value: float, symbol: str) -> str:
    """``value`` (not negative) in the locale's short currency form with exactly one decimal, as
    English writes ``$7.0M`` beside ``$30.9k``: Babel's own short form drops a zero decimal
    (``€ 7 mln.`` beside ``€ 30,9K``), which reads as a rounder number than it is."""
    cldr = _cldr(_babel())
    forms = cldr.compact_currency_formats["short"]
    size = str(10 ** (len(str(int(round(value)))) - 1))
    pattern = forms["other"][size]
    zeros = re.sub(r"'[^']*'", "", str(pattern.pattern)).count("0")
    scaled = value / (int(size) / 10 ** (zeros - 1))
    chosen = parse_pattern(str(forms.get(cldr.plural_form(scaled), forms["other"]).get(size, pattern).pattern))
    chosen.frac_prec = (1, 1)
    text = chosen.apply(scaled, cldr, currency=symbol.strip(), currency_digits=False)
    return text if symbol.strip() else text.strip(_SPACES)


def money_short(value, symbol: str = "$") -> str:
    """An amount in at most four digits and a suffix (k, M, B), as a tile shows it.

    Other languages use the CLDR's short forms (``€ 1,2 mln.``, ``1,2 Mio. €``, ``1,2 M €``) and
    write an amount in full where the language has none (German thousands, any amount under 1,000);
    a short form always has one decimal (``€ 7,0 mln.``), as in English.

    >>> money_short(1234567.0), money_short(-54850.0, "€"), money_short(812.5), money_short(7e6)
    ('$1.2M', '-€54.9k', '$812', '$7.0M')
    >>> from channelkpi.i18n import using
    >>> with using("nl-NL"):
    ...     money_short(7e6, "$"), money_short(-223800.0, "$"), money_short(1234.0, "")
    ('$\xa07,0\xa0mln.', '$\xa0-223,8K', '1,2K')
    """
    if _english():
        sign = "-" if value < 0 else ""
        for cut, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if abs(value) >= cut:
                return f"{sign}{symbol}{number(abs(value) / cut, digits=1)}{suffix}"
        return f"{sign}{symbol}{number(abs(value))}"
    if abs(value) < 1000 or not _abbreviates(value):
        return money_whole(value, symbol)
    short = _compact(abs(float(value)), symbol)
    if value >= 0:
        return short
    # the minus sign where the locale's amounts carry it (€ -54,8K as € -812,50), which Babel's
    # short forms do not follow
    minus = get_minus_sign_symbol(_babel())
    if minus + "1" not in _money(-1, symbol, 0):
        return minus + short
    first = re.search(r"\d", short).start()
    return short[:first] + minus + short[first:]


def signed_money(value, symbol: str = "$", *, short: bool = False) -> str:
    """An amount that moved, always signed (``+$1,250``, ``-$1.2M``), the sign where the locale
    writes a minus (``€ +1.250``, ``-1.250 €``); ``short`` as a tile writes it.

    >>> signed_money(1250.0), signed_money(-1234567.0, short=True)
    ('+$1,250', '-$1.2M')
    >>> from channelkpi.i18n import using
    >>> with using("nl-NL"):
    ...     signed_money(1250.0, "€"), signed_money(-7e6, "€", short=True)
    ('€\xa0+1.250', '€\xa0-7,0\xa0mln.')
    """
    form = money_short if short else money
    if _english():
        return ("+" if value >= 0 else "-") + form(abs(value), symbol)
    return _signed(form(-abs(float(value)), symbol), value < 0)


def days(value, *, digits: int = 0, signed: bool = False) -> str:
    """A number of days.

    >>> days(41.6), days(0.5, digits=1), days(-0.5, digits=1, signed=True)
    ('42 days', '0.5 days', '-0.5 days')
    """
    if _english():
        return f"{number(value, digits=digits, signed=signed)} days"
    pattern = _pattern("#,##0", digits)
    if signed:
        pattern = f"+{pattern};-{pattern}"
    return format_unit(value, "duration-day", format=pattern, locale=_babel())


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
    if _english():
        return f"{value:.2f}"
    return format_decimal(value, format="0.00", locale=_babel())


# --------------------------------------------------------------------------- dates
def month_label(day) -> str:
    """A month as a period axis or a selection line names it (``Jan 2025``; ``jan 2025`` in
    Dutch, ``Jan. 2025`` in German, ``janv. 2025`` in French, as the CLDR writes them).

    >>> month_label(pd.Timestamp("2025-01-31"))
    'Jan 2025'
    """
    day = pd.Timestamp(day)
    return f"{day:%b %Y}" if _english() else format_skeleton("yMMM", day, locale=_babel())


def month_word(month: int) -> str:
    """A month of the year on its own, as a seasonality axis names it (``Jan``; ``jan`` in Dutch,
    ``Jan`` in German, ``janv.`` in French).

    >>> month_word(1), month_word(12)
    ('Jan', 'Dec')
    """
    if _english():
        return f"{pd.Timestamp(2000, int(month), 1):%b}"
    return get_month_names("abbreviated", context="stand-alone", locale=_babel())[int(month)]


def quarter_label(day) -> str:
    """The quarter ``day`` falls in (``2025-Q1``; ``K1 2025`` in Dutch, ``T1 2025`` in French).

    >>> quarter_label(pd.Timestamp("2025-11-30"))
    '2025-Q4'
    """
    day = pd.Timestamp(day)
    if _english():
        return f"{day.year}-Q{day.quarter}"
    return format_skeleton("yQQQ", day, locale=_babel())


def day_label(day) -> str:
    """A day within a period (``5 Jan``; ``5 jan`` in Dutch, ``5. Jan.`` in German).

    >>> day_label(pd.Timestamp("2026-01-05"))
    '5 Jan'
    """
    day = pd.Timestamp(day)
    return f"{day.day} {day:%b}" if _english() else format_skeleton("MMMd", day, locale=_babel())


def date_text(day) -> str:
    """A date in full (``5 Jan 2026``; ``5 jan 2026``, ``5. Jan. 2026``, ``5 janv. 2026``).

    >>> date_text(pd.Timestamp("2026-01-05"))
    '5 Jan 2026'
    """
    day = pd.Timestamp(day)
    return f"{day.day} {day:%b %Y}" if _english() else format_skeleton("yMMMd", day, locale=_babel())


def moment_text(moment) -> str:
    """A date and time to the minute, as a page says when it was made (``2026-01-05 14:30``;
    ``5 jan 2026, 14:30`` in Dutch, ``5. Jan. 2026, 14:30`` in German).

    >>> moment_text(pd.Timestamp("2026-01-05 14:30:59"))
    '2026-01-05 14:30'
    >>> from channelkpi.i18n import using
    >>> with using("de-DE"):
    ...     moment_text(pd.Timestamp("2026-01-05 14:30:59"))
    '5. Jan. 2026, 14:30'
    """
    moment = pd.Timestamp(moment)
    if _english():
        return f"{moment:%Y-%m-%d %H:%M}"
    # the locale's way of joining a date and a time (CLDR's "{1}, {0}": the date, then the time)
    joined = str(_cldr(_babel()).datetime_formats["medium"]).replace("'", "")
    return joined.format(format_time(moment.to_pydatetime(), "short", locale=_babel()), date_text(moment))


_PERIOD = re.compile(r"(\d{4})(?:-(Q[1-4]|\d{2}))?")


def period_text(period: object) -> str:
    """A period's name (``"2025-Q4"``, ``"2025-01"``, ``"2025"``) as the locale writes it;
    English keeps channelkpi's names, anything not a period name is returned as it is.

    >>> from channelkpi.i18n import using
    >>> with using("nl-NL"):
    ...     period_text("2025-Q4"), period_text("2025-01"), period_text("2025"), period_text("W12")
    ('K4 2025', 'jan 2025', '2025', 'W12')
    """
    text = str(period)
    found = _PERIOD.fullmatch(text)
    if _english() or not found or not found.group(2):
        return text
    year, part = found.groups()
    if part.startswith("Q"):
        return quarter_label(pd.Timestamp(int(year), 3 * int(part[1]), 1))
    return month_label(pd.Timestamp(int(year), int(part), 1))


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
        return signed_money(difference, symbol, short=True)
    if kind == "days":
        return days(difference, digits=1, signed=True)
    if kind == "score":
        return number(difference, digits=1, signed=True)
    return number(difference, signed=True)
