"""The cells of an export: tidied on first use, and read once per distinct value.

Three ideas keep loading at the speed of the CSV reader:

* A column is **tidied** (stripped, blanks made missing) only when a later step reads it, and
  the check that a cell needs stripping looks at its first and last byte, so the common clean
  column costs a few array operations and no copy.
* Exports repeat their values heavily (a handful of stages, partners, currencies; a thousand
  close dates for a million deals), so a column is read as :class:`Coded`: its distinct values
  and, per row, the position of the row's value among them. Work that depends only on a value
  (parsing, mapping, cleaning) runs once per distinct value and is taken back to the rows.
* Work on one column does not wait for another: :class:`Cells` memoizes it by key and can
  start it ahead in background threads (Arrow and NumPy release the GIL), while the steps
  still take each result, error and warning in their own order.

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

import threading
import weakref
from collections.abc import Callable, Hashable, Iterator, Mapping
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .bytescan import translated

__all__ = [
    "STR",
    "Cells",
    "Coded",
    "RawTable",
    "arrow_text",
    "blank_mask",
    "chunk_joined",
    "digit_shapes",
    "first_rows",
    "has_repeats",
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


_ROWS = 1 << 16  # rows per step of a check over offsets: its temporaries are reused, not new


def _edges_printable(off: np.ndarray, data: np.ndarray) -> bool:
    """True when every non-empty string starts and ends with printable non-space ASCII."""
    n = len(off) - 1
    for at in range(0, n, _ROWS):
        o = off[at : min(at + _ROWS, n) + 1]
        starts, ends = o[:-1], o[1:] - 1
        filled = ends >= starts
        if not filled.all():
            starts, ends = starts[filled], ends[filled]
        if not len(starts):
            continue
        first, last = data[starts], data[ends]
        # one subtraction makes every byte outside 0x21-0x7E larger than 0x7E - 0x21
        first -= np.uint8(0x21)
        last -= np.uint8(0x21)
        if max(int(first.max()), int(last.max())) > 0x7E - 0x21:
            return False
    return True


def _has_blank(off: np.ndarray, valid: np.ndarray | None) -> bool:
    """True when a present string is empty."""
    n = len(off) - 1
    for at in range(0, n, _ROWS):
        end = min(at + _ROWS, n)
        empty = off[at + 1 : end + 1] == off[at:end]
        if valid is not None:
            empty &= valid[at:end]
        if empty.any():
            return True
    return False


def _tidy_array(arr: pa.Array) -> pa.Array:
    off, data, valid = string_buffers(arr)
    # whitespace is ASCII <= 0x20 or a multi-byte character, whose first and last bytes are >= 0x80
    if not _edges_printable(off, data):
        # pandas' str.strip() runs this kernel: the same characters are stripped here
        arr = pc.utf8_trim_whitespace(arr)
        off, data, valid = string_buffers(arr)
    if not _has_blank(off, valid):
        return arr
    blank = np.diff(off) == 0
    if valid is not None:
        blank &= valid
    keep = ~blank if valid is None else valid & ~blank
    # the bitmap counts from the start of the buffers, as the offsets do
    bits = np.concatenate([np.zeros(arr.offset, bool), keep]) if arr.offset else keep
    bitmap = pa.py_buffer(np.packbits(bits, bitorder="little"))
    _, offsets, values = arr.buffers()[:3]
    return pa.Array.from_buffers(arr.type, len(arr), [bitmap, offsets, values], int((~keep).sum()), arr.offset)


#: every ASCII digit byte to "9", every other byte to itself
_DIGITS_AS_NINES = bytes(0x39 if 0x30 <= b <= 0x39 else b for b in range(256))


def digit_shapes(arr: pa.Array) -> pa.Array:
    """The text with each ASCII digit written as 9 (same offsets; one pass over the bytes).

    >>> digit_shapes(pa.array(["$1,250.00", "3/1/2024", None])).to_pylist()
    ['$9,999.99', '9/9/9999', None]
    """
    _, data, _ = string_buffers(arr)
    shaped = translated(data, _DIGITS_AS_NINES)
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


def _text_hashes(arr: pa.Array) -> np.ndarray:
    """A 64-bit hash of each string, from its bytes read 8 at a time (equal texts, equal hashes;
    a collision only costs the exact check)."""
    off, data, _ = string_buffers(arr)
    lengths = np.diff(off).astype(np.int64)
    n, size = len(lengths), int(lengths.max(initial=0))
    if n and size >= 8 and int(lengths.min()) == size:
        # texts of one length sit back to back: read 8-byte words at fixed steps of `size`,
        # the last one ending with the text (it may overlap the one before)
        h = np.full(n, size, np.uint64)
        for k in [*range(0, size - 7, 8), size - 8]:
            word = np.ndarray((n,), "<u8", buffer=data, offset=int(off[0]) + k, strides=(size,))
            h = h * np.uint64(0x9E3779B97F4A7C15) + word
        h ^= h >> np.uint64(29)
        return h * np.uint64(0xBF58476D1CE4E5B9)
    start = off[:-1].astype(np.int64)
    end = len(data)
    # an unaligned little-endian 8-byte word at every byte position (8 zero bytes after the end)
    padded = np.concatenate([data, np.zeros(8, np.uint8)])
    all_words = np.ndarray(shape=(end + 1,), dtype="<u8", buffer=padded, strides=(1,))

    def words(at: np.ndarray) -> np.ndarray:
        return all_words[np.minimum(at, end)]

    longest = int(lengths.max(initial=0))
    same = longest == int(lengths.min(initial=0))
    h = lengths.astype(np.uint64)
    for k in range(0, longest, 8):
        word = all_words[start + k] if same else words(start + k)
        if same and longest - k < 8:  # every text ends inside this word: keep its own bytes
            word &= np.uint64((1 << (8 * (longest - k))) - 1)
        elif not same:
            left = np.clip(lengths - k, 0, 8).astype(np.uint64) * np.uint64(8)
            word &= np.where(left >= 64, np.uint64(2**64 - 1), (np.uint64(1) << (left & np.uint64(63))) - np.uint64(1))
        h = h * np.uint64(0x9E3779B97F4A7C15) + word
    h ^= h >> np.uint64(29)
    return h * np.uint64(0xBF58476D1CE4E5B9)


def has_repeats(column: pd.Series) -> bool:
    """True when a value occurs twice in a text column (missing values aside).

    Different hashes prove different texts; only equal hashes pay for an exact check.
    """
    values = column.dropna() if column.hasnans else column
    if values.dtype != STR or len(values) < 2:
        return not values.is_unique
    arr = chunk_joined(values)
    off, data, _ = string_buffers(arr)
    used = data[int(off[0]) : int(off[-1])]
    if len(used) and np.diff(off).max() <= 18 and used.min() >= 48 and used.max() <= 57:
        # all digits (HubSpot record ids): equal texts are equal numbers; "07" and "7" are
        # not equal texts, so a repeated number still needs the exact check
        numbers = np.sort(pc.cast(arr, pa.int64()).to_numpy(zero_copy_only=False))
        if not (numbers[1:] == numbers[:-1]).any():
            return False
    hashes = np.sort(_text_hashes(arr))
    if not (hashes[1:] == hashes[:-1]).any():
        return False
    return len(pc.unique(arr)) < len(arr)


def tidy_text(column: pa.ChunkedArray | pa.Array, *, tidy: bool = False) -> pa.ChunkedArray:
    """Strip each cell and make empty or whitespace-only cells missing (Arrow in, Arrow out).

    The column keeps its blocks as the reader made them: joining them into one array would copy
    all of its text, which only the few steps that read a column's bytes as a whole pay for
    (:func:`chunk_joined`). ``tidy=True``: the caller knows every cell is tidy already (from its
    distinct values), so the column is returned as it is.

    Examples
    --------
    >>> tidy_text(pa.array([" Acme ", "", "  ", "Beta", None])).to_pylist()
    ['Acme', None, None, 'Beta', None]
    """
    if isinstance(column, pa.Array):
        column = pa.chunked_array([column])
    if tidy:
        return column
    return pa.chunked_array([_tidy_array(chunk) for chunk in column.chunks], type=column.type)


def chunk_joined(series: pd.Series) -> pa.Array:
    """The Arrow text behind a ``STR`` Series as one array (joined, a copy, when it has blocks)."""
    arr = arrow_text(series)
    return arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()


def text_series(column: pa.ChunkedArray | pa.Array) -> pd.Series:
    """An Arrow string column as a pandas text Series (``STR`` dtype), without copying the text."""
    if isinstance(column, pa.Array):
        column = pa.chunked_array([column])
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = column.cast(pa.string())
    # pandas keeps either string type as it is: no copy
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
    #: the rows' values as an Arrow text column, computed when asked (None, or returning None:
    #: take them from the values)
    as_rows: Callable[[], pa.ChunkedArray | None] | None = field(default=None, compare=False, repr=False)

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
        return cls(codes, text_series(dictionary))

    @classmethod
    def rows_of(cls, column: pd.Series) -> Coded:
        """Every row its own value (no factorizing)."""
        return cls(np.arange(len(column)), column.reset_index(drop=True))

    def __len__(self) -> int:
        return len(self.codes)

    def map(self, func: Callable[[pd.Series], object]) -> Coded:
        """Apply ``func`` to the distinct values (a Series) and keep the codes."""
        out = func(self.values)
        return self.with_values(out if isinstance(out, pd.Series) else pd.Series(out))

    def with_values(self, values: pd.Series) -> Coded:
        """The same codes with new values; the row column is kept when no value changed."""
        same = self.as_rows is not None and values.dtype == self.values.dtype and values.equals(self.values)
        return Coded(self.codes, values, self.as_rows if same else None)

    def take(self, per_value: object) -> np.ndarray:
        """A per-value array (or Series) taken to the rows."""
        return np.asarray(per_value)[self.codes]

    def to_series(self, dtype: object = None) -> pd.Series:
        """The rows' values as a Series (``STR`` for text)."""
        values = self.values
        rows = self.as_rows() if self.as_rows is not None and dtype in (None, STR) else None
        if rows is not None:
            return text_series(rows)
        if values.dtype == STR or (dtype == STR):
            dictionary = chunk_joined(values)
            if dictionary.null_count == len(dictionary):
                return text_series(pa.nulls(len(self.codes), pa.large_string()))
            return text_series(dictionary.take(pa.array(self.codes)))
        out = pd.Series(values.to_numpy()[self.codes])
        return out if dtype is None else out.astype(dtype)

    def subset(self, rows: np.ndarray) -> Coded:
        """The same values for a subset of the rows (positions or a boolean mask)."""
        if rows.dtype == bool and rows.all():
            return self
        return Coded(self.codes[rows], self.values)  # the row column no longer fits

    def counts(self) -> np.ndarray:
        """How many rows hold each value."""
        return np.bincount(self.codes, minlength=len(self.values))


