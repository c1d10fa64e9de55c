"""The cells of an export: tidied on first use, and read once per distinct value.

Two ideas keep loading at the speed of the CSV reader:

* A column is **tidied** (stripped, blanks made missing) only when a later step reads it, and
  the check that a cell needs stripping looks at its first and last byte, so the common clean
  column costs a few array operations and no copy.
* Exports repeat their values heavily (a handful of stages, partners, currencies; a thousand
  close dates for a million deals), so a column is read as :class:`Coded`: its distinct values
  and, per row, the position of the row's value among them. Work that depends only on a value
  (parsing, mapping, cleaning) runs once per distinct value and is taken back to the rows.

Examples
--------
>>> import pandas as pd
>>> coded = Coded.of(pd.Series(["Won", "Lost", "Won", None], dtype=STR))
>>> coded.values.tolist(), coded.codes.tolist()
(['Won', 'Lost', nan], [0, 1, 0, 2])
>>> coded.map(lambda v: v.str.lower()).to_series().tolist()
['won', 'lost', 'won', nan]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "STR",
    "Cells",
    "Coded",
    "arrow_text",
    "blank_mask",
    "digit_shapes",
    "first_rows",
    "is_blank",
    "string_buffers",
    "text_series",
    "tidy_text",
]

#: pandas' default text dtype (Arrow-backed, NaN for missing): every text column uses it.
STR = pd.StringDtype(na_value=np.nan)


def is_blank(value: object) -> bool:
    """True for ``None``, NaN, NaT and strings that are empty after stripping."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def blank_mask(values: pd.Series) -> np.ndarray:
    """True where a cell is missing or a string of only whitespace."""
    if isinstance(values.dtype, pd.StringDtype):
        return np.array(values.isna() | (values.str.strip() == ""), dtype=bool)
    obj = pd.Series(values.astype(object).to_numpy())
    empty_str = obj.map(lambda v: isinstance(v, str) and not v.strip())
    return np.array(obj.isna(), dtype=bool) | np.array(empty_str, dtype=bool)


def string_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The offsets, bytes and validity of an Arrow string array as NumPy views (no copy).

    ``offsets`` has ``len(arr) + 1`` entries indexing ``data``; ``valid`` is None when the
    array has no missing values.
    """
    n = len(arr)
    validity, offsets, data = arr.buffers()[:3]
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    off = np.frombuffer(offsets, width, n + 1, arr.offset * np.dtype(width).itemsize)
    raw = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
    valid = None
    if arr.null_count:
        valid = np.unpackbits(np.frombuffer(validity, np.uint8), count=arr.offset + n, bitorder="little")
        valid = valid[arr.offset :].astype(bool)
    return off, raw, valid


def _edge_bytes(off: np.ndarray, data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lengths and the first and last byte of each string (0 for empty strings)."""
    lengths = np.diff(off)
    if not len(data):
        zero = np.zeros(len(lengths), np.uint8)
        return lengths, zero, zero
    last_index = len(data) - 1
    first = data[np.minimum(off[:-1], last_index)]
    last = data[np.clip(off[1:] - 1, 0, last_index)]
    empty = lengths == 0
    first[empty] = 0
    last[empty] = 0
    return lengths, first, last


def _printable(byte: np.ndarray) -> np.ndarray:
    """Printable ASCII other than space: such a byte at either end means nothing to strip."""
    return (byte - np.uint8(0x21)) <= np.uint8(0x7E - 0x21)


