"""Vectorised parsers for the values CRM exports contain: amounts, dates, booleans.

Each parser works on a whole column, decides the column's convention once (decimal comma or
point, day-first or month-first) and never per value, and returns the parsed values together
with a mask of the values it could not read so the caller can report them by row.

Examples
--------
>>> import pandas as pd
>>> parsed = parse_amounts(pd.Series(["$7,450,000.00 ", "USD 10,083.86", None]))
>>> parsed.values.tolist()
[7450000.0, 10083.86, nan]
>>> parsed.currency.tolist()
['USD', 'USD', nan]
>>> parse_amounts(pd.Series(["1.200,50 €", "1 200,50 €"])).values.tolist()
[1200.5, 1200.5]
>>> d = parse_dates(pd.Series(["31.03.2024", "1.4.2024 10:30"]))
>>> d.values.dt.strftime("%Y-%m-%d").tolist(), d.dayfirst
(['2024-03-31', '2024-04-01'], True)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .amounts import ParsedAmounts, parse_amounts
from .cells import blank_mask, is_blank
from .currencies import CURRENCY_NAMES, normalize_currency
from .dates import ParsedDates, parse_dates

__all__ = [
    "ParsedAmounts",
    "ParsedDates",
    "parse_amounts",
    "parse_dates",
    "parse_bools",
    "is_blank",
    "CURRENCY_NAMES",
    "normalize_currency",
]


# --------------------------------------------------------------------------- booleans
_TRUE = {"true", "t", "yes", "y", "1", "1.0", "x", "wahr", "ja", "oui", "si", "sí", "won", "closed"}
_FALSE = {"false", "f", "no", "n", "0", "0.0", "falsch", "nein", "non"}


def parse_bools(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Read a flag column (``TRUE``/``FALSE``, ``true``/``false``, ``1``/blank, ``yes``/``no``).

    A blank is ``False`` when the column never writes false explicitly (the ``1``/blank
    convention of some Salesforce exports) and unknown (``<NA>``) otherwise.

    Returns
    -------
    (pandas.Series of boolean, numpy bool array of unreadable values)

    Examples
    --------
    >>> parse_bools(pd.Series(["1", "", "1"]))[0].tolist()
    [True, False, True]
    >>> parse_bools(pd.Series(["TRUE", "", "false"]))[0].tolist()
    [True, <NA>, False]
    """
    blank = blank_mask(values)
    text = values.astype(object).map(lambda v: str(v).strip().lower() if not is_blank(v) else "")
    text = text.map(lambda s: {"true": "true", "false": "false"}.get(s, s))
    is_true = text.isin(_TRUE).to_numpy()
    is_false = text.isin(_FALSE).to_numpy()
    bad = ~blank & ~is_true & ~is_false
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[is_true] = True
    out[is_false] = False
    if not is_false.any():
        out[blank] = False
    return out, bad