class Cells(Mapping[str, pd.Series]):
    """The columns of a raw table by header: tidied text (``STR``) or Excel cells (objects).

    A column read by the fast CSV reader is kept as Arrow text and tidied on first access;
    :meth:`coded` codes it *before* tidying, so only its distinct values are stripped.
    ``keep`` selects the rows that are data (blank and footer lines dropped).

    Work on columns is memoized by key (:meth:`derive`) and can be started ahead in a thread
    pool (:meth:`start`, :meth:`working_ahead`): the result is the same object either way, and
    an exception is raised where the result is asked for, as if the work ran there.
    """

    def __init__(self, columns: Mapping[str, pa.ChunkedArray | pd.Series], keep: np.ndarray | slice | None = None):
        self._raw = dict(columns)
        self._keep = keep
        self._lock = threading.Lock()
        self._work: dict[Hashable, Future] = {}
        self._pool: Executor | None = None
        #: headers whose distinct values are all tidy already (so are their rows)
        self._tidy_values: set[str] = set()

    def __getitem__(self, header: str) -> pd.Series:
        column = self._raw[header]
        if isinstance(column, pd.Series):  # read by pandas or from Excel: tidied already
            return column
        return self.derive(("tidy", header), lambda: self._tidy_now(header))

    def _tidy_now(self, header: str) -> pd.Series:
        column = self._select(self._raw[header])
        if header in self._tidy_values:
            # coding proved every cell tidy: joining the blocks is all that is left to do
            return text_series(tidy_text(column, tidy=True))
        return text_series(tidy_text(column))

    def start_tidy(self, header: str) -> None:
        """Begin tidying a column in the pool."""
        column = self._raw[header]
        if not isinstance(column, pd.Series):
            self.start(("tidy", header), lambda: self._tidy_now(header))

    def start_rows(self, header: str) -> None:
        """Begin tidying a column that is also coded, in the pool: coded first, since its
        distinct values may prove that no row needs tidying."""
        column = self._raw[header]
        if not isinstance(column, pd.Series):
            self.start(("rows", header), lambda: (self.coded(header), self[header])[-1])

    def head(self, header: str, k: int) -> pd.Series:
        """The first ``k`` rows of a column, tidied (without tidying the rest)."""
        column = self._raw[header]
        if isinstance(column, pd.Series):
            return column.iloc[:k]
        keep = self._keep
        if keep is None or isinstance(keep, slice):
            part = (column if keep is None else column[keep]).slice(0, k)
        else:
            part = column.take(pa.array(np.flatnonzero(keep)[:k]))
        return text_series(tidy_text(part))

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

    # ---------------------------------------------------------------- work, now or ahead
    def derive(self, key: Hashable, func: Callable[[], object]) -> object:
        """``func()``, computed once per key: taken from the pool when it was started there (or
        computed here when it has not begun yet)."""
        with self._lock:
            future = self._work.get(key)
            mine = future is None or future.cancel()  # not begun: run it here, in order
            if mine:
                future = self._work[key] = Future()
                future.set_running_or_notify_cancel()  # others asking now wait for this one
        if mine:
            try:
                future.set_result(func())
            except BaseException as exc:  # kept for whoever asks; raised below
                future.set_exception(exc)
        return future.result()

    def start(self, key: Hashable, func: Callable[[], object]) -> None:
        """Begin ``func()`` in the pool set by :meth:`working_ahead` (no-op without one)."""
        with self._lock:
            if self._pool is not None and key not in self._work:
                self._work[key] = self._pool.submit(func)

    def all_of(self, work: Mapping[str, Callable[[], object]]) -> dict[str, object]:
        """Every ``work[key]()``, by key: run in the pool while :meth:`working_ahead` (for a step
        whose pieces are independent of each other), else one after the other. An exception is
        raised in the order of ``work``, as if the pieces ran here.

        >>> Cells({}).all_of({"a": lambda: 1, "b": lambda: 2})
        {'a': 1, 'b': 2}
        """
        with self._lock:
            pool = self._pool
        if pool is None:
            return {key: func() for key, func in work.items()}
        futures = {key: pool.submit(func) for key, func in work.items()}
        return {key: future.result() for key, future in futures.items()}

    @contextmanager
    def working_ahead(self, pool: Executor | None) -> Iterator[Cells]:
        """Context in which :meth:`start` uses ``pool``; on leaving, work not begun is dropped
        and running work is waited for.

        (A generator, not a class made per call: a class is freed only by the garbage collector,
        and one closing over these cells would keep a whole file's columns alive until then.)
        """
        self._pool = pool
        try:
            yield self
        finally:
            with self._lock:
                self._pool = None
                running = [f for f in self._work.values() if not f.cancel()]
            for f in running:
                f.exception()  # wait; an error there surfaces where its result is read
            with self._lock:
                self._work = {k: f for k, f in self._work.items() if not f.cancelled()}

    def release(self, *headers: str) -> None:
        """Let go of the finished work on these columns (every column when none is named): their
        tidied rows, codes and parsed values. Asked for again, they are computed again.

        A reader done with a large file's columns calls this as soon as it has taken what it
        needs: the memoized work is most of a read file's memory, and would otherwise live as long
        as the file's cells.

        Examples
        --------
        >>> cells = Cells({"Stage": pa.chunked_array([["Won", "Lost"]])})
        >>> coded = cells.coded("Stage")
        >>> cells.release("Stage")
        >>> cells.coded("Stage") is coded, cells.coded("Stage").values.tolist()
        (False, ['Won', 'Lost'])
        """
        wanted = set(headers)
        with self._lock:
            for key, future in list(self._work.items()):
                # work still running in the pool is left to finish (its result is asked for)
                of = key[1] if isinstance(key, tuple) and len(key) > 1 else None
                if future.done() and (not wanted or of in wanted):
                    del self._work[key]

    def coded(self, header: str) -> Coded:
        """The column as :class:`Coded` tidied values."""
        return self.derive(("coded", header), lambda: self._coded_now(header))

    def start_coded(self, header: str) -> None:
        """Begin :meth:`coded` in the pool."""
        self.start(("coded", header), lambda: self._coded_now(header))

    def _coded_now(self, header: str) -> Coded:
        column = self._raw[header]
        if isinstance(column, pd.Series):
            coded = Coded.of(column)
            if column.dtype == STR:
                coded = Coded(coded.codes, coded.values, self._row_text(header))
            return coded
        raw = Coded.of(self._select(column))
        before = arrow_text(raw.values)
        after = tidy_text(before)
        if after.equals(before):
            self._tidy_values.add(header)
        return Coded(raw.codes, text_series(after), self._row_text(header))

    def _row_text(self, header: str) -> Callable[[], pa.ChunkedArray | None]:
        """The column's tidied rows, for a :class:`Coded` of it, through a weak reference: the memo
        holding the Coded then keeps no reference back to these cells, which are freed as soon as
        their reader lets go of them (once they are gone the Coded takes its rows from its values).
        """
        ref = weakref.ref(self)

        def rows() -> pa.ChunkedArray | None:
            cells = ref()
            return None if cells is None else arrow_text(cells[header])

        return rows

    def rows(self, positions: np.ndarray) -> pd.DataFrame:
        """All columns for some rows (positions among the kept rows), tidied."""
        out = {}
        for header, column in self._raw.items():
            if isinstance(column, pd.Series):
                out[header] = column.iloc[positions].reset_index(drop=True)
            else:
                part = self._select(column).take(pa.array(np.asarray(positions, np.int64)))
                out[header] = text_series(tidy_text(part))
        return pd.DataFrame(out, index=pd.RangeIndex(len(positions)))

    def frame(self) -> pd.DataFrame:
        """Every column, tidied, as one DataFrame."""
        return pd.DataFrame({h: self[h] for h in self._raw})


@dataclass
class RawTable:
    """The cells of an export below its header, before any CRM meaning is given to them."""

    cells: Cells  #: header -> column (tidied text, or Excel cells); one entry per data row
    rows: np.ndarray  #: each data row's number in the file, as a spreadsheet shows it
    headers: list[str]  #: header names (de-duplicated), in file order
    file: str  #: the file's name for messages
    kind: str  #: e.g. "CSV (comma)", "Excel workbook (sheet 'Deals')"
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)  #: warnings about the file itself
    #: rows dropped while reading: (row number, reason, detail)
    rejected: list[tuple[int, str, str]] = field(default_factory=list)
    blank_rows: int = 0  #: fully empty rows skipped (not counted as rows read)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def frame(self) -> pd.DataFrame:
        """All cells as one DataFrame (tidies every column: prefer :attr:`cells`)."""
        return self.cells.frame()
