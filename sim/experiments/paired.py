"""Paired comparisons under common random numbers: intervals, effect sizes, multiplicity.

Pure functions of two arrays of the same length, replicate ``r`` of each run with the
same seed. The interval of the mean difference is Student's t, or, when the
differences are heavy-tailed, a bias-corrected and accelerated bootstrap (seeded);
:func:`paired_difference` says which. :func:`adjust` widens a family of intervals
for multiplicity (Bonferroni, or the step-down levels of Holm).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

#: Above these, differences count as heavy-tailed and get a bootstrap interval.
SKEW_LIMIT, EXCESS_KURTOSIS_LIMIT = 1.0, 3.0


@dataclass(frozen=True, slots=True)
class Difference:
    """The paired comparison of one output between a scenario and the reference."""

    n: int
    reference_mean: float
    mean: float
    diff: float
    diff_lo: float
    diff_hi: float
    interval: str
    """``t`` or ``bootstrap``."""
    level: float
    p_value: float
    relative_change: float
    cohens_d: float
    """The difference over the pooled standard deviation of the two scenarios."""
    pairing_r: float
    """The correlation of the two scenarios' outputs across replicates."""
    pairing_gain: float
    """How much narrower the paired t-interval is than the unpaired (Welch) one."""

    def as_dict(self) -> dict:
        """The fields as a plain dict."""
        return asdict(self)

    @property
    def half_width(self) -> float:
        """Half the interval's width."""
        return (self.diff_hi - self.diff_lo) / 2.0


def heavy_tailed(d: np.ndarray) -> bool:
    """Whether differences are skewed or heavy-tailed enough to distrust the t-interval."""
    if len(d) < 10 or np.ptp(d) == 0:
        return False
    return bool(abs(stats.skew(d)) > SKEW_LIMIT or stats.kurtosis(d) > EXCESS_KURTOSIS_LIMIT)


def t_interval(d: np.ndarray, level: float) -> tuple[float, float]:
    """Student's t-interval of the mean of ``d``."""
    n = len(d)
    mean = float(d.mean())
    if n < 2:
        return -math.inf, math.inf
    half = stats.t.ppf(0.5 + level / 2, n - 1) * d.std(ddof=1) / math.sqrt(n)
    return mean - half, mean + half


def bootstrap_interval(d: np.ndarray, level: float, seed: int,
                       resamples: int = 4999) -> tuple[float, float]:
    """A BCa bootstrap interval of the mean of ``d`` (seeded, so reproducible)."""
    if np.ptp(d) == 0:
        return float(d[0]), float(d[0])
    result = stats.bootstrap((d,), np.mean, confidence_level=level, n_resamples=resamples,
                             method="BCa", random_state=np.random.default_rng(seed))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def paired_difference(reference: np.ndarray, other: np.ndarray, level: float = 0.95,
                      seed: int = 0, method: str = "auto") -> Difference:
    """Compare ``other`` with ``reference`` replicate by replicate.

    Parameters
    ----------
    reference, other : array
        One value per replicate, paired by position.
    level : float
        Confidence level of the interval.
    seed : int
        The bootstrap's seed.
    method : {"auto", "t", "bootstrap"}
        ``auto``: bootstrap when the differences are heavy-tailed, else t.
    """
    a, b = np.asarray(reference, dtype=float), np.asarray(other, dtype=float)
    if a.shape != b.shape:
        raise ValueError("reference and other need one value per replicate each")
    d = b - a
    n = len(d)
    use = method if method != "auto" else ("bootstrap" if heavy_tailed(d) else "t")
    lo, hi = t_interval(d, level) if use == "t" else bootstrap_interval(d, level, seed)
    sd_d = d.std(ddof=1) if n > 1 else math.nan
    if n > 1 and sd_d > 0:
        p = float(2 * stats.t.sf(abs(d.mean()) / (sd_d / math.sqrt(n)), n - 1))
    else:
        p = 1.0 if d.mean() == 0 else 0.0
    pooled = math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2) if n > 1 else math.nan
    unpaired = (stats.t.ppf(0.5 + level / 2, n - 1)
                * math.sqrt(a.var(ddof=1) / n + b.var(ddof=1) / n)) if n > 1 else math.nan
    paired = (t_interval(d, level)[1] - t_interval(d, level)[0]) / 2 if n > 1 else math.nan
    r = float(np.corrcoef(a, b)[0, 1]) if n > 1 and a.std() > 0 and b.std() > 0 else math.nan
    ref = float(a.mean())
    return Difference(
        n=n, reference_mean=ref, mean=float(b.mean()), diff=float(d.mean()), diff_lo=lo,
        diff_hi=hi, interval=use, level=level, p_value=p,
        relative_change=float(d.mean()) / abs(ref) if ref else math.nan,
        cohens_d=float(d.mean()) / pooled if pooled else math.nan, pairing_r=r,
        pairing_gain=1 - paired / unpaired if unpaired else math.nan)


def adjusted_levels(p_values: list[float], level: float, how: str) -> list[float]:
    """The confidence level each of a family of intervals should use.

    ``none``: ``level`` for all; ``bonferroni``: ``1 - alpha / m``; ``holm``: the level
    of Holm's step-down test at each interval's rank by p-value, ``1 - alpha / (m - k)``
    for the k-th smallest (k from 0), so the intervals agree with Holm's decisions.
    """
    m, alpha = len(p_values), 1 - level
    if how == "none" or m <= 1:
        return [level] * m
    if how == "bonferroni":
        return [1 - alpha / m] * m
    if how == "holm":
        order = np.argsort(p_values, kind="stable")
        levels = [level] * m
        for k, i in enumerate(order):
            levels[i] = 1 - alpha / (m - k)
        return levels
    raise ValueError(f"unknown adjustment {how!r}: none, holm or bonferroni")


def converged(diff: Difference, precision: float) -> bool:
    """Whether an interval is narrow enough to stop adding replicates.

    Its half-width is at most ``precision`` × |difference|, or the difference is
    confidently zero: the interval holds 0 and its half-width is at most
    ``precision`` × |the reference's mean|.
    """
    if not np.isfinite(diff.half_width):
        return False
    if diff.half_width <= precision * abs(diff.diff):
        return True
    return diff.diff_lo <= 0 <= diff.diff_hi and diff.half_width <= precision * abs(
        diff.reference_mean)


def format_difference(diff: float, lo: float, hi: float) -> str:
    """The difference and its interval as text, e.g. ``+1.7 [+0.7, +2.7]``.

    Rounded to two significant figures of the interval's half-width, so the digits
    shown are the digits that are known.
    """
    half = (hi - lo) / 2
    digits = 1 - math.floor(math.log10(half)) if np.isfinite(half) and half > 0 else 3
    digits = max(0, digits)
    return f"{diff:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]"
