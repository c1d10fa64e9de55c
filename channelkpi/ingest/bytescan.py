"""Scans over the bytes of a text column, a step at a time.

A whole-column NumPy expression (``data == 32``) makes a temporary as large as the column's
text -- tens of megabytes for a million names -- which the operating system hands over page by
page on first use, at a cost that can exceed the comparison itself. These scans walk the bytes
in steps of :data:`STEP` and write each step's masks into the same small buffers, so a scan
touches no new memory beyond its result.

Examples
--------
>>> data = np.frombuffer(b"a  b+c\\x01", np.uint8)
>>> positions_equal(data, ord("+")).tolist()
[4]
>>> positions_of_pairs(data, ord(" ")).tolist()
[1]
>>> positions_outside(data, 0x20, 0x7F).tolist()
[6]
>>> bytes(translated(data, bytes(range(256)).replace(b"a", b"z")))
b'z  b+c\\x01'
>>> line_count(np.frombuffer(b"a\\r\\nb\\rc\\nd", np.uint8))
4
"""

from __future__ import annotations

import numpy as np

__all__ = ["STEP", "line_count", "positions_equal", "positions_of_pairs", "positions_outside", "translated"]

#: bytes per step: small enough that its buffers are reused, large enough that the Python loop
#: costs nothing next to the work
STEP = 1 << 18


def _steps(n: int):
    for at in range(0, n, STEP):
        yield at, min(at + STEP, n)


def positions_equal(data: np.ndarray, value: int) -> np.ndarray:
    """Positions of the bytes equal to ``value``."""
    mask = np.empty(min(STEP, len(data)), bool)
    found = []
    for at, end in _steps(len(data)):
        m = np.equal(data[at:end], np.uint8(value), out=mask[: end - at])
        if m.any():
            found.append(np.flatnonzero(m) + at)
    return np.concatenate(found) if found else np.zeros(0, np.intp)


def positions_of_pairs(data: np.ndarray, value: int) -> np.ndarray:
    """Positions ``i`` where bytes ``i`` and ``i + 1`` both equal ``value``."""
    n = len(data)
    same = np.empty(min(STEP, n) + 1, bool)
    pair = np.empty(min(STEP, n), bool)
    found = []
    for at, end in _steps(n):
        stop = min(end + 1, n)  # one byte more: a pair across the step's end is seen
        s = np.equal(data[at:stop], np.uint8(value), out=same[: stop - at])
        k = len(s) - 1
        if k <= 0:
            continue
        p = np.logical_and(s[:k], s[1:], out=pair[:k])
        if p.any():
            found.append(np.flatnonzero(p) + at)
    return np.concatenate(found) if found else np.zeros(0, np.intp)


def positions_outside(data: np.ndarray, low: int, high: int) -> np.ndarray:
    """Positions of the bytes below ``low`` or from ``high`` on."""
    shifted = np.empty(min(STEP, len(data)), np.uint8)
    mask = np.empty(len(shifted), bool)
    found = []
    for at, end in _steps(len(data)):
        # one subtraction puts every byte outside [low, high) at or above high - low
        d = np.subtract(data[at:end], np.uint8(low), out=shifted[: end - at])
        m = np.greater_equal(d, np.uint8(high - low), out=mask[: end - at])
        if m.any():
            found.append(np.flatnonzero(m) + at)
    return np.concatenate(found) if found else np.zeros(0, np.intp)


def translated(data: np.ndarray, table: bytes) -> np.ndarray:
    """``data`` with each byte replaced by its entry in the 256-byte ``table`` (a new array)."""
    out = np.empty(len(data), np.uint8)
    for at, end in _steps(len(data)):
        # bytes.translate is a table look-up per byte in C: faster than any NumPy expression
        out[at:end] = np.frombuffer(data[at:end].tobytes().translate(table), np.uint8)
    return out


def line_count(data: np.ndarray) -> int:
    """Lines as Arrow's CSV reader counts them: ended by LF, CRLF or a lone CR, the last one
    maybe unended."""
    n = len(data)
    lf = np.empty(min(STEP, n) + 1, bool)
    cr = np.empty(min(STEP, n), bool)
    lone = np.empty(len(cr), bool)
    lines = 0
    for at, end in _steps(n):
        stop = min(end + 1, n)  # one byte more: a CRLF across the step's end is seen
        k = end - at
        f = np.equal(data[at:stop], np.uint8(10), out=lf[: stop - at])
        lines += int(np.count_nonzero(f[:k]))
        c = np.equal(data[at:end], np.uint8(13), out=cr[:k])
        if c.any():
            # a CR ends a line of its own unless an LF follows it (True > False: CR, no LF)
            if stop > end:
                lines += int(np.count_nonzero(np.greater(c, f[1:], out=lone[:k])))
            else:  # the last step: its last CR has nothing after it
                lines += int(np.count_nonzero(np.greater(c[:-1], f[1:k], out=lone[: k - 1]))) + int(c[-1])
    return lines + (n > 0 and int(data[-1]) not in (10, 13))
