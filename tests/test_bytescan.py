"""The step-by-step byte scans find exactly what one whole-array NumPy expression finds,
including across the boundaries between steps."""

from __future__ import annotations

import numpy as np
import pytest

from channelkpi.ingest import bytescan
from channelkpi.ingest.bytescan import (
    STEP,
    line_count,
    positions_equal,
    positions_of_pairs,
    positions_outside,
    translated,
)


@pytest.fixture(params=[0, 1, STEP - 1, STEP, STEP + 1, 3 * STEP + 7])
def data(request):
    rng = np.random.default_rng(request.param)
    out = rng.choice(np.frombuffer(b"ab +\x01\xc3 ", np.uint8), size=request.param)
    for at in (STEP - 1, 2 * STEP - 1):  # a pair of spaces across a step's end
        if at + 1 < len(out):
            out[at : at + 2] = 32
    return out


def test_positions_equal(data):
    assert positions_equal(data, ord("+")).tolist() == np.flatnonzero(data == ord("+")).tolist()


def test_positions_of_pairs(data):
    spaces = data == 32
    expected = np.flatnonzero(spaces[:-1] & spaces[1:]) if len(data) > 1 else []
    assert positions_of_pairs(data, 32).tolist() == list(expected)
    if len(data) > STEP + 1:
        assert STEP - 1 in positions_of_pairs(data, 32)


def test_positions_outside(data):
    expected = np.flatnonzero((data < 0x20) | (data >= 0x80))
    assert positions_outside(data, 0x20, 0x80).tolist() == expected.tolist()


def test_line_count(data):
    # LF, CRLF and a lone CR each end a line; the last line may have no ending
    text = bytes(np.where(data == ord("a"), 13, np.where(data == ord("b"), 10, data)).astype(np.uint8))
    ends = text.count(b"\r\n") + text.replace(b"\r\n", b"").count(b"\r") + text.replace(b"\r\n", b"").count(b"\n")
    assert line_count(np.frombuffer(text, np.uint8)) == ends + (text[-1:] not in (b"", b"\n", b"\r"))


def test_translated(data):
    table = bytes(range(256)).replace(b"a", b"9")
    lut = np.frombuffer(table, np.uint8)
    assert translated(data, table).tolist() == lut[data].tolist()


def test_a_step_reuses_its_buffers(monkeypatch):
    # the masks are made once per scan, whatever the length: a scan of 8 steps allocates the
    # same as a scan of 1 (counted by the arrays np.empty makes)
    made = []
    real = np.empty
    monkeypatch.setattr(bytescan.np, "empty", lambda *a, **k: made.append(a) or real(*a, **k))
    positions_of_pairs(np.zeros(8 * STEP, np.uint8), 32)
    assert len(made) == 2
    line_count(np.full(8 * STEP, 13, np.uint8))
    assert len(made) == 2 + 3
