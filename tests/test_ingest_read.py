"""Step 1, read: the fast (Arrow) CSV reader gives exactly the general reader's table, or
declines; the layout rules; cells tidied on demand and coded per distinct value."""

from __future__ import annotations

import random
import re
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from channelkpi.ingest import arrow_reader, bytescan
from channelkpi.ingest.cells import STR, Cells, Coded, arrow_text, chunk_joined, has_repeats, text_series, tidy_text
from channelkpi.ingest.layout import clean_headers, find_layout, footer_detail
from channelkpi.ingest.reader import read_raw


def table(raw) -> tuple:
    """Everything a raw table says, in plain Python values."""
    frame = raw.frame
    cells = {h: frame[h].astype(object).where(frame[h].notna(), None).tolist() for h in raw.headers}
    return (raw.headers, raw.rows.tolist(), raw.rejected, raw.blank_rows, raw.notes, raw.kind, raw.encoding, cells)


def both(data: bytes):
    """The fast reader's table (None if it declines) and the general reader's."""
    fast = arrow_reader.read_csv_fast(data, name="<buffer>", notes=[])
    with warnings.catch_warnings():
        # pandas warns of a first row with an empty extra field; the general reader's business
        warnings.simplefilter("ignore", pd.errors.ParserWarning)
        general = table(read_raw(data, fast=False))
    return (table(fast) if fast is not None else None), general


PIECES = [
    "Acme",
    "Café",
    "a b",
    " pad ",
    "",
    "  ",
    "x\ty",
    '5" screen',
    "1,200.50",
    "$7,450,000.00 ",
    "3/1/2024 4:37",
    "Closed Won",
    "Grand Totals (3 records)",
    "Total",
    "\u00a0nb\u00a0",
    "CafÃ©",
    "=SUM(A1)",
    "line\nbreak",
    "cr\rret",
    'q"uote',
]


def quirky_csv(seed: int) -> bytes:
    """A random small export with quoting, blank lines, footers, title rows, CRLF, a BOM."""
    rng = random.Random(seed)
    delim = rng.choice([",", ",", ";", "\t", "|"])
    ncols = rng.randint(1, 6)

    def cell(v: str) -> str:
        quote = any(c in v for c in (delim, '"', "\n", "\r")) or rng.random() < 0.2
        return '"' + v.replace('"', '""') + '"' if quote else v

    lines = [cell(rng.choice(["Report", "Filtered by: x", ""])) for _ in range(rng.choice([0, 0, 1, 2]))]
    lines.append(delim.join(cell(rng.choice(["Deal ID", "Stage", "Amount", "Partner", ""])) for _ in range(ncols)))
    for _ in range(rng.randint(0, 25)):
        r = rng.random()
        if r < 0.06:
            lines.append("")
        elif r < 0.08:
            lines.append(delim * (ncols - 1))
        elif r < 0.1:
            lines.append(delim.join(cell(rng.choice(PIECES)) for _ in range(ncols + rng.choice([-1, 1]))))
        else:
            lines.append(
                delim.join(
                    cell(rng.choice(PIECES) if rng.random() < 0.6 else f"D{rng.randint(0, 9)}") for _ in range(ncols)
                )
            )
    if rng.random() < 0.4:
        lines += ["", cell("Grand Totals (3 records)"), "", cell("Confidential Information - Do Not Distribute")]
    newline = rng.choice(["\n", "\r\n"])
    text = newline.join(lines) + (newline if rng.random() < 0.85 else "")
    data = text.encode()
    return (b"\xef\xbb\xbf" + data) if rng.random() < 0.15 else data


@pytest.mark.slow
@pytest.mark.parametrize("block", [8 << 20, 97])
def test_the_fast_reader_reads_what_the_general_reader_reads(monkeypatch, block):
    # a tiny block size puts Arrow's block boundaries inside quoted line breaks and rows
    monkeypatch.setattr(arrow_reader, "_BLOCK", block)
    fast_used = 0
    for seed in range(400):
        fast, general = both(quirky_csv(seed))
        if fast is not None:
            fast_used += 1
            assert fast == general, seed
    assert fast_used > 100  # the fast reader takes most of them, not a handful


