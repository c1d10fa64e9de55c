"""The pipeline as recorded: each deal's amount, stage, partner and owner as of each period end.

Without history, a past period end counts each deal open then at its *current* amount and
stage. With a :class:`~channelkpi.history.History`, the open-at-*t* rule of stage 1 is applied to
the deal's open states instead of to the deal: each open state is one row whose ``created`` is
the day the state began and whose ``closed`` is the day it ended. The rule "created on or
before *t*, not closed by *t*" then picks, at every period end, the one state valid at the end
of that day -- the deal as it was -- and the engines need nothing new.

Examples
--------
>>> import pandas as pd
>>> from channelkpi.history import History, make_intervals
>>> from channelkpi.schema import validate_deals
>>> intervals = make_intervals(pd.DataFrame({
...     "deal_id": ["D1", "D1"], "valid_from": pd.to_datetime(["2025-01-10", "2025-02-15"]),
...     "status": ["open", "open"], "amount": [100.0, 40.0], "partner": ["Acme", "Birch"],
...     "created": pd.to_datetime(["2025-01-10", "2025-01-10"])}))
>>> deals = validate_deals(pd.DataFrame({"deal_id": ["D1"], "status": ["open"], "amount": [40.0],
...                                      "partner": ["Birch"], "created": ["2025-01-10"]}))
>>> history = History(intervals=intervals, deals=deals, ledger=pd.DataFrame(), source="example",
...                   known=frozenset({"amount", "partner"}), stages=None, as_of=pd.Timestamp("2025-03-31"))
>>> open_states(history)[["deal_id", "partner", "amount", "created", "closed"]]
  deal_id partner  amount    created     closed
0      D1    Acme   100.0 2025-01-10 2025-02-15
1      D1   Birch    40.0 2025-02-15        NaT
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..history import History
from ..schema import DTYPES

__all__ = ["STOCK_COLUMNS", "last_change", "open_states", "recorded_note"]

#: The stage-1 columns of the open-at-period-end measures (what a history replaces).
STOCK_COLUMNS = (
    "open_count",
    "open_start_count",
    "open_cents",
    "open_start_cents",
    "open_wcents",
    "open_start_wcents",
    "next_expected_count",
    "next_expected_cents",
)

# the fields a state carries; the others (name, account, department, channel, kept columns ...)
# are the deal's
_STATE_FIELDS = ("stage", "amount", "currency", "expected_close", "partner", "owner", "probability")


def recorded_note(history: bool) -> str:
    """How past period ends were valued, in words (``explain()`` prints it)."""
    if history:
        return "each deal's amount, stage, partner and owner as recorded at each period end (history)"
    return "each deal's current amount and stage (no history given)"


def last_change(history: History) -> pd.Timestamp | None:
    """The last day the history records anything: a state beginning, a deal created or closed."""
    iv = history.intervals
    days = [iv["valid_from"].max(), iv["created"].max(), iv["closed"].max()]
    days = [d for d in days if not pd.isna(d)]
    return max(days).normalize() if days else None


def open_states(history: History) -> pd.DataFrame:
    """The open states of every deal as rows of a deals table (see the module docstring).

    Parameters
    ----------
    history : History

    Returns
    -------
    pandas.DataFrame
        The canonical columns and the deals' other columns; ``deal_id`` repeats where a deal
        had several open states (the rows of one deal never overlap in time); ``status`` is
        ``open`` for the state still valid and ``lost`` for an ended one (only its dates
        matter: these rows answer open-at-*t* questions, never outcome ones).
    """
    iv = history.intervals
    states = iv[(iv["status"] == "open").to_numpy() & ~iv["removed"].to_numpy()]
    began = states["valid_from"].dt.normalize()
    ended = states["valid_to"].dt.normalize()
    # a state that began and ended on one day is valid at no day's end
    states = states[(ended.isna() | (ended > began)).to_numpy()]
    began, ended = began[states.index], ended[states.index]
    deals = history.deals.drop(
        columns=[c for c in (*_STATE_FIELDS, "status", "created", "closed") if c in history.deals]
    )
    out = pd.DataFrame(
        {
            "deal_id": states["deal_id"].to_numpy(),
            **{c: states[c].to_numpy() for c in _STATE_FIELDS},
            "status": np.where(ended.isna(), "open", "lost"),
            "created": began.to_numpy(),
            "closed": ended.to_numpy(),
        }
    ).merge(deals, on="deal_id", how="left", validate="many_to_one")
    for col, dtype in DTYPES.items():
        if col in out:
            out[col] = out[col].astype(dtype)
    return out[[*(c for c in DTYPES if c in out), *(c for c in out if c not in DTYPES)]]
