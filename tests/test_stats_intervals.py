"""Intervals for a change: published worked examples, statsmodels, an independent score
test, and the exact split of the headline change into stayers, joiners and leavers."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intranet_metrics.stats import (
    Z95,
    newcombe_paired,
    newcombe_unpaired,
    split_change,
    tango_paired,
)

sm_prop = pytest.importorskip("statsmodels.stats.proportion")
optimize = pytest.importorskip("scipy.optimize")


# Newcombe (1998), "Interval estimation for the difference between independent
# proportions", Table II, method 10, as printed (4 decimals).
NEWCOMBE_1998_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
]


@pytest.mark.parametrize(("table", "expected"), NEWCOMBE_1998_TABLE_II)
def test_newcombe_unpaired_matches_the_paper(table, expected):
    iv = newcombe_unpaired(*table)
    assert (round(iv.low, 4), round(iv.high, 4)) == expected


# Cavo et al. (2012) complete response before/after consolidation, [[59, 6], [16, 80]],
# worked in Fagerland, Lydersen & Laake, "Statistical Analysis of Contingency Tables"
# (2017), chapter 8: estimate -0.0621, Tango -0.1240 to -0.0054, Newcombe square-and-add
# (method 10 of the paired paper) -0.1186 to -0.0046. Their table's first variable is our
# "now": a = 59 both, c = 6 now only, b = 16 baseline only, d = 80 neither.
CAVO = (59, 16, 6, 80)


@pytest.mark.parametrize(
    ("method", "expected"),
    [(tango_paired, (-0.1240, -0.0054)), (newcombe_paired, (-0.1186, -0.0046))],
)
def test_paired_intervals_match_the_book(method, expected):
    iv = method(*CAVO)
    assert (round(iv.low, 4), round(iv.high, 4)) == expected


# Newcombe (1998), "Improved confidence intervals for the difference between binomial
# proportions based on paired data", Table III, first example: e = 36 both, f = 12 first
# only, g = 2 second only, h = 0 neither; theta = (f - g) / n = 0.2, method 10 from 0.0569
# to 0.3404. His "first" is our "now": a = 36, b = 2 baseline only, c = 12 now only.
def test_newcombe_paired_matches_the_papers_table():
    iv = newcombe_paired(36, 2, 12, 0)
    assert (round(iv.low, 4), round(iv.high, 4)) == (0.0569, 0.3404)


def _random_unpaired(count: int, seed: int) -> list[tuple[int, int, int, int]]:
    rnd = random.Random(seed)
    out = []
    for _ in range(count):
        n1, n2 = (int(10 ** rnd.uniform(0, 4.5)) for _ in range(2))
        out.append((rnd.randint(0, n1), n1, rnd.randint(0, n2), n2))
    return out


@pytest.mark.parametrize("table", _random_unpaired(400, 13))
def test_newcombe_unpaired_agrees_with_statsmodels(table):
    x1, n1, x2, n2 = table
    lo, hi = sm_prop.confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    iv = newcombe_unpaired(*table)
    assert iv.low == pytest.approx(float(lo), abs=1e-12)
    assert iv.high == pytest.approx(float(hi), abs=1e-12)


def _random_paired(count: int, seed: int) -> list[tuple[int, int, int, int]]:
    rnd = random.Random(seed)
    out = [(0, 0, 0, 1), (5, 0, 0, 0), (0, 3, 0, 0), (0, 0, 3, 0), (0, 0, 0, 7), (1, 1, 7, 12)]
    while len(out) < count:
        n = int(10 ** rnd.uniform(0.5, 5))
        w = [rnd.random() ** 3 for _ in range(4)]
        cells = [int(n * x / sum(w)) for x in w]
        out.append(tuple(cells))
    return out


def _newcombe_paired_reference(a, b, c, d):
    """Method 10 of Newcombe's paired paper written from the paper with statsmodels'
    Wilson intervals: first proportion (a + c) / n, second (a + b) / n."""
    n = a + b + c + d
    p1, p2 = (a + c) / n, (a + b) / n
    l1, u1 = sm_prop.proportion_confint(a + c, n, alpha=0.05, method="wilson")
    l2, u2 = sm_prop.proportion_confint(a + b, n, alpha=0.05, method="wilson")
    denom = (a + c) * (b + d) * (a + b) * (c + d)
    num = a * d - b * c
    corr = num - n / 2 if num > n / 2 else (0 if num >= 0 else num)
    phi = corr / math.sqrt(denom) if denom else 0.0
    low = (
        p1
        - p2
        - math.sqrt(max(0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    )
    high = (
        p1
        - p2
        + math.sqrt(max(0, (p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2))
    )
    return max(-1, low), min(1, high)


@pytest.mark.parametrize("table", _random_paired(300, 7))
def test_newcombe_paired_agrees_with_reference(table):
    lo, hi = _newcombe_paired_reference(*table)
    iv = newcombe_paired(*table)
    assert iv.low == pytest.approx(lo, abs=1e-9)
    assert iv.high == pytest.approx(hi, abs=1e-9)


def _score_by_numeric_mle(a, b, c, d, delta):
    """Tango's score statistic with the constrained MLE found numerically (scipy), not by
    the closed-form root the library uses: an independent reference."""
    n = a + b + c + d
    # Cells p_c (now only) and p_b = p_c - delta; maximise the multinomial likelihood of
    # the discordant cells over p_b, with p_c = p_b + delta.
    lo_b = max(0.0, -delta) + 1e-15
    hi_b = (1 - delta) / 2 - 1e-15 if delta >= 0 else (1 + delta) / 2 + (-delta) - 1e-15
    hi_b = min(hi_b, 1.0)

    def neg_loglik(pb):
        pc = pb + delta
        rest = 1 - pb - pc
        if pb <= 0 or pc <= 0 or rest < 0:
            return math.inf
        ll = b * math.log(pb) + c * math.log(pc)
        if a + d:
            ll += (a + d) * math.log(max(rest, 1e-300))
        return -ll

    res = optimize.minimize_scalar(
        neg_loglik, bounds=(lo_b, hi_b), method="bounded", options={"xatol": 1e-13}
    )
    pb = res.x
    var = n * (2 * pb + delta * (1 - delta))
    return (c - b - n * delta) / math.sqrt(var)


@pytest.mark.parametrize("table", _random_paired(200, 11)[6:])
def test_tango_ends_are_where_the_score_test_turns(table):
    a, b, c, d = table
    iv = tango_paired(*table)
    n = sum(table)
    # Just inside each end the score test does not reject; just outside it does.
    eps = 1e-4
    if iv.low > -1 + eps:
        assert _score_by_numeric_mle(a, b, c, d, iv.low + eps) < Z95
        assert _score_by_numeric_mle(a, b, c, d, iv.low - eps) > Z95
    if iv.high < 1 - eps:
        assert _score_by_numeric_mle(a, b, c, d, iv.high - eps) > -Z95
        assert _score_by_numeric_mle(a, b, c, d, iv.high + eps) < -Z95
    assert iv.low <= (c - b) / n <= iv.high


@pytest.mark.parametrize("table", _random_paired(300, 5))
def test_tango_excludes_zero_exactly_when_mcnemar_rejects(table):
    _, b, c, _ = table
    iv = tango_paired(*table)
    z = abs(c - b) / math.sqrt(b + c) if b + c else 0.0
    if abs(z - Z95) > 1e-6:
        assert (iv.low > 0 or iv.high < 0) == (z > Z95)


@pytest.mark.parametrize("method", [tango_paired, newcombe_paired])
def test_no_pairs_no_interval(method):
    assert method(0, 0, 0, 0) is None
    assert newcombe_unpaired(0, 0, 3, 5) is None


@pytest.mark.parametrize("method", [tango_paired, newcombe_paired])
@given(a=st.integers(0, 300), b=st.integers(0, 300), c=st.integers(0, 300), d=st.integers(0, 300))
def test_paired_interval_holds_the_estimate(method, a, b, c, d):
    n = a + b + c + d
    iv = method(a, b, c, d)
    if n == 0:
        assert iv is None
        return
    est = (c - b) / n
    assert -1 <= iv.low <= est + 1e-12
    assert est - 1e-12 <= iv.high <= 1


@given(
    a=st.integers(0, 50),
    b=st.integers(0, 50),
    c=st.integers(0, 50),
    d=st.integers(0, 50),
    joiners=st.integers(0, 50),
    leavers=st.integers(0, 50),
    data=st.data(),
)
def test_split_adds_up_to_the_headline_change(a, b, c, d, joiners, leavers, data):
    ji = data.draw(st.integers(0, joiners))
    li = data.draw(st.integers(0, leavers))
    s = split_change(a, b, c, d, joiners, ji, leavers, li)
    ns = a + b + c + d
    if ns + joiners == 0 or ns + leavers == 0:
        assert s is None
        return
    baseline = (a + b + li) / (ns + leavers)
    current = (a + c + ji) / (ns + joiners)
    assert s.delta_pp == pytest.approx(100 * (current - baseline), abs=1e-9)
    assert sum(p.contribution_pp for p in s.parts) == pytest.approx(s.delta_pp, abs=1e-9)
    assert [p.people for p in s.parts] == [ns, joiners, leavers]


def test_split_hand_worked():
    # 43 stayers 15 -> 18 in the tier; 6 joiners, 3 in; 4 leavers, 1 was in.
    s = split_change(10, 5, 8, 20, 6, 3, 4, 1)
    stay, join, leave = s.parts
    assert stay.contribution_pp == pytest.approx(100 * (18 / 43 - 15 / 43))
    assert join.contribution_pp == pytest.approx(100 * 6 / 49 * (0.5 - 18 / 43))
    assert leave.contribution_pp == pytest.approx(-100 * 4 / 47 * (0.25 - 15 / 43))
    assert s.delta_pp == pytest.approx(100 * (21 / 49 - 16 / 47))
    assert s.interval.method == "tango-score"
