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
import pyarrow.compute as pc

from .cells import STR, arrow_text, string_buffers

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
        warnings.append(
            f"{label}: repaired garbled characters in {rows} value(s), e.g. {ex_from[:40]!r} -> {ex_to[:40]!r}"
        )
    return text


def _rows_with_bytes(arr: pa.Array, test) -> np.ndarray:
    """Rows holding at least one byte for which ``test(bytes)`` is true."""
    off, data, _ = string_buffers(arr)
    start, end = int(off[0]), int(off[-1])
    hits = np.flatnonzero(test(data[start:end])) + start
    return np.unique(np.searchsorted(off, hits, side="right") - 1)


def clean_text_column(values: pd.Series, label: str, warnings: list[str]) -> pd.Series:
    """:func:`clean_text` for a tidied text column of mostly distinct values, in a few array
    passes: only rows with a control, non-ASCII or doubled space can need anything."""
    if values.dtype != STR or not len(values):
        return clean_text(values, label, warnings)
    arr = arrow_text(values).combine_chunks()
    odd = _rows_with_bytes(arr, lambda b: (b == 9) | (b == 10) | (b == 13) | (b >= 0x80))
    doubled = np.flatnonzero(pc.match_substring(arr, "  ").to_numpy(zero_copy_only=False) == True)  # noqa: E712
    maybe = np.union1d(odd, doubled)
    text = values
    if len(maybe):
        sub = values.iloc[maybe]
        runs = sub.str.contains(_ODD_SPACE, regex=True).fillna(False).to_numpy(bool)
        if runs.any():
            text = values.copy()
            text.iloc[maybe[runs]] = sub[runs].str.replace(r"\s+", " ", regex=True).to_numpy()
    if (text == "").any():
        text = text.where(text != "")
    suspect = np.zeros(len(text), bool)
    non_ascii = _rows_with_bytes(arr, lambda b: b >= 0x80)
    if len(non_ascii):
        suspect[non_ascii] = text.iloc[non_ascii].str.contains(_NON_ASCII, regex=True).fillna(False).to_numpy(bool)
    return _repair(text, suspect, label, warnings, None)


def looks_scientific(ids: pd.Series) -> bool:
    """True when some ids look like Excel's scientific notation (``4.87688E+18``)."""
    arr = arrow_text(ids.dropna()) if ids.dtype == STR else None
    if arr is not None:
        # the pattern needs an "E+": look only at the ids that have one
        has = pc.match_substring(arr, "e+", ignore_case=True).to_numpy(zero_copy_only=False) == True  # noqa: E712
        ids = ids.dropna()[has]
    return bool(ids.dropna().str.fullmatch(r"\d(?:\.\d+)?E\+\d+", case=False).any())
