"""The one place a currency's ISO 4217 code becomes the symbol people read before an amount.

Every public function and class takes ``currency`` as an ISO code (``"USD"``, ``"EUR"``), the
same as :func:`channelkpi.load_crm`; only the text drawn on a tile, an axis or a report cell
uses the symbol, and it comes from :func:`currency_symbol`. A symbol passed where a code is
expected (``currency="$"``, the spelling of earlier releases) still works for one release, with
a :class:`DeprecationWarning`.

Examples
--------
>>> currency_symbol("USD"), currency_symbol("EUR"), currency_symbol("SEK")
('$', '€', 'SEK ')
>>> currency_code("eur")
'EUR'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from .deprecation import warn_deprecated
from .errors import ChannelKPIError

__all__ = ["DEFAULT_CURRENCY", "NO_CURRENCY", "SYMBOLS", "currency_code", "currency_symbol", "deals_currency"]

#: The currency assumed when nothing says otherwise.
DEFAULT_CURRENCY = "USD"

#: ISO 4217's code for "no currency": amounts whose currency nothing says, shown without a symbol
#: (never as dollars).
NO_CURRENCY = "XXX"

#: ISO code -> the symbol written before an amount. A code not listed is written itself,
#: followed by a space (``"SEK 1,200"``), which every reader understands.
SYMBOLS: Mapping[str, str] = MappingProxyType(
    {
        "USD": "$",
        "EUR": "€",
        "GBP": "£",
        "JPY": "¥",
        "INR": "₹",
        "KRW": "₩",
        "CHF": "CHF ",
        "CAD": "CA$",
        "AUD": "A$",
        "NZD": "NZ$",
        "BRL": "R$",
        NO_CURRENCY: "",
    }
)
_CODES = MappingProxyType({symbol.strip(): code for code, symbol in SYMBOLS.items()})
_ISO = re.compile(r"[A-Za-z]{3}")


def currency_symbol(code: str) -> str:
    """The symbol written before an amount in ``code`` (an ISO 4217 code).

    >>> currency_symbol("GBP"), currency_symbol("CHF")
    ('£', 'CHF ')
    """
    code = code.upper()
    return SYMBOLS.get(code, f"{code} ")


def currency_code(currency: str, *, name: str = "currency", stacklevel: int = 4) -> str:
    """``currency`` as an upper-case ISO 4217 code, checked.

    A known symbol (``"$"``, ``"€"``, ``"£"``, ...) is read as its code with a
    :class:`DeprecationWarning` (earlier releases took the symbol); anything else that is not a
    three-letter code is a :class:`~channelkpi.errors.ChannelKPIError`. ``stacklevel`` points the
    warning at the public call that received the symbol.

    >>> currency_code("usd")
    'USD'
    """
    text = str(currency).strip()
    if _ISO.fullmatch(text):
        return text.upper()
    if text in _CODES:
        code = _CODES[text]
        warn_deprecated(f"{name}={currency!r} (a symbol)", f"{name}={code!r}: the ISO 4217 code", stacklevel=stacklevel)
        return code
    raise ChannelKPIError(
        f"{name}={currency!r} is not an ISO 4217 currency code",
        value=currency,
        fix=f"pass the three-letter code, e.g. {name}='USD' or {name}='EUR' (the symbol is derived from it)",
    )


def deals_currency(currencies, default: str = DEFAULT_CURRENCY) -> str:
    """The one currency of a deals table's ``currency`` column values, or ``default`` when they
    name none or several (amounts in several currencies are refused or converted at loading).

    >>> deals_currency(["EUR", "EUR", None]), deals_currency([])
    ('EUR', 'USD')
    """
    found = {c.strip().upper() for c in currencies if isinstance(c, str) and _ISO.fullmatch(c.strip())}
    return found.pop() if len(found) == 1 else default
