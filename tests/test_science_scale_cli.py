"""Issue 13 at a real organisation's size: 20,000 people, ~1M events with threads (posts,
replies and likes pointing at them), baseline + compare by department with every new
figure, against the same run without them (the added cost as a ratio)."""

from __future__ import annotations

import csv
import time
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

from intranet_metrics import api, report
from intranet_metrics.figures import null_inequality, null_interaction

PEOPLE = 20_000
Q1 = ("2026-01-01", "2026-03-31", [0.45, 0.30, 0.20, 0.05])
Q3 = ("2026-07-01", "2026-09-30", [0.25, 0.35, 0.30, 0.10])


def _quarter(rng, tag: str, start: str, end: str, levels: np.ndarray) -> pa.Table:
    """~41 events per active person; contributors start threads, reactors reply to or
    like a random thread start of the quarter."""
    who = np.flatnonzero(levels > 0)
    n = 2 + rng.poisson(39, len(who))
    person = np.repeat(who, n)
    pos = np.arange(len(person)) - np.repeat(np.cumsum(n) - n, n)
    lvl = levels[person]
    act = np.zeros(len(person), np.int8)  # page_view
    act[(pos == 0) & (lvl >= 2)] = 1  # like
    act[(pos == 2) & (lvl >= 2)] = 3  # reply
    act[(pos == 1) & (lvl == 3)] = 2  # post (a thread start)
    lo = int(datetime.fromisoformat(start).replace(tzinfo=timezone.utc).timestamp())
    hi = int(datetime.fromisoformat(end).replace(tzinfo=timezone.utc).timestamp()) + 86_399
    secs = rng.integers(lo, hi, len(person))
    posts = np.flatnonzero(act == 2)
    item = np.array([f"{tag}-e{i}" for i in range(len(person))], dtype=object)
    parent = np.full(len(person), "", dtype=object)
    answers = np.flatnonzero((act == 1) | (act == 3))
    target = rng.choice(posts, len(answers))
    parent[answers] = item[target]
    # A response comes 1 minute to 10 days after its thread start (some after the 7 days).
    secs[answers] = secs[target] + rng.integers(60, 10 * 86_400, len(answers))
    ts = pa.array(secs * 1_000_000, pa.timestamp("us", "UTC"))
    return pa.table(
        {
            "timestamp": pc.strftime(ts, format="%Y-%m-%dT%H:%M:%SZ"),
            "user": pa.array([f"p{i}@corp.example" for i in person]),
            "activity": pa.array(["page_view", "like", "post", "reply"]).take(pa.array(act)),
            "item": pa.array(item.tolist()),
            "parent": pa.array(parent.tolist()),
        }
    )


@pytest.fixture(scope="module")
def big_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("big_science")
    rng = np.random.default_rng(13)
    roster = folder / "roster.csv"
    with open(roster, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["user_id", "email", "department"])
        for i in range(PEOPLE):
            w.writerow([f"E{i}", f"p{i}@corp.example", f"D{i % 40}"])
    files = []
    for tag, (start, end, p) in (("q1", Q1), ("q3", Q3)):
        files.append(folder / f"{tag}.csv")
        pacsv.write_csv(_quarter(rng, tag, start, end, rng.choice(4, PEOPLE, p=p)), files[-1])
    store = api.open_store(folder / "store", create=True)
    result = api.ingest(store, files)
    assert sum(s.events for s in result.sources) >= 1_000_000
    return store, roster


def _run(store, roster) -> tuple[float, dict]:
    t0 = time.perf_counter()
    base = api.baseline(store, Q1[0], Q1[1], roster=roster, by=["department"])
    cmp = api.compare_to(store, base, Q3[0], Q3[1], roster=roster, by=["department"])
    return time.perf_counter() - t0, cmp


@pytest.mark.slow
def test_twenty_thousand_people_with_every_figure(big_store, monkeypatch, capsys):
    store, roster = big_store
    with_figures, cmp = _run(store, roster)
    cur = cmp["current"]
    assert cur["inequality"]["contributors"] == cur["metrics"]["contributor"]["users"]
    assert 0 < cur["inequality"]["gini"] < 1
    it = cur["interaction"]
    assert it["thread_starts"] == cur["inequality"]["contributions"]
    assert 0 < it["reply_coverage"] <= 1 and it["median_first_response_hours"] > 0
    assert all(s["inequality"]["gini"] is not None for s in cur["segments"]["department"])
    for ch in cmp["changes"].values():
        low, high = ch["interval_pp"]
        assert low <= ch["split"]["stayers"]["contribution_pp"] <= high
    # The same run without the figures: what they cost.
    blank = ({"inequality": null_inequality(), "interaction": null_interaction()}, [])
    monkeypatch.setattr(
        report, "measurement_figures", lambda *a, **k: (blank[0] | {"segment_figures": {}}, [])
    )
    without, _ = _run(store, roster)
    with capsys.disabled():
        print(
            f"\n20,000 people baseline+compare: {with_figures:.1f} s with the figures, "
            f"{without:.1f} s without (x{with_figures / without:.2f})"
        )
    assert with_figures < 60
