"""A real organisation's size end to end: 20,000 people, ~1M events, baseline and compare
with roughly 10,000 tier changes, p values against scipy (old code: OverflowError)."""

from __future__ import annotations

import csv
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

from intranet_metrics import api

scipy_stats = pytest.importorskip("scipy.stats")

PEOPLE = 20_000
TIERS = ("reader", "reactor", "contributor")
# Ladder levels 0 inactive, 1 reader only, 2 reactor only, 3 contributor, per quarter.
Q1 = ("2026-01-01", "2026-03-31", [0.45, 0.30, 0.20, 0.05])
Q3 = ("2026-07-01", "2026-09-30", [0.25, 0.35, 0.30, 0.10])


def _quarter(rng, start: str, end: str, levels: np.ndarray) -> pa.Table:
    """Events giving each person exactly their level in the quarter (~41 per active person)."""
    who = np.flatnonzero(levels > 0)
    n = 2 + rng.poisson(39, len(who))
    person = np.repeat(who, n)
    first = np.repeat(np.cumsum(n) - n, n)
    pos = np.arange(len(person)) - first  # position of the event among the person's own
    lvl = levels[person]
    act = np.zeros(len(person), np.int8)  # page_view
    act[(pos == 0) & (lvl >= 2)] = 1  # like
    act[(pos == 1) & (lvl == 3)] = 2  # post
    lo = int(datetime.fromisoformat(start).replace(tzinfo=timezone.utc).timestamp())
    hi = int(datetime.fromisoformat(end).replace(tzinfo=timezone.utc).timestamp()) + 86_399
    secs = rng.integers(lo, hi, len(person))
    # Half the people are written as CORP\pN: the roster's aliases join them.
    names = pa.array(
        [f"p{i}@corp.example" for i in range(PEOPLE)] + [f"CORP\\p{i}" for i in range(PEOPLE)]
    )
    spelled = person + PEOPLE * (person % 2)
    ts = pa.array(secs * 1_000_000, pa.timestamp("us", "UTC"))
    return pa.table(
        {
            "timestamp": pc.strftime(ts, format="%Y-%m-%dT%H:%M:%SZ"),
            "user": names.take(pa.array(spelled)),
            "activity": pa.array(["page_view", "like", "post"]).take(pa.array(act)),
            "item": pa.array(["/sites/news/a.aspx"] * len(person)),
        }
    )


@pytest.fixture(scope="module")
def big_org(tmp_path_factory):
    folder = tmp_path_factory.mktemp("big")
    rng = np.random.default_rng(2026)
    before = rng.choice(4, PEOPLE, p=Q1[2])
    after = rng.choice(4, PEOPLE, p=Q3[2])
    roster = folder / "roster.csv"
    with open(roster, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["user_id", "email", "aliases", "department"])
        for i in range(PEOPLE):
            w.writerow([f"E{i}", f"p{i}@corp.example", f"CORP\\p{i}", f"D{i % 40}"])
    for name, (start, end, _), levels in (("q1", Q1, before), ("q3", Q3, after)):
        pacsv.write_csv(_quarter(rng, start, end, levels), folder / f"{name}.csv")
    return folder, roster, before, after


@pytest.mark.slow
def test_twenty_thousand_people_baseline_and_compare_equal_scipy(big_org):
    folder, roster, before, after = big_org
    store = api.open_store(folder / "store", create=True)
    result = api.ingest(store, [folder / "q1.csv", folder / "q3.csv"])
    assert sum(s.events for s in result.sources) >= 1_000_000
    base = api.baseline(store, Q1[0], Q1[1], roster=roster, by=["department"])
    cmp = api.compare_to(store, base, Q3[0], Q3[1], roster=roster)
    assert cmp["population_change"] == {"stayers": PEOPLE, "joiners": 0, "leavers": 0}
    changes = 0
    for i, tier in enumerate(TIERS, start=1):
        assert base["metrics"][tier]["users"] == int((before >= i).sum())
        b = int(((before >= i) & (after < i)).sum())
        c = int(((before < i) & (after >= i)).sum())
        ch = cmp["changes"][tier]
        assert ch["test"] == "mcnemar-midp" and ch["discordant"] == {"b": b, "c": c}
        n, k = b + c, min(b, c)
        exact = scipy_stats.binomtest(k, n, 0.5).pvalue
        midp = 2 * (scipy_stats.binom.cdf(k, n, 0.5) - 0.5 * scipy_stats.binom.pmf(k, n, 0.5))
        assert ch["p_value_exact"] == pytest.approx(exact, rel=1e-9, abs=1e-300)
        assert ch["p_value"] == pytest.approx(min(1.0, midp), rel=1e-9, abs=1e-300)
        changes += n
    assert changes > 5_000
