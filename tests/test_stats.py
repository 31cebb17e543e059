from __future__ import annotations

import pytest

from intranet_metrics.stats import mcnemar_midp, two_proportion_p, wilson


@pytest.mark.parametrize(
    ("x", "n", "lo", "hi"),
    [
        (0, 10, 0.0, 0.2775),  # exact 0 at the bottom
        (10, 10, 0.7225, 1.0),
        (5, 10, 0.2366, 0.7634),
        (55, 100, 0.4524, 0.6438),
    ],
)
def test_wilson_known_values(x, n, lo, hi):
    got = wilson(x, n)
    assert got == pytest.approx((lo, hi), abs=1e-4)


def test_wilson_empty_population_is_none():
    assert wilson(0, 0) is None


def test_two_proportion_p_known_value():
    # 45/100 vs 60/100: z = 2.1239, two-sided p = 0.0337
    assert two_proportion_p(45, 100, 60, 100) == pytest.approx(0.0337, abs=1e-4)
    assert two_proportion_p(0, 10, 0, 10) == 1.0
    assert two_proportion_p(1, 0, 1, 10) is None


@pytest.mark.parametrize(
    ("b", "c", "p"), [(0, 0, 1.0), (5, 5, 1.0), (1, 9, 0.0117), (3, 12, 0.0213)]
)
def test_mcnemar_midp(b, c, p):
    assert mcnemar_midp(b, c) == pytest.approx(p, abs=1e-4)