def _tidy_array(arr: pa.Array) -> pa.Array:
    off, data, valid = string_buffers(arr)
    lengths, first, last = _edge_bytes(off, data)
    # whitespace is ASCII <= 0x20 or a multi-byte character, whose first and last bytes are >= 0x80
    if not (_printable(first) & _printable(last) | (lengths == 0)).all():
        # pandas' str.strip() runs this kernel: the same characters are stripped here
        arr = pc.utf8_trim_whitespace(arr)
        off, data, valid = string_buffers(arr)
        lengths = np.diff(off)
    blank = lengths == 0
    if valid is not None:
        blank &= valid
    if not blank.any():
        return arr
    keep = ~blank if valid is None else valid & ~blank
    # the bitmap counts from the start of the buffers, as the offsets do
    bits = np.concatenate([np.zeros(arr.offset, bool), keep]) if arr.offset else keep
    bitmap = pa.py_buffer(np.packbits(bits, bitorder="little"))
    _, offsets, values = arr.buffers()[:3]
    return pa.Array.from_buffers(arr.type, len(arr), [bitmap, offsets, values], int((~keep).sum()), arr.offset)


def digit_shapes(arr: pa.Array) -> pa.Array:
    """The text with each ASCII digit written as 9 (same offsets; one pass over the bytes).

    >>> digit_shapes(pa.array(["$1,250.00", "3/1/2024", None])).to_pylist()
    ['$9,999.99', '9/9/9999', None]
    """
    _, data, _ = string_buffers(arr)
    shaped = np.where((data - np.uint8(48)) <= np.uint8(9), np.uint8(57), data)
    validity, offsets = arr.buffers()[:2]
    return pa.Array.from_buffers(
        arr.type, len(arr), [validity, offsets, pa.py_buffer(shaped)], arr.null_count, arr.offset
    )


def first_rows(codes: np.ndarray, k: int) -> np.ndarray:
    """The first row holding each of ``k`` codes numbered in order of first appearance.

    >>> first_rows(np.array([0, 1, 0, 2, 1]), 3).tolist()
    [0, 1, 3]
    """
    first = np.full(k, -1, np.intp)
    seen = np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0)
    first[codes[seen]] = seen
    return first


def tidy_text(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    """Strip each cell and make empty or whitespace-only cells missing (Arrow in, Arrow out).

    Examples
    --------
    >>> tidy_text(pa.array([" Acme ", "", "  ", "Beta", None])).to_pylist()
    ['Acme', None, None, 'Beta', None]
    """
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    return pa.chunked_array([_tidy_array(c) for c in chunks], type=column.type)


def text_series(column: pa.ChunkedArray | pa.Array) -> pd.Series:
    """An Arrow string column as a pandas text Series (``STR`` dtype), without copying the text."""
    if isinstance(column, pa.Array):
        column = pa.chunked_array([column])
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        column = column.cast(pa.string())
    series = column.to_pandas()
    return series if series.dtype == STR else series.astype(STR)


def arrow_text(series: pd.Series) -> pa.ChunkedArray:
    """The Arrow array behind a ``STR`` Series (converted when the Series holds something else)."""
    if series.dtype != STR:
        series = series.astype(STR)
    arr = series.array.__arrow_array__()
    return arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])


