"""Kaplan–Meier: how long something lasts when some of it has not finished yet.

Time in stage is a survival question: a deal still sitting in a stage has lasted *at least* this
long, not exactly this long. Counting it as finished would make every stage look faster than it
is (and a growing pipeline faster still). The Kaplan–Meier estimator keeps such a visit in the
"at risk" count up to the day it was last seen, and never counts it as finished.

Why a small estimator here and not a library: the only package channelkpi needs for this is the
product-limit formula (a cumulative product over the distinct finishing times), about twenty lines
of numpy. lifelines would pull scipy, matplotlib, autograd and formulaic into every install of a
package whose core depends only on pandas, numpy, narwhals, Altair, openpyxl, ftfy and pyarrow;
scikit-survival and statsmodels are as heavy. The estimator is tested against values worked out
by hand (``tests/test_stagetime.py``), including ties and censoring at an event time.

Conventions (the textbook ones, as in lifelines and R's ``survival``): a visit censored at the same
time as a finish is still at risk at that time; a quantile is the first time at which the
estimated share still unfinished falls to or below ``1 - p`` (the median: 0.5), and is missing
when the curve never gets that low.

Examples
--------
>>> curve = kaplan_meier([1, 2, 2, 3, 5], [True, True, False, True, False])
>>> curve
   time  at_risk  finished  survival
0   1.0        5         1      0.80
1   2.0        4         1      0.60
2   3.0        2         1      0.30
>>> survival_quantile(curve, 0.5), survival_quantile(curve, 0.75)
(3.0, nan)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ChannelKPIError

__all__ = ["kaplan_meier", "survival_quantile", "sorted_curve", "curve_quantile"]

# cumulative products of fractions land a hair above an exact 0.5 or 0.25 (0.49999999999999994 vs
# 0.5000000000000001): a curve that reaches a quantile exactly must count as reaching it
_TOLERANCE = 1e-12


def kaplan_meier(durations, finished) -> pd.DataFrame:
    """The Kaplan–Meier (product-limit) curve of durations, some of them censored.

    Parameters
    ----------
    durations : array-like of float
        How long each item lasted, or had lasted when last seen (non-negative).
    finished : array-like of bool
        True where the duration ended with the event (the deal left the stage), False where it
        is censored (still there when last seen).

    Returns
    -------
    pandas.DataFrame
        One row per distinct finishing time, ascending: ``time``, ``at_risk`` (items lasting at
        least that long, censored ones included), ``finished`` (items finishing exactly then) and
        ``survival``, the estimated share still unfinished just after ``time``:
        the product of ``1 - finished / at_risk`` up to it.

    Raises
    ------
    ChannelKPIError
        For a missing or negative duration, or arrays of different lengths.

    Examples
    --------
    >>> kaplan_meier([4, 4, 6], [True, True, False])["survival"].tolist()
    [0.3333333333333333]
    """
    d = np.asarray(durations, dtype=float)
    e = np.asarray(finished, dtype=bool)
    if d.shape != e.shape or d.ndim != 1:
        raise ChannelKPIError(
            f"{d.size} durations and {e.size} finished flags", fix="pass one finished flag per duration"
        )
    if np.isnan(d).any() or (d < 0).any():
        bad = d[np.isnan(d) | (d < 0)][0]
        raise ChannelKPIError(f"a duration of {bad} cannot be measured", fix="pass durations of 0 or more")
    order = np.argsort(d, kind="stable")
    times, events, at_risk, survival = _curve(d[order], e[order])
    return pd.DataFrame(
        {"time": times, "at_risk": at_risk.astype(np.int64), "finished": events.astype(np.int64), "survival": survival}
    )


def _curve(d: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The curve's times, finishes, at-risk counts and survival for durations sorted ascending:
    the distinct finishing times read off the sorted run, no second sort."""
    done = d[e]
    if done.size:
        starts = np.flatnonzero(np.r_[True, done[1:] != done[:-1]])
        times = done[starts]
        events = np.diff(np.r_[starts, done.size])
    else:
        times, events = done, np.zeros(0, dtype=np.int64)
    at_risk = d.size - np.searchsorted(d, times, side="left")
    survival = np.cumprod(1.0 - events / at_risk)
    return times, events, at_risk, survival


def sorted_curve(durations: np.ndarray, finished: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`kaplan_meier`'s ``time``, ``at_risk`` and ``survival`` as arrays, for durations
    already sorted ascending (checked neither for order nor for missing values: the caller's).

    >>> times, at_risk, survival = sorted_curve(np.array([1.0, 2, 2, 3, 5]), np.array([True, True, False, True, False]))
    >>> times.tolist(), at_risk.tolist(), survival.round(2).tolist()
    ([1.0, 2.0, 3.0], [5, 4, 2], [0.8, 0.6, 0.3])
    """
    times, _events, at_risk, survival = _curve(np.asarray(durations, dtype=float), np.asarray(finished, dtype=bool))
    return times, at_risk, survival


def curve_quantile(times: np.ndarray, survival: np.ndarray, p: float) -> float:
    """:func:`survival_quantile` of a curve given as arrays (:func:`sorted_curve`).

    >>> curve_quantile(np.array([2.0, 4.0]), np.array([0.5, 0.0]), 0.5)
    2.0
    """
    return _quantile(np.asarray(times, dtype=float), np.asarray(survival, dtype=float), p)


def survival_quantile(curve: pd.DataFrame, p: float) -> float:
    """The time by which a share ``p`` has finished: the first ``time`` with ``survival <= 1 - p``.

    Parameters
    ----------
    curve : pandas.DataFrame
        A :func:`kaplan_meier` result.
    p : float
        The share finished, between 0 and 1 (0.5: the median; 0.75: the 75th percentile).

    Returns
    -------
    float
        The time, or NaN when the curve never falls that low (too many still unfinished).

    Examples
    --------
    >>> survival_quantile(kaplan_meier([2, 4], [True, True]), 0.5)  # S(2) = 0.5 exactly
    2.0
    """
    return _quantile(curve["time"].to_numpy(float), curve["survival"].to_numpy(float), p)


def _quantile(times: np.ndarray, survival: np.ndarray, p: float) -> float:
    if not 0 < p < 1:
        raise ChannelKPIError(f"p={p!r} is not a share", fix="pass a number between 0 and 1, e.g. 0.5")
    reached = survival <= (1.0 - p) + _TOLERANCE
    if not reached.any():
        return float("nan")
    return float(times[int(np.argmax(reached))])
