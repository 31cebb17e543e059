"""The science functions at a real organisation's size: 20,000 people, 1.2M events."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from intranet_metrics import science

PEOPLE, EVENTS = 20_000, 1_200_000


@pytest.fixture(scope="module")
def big():
    rng = np.random.default_rng(5)
    # Activity is skewed, as on a real intranet: a few people do most.
    person = (rng.pareto(1.2, EVENTS) * 300).astype(np.int64) % PEOPLE
    t0 = pd.Timestamp("2026-01-01", tz="UTC").value
    time_ = pd.to_datetime(t0 + rng.integers(0, 90 * 86_400, EVENTS) * 10**9, utc=True)
    kind = rng.choice(5, EVENTS, p=[0.80, 0.08, 0.06, 0.05, 0.01])
    acts = np.array(["page_view", "like", "reply", "thread_start", "page_create"])[kind]
    cls = np.array(["view", "react", "react", "contribute", "contribute"])[kind]
    item = np.arange(EVENTS).astype(str)
    # Responses point at one of 60,000 thread starts' ids (some exist, some do not).
    target = (rng.integers(0, 60_000, EVENTS) * 20).astype(str)
    parent = np.where(np.isin(kind, [1, 2]), target, None)
    events = pd.DataFrame(
        {
            "person": person.astype(str),
            "time": time_,
            "cls": cls,
            "activity": acts,
            "item": np.where(kind == 1, parent, item),
            "parent": np.where(kind == 2, parent, None),
            "thread": None,
            "source_format": "generic",
        }
    )
    population = pd.DataFrame({"person": np.arange(PEOPLE).astype(str)})
    return events, population


def test_science_at_twenty_thousand_people(big):
    events, population = big
    march = (datetime(2026, 3, 1, tzinfo=timezone.utc), datetime(2026, 4, 1, tzinfo=timezone.utc))
    managers = set(population["person"][:400])
    t = time.perf_counter()
    ineq = science.inequality(events, population)
    inter = science.interaction(events, *march, team=set(population["person"][:20]))
    lead = science.leadership(events, population, managers, *march)
    rows = science.lifecycle(
        events, science.monthly_periods(datetime(2026, 1, 1, tzinfo=timezone.utc), 3)
    )
    elapsed = time.perf_counter() - t
    assert sum(ineq.ladder.values()) == PEOPLE
    assert 0 < ineq.gini < 1 and inter.thread_starts > 10_000
    assert lead.thread_starts == inter.thread_starts
    assert all(r.new + r.returning + r.resurrecting == r.active for r in rows)
    print(f"science on {PEOPLE} people, {EVENTS} events: {elapsed:.1f} s")
    assert elapsed < 30
