"""McNemar's exact and mid-p values against scipy and statsmodels, from b + c = 0 to 1e8."""

from __future__ import annotations

import math
import random
import time

import pytest

from intranet_metrics.stats import binom_half_pmf, mcnemar, mcnemar_exact, mcnemar_midp

scipy_stats = pytest.importorskip("scipy.stats")
contingency = pytest.importorskip("statsmodels.stats.contingency_tables")

# scipy's binomial CDF underflows to 0 below ~1e-280 where the true value is still a
# normal double; there only "both tiny" is meaningful.
TINY = 1e-280


def _tables(count: int, seed: int) -> list[tuple[int, int]]:
    """b, c with b + c log-spread over 0..1e6, half of them near the centre (long sums)."""
    rnd = random.Random(seed)
    out = [(0, 0), (0, 1), (1, 0), (1, 1), (0, 1_000_000), (500_000, 500_000)]
    while len(out) < count:
        n = int(10 ** rnd.uniform(0, 6)) if rnd.random() < 0.9 else rnd.randint(0, 40)
        if rnd.random() < 0.5:
            b = rnd.randint(0, n)
        else:
            b = round(n / 2 + rnd.gauss(0, 1) * math.sqrt(n) * rnd.uniform(0, 5))
            b = min(max(b, 0), n)
        out.append((b, n - b))
    return out


def _close(got: float, ref: float) -> bool:
    if ref > TINY:
        return abs(got - ref) <= 1e-9 * ref
    return got <= TINY


TABLES = _tables(600, seed=9)


def test_the_tables_cover_the_range():
    sizes = [b + c for b, c in TABLES]
    assert len(TABLES) >= 500 and min(sizes) == 0 and max(sizes) >= 1_000_000
    assert sum(1 for n in sizes if n >= 100_000) >= 50


def test_exact_equals_scipy_binomtest_and_statsmodels():
    bad = []
    for b, c in TABLES:
        got = mcnemar_exact(b, c)
        if b + c == 0:
            refs = [1.0]
        else:
            refs = [
                scipy_stats.binomtest(min(b, c), b + c, 0.5).pvalue,
                contingency.mcnemar([[0, b], [c, 0]], exact=True).pvalue,
            ]
        bad += [(b, c, got, r) for r in refs if not _close(got, float(r))]
    assert not bad, bad[:5]


def test_midp_equals_scipy_binomial_cdf():
    bad = []
    for b, c in TABLES:
        n, k = b + c, min(b, c)
        if n == 0:
            ref = 1.0
        else:
            cdf = scipy_stats.binom.cdf(k, n, 0.5)
            ref = min(1.0, 2 * (cdf - 0.5 * scipy_stats.binom.pmf(k, n, 0.5)))
        got = mcnemar_midp(b, c)
        if not _close(got, float(ref)):
            bad.append((b, c, got, ref))
    assert not bad, bad[:5]


@pytest.mark.parametrize("n", [1, 2, 15, 16, 36, 81, 501, 10_000, 1_000_000, 10**8])
def test_pmf_equals_scipy(n):
    for k in {0, 1, n // 3, n // 2 - 1, n // 2, n - 1, n}:
        if 0 <= k <= n:
            ref = float(scipy_stats.binom.pmf(k, n, 0.5))
            assert _close(binom_half_pmf(k, n), ref), (k, n)


@pytest.mark.parametrize(
    ("b", "c"),
    [(0, 0), (7, 7), (1, 2), (2, 1), (1023, 1), (5_000, 5_200), (10**8 // 2, 10**8 // 2)],
)
def test_symmetric_and_bounded(b, c):
    m = mcnemar(b, c)
    assert mcnemar(c, b) == m
    assert 0.0 <= m.midp <= m.exact <= 1.0
    if b == c:
        assert m == (1.0, 1.0)


@pytest.mark.parametrize("b", [49_970_000, 49_995_000, 49_999_999, 33_333_333])
def test_correct_at_1e8(b):
    n = 10**8
    ref = min(1.0, 2 * float(scipy_stats.binom.cdf(b, n, 0.5)))
    assert _close(mcnemar_exact(b, n - b), ref)


def test_fast_at_a_million():
    """The slowest tables (just off the centre) stay well under a millisecond at 1e6."""
    n = 1_000_000
    worst = 0.0
    for b in (499_499, 499_000, 498_000, 497_000, 490_000, 400_000):
        mcnemar(b, n - b)  # warm (numpy import)
        # CPU seconds: 20 calls take ~2 ms, less than one time slice another process (a
        # second pytest-xdist worker) may take from this one on a busy machine.
        t = time.process_time()
        for _ in range(20):
            mcnemar(b, n - b)
        worst = max(worst, (time.process_time() - t) / 20)
    assert worst < 0.5e-3, worst


def test_negative_counts_are_refused():
    with pytest.raises(ValueError):
        mcnemar(-1, 3)
