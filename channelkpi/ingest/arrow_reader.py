"""The fast CSV reader: Arrow's multi-threaded parser for the common UTF-8 export.

It reads a file exactly as the general reader (:func:`channelkpi.ingest.reader.read_raw` with
``fast=False``) does, or declines and lets that reader take it. It declines files that are not
UTF-8, classic Mac line endings, quoted line breaks above the data, rows with more or fewer
fields than the header (other than footer lines), and anything Arrow reports as malformed.
Footer lines (``Grand Totals (N records)``, ``Confidential Information ...``) have a single
field, which Arrow refuses, so the delimiter-free lines at the end of the file are read apart.
"""

from __future__ import annotations

import io
import mmap
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from ..errors import FileFormatError
from ..i18n import N_
from .bytescan import line_count
from .cells import Cells, RawTable, string_buffers, tidy_text
from .layout import CELLS_AS_TEXT, Layout, clean_headers, find_layout, footer_detail
from .wording_notes import UNNAMED_COLUMNS

__all__ = ["read_csv_fast"]

_HEAD_BYTES = 16_000_000  # enough to hold the 4,000,000 characters the layout is read from
_SMALL_HEAD = 262_144  # enough for the layout of almost every export
_TAIL_LINES = 64  # footers are a few lines; more delimiter-free lines go to the general reader
_TAIL_BYTES = 65_536
_BLOCK = 1 << 20  # Arrow's unit of parallel work (its default: larger blocks parse slower)


def read_csv_fast(data: bytes | mmap.mmap, *, name: str, notes: list[str]):
    """Read UTF-8 CSV bytes (or a mapped file) into a :class:`~channelkpi.ingest.cells.RawTable`,
    or return None when the general reader must read them (see the module docstring)."""

    start = 3 if data[:3] == b"\xef\xbb\xbf" else 0
    layout = _layout_from_small_head(data, start, name)
    if layout is None:
        head = _decoded_head(data, start, _HEAD_BYTES)
        if head is None or head.startswith("\ufeff") or not head.strip():
            return None
        layout = find_layout(head[:4_000_000], name=name, encoding="utf-8")
    if layout.cr_only or not layout.records_are_lines:
        return None
    offset = _after_lines(data, start, layout.lines_before_data)
    if offset is None or b"\r" in data[start:offset].replace(b"\r\n", b""):
        return None
    delim = layout.delimiter.encode()
    tail_at = _footer_start(data, offset, delim)
    if tail_at <= offset:  # no data rows, or nothing but delimiter-free lines
        return None
    ncols = len(layout.raw_headers)
    body = _parse(memoryview(data)[offset:tail_at], layout, ncols)
    if body is None or not _ends_cleanly(body, data, offset, tail_at):
        return None
    tail = _parse_tail(data[tail_at:], layout, ncols) if tail_at < len(data) else []
    if tail is None:
        return None
    columns = [pa.chunked_array([*body.column(j).chunks, *([tail[j]] if tail else [])]) for j in range(ncols)]
    table = RawTable(
        cells=Cells({}),
        rows=np.array([], int),
        headers=[],
        file=name,
        kind=layout.kind,
        encoding="utf-8-sig" if start else "utf-8",
        notes=[*notes, *layout.notes],
    )
    return _finish(columns, layout, table)


def _decoded_head(data: bytes, start: int, size: int) -> str | None:
    chunk = data[start : start + size]
    if b"\x00" in chunk[:4096]:
        return None
    try:
        return chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a character cut by the end of the chunk is fine; anything else is not UTF-8
        if start + size < len(data) and exc.start >= len(chunk) - 3 and exc.reason == "unexpected end of data":
            return chunk[: exc.start].decode("utf-8")
        return None


