"""Step 1, read: a CRM export file into a raw table of cells, keeping every row's number.

This step knows files, not CRMs: encodings (UTF-8 with or without BOM, UTF-16 "Unicode text",
Windows-1252), delimiters (``,`` ``;`` tab ``|``), title rows above the header, footer and total
lines below the data, ghost columns, duplicated headers, and ``.xlsx`` workbooks.

A UTF-8 CSV is read by Arrow's parser (:mod:`.arrow_reader`); whatever that reader declines
(other encodings, ragged rows, CR-only line endings, ...) is read here by pandas' C reader, and
rows with more fields than the header by the ``csv`` module. All three give the same table.

Examples
--------
>>> raw = read_raw(b"Deal ID,Stage\\n D1 ,Closed Won\\n\\nGrand Totals (1 records)\\n")
>>> raw.headers, raw.rows.tolist(), raw.cells["Deal ID"].tolist()
(['Deal ID', 'Stage'], [2], ['D1'])
>>> raw.rejected, raw.blank_rows
([(4, 'footer', "footer or total line 'Grand Totals (1 records)'")], 1)
"""

from __future__ import annotations

import csv
import io
import mmap
import os
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from ..errors import FileFormatError
from ..i18n import N_
from .arrow_reader import read_csv_fast
from .cells import STR, Cells, RawTable
from .layout import CELLS_AS_TEXT, clean_headers, find_layout, footer_detail, header_index
from .wording import (
    BAD_UTF16,
    BINARY,
    DAMAGED_XLSX,
    EXPORT_AGAIN,
    EXPORT_AS_CSV,
    EXPORT_CSV_XLSX,
    FILE_EMPTY,
    NOT_AN_EXPORT,
    OLD_XLS,
    OVER_LIMIT,
    REEXPORT,
    REEXPORT_UTF8,
    SAVE_AS_XLSX,
    TOO_MANY_FIELDS,
    UNZIP,
    ZIP,
)
from .wording_notes import NOT_UTF8, SHEETS, TITLE_ROWS, UNNAMED_COLUMNS

__all__ = ["RawTable", "read_raw", "Source"]

#: What ``load_crm`` accepts as input.
Source = str | os.PathLike | bytes | bytearray | memoryview | IO[bytes] | IO[str]

_MAGIC = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x1f\x8b": "a gzip archive",
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"SQLite format 3": "an SQLite database",
    b"PAR1": "a Parquet file",
}


def _name_of(src: Source) -> str:
    if isinstance(src, (str, os.PathLike)):
        return Path(src).name
    name = getattr(src, "name", None)
    if isinstance(name, str) and name:
        return Path(name).name
    return "<buffer>"


def _read_bytes(src: Source, name: str, max_bytes: int | None) -> bytes | mmap.mmap:
    """The input's bytes; a file is mapped, not copied (the fast reader reads it in place)."""
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        if not path.exists():
            raise FileFormatError(
                f"no such file: {str(path)!r}", file=name, fix="check the path and the current folder"
            )
        if path.is_dir():
            raise FileFormatError("this is a folder, not a file", file=name, fix="pass the export file itself")
        if max_bytes is not None and path.stat().st_size > max_bytes:
            raise FileFormatError(
                f"the file is {path.stat().st_size:,} bytes, over the limit of {max_bytes:,}",
                file=name,
                fix="export fewer rows or columns, or raise max_bytes",
            )
        with path.open("rb") as fh:
            if not path.stat().st_size:
                return b""
            return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
    elif hasattr(src, "read"):
        data = src.read() if max_bytes is None else src.read(max_bytes + 1)
        if isinstance(data, str):
            data = data.encode("utf-8")
    else:
        raise FileFormatError(
            f"cannot read a {type(src).__name__}",
            fix="pass a file path, bytes, or an open binary file",
        )
    if max_bytes is not None and len(data) > max_bytes:
        raise FileFormatError(
            OVER_LIMIT.format(limit=f"{max_bytes:,}"),
            file=name,
            fix="export fewer rows or columns, or raise max_bytes",
        )
    return data