def long_export(tail: list[bytes]) -> bytes:
    """Over 4,000,000 characters of plain rows (so the layout, read from the head, sees no
    quoted line break), then ``tail``."""
    head = [b"Deal ID,Partner,Amount"] + [b"D%07d,Acme %d,%d" % (i, i % 97, i) for i in range(190_000)]
    return b"\n".join(head + tail) + b"\n"


@pytest.mark.slow
def test_quoted_line_breaks_past_the_head_are_read_whole_wherever_arrow_cuts_its_blocks(monkeypatch):
    # rows with quoted line breaks after the part of the file the layout reads; block sizes
    # chosen so that Arrow's block cuts fall inside them (a naive cut misreads such a row
    # silently: the row count check must catch it and read the body again the safe way)
    # the part after each break has the row's number of fields, so a misread is no error
    tail = [b'T%d,"Acme\nEast, %d",%d' % (i, i, i) for i in range(40)]
    data = long_export(tail)
    assert len(data) > 4_000_000
    general = both(data)[1]
    where = data.index(b"\n", data.index(b'"Acme')) - data.index(b"\n")  # the first quoted break
    # Arrow cuts a block at the last line break in its first `block` bytes of the body
    for block in [where + k for k in range(1, 120, 4)] + [1 << 20]:
        monkeypatch.setattr(arrow_reader, "_BLOCK", block)
        fast = arrow_reader.read_csv_fast(data, name="<buffer>", notes=[])
        assert fast is not None and table(fast) == general, block
        assert fast.cells["Partner"].tolist()[-40:] == [f"Acme\nEast, {i}" for i in range(40)]


@pytest.mark.parametrize("step", [1, 2, 3, 7, bytescan.STEP])
def test_lines_are_counted_as_arrow_ends_them(monkeypatch, step):
    monkeypatch.setattr(bytescan, "STEP", step)
    rng = random.Random(step)
    for _ in range(300):
        data = bytes(rng.choice(b"ab\r\n") for _ in range(rng.randint(0, 40)))
        # LF, CRLF and a lone CR each end a line; a last line may have no ending
        expected = len(re.findall(rb"\r\n|\r|\n", data)) + (data[-1:] not in (b"", b"\n", b"\r"))
        assert bytescan.line_count(np.frombuffer(data, np.uint8)) == expected, data


@pytest.mark.slow
def test_a_body_without_quoted_line_breaks_is_parsed_once(monkeypatch):
    calls = []
    read_body = arrow_reader._read_body

    def spy(*args, **kwargs):
        calls.append(kwargs["newlines_in_values"])
        return read_body(*args, **kwargs)

    monkeypatch.setattr(arrow_reader, "_read_body", spy)
    monkeypatch.setattr(arrow_reader, "_BLOCK", 1 << 16)
    arrow_reader.read_csv_fast(long_export([b'T1,"Acme, East",1']), name="x.csv", notes=[])
    assert calls == [False]
    calls.clear()
    raw = arrow_reader.read_csv_fast(long_export([b'T1,"Acme\nEast",1']), name="x.csv", notes=[])
    assert calls == [False, True] and raw.cells["Partner"].iloc[-1] == "Acme\nEast"


def test_the_fast_reader_reads_a_salesforce_report_with_its_footer():
    data = (
        b'"Opportunity ID","Stage","Amount"\n"006A","Closed Won","1,000"\n"006B","Closed Lost","50"\n'
        b'\n"Grand Totals (2 records)"\n\n"Confidential Information - Do Not Distribute"\n'
        b'"Copyright (c) 2000-2025 salesforce.com, inc. All rights reserved."\n'
    )
    fast, general = both(data)
    assert fast == general
    headers, rows, rejected, blank_rows = fast[:4]
    assert rows == [2, 3] and blank_rows == 2
    assert [r[:2] for r in rejected] == [(5, "footer"), (7, "footer"), (8, "footer")]


@pytest.mark.parametrize(
    "data",
    [
        b"Deal ID,Stage\nD1,Won\nD2,Lost,extra\n",  # more fields than the header
        b"Deal ID,Stage\rD1,Won\rD2,Lost\r",  # classic Mac line endings
        b"Deal ID,Stage\nD1,Caf\xe9\n",  # Windows-1252
        b'Deal ID,Stage\nD1,"Won\n',  # a quote left open at the end: pandas refuses it
        b'Deal ID,Stage\nD1,"Won',
        b'"Report\nof deals"\nDeal ID,Stage\nD1,Won\n',  # a title that spans two lines
    ],
)
def test_the_fast_reader_declines_what_it_would_read_differently(data):
    assert arrow_reader.read_csv_fast(data, name="x.csv", notes=[]) is None
    assert read_raw(data).headers == ["Deal ID", "Stage"]  # the general reader takes it