def _layout_from_small_head(data: bytes, start: int, name: str) -> Layout | None:
    """The layout read from the first 256 KB, when that is provably what the 4,000,000
    characters the general reader looks at give: more than 60 whole lines for the delimiter,
    and the header search done before the last whole line. None: read the big head."""
    if len(data) - start <= _SMALL_HEAD:
        return None
    small = _decoded_head(data, start, _SMALL_HEAD)
    if small is None or small.startswith("\ufeff") or not small.strip():
        return None
    try:
        layout = find_layout(small, name=name, encoding="utf-8")
    except FileFormatError:
        return None  # the big head says what is wrong, or that nothing is
    if len(small.splitlines()) > 61 and small.count("\n") > layout.lines_read:
        return layout
    return None


def _after_lines(data: bytes, start: int, lines: int) -> int | None:
    pos = start
    for _ in range(lines):
        nl = data.find(b"\n", pos)
        if nl < 0:
            return None
        pos = nl + 1
    return pos


def _one_field(line: bytes, delim: int) -> bool:
    """The line is a single CSV field: no delimiter outside quotes, and no quote left open."""
    inside = False
    for byte in line:
        if byte == 34:  # '"'
            inside = not inside
        elif byte == delim and not inside:
            return False
    return not inside


def _footer_start(data: bytes, offset: int, delim: bytes) -> int:
    """Where the trailing one-field lines (blank lines, footers) begin."""
    pos = len(data)
    for _ in range(_TAIL_LINES):
        if pos <= offset or len(data) - pos > _TAIL_BYTES:
            break
        end = pos - 1 if data[pos - 1 : pos] == b"\n" else pos
        nl = data.rfind(b"\n", offset, end)
        line_start = nl + 1 if nl >= 0 else offset
        line = data[line_start:end]
        if line.endswith(b"\r"):
            line = line[:-1]
        # a CR that Arrow and pandas would read as a line break ends the tail
        if not _one_field(line, delim[0]) or b"\r" in line:
            break
        pos = line_start
    return pos


def _parse(body: memoryview, layout: Layout, ncols: int) -> pa.Table | None:
    """The body as a table of text columns, or None when Arrow refuses it.

    Arrow cuts the bytes into blocks at line breaks and parses the blocks in parallel. A block
    cut inside a quoted line break can be misread silently, which ``newlines_in_values``
    prevents by reading quotes to find the cuts, at a cost of about a third of the parse. So
    the body is read first without it and kept only when it has exactly one row per line: then
    every line parsed as a whole row from its first byte, so by induction from the first line
    every line is a true row, no value holds a line break, and the cuts were right. Otherwise
    (a quoted line break somewhere, or a lone CR) it is read again the safe way.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="channelkpi-lines") as pool:
        lines = pool.submit(line_count, np.frombuffer(body, np.uint8))  # counted while Arrow parses
        quick = _read_body(body, layout, ncols, newlines_in_values=False)
        if quick is not None and quick.num_rows == lines.result():
            return quick
    return _read_body(body, layout, ncols, newlines_in_values=True)


def _read_body(body: memoryview, layout: Layout, ncols: int, *, newlines_in_values: bool) -> pa.Table | None:
    names = [str(j) for j in range(ncols)]
    try:
        return pa_csv.read_csv(
            pa.BufferReader(pa.py_buffer(body)),
            read_options=pa_csv.ReadOptions(column_names=names, block_size=_BLOCK),
            parse_options=pa_csv.ParseOptions(
                delimiter=layout.delimiter,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=newlines_in_values,
                ignore_empty_lines=False,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:  # rows with another number of fields, text that is not UTF-8, ...
        return None


def _ends_cleanly(body: pa.Table, data: bytes, offset: int, tail_at: int) -> bool:
    """False when the last row may end in an unterminated quote, which Arrow reads to the end of
    the data but pandas rejects. Only the last column can hold one (a quote left open earlier
    leaves the row short, which Arrow refuses); its cell then holds the final line break, or,
    without one, the unfinished last line holds the quote."""
    if not body.num_rows:
        return False
    text = body.column(body.num_columns - 1)[-1].as_py()
    if "\n" in text or "\r" in text:
        return False
    if data[tail_at - 1 : tail_at] != b"\n":
        line_start = data.rfind(b"\n", offset, tail_at) + 1
        if b'"' in data[max(line_start, offset) : tail_at]:
            return False
    return True


def _parse_tail(tail: bytes, layout: Layout, ncols: int) -> list[pa.Array] | None:
    """The delimiter-free lines at the end, read by pandas as the general reader reads them."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            frame = pd.read_csv(
                io.BytesIO(tail),
                encoding="utf-8",
                sep=layout.delimiter,
                names=list(range(ncols)),
                **CELLS_AS_TEXT,
            )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, Warning):
        return None
    lines = tail.count(b"\n") + (not tail.endswith(b"\n"))
    if len(frame) != lines:
        return None
    return [pa.array(frame[j].tolist(), type=pa.string()) for j in range(ncols)]