def _first_bytes_say(data: bytes | mmap.mmap, name: str) -> str | None:
    """What the first bytes tell: 'utf-8-sig' (a BOM), 'other' (UTF-16, or decoding decides
    between UTF-16 and an error), or None (UTF-8 or a legacy code page, decoding decides).
    Raises for files that are known not to be text exports."""
    head = data[:4096]
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "other"
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise FileFormatError(NOT_AN_EXPORT.format(what=what), file=name, fix=EXPORT_AS_CSV)
    return "other" if b"\x00" in head else None


def _decode(data: bytes, name: str) -> tuple[str, str, list[str]]:
    """Return (text, encoding, notes)."""
    notes: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        return data.decode("utf-8-sig"), "utf-8-sig", notes
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16", notes
        except UnicodeDecodeError:
            raise FileFormatError(
                BAD_UTF16,
                file=name,
                fix=REEXPORT_UTF8,
            ) from None
    head = data[:4096]
    if head.count(b"\x00") > len(head) // 4:
        # UTF-16 without a byte-order mark: every other byte of ASCII text is NUL
        even, odd = head[0::2].count(b"\x00"), head[1::2].count(b"\x00")
        enc = "utf-16-le" if odd > even else "utf-16-be"
        try:
            return data.decode(enc), enc, notes
        except UnicodeDecodeError:
            pass
    if b"\x00" in head:
        raise FileFormatError(
            BINARY,
            file=name,
            fix=EXPORT_CSV_XLSX,
        )
    try:
        return data.decode("utf-8"), "utf-8", notes
    except UnicodeDecodeError as exc:
        bad_at = exc.start
    try:
        text = data.decode("cp1252")
        enc = "cp1252"
    except UnicodeDecodeError:
        text, enc = data.decode("latin-1"), "latin-1"
    line = data[:bad_at].count(b"\n") + 1
    notes.append(NOT_UTF8.format(line=line, encoding=enc))
    controls = sum(1 for ch in text[:4096] if ord(ch) < 32 and ch not in "\r\n\t")
    if controls > 8:
        raise FileFormatError(
            BINARY,
            file=name,
            fix=EXPORT_CSV_XLSX,
        )
    return text, enc, notes


def _finish(frame: pd.DataFrame, rows: np.ndarray, raw_headers: list[object], table: RawTable) -> RawTable:
    """Tidy cells, drop ghost columns and blank/footer rows, name the columns."""
    frame = frame.reset_index(drop=True)
    cells = {j: _tidy_column(frame.iloc[:, j]) for j in range(frame.shape[1])}
    # ghost columns: no header and no value (formatted-but-empty Excel columns)
    keep_cols = []
    for j, col in cells.items():
        head = raw_headers[j] if j < len(raw_headers) else None
        blank_head = head is None or (isinstance(head, float) and np.isnan(head)) or not str(head).strip()
        if blank_head and col.isna().all():
            continue
        keep_cols.append(j)
    headers, notes = clean_headers([raw_headers[j] if j < len(raw_headers) else None for j in keep_cols])
    table.notes.extend(notes)
    unnamed = [h for h in headers if h.startswith("(column ")]
    if unnamed:
        table.notes.append(UNNAMED_COLUMNS.format(headers=unnamed))
    frame = pd.DataFrame({h: cells[j] for h, j in zip(headers, keep_cols)}, index=frame.index)
    filled = np.zeros(len(frame), int)
    for h in headers:
        filled += frame[h].notna().to_numpy(bool)
    blank = filled == 0
    table.blank_rows = int(blank.sum())
    # footer / total lines: at most two filled cells, the first of them a marker
    footer = np.zeros(len(frame), bool)
    for i in np.flatnonzero((filled > 0) & (filled <= 2)):
        first = next(v for v in frame.iloc[i].tolist() if not _missing(v))
        detail = footer_detail(first)
        if detail:
            footer[i] = True
            table.rejected.append((int(rows[i]), N_("footer"), detail))
    keep = ~blank & ~footer
    frame = frame[keep].reset_index(drop=True) if not keep.all() else frame
    table.cells = Cells({h: frame[h] for h in headers})
    table.rows = rows[keep]
    table.headers = headers
    return table


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT


