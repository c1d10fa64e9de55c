"""A read file's cells are freed as soon as their reader lets go of them, and released work is
computed again when asked for: a million-row file's parses never outlive their use."""

from __future__ import annotations

import gc
import weakref
from concurrent.futures import ThreadPoolExecutor

import pytest

from channelkpi.ingest.reader import read_raw

CSV = b"Id,Stage,Close Date\n1, Won ,2024-03-31\n2,Lost,2024-04-30\n3, Won ,2024-03-31\n"


@pytest.fixture
def no_collector():
    """The garbage collector off: what is freed here is freed by reference counting alone."""
    gc.collect()
    gc.disable()
    yield
    gc.enable()


@pytest.mark.slow
def test_cells_worked_ahead_are_freed_without_the_collector(no_collector):
    raw = read_raw(CSV)
    with ThreadPoolExecutor(1) as pool, raw.cells.working_ahead(pool):
        raw.cells.start_coded("Stage")
        raw.cells.start_tidy("Close Date")
    coded = raw.cells.coded("Stage")
    cells = weakref.ref(raw.cells)
    del raw
    assert cells() is None
    # a coded column outliving its cells still gives its rows, from its distinct values
    assert coded.to_series().tolist() == ["Won", "Lost", "Won"]


def test_released_work_is_let_go_and_computed_again():
    raw = read_raw(CSV)
    coded = raw.cells.coded("Stage")
    tidy = raw.cells["Close Date"]
    alive = weakref.ref(coded)
    raw.cells.release("Stage")
    assert raw.cells["Close Date"] is tidy  # other columns keep their work
    del coded
    assert alive() is None
    again = raw.cells.coded("Stage")
    assert again.values.tolist() == ["Won", "Lost"] and again.codes.tolist() == [0, 1, 0]
    raw.cells.release()
    assert raw.cells["Close Date"] is not tidy
    assert raw.cells["Close Date"].tolist() == tidy.tolist()
