"""Intervals and tests on proportions: pure functions, no I/O."""

from __future__ import annotations

import math

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of ``successes / n``; None when n is 0."""
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # Exact ends at 0 and n (floating point would leave 1e-17 there).
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


def _normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """Two-sided p value of the pooled two-proportion z test; None if either n is 0."""
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if var == 0:
        return 1.0
    z = abs(x1 / n1 - x2 / n2) / math.sqrt(var)
    return min(1.0, 2 * _normal_sf(z))


def mcnemar_midp(b: int, c: int) -> float:
    """Two-sided mid-p value of McNemar's test on discordant counts b and c."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    # P(X <= k) - 0.5 P(X = k) for X ~ Binomial(n, 1/2), doubled.
    pmf = [math.comb(n, i) for i in range(k + 1)]
    total = 2.0**n
    cdf = sum(pmf) / total
    return min(1.0, 2 * (cdf - 0.5 * pmf[k] / total))