def _tidy_column(col: pd.Series) -> pd.Series:
    """Strip strings; empty or whitespace-only cells become missing.

    All-text columns get pandas' string dtype (fast vectorised string methods downstream);
    columns with numbers or dates (Excel cells) stay object so the values keep their type.
    """
    if col.dtype != object:
        if isinstance(col.dtype, pd.StringDtype):
            text = col.str.strip()
            return text.where(text != "")
        return col
    is_str = col.map(lambda v: isinstance(v, str)).to_numpy(bool)
    missing = col.isna().to_numpy(bool)
    if (is_str | missing).all():
        text = col.astype(STR).str.strip()
        return text.where(text != "")
    out = col.copy()
    stripped = col[is_str].map(str.strip)
    out[is_str] = stripped.where(stripped != "", None)
    return out.where(out.notna(), None)


def _empty_table(name: str, kind: str, encoding: str | None = None, notes: list[str] | None = None) -> RawTable:
    return RawTable(
        cells=Cells({}), rows=np.array([], int), headers=[], file=name, kind=kind, encoding=encoding, notes=notes or []
    )


def _read_excel(data: bytes, name: str, sheet: str | int | None) -> RawTable:
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
    except zipfile.BadZipFile:
        raise FileFormatError(DAMAGED_XLSX, file=name, fix=REEXPORT) from None
    if not any(n.startswith("xl/") for n in names):
        raise FileFormatError(
            ZIP,
            file=name,
            fix=UNZIP,
        )
    try:
        book = pd.ExcelFile(io.BytesIO(data), engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for damaged workbooks
        raise FileFormatError(
            f"the workbook cannot be opened ({type(exc).__name__}: {exc})", file=name, fix="re-export it"
        ) from None
    sheets = book.sheet_names
    if sheet is None:
        chosen = sheets[0]
    elif isinstance(sheet, int):
        if not 0 <= sheet < len(sheets):
            raise FileFormatError(
                f"there is no sheet number {sheet}; the workbook has {sheets}",
                file=name,
                fix=f"pass sheet= a name from {sheets} or a number from 0 to {len(sheets) - 1}",
            )
        chosen = sheets[sheet]
    else:
        match = [s for s in sheets if s == sheet] or [s for s in sheets if s.lower() == str(sheet).lower()]
        if not match:
            raise FileFormatError(
                f"there is no sheet {sheet!r}; the workbook has {sheets}",
                file=name,
                fix=f"pass sheet= one of {sheets}",
            )
        chosen = match[0]
    grid = pd.read_excel(book, sheet_name=chosen, header=None, dtype=object)
    grid = grid.astype(object).where(grid.notna(), None)
    records = grid.head(30).values.tolist()
    h = header_index(records)
    table = _empty_table(name, f"Excel workbook (sheet {chosen!r})")
    if len(sheets) > 1 and sheet is None:
        table.notes.append(SHEETS.format(count=len(sheets), sheet=repr(chosen)))
    if h < 0:
        raise FileFormatError(
            f"sheet {chosen!r} is empty", file=name, fix="export the report with its rows, or pass sheet="
        )
    if h > 0:
        table.notes.append(TITLE_ROWS.format(count=h, last=h))
    raw_headers = grid.iloc[h].tolist()
    body = grid.iloc[h + 1 :]
    rows = np.arange(h + 2, h + 2 + len(body))
    return _finish(body, rows, raw_headers, table)


def _read_text(data: bytes, text: str, name: str, encoding: str, notes: list[str]) -> RawTable:
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise FileFormatError(FILE_EMPTY, file=name, fix=EXPORT_AGAIN)
    # the header is among the first records: never copy the whole file
    layout = find_layout(text[:4_000_000], name=name, encoding=encoding)
    h, raw_headers = layout.header_row, layout.raw_headers
    table = _empty_table(name, layout.kind, encoding, [*notes, *layout.notes])
    ncols = len(raw_headers)
    try:
        # pandas decodes the original bytes itself: a StringIO of the text would hold it as
        # 4 bytes per character
        frame = pd.read_csv(
            io.BytesIO(data),
            encoding=encoding,
            sep=layout.delimiter,
            names=list(range(ncols)),
            skiprows=layout.lines_before_data,
            **CELLS_AS_TEXT,
        )
    except pd.errors.ParserError:
        frame = None
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=list(range(ncols)), dtype=STR)
    if frame is None:
        return _read_text_slow(text, layout.delimiter, layout.skip_lines, h, raw_headers, table)
    # record i below the header is spreadsheet row h + 2 + i
    rows = np.arange(h + 2, h + 2 + len(frame))
    return _finish(frame, rows, raw_headers, table)


