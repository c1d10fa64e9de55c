"""Currencies as exports write them (``$``, ``US Dollar``, ``eur``) and their ISO 4217 codes.

Examples
--------
>>> normalize_currency("US Dollar"), normalize_currency(" € ")
('USD', 'EUR')
"""

from __future__ import annotations

import re

import numpy as np

from .cells import is_blank

__all__ = ["CURRENCY_NAMES", "ISO_CODE", "SPACES", "normalize_currency"]

#: Runs of spaces, including the no-break and narrow spaces of formatted numbers.
SPACES = re.compile(r"[\s\u00a0\u2007\u202f\u2009]+")

#: Currency symbols and names -> ISO 4217 codes. ``$`` alone is read as USD.
CURRENCY_NAMES: dict[str, str] = {
    "$": "USD",
    "us$": "USD",
    "usd": "USD",
    "us dollar": "USD",
    "u.s. dollar": "USD",
    "dollar": "USD",
    "us dollars": "USD",
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "british pound": "GBP",
    "pound sterling": "GBP",
    "british pound sterling": "GBP",
    "¥": "JPY",
    "jpy": "JPY",
    "japanese yen": "JPY",
    "yen": "JPY",
    "₹": "INR",
    "inr": "INR",
    "indian rupee": "INR",
    "chf": "CHF",
    "swiss franc": "CHF",
    "fr.": "CHF",
    "c$": "CAD",
    "ca$": "CAD",
    "cad": "CAD",
    "canadian dollar": "CAD",
    "a$": "AUD",
    "au$": "AUD",
    "aud": "AUD",
    "australian dollar": "AUD",
    "nz$": "NZD",
    "nzd": "NZD",
    "new zealand dollar": "NZD",
    "r$": "BRL",
    "brl": "BRL",
    "brazilian real": "BRL",
    "zł": "PLN",
    "pln": "PLN",
    "polish zloty": "PLN",
    "kč": "CZK",
    "czk": "CZK",
    "czech koruna": "CZK",
    "sek": "SEK",
    "swedish krona": "SEK",
    "nok": "NOK",
    "norwegian krone": "NOK",
    "dkk": "DKK",
    "danish krone": "DKK",
    "mxn": "MXN",
    "mexican peso": "MXN",
    "cny": "CNY",
    "yuan renminbi": "CNY",
    "chinese yuan": "CNY",
    "sgd": "SGD",
    "singapore dollar": "SGD",
    "hkd": "HKD",
    "hong kong dollar": "HKD",
    "zar": "ZAR",
    "south african rand": "ZAR",
    "krw": "KRW",
    "₩": "KRW",
    "korean won": "KRW",
}
#: A three-letter currency code.
ISO_CODE = re.compile(r"^[A-Za-z]{3}$")


def normalize_currency(value: object) -> str | float:
    """Return the ISO code for a currency code, name or symbol (``NaN`` for blanks).

    Unknown three-letter codes are upper-cased; other unknown names are returned as written.

    >>> normalize_currency("US Dollar"), normalize_currency("eur"), normalize_currency("€")
    ('USD', 'EUR', 'EUR')
    """
    if is_blank(value):
        return np.nan
    text = SPACES.sub(" ", str(value)).strip()
    code = CURRENCY_NAMES.get(text.lower())
    if code:
        return code
    return text.upper() if ISO_CODE.match(text) else text
