"""Intervals and tests on proportions: pure functions, no I/O."""

from __future__ import annotations

import math
from typing import NamedTuple

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


# -- the binomial(n, 1/2) distribution without big numbers ----------------------------------
# math.comb(n, k) / 2**n overflows a float from n = 1,024; lgamma differences lose ~n * 1e-16
# in the log (1e-9 relative at n = 1e6). Loader's saddle-point form (the one R's dbinom
# and scipy's boost use) keeps ~1e-15 relative at any n, with O(1) work and memory.
_LN_2PI = math.log(2 * math.pi)
_S = (1 / 12, 1 / 360, 1 / 1260, 1 / 1680, 1 / 1188)


def _stirlerr(n: int) -> float:
    """log(n!) - log(sqrt(2 pi n) (n/e)^n): the error of Stirling's formula."""
    if n <= 15:
        # n! is exact here; fsum keeps the small difference of large terms accurate.
        return math.fsum((math.log(math.factorial(n)), -(n + 0.5) * math.log(n), n, -0.5 * _LN_2PI))
    s0, s1, s2, s3, s4 = _S
    nn = float(n) * n
    if n > 500:
        return (s0 - s1 / nn) / n
    if n > 80:
        return (s0 - (s1 - s2 / nn) / nn) / n
    if n > 35:
        return (s0 - (s1 - (s2 - s3 / nn) / nn) / nn) / n
    return (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / n


def _bd0(x: float, np_: float) -> float:
    """x log(x / np) + np - x, without cancellation when x is near np."""
    if abs(x - np_) < 0.1 * (x + np_):
        v = (x - np_) / (x + np_)
        s = (x - np_) * v
        ej = 2 * x * v
        v2 = v * v
        j = 1
        while True:
            ej *= v2
            s1 = s + ej / (2 * j + 1)
            if s1 == s:
                return s1
            s = s1
            j += 1
    return x * math.log(x / np_) + np_ - x


def binom_half_pmf(k: int, n: int) -> float:
    """P(X = k) for X ~ Binomial(n, 1/2), to ~1e-15 relative (0.0 once it underflows)."""
    if k < 0 or k > n:
        return 0.0
    if k == 0 or k == n:
        return math.ldexp(1.0, -n)
    half = n / 2
    lc = _stirlerr(n) - _stirlerr(k) - _stirlerr(n - k) - _bd0(k, half) - _bd0(n - k, half)
    lf = _LN_2PI + math.log(k) + math.log1p(-k / n)
    return math.exp(lc - 0.5 * lf)


_BLOCK = 2048  # terms per vectorised step: constant memory, ~10x faster than a loop


def _lower_tail_ratio(k: int, n: int) -> float:
    """P(X <= k) / P(X = k) for k < n/2: a sum of decreasing terms, stopped once the rest
    (bounded by a geometric series) cannot change the total."""
    total = term = 1.0
    i = k
    # Far from the centre a few terms do; a plain loop is cheapest there.
    for _ in range(64):
        if i <= 0:
            return total
        r = i / (n - i + 1)  # P(X = i - 1) / P(X = i); falls as i falls
        term *= r
        total += term
        i -= 1
        if term * r < 1e-17 * (1 - r) * total:
            return total
    import numpy as np  # only for long sums near the centre (b + c in the thousands)

    while i > 0:
        idx = np.arange(i, max(i - _BLOCK, 0), -1, dtype=np.float64)
        ratios = idx / (n - idx + 1)
        terms = term * np.cumprod(ratios)
        total += float(terms.sum())
        term, r = float(terms[-1]), float(ratios[-1])
        i -= len(idx)
        if term * r < 1e-17 * (1 - r) * total:
            break
    return total


def _centre_ratio(k: int, n: int) -> float:
    """P(k < X < n - k) / P(X = k): the 2d - 1 terms between the tails, d = n/2 - k."""
    total, term = 0.0, 1.0
    if n - 2 * k <= 64:
        for i in range(k + 1, n - k):
            term *= (n - i + 1) / i  # P(X = i) / P(X = i - 1)
            total += term
        return total
    import numpy as np

    for lo in range(k + 1, n - k, _BLOCK):
        idx = np.arange(lo, min(lo + _BLOCK, n - k), dtype=np.float64)
        terms = term * np.cumprod((n - idx + 1) / idx)
        total += float(terms.sum())
        term = float(terms[-1])
    return total


class McNemar(NamedTuple):
    """Two-sided p values of McNemar's test: mid-p and exact (conditional binomial)."""

    midp: float
    exact: float


def mcnemar(b: int, c: int) -> McNemar:
    """McNemar's two-sided mid-p and exact p values on the discordant counts b and c.

    Under the null the smaller of b, c is Binomial(b + c, 1/2) below its centre: exact is
    2 P(X <= k) and mid-p is 2 P(X <= k) - P(X = k), both capped at 1. Constant memory;
    at most ~4 sqrt(b + c) terms are summed (about 4,000 at b + c = 1e6).
    """
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got b={b}, c={c}")
    n = b + c
    k = min(b, c)
    if n == 0 or 2 * k == n:
        return McNemar(1.0, 1.0)
    pk = binom_half_pmf(k, n)
    d = n / 2 - k
    if d <= 0.5 * math.sqrt(n):
        # Near the centre the tail needs ~4 sqrt(n) terms but the centre only 2d - 1,
        # and 2 P(X <= k) = 1 - P(k < X < n - k) by symmetry; here that difference is
        # > 0.3, so nothing is lost to cancellation.
        centre = pk * _centre_ratio(k, n)
        exact = 1.0 - centre
        midp = exact - pk
    else:
        tail = _lower_tail_ratio(k, n)
        exact = 2 * pk * tail
        midp = pk * (2 * tail - 1)
    return McNemar(min(1.0, max(0.0, midp)), min(1.0, max(0.0, exact)))


def mcnemar_midp(b: int, c: int) -> float:
    """Two-sided mid-p value of McNemar's test on discordant counts b and c."""
    return mcnemar(b, c).midp


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact (binomial) p value of McNemar's test on discordant counts b and c."""
    return mcnemar(b, c).exact