def _read_text_slow(text, delim, skip_lines, h, raw_headers, table: RawTable) -> RawTable:
    """Row by row, for files whose rows have more fields than the header."""
    body = io.StringIO(text)
    for _ in range(skip_lines):
        body.readline()
    reader = csv.reader(body, delimiter=delim)
    ncols = len(raw_headers)
    good, rows = [], []
    for i, rec in enumerate(reader):
        if i <= h:
            continue
        row = i + 1
        extra = rec[ncols:]
        if any(c.strip() for c in extra):
            table.rejected.append(
                (
                    row,
                    N_("too_many_fields"),
                    TOO_MANY_FIELDS.format(
                        fields=len(rec), columns=ncols, delimiter=repr(delim), value=repr(extra[0][:40])
                    ),
                )
            )
            continue
        good.append(rec[:ncols] + [""] * (ncols - len(rec)))
        rows.append(row)
    frame = pd.DataFrame(good, columns=list(range(ncols)), dtype=STR)
    return _finish(frame, np.array(rows, dtype=int), raw_headers, table)


def read_raw(
    src: Source, *, sheet: str | int | None = None, max_bytes: int | None = None, fast: bool = True
) -> RawTable:
    """Read an export (path, bytes or binary file) into a :class:`RawTable`.

    Parameters
    ----------
    src : path, bytes or binary file
    sheet : str or int, optional
        The sheet of a workbook.
    max_bytes : int, optional
        Refuse larger inputs.
    fast : bool, default True
        Let Arrow's parser read a UTF-8 CSV. ``False`` reads every file with the general reader
        (the two give the same table; the tests compare them).

    Raises
    ------
    FileFormatError
        For missing, empty, binary, damaged or over-size files, naming the fix.
    """
    name = _name_of(src)
    data = _read_bytes(src, name, max_bytes)
    if not data[:65536].strip() and not bytes(data).strip():
        raise FileFormatError(FILE_EMPTY, file=name, fix=EXPORT_AGAIN)
    if data[:4] == b"PK\x03\x04":
        return _read_excel(bytes(data), name, sheet)
    if data[:4] == b"\xd0\xcf\x11\xe0":
        raise FileFormatError(
            OLD_XLS,
            file=name,
            fix=SAVE_AS_XLSX,
        )
    sheet_note = [f"sheet={sheet!r} was ignored: this is a text file, not a workbook"] if sheet is not None else []
    if fast and _first_bytes_say(data, name) in (None, "utf-8-sig"):
        table = read_csv_fast(data, name=name, notes=sheet_note)
        if table is not None:
            return table
    data = bytes(data)
    text, encoding, notes = _decode(data, name)
    return _read_text(data, text, name, encoding, notes + sheet_note)
