"""Intervals and tests on proportions: pure functions, no I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass
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


# -- intervals for a change ------------------------------------------------------------------
# Both papers' intervals are closed forms or one-dimensional root searches: plain math, no
# scipy at run time (scipy and statsmodels are only the tests' references).


class Interval(NamedTuple):
    """A 95% interval for a difference of proportions (fractions) and the method's name."""

    low: float
    high: float
    method: str


def newcombe_unpaired(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> Interval | None:
    """Newcombe's hybrid score interval for ``x1/n1 - x2/n2`` (independent samples).

    Method 10 of Newcombe (1998), "Interval estimation for the difference between
    independent proportions": the Wilson intervals of the two proportions combined by
    "square and add". None when either n is 0.
    """
    w1, w2 = wilson(x1, n1, z), wilson(x2, n2, z)
    if w1 is None or w2 is None:
        return None
    p1, p2 = x1 / n1, x2 / n2
    (l1, u1), (l2, u2) = w1, w2
    d = p1 - p2
    low = d - math.hypot(p1 - l1, u2 - p2)
    high = d + math.hypot(u1 - p1, p2 - l2)
    return Interval(max(-1.0, low), min(1.0, high), "newcombe-hybrid-score")


def _check_table(*counts: int) -> None:
    if any(x < 0 for x in counts):
        raise ValueError(f"table counts must be >= 0, got {counts}")


def newcombe_paired(a: int, b: int, c: int, d: int, z: float = Z95) -> Interval | None:
    """Newcombe's hybrid score interval for a paired difference, ``(c - b) / n``.

    Method 10 of Newcombe (1998), "Improved confidence intervals for the difference
    between binomial proportions based on paired data". The pairs are people: ``a`` in the
    tier both times, ``b`` at baseline only, ``c`` now only, ``d`` neither; the difference
    is the current rate minus the baseline rate. The Wilson intervals of the two marginal
    rates are combined with the correlation correction phi (Newcombe's truncated form).
    None when there are no pairs.
    """
    _check_table(a, b, c, d)
    n = a + b + c + d
    if n == 0:
        return None
    x1, x2 = a + c, a + b  # now, at baseline
    p1, p2 = x1 / n, x2 / n
    l1, u1 = wilson(x1, n, z)  # type: ignore[misc]
    l2, u2 = wilson(x2, n, z)  # type: ignore[misc]
    # phi: the correlation of the pair, with Newcombe's correction toward zero (his C).
    prod = (a + c) * (b + d) * (a + b) * (c + d)
    cross = a * d - b * c
    if cross > n / 2:
        cross -= n / 2
    elif cross >= 0:
        cross = 0
    phi = cross / math.sqrt(prod) if prod > 0 else 0.0
    dl, du = p1 - l1, u1 - p1
    el, eu = p2 - l2, u2 - p2
    low = (p1 - p2) - math.sqrt(max(0.0, dl * dl - 2 * phi * dl * eu + eu * eu))
    high = (p1 - p2) + math.sqrt(max(0.0, el * el - 2 * phi * el * du + du * du))
    return Interval(max(-1.0, low), min(1.0, high), "newcombe-paired-hybrid-score")


def _tango_statistic(x: int, y: int, n: int, delta: float) -> float:
    """Tango's score statistic for H0: (x - y) / n = delta (x, y the discordant counts)."""
    # The constrained maximum likelihood estimate of P(y-cell) under the null (Tango 1998,
    # the positive root of a quadratic).
    qa = 2 * n
    qb = -x - y + (2 * n - x + y) * delta
    qc = -y * delta * (1 - delta)
    q = (math.sqrt(max(0.0, qb * qb - 4 * qa * qc)) - qb) / (2 * qa)
    var = n * (2 * q + delta * (1 - delta))
    num = x - y - n * delta
    if var <= 0:
        return 0.0 if num == 0 else math.copysign(math.inf, num)
    return num / math.sqrt(var)


def tango_paired(a: int, b: int, c: int, d: int, z: float = Z95) -> Interval | None:
    """Tango's (1998) score interval for a paired difference, ``(c - b) / n``.

    The set of differences delta that the score test does not reject, |T(delta)| <= z;
    T falls as delta rises, so each end is one bisection. At delta = 0 the statistic is
    McNemar's (c - b) / sqrt(b + c), so the interval excludes 0 exactly when McNemar's
    asymptotic test rejects. Counts as in :func:`newcombe_paired`; None without pairs.
    """
    _check_table(a, b, c, d)
    n = a + b + c + d
    if n == 0:
        return None
    est = (c - b) / n

    def solve(target: float, lo: float, hi: float) -> float:
        # T(lo) >= target >= T(hi): bisection to the float resolution (~60 steps).
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if mid in (lo, hi):
                break
            if _tango_statistic(c, b, n, mid) > target:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    low = -1.0 if _tango_statistic(c, b, n, -1.0) <= z else solve(z, -1.0, est)
    high = 1.0 if _tango_statistic(c, b, n, 1.0) >= -z else solve(-z, est, 1.0)
    return Interval(low, high, "tango-score")


@dataclass(frozen=True)
class ChangePart:
    """One group's part in the headline change of a tier's rate."""

    group: str  # stayers, joiners or leavers
    people: int
    baseline_rate: float | None  # the group's rate at baseline (None: not there then)
    current_rate: float | None  # the group's rate now (None: not there now)
    contribution_pp: float  # its share of the headline change, in percentage points


@dataclass(frozen=True)
class ChangeSplit:
    """The headline change of a rate split exactly into stayers, joiners and leavers."""

    delta_pp: float
    parts: tuple[ChangePart, ChangePart, ChangePart]
    interval: Interval | None  # the stayers' paired interval (percentage points)


def split_change(
    a: int, b: int, c: int, d: int, joiners: int, joiners_in: int, leavers: int, leavers_in: int
) -> ChangeSplit | None:
    """Split ``current rate - baseline rate`` into stayers' change, joiners and leavers.

    ``a, b, c, d`` are the stayers' paired table (both, baseline only, now only,
    neither); ``joiners_in`` of ``joiners`` are in the tier now, ``leavers_in`` of
    ``leavers`` were in it at baseline. With s the stayers' rates, J the joiners' rate,
    L the leavers' rate, N0 and N1 the two populations:

        current - baseline = (s1 - s0) + (joiners/N1)(J - s1) - (leavers/N0)(L - s0)

    exactly: joiners lift the rate when they are more active than the stayers now, and
    leavers lift it when they were less active than the stayers were. Without stayers the
    stayers' part is 0 and joiners and leavers carry the whole change. None when either
    population is empty. The interval is Tango's, on the stayers, in percentage points.
    """
    _check_table(a, b, c, d, joiners, joiners_in, leavers, leavers_in)
    if joiners_in > joiners or leavers_in > leavers:
        raise ValueError("more people in the tier than in the group")
    ns = a + b + c + d
    n0, n1 = ns + leavers, ns + joiners
    if n0 == 0 or n1 == 0:
        return None
    baseline = (a + b + leavers_in) / n0
    current = (a + c + joiners_in) / n1
    s0 = (a + b) / ns if ns else None
    s1 = (a + c) / ns if ns else None
    j = joiners_in / joiners if joiners else None
    lv = leavers_in / leavers if leavers else None
    if ns:
        stay = s1 - s0  # type: ignore[operator]
        join = joiners / n1 * (j - s1) if joiners else 0.0  # type: ignore[operator]
        leave = -leavers / n0 * (lv - s0) if leavers else 0.0  # type: ignore[operator]
    else:
        stay, join, leave = 0.0, (j or 0.0), -(lv or 0.0)
    iv = tango_paired(a, b, c, d)
    return ChangeSplit(
        delta_pp=100 * (current - baseline),
        parts=(
            ChangePart("stayers", ns, s0, s1, 100 * stay),
            ChangePart("joiners", joiners, None, j, 100 * join),
            ChangePart("leavers", leavers, lv, None, 100 * leave),
        ),
        interval=None if iv is None else Interval(100 * iv.low, 100 * iv.high, iv.method),
    )
