"""Money amounts as CRM exports write them: ``10,000``, ``$7,450,000.00 ``, ``1.200,50 €``, ``(5)``.

Every decision about an amount (plain number or not, decimal comma or point, sign, currency,
valid or not) depends only on its *shape*, the text with each digit written as ``9``:
``12,345.67`` and ``98,765.43`` are both ``99,999.99``. A column of a million amounts has a
handful of shapes, so the decisions are made once per shape and only the digits are read per
row, by Arrow's kernels. Columns of Excel cells (numbers, dates, text) are read value by value.

Examples
--------
>>> import pandas as pd
>>> parsed = parse_amounts(pd.Series(["$7,450,000.00 ", "USD 10,083.86", None]))
>>> parsed.values.tolist(), parsed.currency.tolist()
([7450000.0, 10083.86, nan], ['USD', 'USD', nan])
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ValueParseError
from .cells import STR, Coded, blank_mask, chunk_joined, digit_shapes, first_rows, string_buffers
from .currencies import ISO_CODE, SPACES, normalize_currency
from .wording_errors import MIXED_DECIMALS, ONE_NUMBER_FORMAT

__all__ = ["ParsedAmounts", "parse_amounts"]


@dataclass
class ParsedAmounts:
    """Result of :func:`parse_amounts`."""

    values: pd.Series  #: float64, NaN where blank or unreadable
    #: the ISO code found inline (``$``, ``USD``, ``€``) per row, NaN where none, as codes
    coded_currency: Coded
    bad: np.ndarray  #: True where a non-blank value could not be read
    decimal: str = "."  #: the decimal separator the column was read with
    notes: list[str] = field(default_factory=list)

    @property
    def currency(self) -> pd.Series:
        """The ISO code found inline, per row (NaN where none)."""
        coded = self.coded_currency
        return pd.Series(coded.take(coded.values.to_numpy(object)), index=self.values.index, dtype=object)


_AMOUNT_CORE = re.compile(
    r"^(?P<pre>[^\d\s.,+\-−()']*?)\s*(?P<num>[+\-−]?[\d][\d.,' ]*)\s*(?P<post>[^\d\s.,+\-−()']*)$"
)
# the integers pandas reads as int64 (a column of only these keeps -0 as 0)
_INTEGER_SHAPE = re.compile(r"[ \t\n\r\f\v]*[+-]?9{1,18}[ \t\n\r\f\v]*")


def _split_amount(text: str) -> tuple[str, str, bool] | None:
    """Return (number text, currency text, negative) or None when it is not an amount."""
    s = SPACES.sub(" ", text).strip()
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip()
    if s.endswith("-") and not s.startswith("-"):
        negative, s = True, s[:-1].strip()
    for sign in ("-", "−"):
        if s.startswith(sign):  # "-$1,200" and "- 1200"
            negative, s = not negative, s[1:].strip()
    m = _AMOUNT_CORE.match(s)
    if not m:
        return None
    num = m.group("num").strip()
    if num[0] in "+-−":
        negative = negative != (num[0] in "-−")
        num = num[1:]
    pre, post = m.group("pre").strip(), m.group("post").strip()
    if pre and post:
        return None
    cur = pre or post
    if cur.startswith("-") or cur.startswith("−"):
        return None
    return num, cur, negative


def parse_amounts(values: pd.Series, *, decimal: Literal[".", ","] | None = None) -> ParsedAmounts:
    """Read a column of money amounts as written in CRM exports.

    Accepts plain numbers, thousands separators (``10,000``, ``1.200,50``, ``1 200,50``,
    ``1'200.50``), currency symbols or codes before or after the number (``$``, ``USD``, ``€``),
    negative numbers as ``-5``, ``(5)`` or ``5-``, trailing spaces, and numeric cells from
    Excel. Whether ``,`` or ``.`` is the decimal separator is decided once for the column from the
    values that are unambiguous (``1.200,50`` or ``12,5`` mean a decimal comma).

    Parameters
    ----------
    values : pandas.Series
        Raw cells (strings, numbers, blanks).
    decimal : {".", ","}, optional
        The decimal separator, when it is known (a saved mapping says so); a value that does
        not fit it is unreadable. By default it is decided from the values.

    Returns
    -------
    ParsedAmounts

    Examples
    --------
    >>> parse_amounts(pd.Series(["(1,250.00)", "£1001", "12,5", ""])).values.tolist()
    Traceback (most recent call last):
    ...
    channelkpi.errors.ValueParseError: amounts mix a decimal point and a decimal comma ...
    >>> parse_amounts(pd.Series(["(1,250.00)", "£1001", ""])).values.tolist()
    [-1250.0, 1001.0, nan]
    >>> parse_amounts(pd.Series(["1.200", "350", "7,5"]), decimal=",").values.tolist()
    [1200.0, 350.0, 7.5]
    """
    if values.dtype == STR:
        parsed = _amounts_by_shape(values, decimal)
        if parsed is not None:
            return parsed
    return _amounts_by_value(values, decimal)


@dataclass
class _ShapeDecisions:
    """What the shapes of the non-plain values say (see :func:`_decide`)."""

    decimal: str
    notes: list[str]
    sign: dict[str, float]  #: shape -> +1/-1, for the shapes that are amounts
    code_of: dict[str, object]  #: shape -> ISO code or NaN


def _decide(shapes: list[str], example, forced: str | None = None) -> _ShapeDecisions:
    """Decide separators, sign, currency and validity from the distinct shapes, in order of
    first appearance; ``example(shape)`` is the first value of that shape, for messages.
    ``forced``: the decimal separator is known, so only the other decisions are made."""
    split = {u: _split_amount(u) for u in shapes}
    nums = [(u, sp[0]) for u, sp in split.items() if sp]
    comma = [u for u, t in nums if _is_comma_decimal(t)] if forced != "." else []
    dot = [u for u, t in nums if _is_dot_decimal(t)] if forced != "," else []
    if comma and dot:
        ex_c, ex_d = example(comma[0]), example(dot[0])
        raise ValueParseError(
            MIXED_DECIMALS.format(point=repr(ex_d), comma=repr(ex_c)),
            value=ex_c,
            fix=ONE_NUMBER_FORMAT,
        )
    decimal = forced or ("," if comma else ".")
    notes = []
    if not forced and not comma and any(re.fullmatch(r"\d{1,3}\.\d{3}", t.replace("9", "1")) for _, t in nums):
        notes.append(
            "values such as '1.200' were read with '.' as the decimal point; "
            "if they are thousands, the export uses a decimal comma"
        )
    sign: dict[str, float] = {}
    code_of: dict[str, object] = {}
    for u, sp in split.items():
        if sp is None:
            continue
        num, cur, neg = sp
        if _to_float(num, decimal) is None:
            continue
        code = normalize_currency(cur) if cur else np.nan
        if cur and code == cur and not ISO_CODE.match(cur):
            continue  # "12 apples": an unknown word next to a number is not a currency
        sign[u] = -1.0 if neg else 1.0
        code_of[u] = code
    return _ShapeDecisions(decimal, notes, sign, code_of)


def _amounts_by_value(values: pd.Series, forced: str | None = None) -> ParsedAmounts:
    """Any column (Excel cells included), value by value; text decisions still per shape."""
    n = len(values)
    out = np.full(n, np.nan)
    cur_out = np.full(n, np.nan, dtype=object)
    bad = np.zeros(n, bool)
    blank = blank_mask(values)
    obj = values.astype(object).to_numpy()

    # numbers and numeric strings
    numeric = pd.to_numeric(pd.Series(obj), errors="coerce").to_numpy(float)
    plain = ~np.isnan(numeric) & ~blank
    # bool cells are not money
    is_bool = np.fromiter((isinstance(v, (bool, np.bool_)) for v in obj), bool, n)
    plain &= ~is_bool
    if forced == ",":  # "1.200" is 1200 here, not the plain number 1.2
        plain &= ~np.fromiter((isinstance(v, str) and "." in v for v in obj), bool, n)
    out[plain] = numeric[plain]
    rest = ~plain & ~blank
    notes: list[str] = []
    decimal = forced or "."
    if rest.any():
        texts = pd.Series(obj[rest]).astype(STR)
        shapes = texts.str.replace(r"\d", "9", regex=True)
        decided = _decide(list(pd.unique(shapes)), lambda u: texts[shapes == u].iloc[0], forced)
        decimal, notes = decided.decimal, decided.notes
        ok = shapes.isin(list(decided.sign)).to_numpy()
        digits = texts[ok].str.replace(r"[^\d.,]", "", regex=True)
        thousands = "." if decimal == "," else ","
        digits = digits.str.replace(thousands, "", regex=False)
        if decimal == ",":
            digits = digits.str.replace(",", ".", regex=False)
        number = pd.to_numeric(digits, errors="coerce").to_numpy(float)
        number = number * shapes[ok].map(decided.sign).to_numpy(float)
        idx = np.flatnonzero(rest)
        out[idx[ok]] = number
        cur_out[idx[ok]] = shapes[ok].map(decided.code_of).to_numpy(object)
        bad[idx[~ok]] = True
    return _parsed(out, values.index, Coded.rows_of(pd.Series(cur_out, dtype=object)), bad, decimal, notes)


def _parsed(out: np.ndarray, index: pd.Index, currency: Coded, bad: np.ndarray, decimal: str, notes) -> ParsedAmounts:
    """The result, with infinite numbers (``1e999``) counted as unreadable rather than summed.
    ``out`` is not written to: it can be Arrow's read-only numbers, taken where they lie."""
    not_finite = ~np.isfinite(out) & ~np.isnan(out)
    if not_finite.any():
        bad = bad | not_finite
        out = np.where(not_finite, np.nan, out)
    return ParsedAmounts(
        values=pd.Series(out, index=index, dtype="float64"),
        coded_currency=currency,
        bad=bad,
        decimal=decimal,
        notes=notes,
    )


def _has_other_digits(text: str) -> bool:
    # a decimal digit of another script (Arabic-Indic, Devanagari ...): a regex \d matches it
    return any(ord(ch) > 127 and unicodedata.category(ch) == "Nd" for ch in text)


def _safe(shape: str) -> bool:
    """Arrow and pandas read numbers of this shape alike: no exponent and at most 15 digits, so
    both hold the digits exactly and divide once by an exact power of ten. (pandas reads
    ``7E25`` as ``7.000000000000001e+25``; Arrow rounds correctly.)"""
    return "e" not in shape and "E" not in shape and shape.count("9") <= 15


def _only(texts: pa.Array, rows: np.ndarray) -> pa.Array:
    """The texts with every row but ``rows`` missing (the same buffers, another validity)."""
    keep = rows if not texts.null_count else rows & pc.is_valid(texts).to_numpy(zero_copy_only=False)
    bits = np.concatenate([np.zeros(texts.offset, bool), keep]) if texts.offset else keep
    buffers = [pa.py_buffer(np.packbits(bits, bitorder="little")), *texts.buffers()[1:3]]
    return pa.Array.from_buffers(texts.type, len(texts), buffers, int(len(keep) - np.count_nonzero(keep)), texts.offset)


def _to_numbers(texts: pa.Array, unsafe: np.ndarray | None, integers: bool) -> np.ndarray:
    """Numeric texts to floats exactly as ``pandas.to_numeric`` reads them: Arrow's cast for
    the values both read alike, pandas for the ``unsafe`` rest. ``integers``: pandas reads the
    whole column as int64 (every value an integer), where -0 is 0."""
    if unsafe is not None and unsafe.any():
        safe = _only(texts, ~unsafe)
    else:
        safe, unsafe = texts, np.zeros(len(texts), bool)
    try:
        out = pc.cast(safe, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:  # spaces around a number and other forms only pandas reads
        out, unsafe = np.full(len(texts), np.nan), pc.is_valid(texts).to_numpy(zero_copy_only=False)
    if unsafe.any():
        # the last value keeps pandas in the column's context: all integers, or floats
        rest = [*texts.filter(pa.array(unsafe)).to_pylist(), "0" if integers else "0.5"]
        out[unsafe] = pd.to_numeric(pd.Series(rest, dtype=object), errors="coerce").to_numpy(float)[:-1]
    return out + 0.0 if integers else out


def _digits_to_numbers(
    arr: pa.Array, rows: np.ndarray, decimal: str, kept_per_row: np.ndarray, unsafe: np.ndarray, integers: bool
) -> np.ndarray:
    """The number each of ``rows`` writes with its digits and decimal separator (all its other
    characters dropped, as the shape decisions allow); NaN for the other rows.

    ``kept_per_row`` is how many digits and separators each row has (its shape says).
    """
    off, data, _ = string_buffers(arr)
    used = data[int(off[0]) : int(off[-1])]
    keep = ((used - np.uint8(48)) <= np.uint8(9)) | (used == np.uint8(ord(decimal)))
    kept = used[keep]
    if decimal == ",":
        kept[kept == np.uint8(ord(","))] = np.uint8(ord("."))
    offsets = np.zeros(len(arr) + 1, np.int64)
    np.cumsum(kept_per_row, out=offsets[1:])
    kind = pa.string() if len(kept) < 2**31 else pa.large_string()
    offsets = offsets.astype(np.int32) if kind == pa.string() else offsets
    bitmap = pa.py_buffer(np.packbits(rows, bitorder="little"))
    digits = pa.Array.from_buffers(kind, len(arr), [bitmap, pa.py_buffer(offsets), pa.py_buffer(kept)])
    return _to_numbers(digits, unsafe, integers)


def _plain_numbers(arr: pa.Array, index: pd.Index) -> ParsedAmounts | None:
    """A column of nothing but finite plain numbers (``1234.5``, ``-7``), read by one cast; None
    for any other column. Every number Arrow reads is one pandas reads, alike."""
    off, data, _ = string_buffers(arr)
    used = data[int(off[0]) : int(off[-1])]
    if np.diff(off).max(initial=0) > 15:
        return None  # beyond what both read alike (see _safe)
    # only digits, "." and signs ("+" 43 ... "9" 57, without "," 44 and "/" 47): a failing cast
    # costs Arrow far more than these looks at the bytes
    if len(used) and (used.min() < 43 or used.max() > 57 or (used == 44).any() or (used == 47).any()):
        return None
    try:
        numbers = pc.cast(arr, pa.float64())
    except pa.ArrowInvalid:
        return None
    out = numbers.to_numpy(zero_copy_only=False)
    if not np.isfinite(out[~np.isnan(out)] if numbers.null_count else out).all():
        return None  # "nan" and "inf" are not plain amounts
    if not numbers.null_count and not (used == 46).any():
        out = out + 0.0  # a column of nothing but integers: pandas reads it as int64, so no -0
    return ParsedAmounts(
        values=pd.Series(out, index=index, dtype="float64"),
        coded_currency=Coded(np.zeros(len(arr), np.intp), pd.Series([np.nan], dtype=object)),
        bad=np.zeros(len(arr), bool),
    )


def _amounts_by_shape(values: pd.Series, forced: str | None = None) -> ParsedAmounts | None:
    """Text columns: decisions per shape, digits read per row by Arrow. None when a value has
    digits of another script (then :func:`_amounts_by_value` reads the column)."""
    n = len(values)
    arr = chunk_joined(values)
    plain = _plain_numbers(arr, values.index) if forced != "," else None
    if plain is not None:
        return plain
    encoded = pc.dictionary_encode(digit_shapes(arr), null_encoding="encode")
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.intp, copy=False)
    dictionary = encoded.dictionary
    shapes = dictionary.to_pylist()
    k = len(shapes)
    # whitespace-only values have whitespace-only shapes; pandas' strip is this kernel
    stripped = pc.utf8_trim_whitespace(dictionary).to_pylist()
    shape_blank = np.array([s is None or t == "" for s, t in zip(shapes, stripped)], bool)
    filled = [s if not b else "" for s, b in zip(shapes, shape_blank)]
    # pandas reads digits alike, so a value is a plain number exactly when its shape is one
    shape_plain = ~np.isnan(pd.to_numeric(pd.Series(filled, dtype=object), errors="coerce").to_numpy(float))
    shape_plain &= ~shape_blank
    if forced == ",":  # "1.200" is 1200 here, not the plain number 1.2
        shape_plain &= ~np.array(["." in s for s in filled], bool)
    shape_rest = ~shape_plain & ~shape_blank
    rest_shapes = [s for s, r in zip(shapes, shape_rest) if r]
    if any(_has_other_digits(s) for s in rest_shapes):
        return None

    out = np.full(n, np.nan)
    bad = np.zeros(n, bool)
    plain = shape_plain[codes]
    if plain.any():
        unsafe_shape = np.array([not _safe(s) if s is not None else False for s in shapes])
        # pandas reads a column of nothing but integers as int64, which has no -0
        integers = bool(plain.all()) and all(_INTEGER_SHAPE.fullmatch(s) for s in shapes)
        if plain.all():
            out = _to_numbers(arr, unsafe_shape[codes] if unsafe_shape.any() else None, integers)
        else:  # the other rows are read as missing, in place: no copy of the plain ones
            unsafe = unsafe_shape[codes] & plain if unsafe_shape.any() else None
            out = np.where(plain, _to_numbers(_only(arr, plain), unsafe, integers), np.nan)
    labels: list[object] = [np.nan]
    label_of_shape = np.zeros(k, np.intp)
    decimal, notes = forced or ".", []
    if rest_shapes:
        position = {s: j for j, s in enumerate(shapes)}

        def example(shape: str) -> str:
            return values.iloc[first_rows(codes, k)[position[shape]]]

        decided = _decide(rest_shapes, example, forced)
        decimal, notes = decided.decimal, decided.notes
        shape_ok = np.array([s in decided.sign for s in shapes]) & shape_rest
        ok = shape_ok[codes]
        bad = shape_rest[codes] & ~ok
        if ok.any():
            sign = np.array([decided.sign.get(s, 1.0) for s in shapes])
            # digits and separators are single bytes, kept in the shape as they are in the value
            kept = np.array([0 if s is None else s.count("9") + s.count(decimal) for s in shapes])
            many = np.array([s is not None and s.count("9") > 15 for s in shapes])
            # pandas read the digits of these rows alone: all integers when no row has a decimal
            integers = not any(s.count(decimal) for s in decided.sign)
            numbers = _digits_to_numbers(arr, ok, decimal, kept[codes], many[codes] & ok, integers)
            out = np.where(ok, numbers * sign[codes], out)
            for j, s in enumerate(shapes):
                code = decided.code_of.get(s, np.nan) if shape_ok[j] else np.nan
                if isinstance(code, str):
                    if code not in labels:
                        labels.append(code)
                    label_of_shape[j] = labels.index(code)
    return _parsed(
        out, values.index, Coded(label_of_shape[codes], pd.Series(labels, dtype=object)), bad, decimal, notes
    )


def _is_comma_decimal(num: str) -> bool:
    num = num.replace(" ", "").replace("'", "")
    if "," in num and "." in num:
        return num.rfind(",") > num.rfind(".")
    if num.count(".") > 1:
        return True  # 1.200.000
    m = re.search(r",(\d+)$", num)
    return bool(m) and num.count(",") == 1 and len(m.group(1)) != 3


def _is_dot_decimal(num: str) -> bool:
    num = num.replace(" ", "").replace("'", "")
    if "," in num and "." in num:
        return num.rfind(".") > num.rfind(",")
    if num.count(",") > 1:
        return True  # 1,200,000
    m = re.search(r"\.(\d+)$", num)
    return bool(m) and num.count(".") == 1 and len(m.group(1)) != 3


def _to_float(num: str, decimal: str) -> float | None:
    thousands = "." if decimal == "," else ","
    text = num.replace(" ", "").replace("'", "")
    if decimal in text and text.count(decimal) > 1:
        return None
    if thousands in text:
        head, _, tail = text.partition(decimal)
        groups = head.split(thousands)
        if not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
            return None
        text = "".join(groups) + (decimal + tail if tail or decimal in text else "")
    text = text.replace(decimal, ".")
    try:
        return float(text)
    except ValueError:
        return None