def test_layout_title_rows_sep_hint_and_footers():
    layout = find_layout("sep=;\nKestrel deals\nDeal ID;Stage\nD1;Won\n", name="x", encoding="utf-8")
    assert (layout.delimiter, layout.skip_lines, layout.header_row, layout.lines_before_data) == (";", 1, 1, 3)
    assert layout.raw_headers == ["Deal ID", "Stage"] and layout.records_are_lines
    assert footer_detail("Copyright (c) 2000-2025 salesforce.com") is not None
    assert footer_detail("Acme Total") is None and footer_detail("Total") is not None
    names, notes = clean_headers(["Amount", " amount ", None])
    assert names == ["Amount", "amount (2)", "(column C)"] and "appears more than once" in notes[0]


def test_cells_are_tidied_when_read_and_coded_before_tidying():

    column = pa.chunked_array([pa.array([" Acme ", "Beta", "", "Acme", "Gamma"])])
    cells = Cells({"Partner": column}, keep=np.array([True, True, True, True, False]))
    assert cells["Partner"].tolist()[:2] == ["Acme", "Beta"] and pd.isna(cells["Partner"].iloc[2])
    coded = cells.coded("Partner")
    # " Acme " and "Acme" are two raw values that tidy to one text: both codes read "Acme"
    assert coded.take(coded.values.to_numpy(object)).tolist()[:2] == ["Acme", "Beta"]
    assert coded.to_series().equals(cells["Partner"])
    assert cells.rows(np.array([3, 0]))["Partner"].tolist() == ["Acme", "Acme"]


def test_tidy_strips_what_pandas_strips():
    texts = ["\u00a0x\u2003", " y ", "\t", "", "z", None, "\u3000w"]
    got = tidy_text(__import__("pyarrow").array(texts)).to_pylist()
    want = pd.Series(texts, dtype=STR).str.strip().replace("", None).tolist()
    assert got == [None if pd.isna(w) else w for w in want]


def test_tidy_keeps_the_blocks_and_joining_them_reads_alike():
    # the reader's blocks stay as they are (joining them copies every byte), sliced ones too
    blocks = [pa.array([" Acme ", ""]), pa.array(["Beta", None, "  "]).slice(1), pa.array(["x  "])]
    tidied = tidy_text(pa.chunked_array(blocks))
    assert tidied.num_chunks == 3
    assert tidied.to_pylist() == [
        None if v is None or not v.strip() else v.strip() for v in pa.chunked_array(blocks).to_pylist()
    ]
    series = text_series(tidied)
    assert chunk_joined(series).to_pylist() == tidied.to_pylist()
    single = text_series(pa.chunked_array([pa.array(["a", "b"])]))
    # one block: its bytes are taken where they lie, not copied
    assert chunk_joined(single).buffers()[2].address == arrow_text(single).chunk(0).buffers()[2].address


def test_all_of_runs_the_pieces_in_the_pool_or_here():
    cells = Cells({})
    work = {"a": lambda: 1, "b": lambda: threading.current_thread().name}
    assert cells.all_of(work) == {"a": 1, "b": threading.current_thread().name}
    with ThreadPoolExecutor(2, thread_name_prefix="ahead") as pool, cells.working_ahead(pool):
        got = cells.all_of(work)
        assert got["a"] == 1 and got["b"].startswith("ahead")
        with pytest.raises(ZeroDivisionError):  # raised where the result is taken
            cells.all_of({"ok": lambda: 1, "bad": lambda: 1 / 0})


def test_coded_values_are_in_order_of_first_appearance():
    coded = Coded.of(pd.Series(["b", "a", "b", None, "c", "a"], dtype=STR))
    assert coded.values.tolist()[:2] == ["b", "a"] and coded.codes.tolist() == [0, 1, 0, 2, 3, 1]
    assert coded.counts().tolist() == [2, 2, 1, 1]


