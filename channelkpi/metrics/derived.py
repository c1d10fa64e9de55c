"""Tables derived from a :class:`~channelkpi.history.History` once and reused by every analysis
of it (the funnel, time in stage and the movement of a dashboard whose controls change).

A History is immutable (a frozen dataclass whose tables are not changed after it is built), so
what is derived from it stays true for as long as it lives: the derived tables are kept per
History object, weakly, and go when it goes. Nothing is shared between two histories, even
equal ones, and nothing outlives the History it was derived from. The arrays kept are made
read-only, so a caller cannot change what the next one reads.

Examples
--------
>>> import pandas as pd
>>> from channelkpi.history import History, make_intervals
>>> history = History(intervals=make_intervals(pd.DataFrame({"deal_id": ["A"], "valid_from": [pd.Timestamp("2025-01-01")]})),
...                   deals=pd.DataFrame(), ledger=pd.DataFrame(), source="example", known=frozenset(),
...                   stages=None, as_of=pd.Timestamp("2025-02-01"))
>>> calls = []
>>> derived(history, "n", lambda: calls.append(1) or len(history.intervals))
1
>>> derived(history, "n", lambda: calls.append(1) or len(history.intervals)), len(calls)
(1, 1)
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import TypeVar

import numpy as np

__all__ = ["derived"]

_T = TypeVar("_T")

# History -> {key: value}; weak, so a History's derived tables go with it
_STORE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _frozen(value):
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, tuple):
        for item in value:
            _frozen(item)
    return value


def derived(history, key: Hashable, make: Callable[[], _T]) -> _T:
    """``make()`` the first time ``key`` is asked of ``history``; the same value after that.

    ``make`` must depend on ``history`` and ``key`` only. Numpy arrays returned (alone or in a
    tuple) are made read-only; a DataFrame is the caller's to leave unchanged (every user here
    selects from it, which copies). A mapping may be a cache its caller fills and keeps small
    (the movement's last few selections).
    """
    store = _STORE.get(history)
    if store is None:
        store = {}
        _STORE[history] = store
    if key not in store:
        store[key] = _frozen(make())
    return store[key]
