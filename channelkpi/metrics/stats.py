"""The statistics behind the KPIs: Wilson intervals, empirical-Bayes shrinkage, percentile
ranks, and the exact split of a product's change into its factors.

Examples
--------
>>> low, high = wilson_interval(np.array([12]), np.array([20]))
>>> round(float(low[0]), 4), round(float(high[0]), 4)
(0.3866, 0.7812)
>>> prior = beta_prior(np.array([40, 45, 50, 38, 2]), np.array([100, 100, 100, 50, 2]))
>>> shrink(np.array([2, 38]), np.array([2, 50]), prior).round(3).tolist()
[0.54, 0.68]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Z95", "wilson_interval", "BetaPrior", "beta_prior", "shrink", "mid_percentile", "log_mean_split"]

#: The two-sided 95 % normal quantile.
Z95 = 1.959963984540054


def wilson_interval(successes, trials, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion; NaN where ``trials`` is 0.

    Unlike the normal approximation it stays inside [0, 1] and behaves at 0/n and n/n.
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        center = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        # the interval always contains the observed rate; min/max only remove rounding at 0/n, n/n
        low = np.where(n > 0, np.clip(np.minimum(center - half, p), 0, 1), np.nan)
        high = np.where(n > 0, np.clip(np.maximum(center + half, p), 0, 1), np.nan)
    return low, high


@dataclass(frozen=True)
class BetaPrior:
    """A Beta(alpha, beta) prior for win rates; ``mean`` and ``strength`` (= alpha + beta)."""

    alpha: float
    beta: float

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def strength(self) -> float:
        return self.alpha + self.beta

    def __str__(self) -> str:
        return f"Beta({self.alpha:.2f}, {self.beta:.2f}) (mean {self.mean:.3f}, worth {self.strength:.1f} deals)"


_MAX_STRENGTH = 1e4


def beta_prior(won, n) -> BetaPrior:
    """Fit a Beta prior to peers' win rates by the method of moments (empirical Bayes).

    The spread of the observed rates is split into binomial noise (which small peers have a
    lot of) and real differences between peers; the prior is as strong as the real differences
    are small. Peers without closed deals are ignored. With no real spread the prior is very
    strong (every peer is pulled to the pooled rate); with fewer than two peers it is flat.
    """
    won = np.asarray(won, dtype=float)
    n = np.asarray(n, dtype=float)
    keep = n > 0
    won, n = won[keep], n[keep]
    if n.sum() == 0:
        return BetaPrior(1.0, 1.0)
    m = won.sum() / n.sum()
    if len(n) < 2 or m <= 0 or m >= 1:
        strength = 2.0
    else:
        p = won / n
        observed = np.sum(n * (p - m) ** 2) / n.sum()
        noise = m * (1 - m) * len(n) / n.sum()
        between = observed - noise
        strength = _MAX_STRENGTH if between <= 0 else min(_MAX_STRENGTH, max(1.0, m * (1 - m) / between - 1))
    m = min(max(m, 1e-9), 1 - 1e-9)
    return BetaPrior(m * strength, (1 - m) * strength)


def shrink(won, n, prior: BetaPrior) -> np.ndarray:
    """Posterior mean win rate ``(won + alpha) / (n + alpha + beta)``."""
    won = np.asarray(won, dtype=float)
    n = np.asarray(n, dtype=float)
    return (won + prior.alpha) / (n + prior.alpha + prior.beta)


def mid_percentile(values: pd.Series, groups: pd.Series | None = None) -> pd.Series:
    """Percentile rank in (0, 1): ``(rank - 0.5) / count`` with ties averaged, within ``groups``.

    Missing values rank lowest (a partner with no average deal size has none to be proud of);
    a row without a group has none (NaN).

    Examples
    --------
    >>> mid_percentile(pd.Series([10.0, None, 30.0, 30.0])).tolist()
    [0.375, 0.125, 0.75, 0.75]
    >>> mid_percentile(pd.Series([1.0, 2.0, 5.0]), pd.Series([7, 7, 8])).tolist()
    [0.25, 0.75, 0.5]
    """
    filled = values.astype(float).fillna(-np.inf).to_numpy()
    size = len(filled)
    if groups is None:
        codes = np.zeros(size, dtype=np.int64)
    else:
        codes = pd.factorize(groups)[0].astype(np.int64)  # -1: no group
    # sorted by group, then value: a run of equal values in a group shares the mean of its ranks
    order = np.lexsort((filled, codes))
    g, v = codes[order], filled[order]
    at = np.arange(size)
    new_group = np.ones(size, dtype=bool)
    new_group[1:] = g[1:] != g[:-1]
    new_run = new_group.copy()
    new_run[1:] |= v[1:] != v[:-1]
    group_start = np.maximum.accumulate(np.where(new_group, at, 0)) if size else at
    run_start = at[new_run]
    run_end = np.append(run_start[1:], size)  # exclusive
    run = np.cumsum(new_run) - 1
    rank = ((run_start + run_end - 1) / 2 + 1)[run] - group_start
    group_size = np.diff(np.append(at[new_group], size))[np.cumsum(new_group) - 1]
    out = np.empty(size)
    out[order] = np.where(g >= 0, (rank - 0.5) / group_size, np.nan)
    return pd.Series(out, index=values.index)


def _log_mean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (a - b) / (np.log(a) - np.log(b))
    return np.where(np.isclose(a, b, rtol=1e-12, atol=0), a, out)


def log_mean_split(
    new: np.ndarray, old: np.ndarray, factors_new: list, factors_old: list, signs: list[int]
) -> list[np.ndarray]:
    """Split ``new - old`` of a product of factors into one exact part per factor (LMDI).

    ``value = prod(factor ** sign)``; part_i = L(new, old) * sign_i * ln(f_i,new / f_i,old) where
    L is the logarithmic mean. The parts add up to ``new - old`` exactly; they are NaN where a
    value or factor is zero or missing (a log split does not exist there).
    """
    new = np.asarray(new, dtype=float)
    old = np.asarray(old, dtype=float)
    weight = _log_mean(new, old)
    parts = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for fn, fo, s in zip(factors_new, factors_old, signs):
            fn = np.asarray(fn, dtype=float)
            fo = np.asarray(fo, dtype=float)
            part = weight * s * np.log(fn / fo)
            ok = (new > 0) & (old > 0) & (fn > 0) & (fo > 0)
            parts.append(np.where(ok, part, np.nan))
    return parts