def test_repeated_ids_are_found_even_when_hashes_meet(monkeypatch):
    from channelkpi.ingest import cells

    ids = pd.Series([f"D{i}" for i in range(1000)], dtype=STR)
    assert not has_repeats(ids)
    assert has_repeats(pd.concat([ids, ids.iloc[[7]]], ignore_index=True))
    # every hash equal: the exact check decides
    monkeypatch.setattr(cells, "_text_hashes", lambda arr: np.zeros(len(arr), np.uint64))
    assert not has_repeats(ids)
    assert has_repeats(pd.Series(["a", "b", "a"], dtype=STR))


def test_hashes_of_texts_differ_by_every_byte():

    from channelkpi.ingest.cells import _text_hashes

    texts = ["", "a", "ab", "abcdefgh", "abcdefghi", "abcdefgh" + "x" * 9, "abcdefgh" + "x" * 8, "é", "Ã©"]
    hashes = _text_hashes(pa.array(texts))
    assert len(set(hashes.tolist())) == len(texts)
    # a text's hash does not depend on its neighbours (bytes past its end are not read)
    assert _text_hashes(pa.array(["abc", "zzzzzzzz"]))[0] == _text_hashes(pa.array(["abc", "qqqq"]))[0]


@pytest.mark.slow
def test_the_layout_from_a_small_head_is_the_layout_from_the_big_one():
    from channelkpi.ingest.arrow_reader import _SMALL_HEAD, _layout_from_small_head

    taken = 0
    for seed in range(30):
        small = quirky_csv(seed)
        lines = small.split(b"\n")
        # keep the title and header lines, repeat the body until the file passes the small head
        body = [line for line in lines[1:] if line] or [b""]
        data = small + b"\n".join(body * (_SMALL_HEAD // max(len(b"\n".join(body)), 1) + 2))
        layout = _layout_from_small_head(data, 3 if data[:3] == b"\xef\xbb\xbf" else 0, "x.csv")
        if layout is None:
            continue
        taken += 1
        start = 3 if data[:3] == b"\xef\xbb\xbf" else 0
        big = find_layout(data[start:].decode("utf-8", "replace")[:4_000_000], name="x.csv", encoding="utf-8")
        assert (layout.delimiter, layout.header_row, layout.raw_headers, layout.lines_before_data) == (
            big.delimiter,
            big.header_row,
            big.raw_headers,
            big.lines_before_data,
        ), seed
        if taken <= 8:  # reading the whole file both ways is slower: a few suffice
            fast, general = both(data)
            assert fast is None or fast == general, seed
    assert taken > 12


@pytest.mark.parametrize("keep", [None, slice(0, 5), np.array([True, False, True, True, True, False])])
@pytest.mark.slow
def test_a_coded_column_of_tidy_values_is_not_tidied_again_row_by_row(monkeypatch, keep):

    from channelkpi.ingest import cells as cells_module

    random.seed(7)
    for _ in range(200):
        texts = [random.choice(["Acme", "Beta", " Acme", "", None, "Ga  ma", "Café"]) for _ in range(6)]
        column = pa.chunked_array([pa.array(texts[:3], pa.string()), pa.array(texts[3:], pa.string())])
        expected = Cells({"P": column}, keep=keep)["P"]  # tidied without coding first
        cells = Cells({"P": column}, keep=keep)
        cells.coded("P")
        kept = (
            texts if keep is None else texts[keep] if isinstance(keep, slice) else [t for t, k in zip(texts, keep) if k]
        )
        clean = all(isinstance(t, str) and t and t == t.strip() for t in kept)
        tidy_array = cells_module._tidy_array
        rows = len(expected)

        def no_row_pass(arr, clean=clean, rows=rows, kept=kept, tidy_array=tidy_array):
            # only the distinct values may be looked at once coding proved them tidy
            assert not (clean and len(arr) == rows and len(set(kept)) < rows), "tidied row by row"
            return tidy_array(arr)

        monkeypatch.setattr(cells_module, "_tidy_array", no_row_pass)
        got = cells["P"]
        monkeypatch.setattr(cells_module, "_tidy_array", tidy_array)
        assert got.equals(expected) and got.dtype == STR
        assert cells.head("P", 2).equals(expected.iloc[:2])