@dataclass(frozen=True)
class Coded:
    """A column as its distinct values and, per row, the position of the row's value among them.

    ``values`` are in order of first appearance, so a decision taken from them ("the first
    value that ...") is the decision the rows give. After a :meth:`map` two positions may hold
    equal values; a function given :attr:`values` must therefore work value by value, with any
    column-wide decision depending only on the set of values (as every parser here does).
    """

    codes: np.ndarray  #: per row, the position of its value in :attr:`values`
    values: pd.Series  #: the distinct values (missing included, as NaN), RangeIndex

    @classmethod
    def of(cls, column: pd.Series | pa.ChunkedArray) -> Coded:
        """Code a column: Arrow text by hashing, other text by factorizing.

        A column of mixed Python objects (Excel cells: numbers, dates, text) is kept row by
        row, because factorizing would treat ``1``, ``1.0`` and ``True`` as one value.
        """
        if isinstance(column, pd.Series) and column.dtype != STR:
            return cls.rows_of(column)
        arr = column if isinstance(column, pa.ChunkedArray) else arrow_text(column)
        if not len(arr):
            return cls(np.zeros(0, np.intp), pd.Series([], dtype=STR))
        encoded = pc.dictionary_encode(arr, null_encoding="encode")
        # dictionary_encode gives every chunk the same (final) dictionary
        dictionary = encoded.chunks[-1].dictionary
        codes = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in encoded.chunks])
        return cls(codes.astype(np.intp, copy=False), text_series(dictionary))

    @classmethod
    def rows_of(cls, column: pd.Series) -> Coded:
        """Every row its own value (no factorizing)."""
        return cls(np.arange(len(column)), column.reset_index(drop=True))

    def __len__(self) -> int:
        return len(self.codes)

    def map(self, func: Callable[[pd.Series], object]) -> Coded:
        """Apply ``func`` to the distinct values (a Series) and keep the codes."""
        out = func(self.values)
        return Coded(self.codes, out if isinstance(out, pd.Series) else pd.Series(out))

    def take(self, per_value: object) -> np.ndarray:
        """A per-value array (or Series) taken to the rows."""
        return np.asarray(per_value)[self.codes]

    def to_series(self, dtype: object = None) -> pd.Series:
        """The rows' values as a Series (``STR`` for text)."""
        values = self.values
        if values.dtype == STR or (dtype == STR):
            dictionary = arrow_text(values).combine_chunks()
            return text_series(dictionary.take(pa.array(self.codes)))
        out = pd.Series(values.to_numpy()[self.codes])
        return out if dtype is None else out.astype(dtype)

    def subset(self, rows: np.ndarray) -> Coded:
        """The same values for a subset of the rows (positions or a boolean mask)."""
        return Coded(self.codes[rows], self.values)

    def counts(self) -> np.ndarray:
        """How many rows hold each value."""
        return np.bincount(self.codes, minlength=len(self.values))


class Cells(Mapping[str, pd.Series]):
    """The columns of a raw table by header: tidied text (``STR``) or Excel cells (objects).

    A column read by the fast CSV reader is kept as Arrow text and tidied on first access;
    :meth:`coded` codes it *before* tidying, so only its distinct values are stripped.
    ``keep`` selects the rows that are data (blank and footer lines dropped).
    """

    def __init__(self, columns: Mapping[str, pa.ChunkedArray | pd.Series], keep: np.ndarray | None = None):
        self._raw = dict(columns)
        self._keep = keep
        self._tidy: dict[str, pd.Series] = {}
        self._coded: dict[str, Coded] = {}

    def __getitem__(self, header: str) -> pd.Series:
        if header not in self._tidy:
            column = self._raw[header]
            if isinstance(column, pd.Series):  # read by pandas or from Excel: tidied already
                self._tidy[header] = column
            else:
                self._tidy[header] = text_series(tidy_text(self._select(column)))
        return self._tidy[header]

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def _select(self, column: pa.ChunkedArray) -> pa.ChunkedArray:
        keep = self._keep
        if keep is None:
            return column
        if isinstance(keep, slice):
            return column[keep]
        return column.filter(pa.array(keep))

    def coded(self, header: str) -> Coded:
        """The column as :class:`Coded` tidied values."""
        if header not in self._coded:
            column = self._raw[header]
            if isinstance(column, pd.Series) or header in self._tidy:
                coded = Coded.of(self[header])
            else:
                raw = Coded.of(self._select(column))
                tidied = text_series(tidy_text(arrow_text(raw.values)))
                coded = Coded(raw.codes, tidied)
            self._coded[header] = coded
        return self._coded[header]

    def rows(self, positions: np.ndarray) -> pd.DataFrame:
        """All columns for some rows (positions among the kept rows), tidied."""
        out = {}
        for header, column in self._raw.items():
            if isinstance(column, pd.Series) or header in self._tidy:
                out[header] = self[header].iloc[positions].reset_index(drop=True)
            else:
                part = self._select(column).take(pa.array(np.asarray(positions, np.int64)))
                out[header] = text_series(tidy_text(part))
        return pd.DataFrame(out, index=pd.RangeIndex(len(positions)))

    def frame(self) -> pd.DataFrame:
        """Every column, tidied, as one DataFrame."""
        return pd.DataFrame({h: self[h] for h in self._raw})
