"""The number and time formats of a chart, per locale: Vega-Lite's ``config.locale``.

A chart formats its axis labels itself, in the browser or in ``vl-convert``, with d3's format
and time-format modules; their locale objects are built here from the same CLDR data (Babel)
that :mod:`channelkpi.formats` uses for tiles, tables and tooltips, so an axis and a tile write
``1.234,5`` and ``€ 1.234`` with the same characters. French is the case where they would
otherwise differ: the CLDR groups digits with a narrow no-break space (U+202F), d3's own French
locale with a no-break space (U+00A0); both sides here use the CLDR's character.

The object is embedded in each chart's spec (:func:`channelkpi.charts.themed`), never set for a
session and never fetched.

Examples
--------
>>> number = vega_locale("de-DE")["number"]
>>> number["decimal"], number["thousands"], number["currency"]
(',', '.', ['', '\\xa0€'])
>>> vega_locale("nl-NL")["time"]["shortMonths"][:3]
['jan', 'feb', 'mrt']
>>> vega_locale("fr-FR")["number"]["thousands"]
'\\u202f'
"""

from __future__ import annotations

import functools
import re

from babel import Locale
from babel.numbers import (
    format_percent,
    get_decimal_symbol,
    get_group_symbol,
    get_minus_sign_symbol,
    get_territory_currencies,
    parse_pattern,
)

from .currency_symbols import currency_symbol
from .formats import babel_locale, currency_affixes
from .i18n import current_locale, resolve_locale, using

__all__ = ["vega_locale", "number_locale", "time_locale", "d3_time_format"]

#: CLDR date-pattern fields and the d3 time-format directives that write them.
_FIELDS = {
    "yyyy": "%Y",
    "yy": "%y",
    "y": "%Y",
    "MMMM": "%B",
    "MMM": "%b",
    "MM": "%m",
    "M": "%-m",
    "LLLL": "%B",
    "LLL": "%b",
    "dd": "%d",
    "d": "%-d",
    "EEEE": "%A",
    "EEE": "%a",
    "E": "%a",
    "HH": "%H",
    "H": "%-H",
    "hh": "%I",
    "h": "%-I",
    "mm": "%M",
    "ss": "%S",
    "a": "%p",
}
_TOKEN = re.compile(r"'[^']*'|([A-Za-z])\1*")


def d3_time_format(pattern: str) -> str:
    """A CLDR date or time pattern as a d3 time-format specifier.

    >>> d3_time_format("dd-MM-y"), d3_time_format("h:mm:ss a"), d3_time_format("d 'de' MMMM")
    ('%d-%m-%Y', '%-I:%M:%S %p', '%-d de %B')
    """

    def field(match: re.Match) -> str:
        text = match.group(0)
        if text.startswith("'"):
            return text[1:-1].replace("%", "%%") or "'"
        return _FIELDS.get(text, _FIELDS.get(text[:4], ""))

    return _TOKEN.sub(field, pattern.replace("%", "%%"))


def _babel(locale: str | None) -> str:
    return babel_locale(resolve_locale(locale) if locale else current_locale())


@functools.cache
def _number(babel: str, currency: str | None) -> dict:
    cldr = Locale.parse(babel)
    code = currency or (get_territory_currencies(cldr.territory or "US") or ["USD"])[0]
    # the symbol and its place exactly as the tiles write them
    with using(babel.replace("_", "-")):
        before, after = currency_affixes(currency_symbol(code))
    percent = format_percent(0, locale=babel).partition("0")[2]
    grouping = parse_pattern(cldr.decimal_formats[None].pattern).grouping
    return {
        "decimal": get_decimal_symbol(babel),
        "thousands": get_group_symbol(babel),
        "grouping": [grouping[0]] if grouping[0] == grouping[1] else [grouping[0], grouping[1]],
        "currency": [before, after],
        "percent": percent,
        "minus": get_minus_sign_symbol(babel),
    }


def number_locale(locale: str | None = None, *, currency: str | None = None) -> dict:
    """d3's number locale for ``locale`` (the locale in force if None): decimal and group
    symbols, the ``$`` specifier's prefix and suffix for ``currency`` (an ISO code, the region's
    own by default), the percent sign with its space, the minus sign.

    >>> number_locale("en-US")
    {'decimal': '.', 'thousands': ',', 'grouping': [3], 'currency': ['$', ''], 'percent': '%', 'minus': '-'}
    """
    return dict(_number(_babel(locale), currency.upper() if currency else None))


@functools.cache
def _time(babel: str) -> dict:
    cldr = Locale.parse(babel)

    def week(width: str) -> list[str]:
        names = cldr.days["format"][width]
        return [names[6], *(names[i] for i in range(6))]  # CLDR counts from Monday, d3 from Sunday

    def year(width: str) -> list[str]:
        return [cldr.months["format"][width][m] for m in range(1, 13)]

    date = d3_time_format(cldr.date_formats["short"].pattern)
    time = d3_time_format(cldr.time_formats["medium"].pattern)
    joined = str(cldr.datetime_formats["medium"]).replace("{1}", "%x").replace("{0}", "%X")
    periods = cldr.day_periods["format"]["abbreviated"]
    return {
        "dateTime": joined,
        "date": date,
        "time": time,
        "periods": [periods.get("am", "AM"), periods.get("pm", "PM")],
        "days": week("wide"),
        "shortDays": week("abbreviated"),
        "months": year("wide"),
        "shortMonths": year("abbreviated"),
    }


def time_locale(locale: str | None = None) -> dict:
    """d3's time locale for ``locale`` (the locale in force if None): month and day names, the
    date and time forms of ``%x``, ``%X`` and ``%c``.

    >>> t = time_locale("fr-FR")
    >>> t["months"][0], t["shortDays"][0], t["date"]
    ('janvier', 'dim.', '%d/%m/%Y')
    """
    found = _time(_babel(locale))
    return {key: list(value) if isinstance(value, list) else value for key, value in found.items()}


def vega_locale(locale: str | None = None, *, currency: str | None = None) -> dict:
    """Vega-Lite's ``config.locale`` for ``locale`` (the locale in force if None).

    >>> sorted(vega_locale("nl-BE"))
    ['number', 'time']
    """
    return {"number": number_locale(locale, currency=currency), "time": time_locale(locale)}