def _definitely_filled(column: pa.ChunkedArray) -> np.ndarray:
    """Cells whose first byte is printable non-space ASCII: not blank once stripped."""
    parts = []
    for chunk in column.chunks:  # block by block: joining the blocks would copy the text
        off, data, valid = string_buffers(chunk)
        lengths = np.diff(off)
        if len(data):
            first = data[np.minimum(off[:-1], len(data) - 1)]
            ok = (lengths > 0) & ((first - np.uint8(0x21)) <= np.uint8(0x7E - 0x21))
        else:
            ok = np.zeros(len(chunk), bool)
        parts.append(ok if valid is None else ok & valid)
    return np.concatenate(parts) if parts else np.zeros(0, bool)


def _tidy_rows(column: pa.ChunkedArray, positions: np.ndarray) -> pd.Series:
    part = column.take(pa.array(positions.astype(np.int64)))
    return pd.Series(tidy_text(part).to_pylist(), dtype=object)


def _finish(columns: list[pa.ChunkedArray], layout: Layout, table):
    """Drop ghost columns, name the columns, and set blank and footer lines aside."""
    raw_headers = layout.raw_headers
    n = len(columns[0])
    keep_cols = []
    for j, column in enumerate(columns):
        head = raw_headers[j]
        if not str(head).strip() and tidy_text(column).null_count == n:
            continue  # no header and no value: a ghost column
        keep_cols.append(j)
    headers, header_notes = clean_headers([raw_headers[j] for j in keep_cols])
    table.notes.extend(header_notes)
    unnamed = [h for h in headers if h.startswith("(column ")]
    if unnamed:
        table.notes.append(UNNAMED_COLUMNS.format(headers=unnamed))
    kept = [columns[j] for j in keep_cols]
    # a row with three cells that cannot be blank is neither blank nor a footer; only the few
    # other rows are tidied and counted exactly
    count = np.zeros(n, np.int8)
    candidates = np.arange(n)
    for column in kept:
        if len(candidates) == n:
            count += _definitely_filled(column)
        else:
            count[candidates] += _definitely_filled(column.take(pa.array(candidates)))
        candidates = np.flatnonzero(count < 3)
        if not len(candidates):
            break
    blank = np.zeros(n, bool)
    footer = np.zeros(n, bool)
    rows = np.arange(layout.header_row + 2, layout.header_row + 2 + n)
    if len(candidates):
        cells = pd.DataFrame({i: _tidy_rows(c, candidates) for i, c in enumerate(kept)})
        filled = cells.notna().sum(axis=1).to_numpy()
        blank[candidates[filled == 0]] = True
        for k in np.flatnonzero((filled > 0) & (filled <= 2)):
            first = next(v for v in cells.iloc[k].tolist() if v is not None)
            detail = footer_detail(first)
            if detail:
                footer[candidates[k]] = True
                table.rejected.append((int(rows[candidates[k]]), N_("footer"), detail))
    table.blank_rows = int(blank.sum())
    drop = blank | footer
    if not drop.any():
        keep = None
    elif not drop[: n - int(drop.sum())].any():
        keep = slice(0, n - int(drop.sum()))  # only the last lines: a slice copies nothing
    else:
        keep = ~drop
    table.cells = Cells(dict(zip(headers, kept)), keep=keep)
    table.rows = rows[~drop]
    table.headers = headers
    return table
