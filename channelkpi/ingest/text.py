"""Text cells made tidy: single spaces, blanks missing, mojibake (``CafÃ©``) repaired.

:func:`clean_text` works on the distinct values of a column (partners, owners, stages repeat
a lot); :func:`clean_text_column` on a whole column of mostly distinct values (deal ids), where
cheap byte checks pick the few rows that can need anything and only those are looked at.

Examples
--------
>>> import pandas as pd
>>> notes = []
>>> clean_text(pd.Series(["Acme  Corp", "CafÃ© Noir", "Beta"], dtype=STR), "Partner", notes).tolist()
['Acme Corp', 'Café Noir', 'Beta']
>>> notes
["Partner: repaired garbled characters in 1 value(s), e.g. 'CafÃ© Noir' -> 'Café Noir'"]
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa

from .bytescan import positions_equal, positions_of_pairs, positions_outside
from .cells import STR, chunk_joined, string_buffers, text_series
from .wording import GARBLED

__all__ = ["cell_text", "clean_text", "clean_text_column", "looks_scientific"]

# literal characters (not \\u escapes) so that both pyarrow's RE2 and Python's re accept them
_ODD_SPACE = "  |[\t\n\r\u00a0\u2007\u202f\u2009]"
_NON_ASCII = r"[^\x00-\x7f]"


def cell_text(v: object) -> str:
    """An Excel cell as text: whole numbers without ``.0``, timestamps in ISO form."""
    if isinstance(v, float):
        if np.isnan(v):
            return ""
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return re.sub(r"\s+", " ", str(v)).strip()


def clean_text(values: pd.Series, label: str, warnings: list[str], *, counts: np.ndarray | None = None) -> pd.Series:
    """Tidy text values; ``counts`` (rows per value, for distinct values) sizes the warning."""
    if isinstance(values.dtype, pd.StringDtype):
        text = values.str.strip()
        runs = text.str.contains(_ODD_SPACE, regex=True).fillna(False).to_numpy(bool)
        if runs.any():  # rare: only then pay for the replacement
            text[runs] = text[runs].str.replace(r"\s+", " ", regex=True)
    else:
        uniq = pd.unique(values.astype(object).dropna())
        text = values.astype(object).map({u: cell_text(u) for u in uniq}).astype(STR)
    text = text.where(text != "")
    # mojibake always has non-ASCII characters: only those values are worth a closer look
    suspect = text.str.contains(_NON_ASCII, regex=True).fillna(False).to_numpy(bool)
    return _repair(text, suspect, label, warnings, counts)


def _repair(text: pd.Series, suspect: np.ndarray, label: str, warnings: list[str], counts) -> pd.Series:
    uniq = pd.unique(text[suspect].dropna())
    if not len(uniq):
        return text
    from ftfy import fix_encoding
    from ftfy.badness import is_bad

    fixes = {u: fix_encoding(u) for u in uniq if is_bad(u)}
    fixes = {k: v for k, v in fixes.items() if v != k}
    if fixes:
        hit = text.isin(list(fixes))
        rows = int(hit.sum()) if counts is None else int(counts[hit.to_numpy()].sum())
        text = text.where(~hit, text.map(fixes))
        ex_from, ex_to = next(iter(fixes.items()))
        warnings.append(GARBLED.format(column=label, count=rows, before=repr(ex_from[:40]), after=repr(ex_to[:40])))
    return text


def _rows_at(off: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The rows holding these byte positions, each once."""
    return np.unique(np.searchsorted(off, positions, side="right") - 1)


def _rows_with_doubled_spaces(arr: pa.Array) -> np.ndarray:
    """Rows (not missing) holding two spaces in a row, from the positions of the space pairs.

    >>> _rows_with_doubled_spaces(pa.array(["a  b", "c ", " d", None, "e f  "])).tolist()
    [0, 4]
    """
    off, data, valid = string_buffers(arr)
    start = int(off[0])
    pairs = positions_of_pairs(data[start : int(off[-1])], 32) + start  # the first space of each pair
    if not len(pairs):
        return np.zeros(0, np.intp)
    rows = np.searchsorted(off, pairs, side="right") - 1
    rows = np.unique(rows[pairs + 1 < off[rows + 1]])  # the second space in the same row
    return rows if valid is None else rows[valid[rows]]


def clean_text_column(values: pd.Series, label: str, warnings: list[str]) -> pd.Series:
    """:func:`clean_text` for a tidied text column of mostly distinct values, in a few array
    passes: only rows with a control, non-ASCII or doubled space can need anything."""
    if values.dtype != STR or not len(values):
        return clean_text(values, label, warnings)
    arr = chunk_joined(values)
    off, data, valid = string_buffers(arr)
    used = data[int(off[0]) : int(off[-1])]
    lowest = int(used.min()) if len(used) else 0xFF
    plain = not len(used) or (lowest >= 0x20 and used.max() < 0x80)
    # controls (tab, line breaks) and the bytes of multi-byte characters: below 0x20 or from 0x80
    odd = np.zeros(0, np.intp) if plain else _rows_at(off, positions_outside(used, 0x20, 0x80) + int(off[0]))
    # no byte as low as a space (ids, codes): no doubled space either
    doubled = _rows_with_doubled_spaces(arr) if lowest <= 0x20 else np.zeros(0, np.intp)
    maybe = np.union1d(odd, doubled) if len(doubled) else odd
    text = text_series(arr)  # the joined text: the next step that reads its bytes joins nothing
    text.index = values.index
    if len(maybe):
        sub = values.iloc[maybe]
        runs = sub.str.contains(_ODD_SPACE, regex=True).fillna(False).to_numpy(bool)
        if runs.any():
            text = values.copy()
            text.iloc[maybe[runs]] = sub[runs].str.replace(r"\s+", " ", regex=True).to_numpy()
            off, _, valid = string_buffers(chunk_joined(text))
    empty = np.diff(off) == 0
    if (empty if valid is None else empty & valid).any():
        text = text.where(text != "")
    suspect = np.zeros(len(text), bool)
    if len(odd):
        suspect[odd[text.iloc[odd].str.contains(_NON_ASCII, regex=True).fillna(False).to_numpy(bool)]] = True
    return _repair(text, suspect, label, warnings, None)


def looks_scientific(ids: pd.Series) -> bool:
    """True when some ids look like Excel's scientific notation (``4.87688E+18``)."""
    ids = ids.dropna()
    if ids.dtype == STR and len(ids):
        # the pattern needs a "+": look only at the ids that have one
        off, data, _ = string_buffers(chunk_joined(ids))
        start = int(off[0])
        ids = ids.iloc[_rows_at(off, positions_equal(data[start : int(off[-1])], ord("+")) + start)]
    return bool(ids.str.fullmatch(r"\d(?:\.\d+)?E\+\d+", case=False).any())
