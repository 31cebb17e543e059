"""The synthetic organisation of tests/science_org.py, ingested through the store as
generic CSV with a roster: every science figure reproduces the truth built into it."""

from __future__ import annotations

import statistics
from datetime import date

import pandas as pd
import pytest

from intranet_metrics import api, science
from intranet_metrics.config import Config
from intranet_metrics.stats import tango_paired

from .science_org import (
    BASELINE,
    COMMS,
    CURRENT,
    JOINERS,
    LEAVERS,
    MANAGERS,
    RANK,
    TIERS,
    ScienceOrg,
    email_person,
)


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    folder = tmp_path_factory.mktemp("science_org")
    o = ScienceOrg().build()
    events_csv, roster_csv = o.write(folder)
    config = Config()
    store = api.open_store(folder / "store", create=True)
    api.ingest(store, [events_csv], config)
    roster = api._roster(roster_csv, config)
    raw = pd.concat([pd.read_parquet(f) for f in store.event_files()], ignore_index=True)
    events = science.resolve_events(raw, roster.aliases, config.activities)
    people = roster.people.to_pandas()
    # The number of each roster person, to read the truth (which speaks of p<i>).
    al = roster.aliases.to_pandas()
    al = al[al["identifier"].str.endswith("@contoso.nl")]
    number = dict(zip(al["person"], al["identifier"].map(email_person), strict=True))
    return o.truth, events, people, number


def _population(people: pd.DataFrame, window) -> pd.DataFrame:
    lo, hi = window[0].date(), (window[1] - pd.Timedelta(days=1)).date()
    start = people["start_date"].fillna(date.min)
    end = people["end_date"].fillna(date.max)
    return people[(start <= hi) & (end >= lo)]


def _window(events, window):
    return events[(events["time"] >= window[0]) & (events["time"] < window[1])]


def test_the_roster_matches_every_event(org):
    _, events, _, _ = org
    assert events["person"].notna().all()


def test_populations_are_stayers_leavers_and_joiners(org):
    _, _, people, number = org
    base = {number[p] for p in _population(people, BASELINE)["person"]}
    now = {number[p] for p in _population(people, CURRENT)["person"]}
    assert base - now == set(LEAVERS)
    assert now - base == set(JOINERS)
    assert len(base & now) == 49


def test_stayers_move_each_way_as_built(org):
    truth, events, people, _ = org
    pb, pc = _population(people, BASELINE), _population(people, CURRENT)
    split = science.split_changes(
        science.person_tiers(_window(events, BASELINE), pb),
        science.person_tiers(_window(events, CURRENT), pc),
    )
    for k, tier in enumerate(TIERS, start=1):
        a, b, c, d = truth.paired[tier]
        s = split[tier]
        stay, join, leave = s.parts
        assert stay.people == a + b + c + d == 49
        assert (stay.baseline_rate, stay.current_rate) == ((a + b) / 49, (a + c) / 49)
        j_in = sum(RANK[t] >= k for t in JOINERS.values())
        l_in = sum(RANK[t] >= k for t in LEAVERS.values())
        assert join.current_rate == j_in / len(JOINERS)
        assert leave.baseline_rate == l_in / len(LEAVERS)
        headline = (a + c + j_in) / 55 - (a + b + l_in) / 54
        assert s.delta_pp == pytest.approx(100 * headline, abs=1e-12)
        iv = tango_paired(a, b, c, d)
        assert (s.interval.low, s.interval.high) == (100 * iv.low, 100 * iv.high)
    # The contributor moves as designed: 4 stopped, 9 started.
    assert truth.paired["contributor"][1:3] == (4, 9)


def test_inequality_of_the_current_window(org):
    truth, events, people, number = org
    pop = _population(people, CURRENT)
    got = science.inequality(_window(events, CURRENT), pop)
    counts = pd.Series({number[p]: 0 for p in pop["person"]}) + pd.Series(
        truth.contributions_now
    ).reindex([number[p] for p in pop["person"]], fill_value=0)
    x = counts.to_numpy()
    # Oracle: the mean absolute difference over all pairs, halved and over the mean.
    mad = sum(abs(xi - xj) for xi in x for xj in x) / len(x) ** 2
    assert got.gini == pytest.approx(mad / (2 * x.mean()), abs=1e-12)
    assert got.contributions == sum(truth.contributions_now.values())
    # 15 + 3 contributors: the top 1% is 1 person (a comms member, 4 posts), the top
    # 10% ceil(1.8) = 2 people (two comms members).
    assert got.contributors == 3 + 13 + 2
    assert got.top1_share == pytest.approx(4 / got.contributions)
    assert got.top10_share == pytest.approx(8 / got.contributions)
    assert sum(got.ladder.values()) == len(pop)
    tiers = [truth.current_tier[number[p]] for p in pop["person"]]
    assert got.ladder == {
        "inactive": tiers.count("I"),
        "reader_only": tiers.count("R"),
        "reactor_only": tiers.count("A"),
        "contributor": tiers.count("C"),
    }


def test_interaction_reproduces_the_thread_truth(org):
    truth, events, people, number = org
    comms = {p for p in people["person"] if number[p] in COMMS}
    got = science.interaction(events, *CURRENT, team=comms)
    assert got.thread_starts == truth.thread_starts == 27
    assert got.answered == truth.thread_starts - len(truth.unanswered)
    assert got.reply_coverage == pytest.approx(truth.reply_coverage, abs=1e-15)
    assert got.solo_thread_rate == pytest.approx(len(truth.solo) / 27, abs=1e-15)
    assert got.median_first_response_hours == truth.median_first_response_hours
    assert got.broadcast_share == pytest.approx(truth.broadcast_share, abs=1e-15)
    assert got.replies_per_own_post == truth.replies_per_own_post == 0.0


def test_unanswered_threads_are_the_designed_ones(org):
    truth, events, _, _ = org
    starts, resp = science.thread_events(_window(events, CURRENT).pipe(lambda e: e))
    fr = science._first_responses(starts, resp)
    late = (fr["first"] - fr["time"]) > science.RESPONSE_WINDOW
    unanswered = {k.removeprefix("msg/") for k in fr.index[fr["first"].isna() | late]}
    assert unanswered == truth.unanswered


def test_leadership_presence(org):
    truth, events, people, number = org
    managers = science.people_where(people, "is_manager", ["yes"])
    assert {number[p] for p in managers} == set(MANAGERS)
    pop = _population(people, CURRENT)
    got = science.leadership(events, pop, managers, *CURRENT, min_group_size=3)
    assert got.threads_with_manager == truth.threads_with_manager
    assert got.manager_thread_share == pytest.approx(truth.threads_with_manager / 27)
    want = [truth.current_tier[m] for m in MANAGERS]
    assert got.managers["contributor"] == want.count("C")
    assert got.managers["population"] == 4 and got.others["population"] == 51


def test_lifecycle_by_month(org):
    truth, events, _, number = org
    periods = science.monthly_periods(BASELINE[0], 3)
    rows = science.lifecycle(events, periods)
    act = {m: truth.active.get(m, set()) for m in ("2026-01", "2026-02", "2026-03")}
    jan, feb, mar = act["2026-01"], act["2026-02"], act["2026-03"]
    want = [
        (len(jan), len(jan), 0, 0, 0),
        (len(feb), len(feb - jan), len(feb & jan), 0, len(jan - feb)),
        (len(mar), len(mar - jan - feb), len(mar & feb), len((mar & jan) - feb), len(feb - mar)),
    ]
    got = [(r.active, r.new, r.returning, r.resurrecting, r.dormant) for r in rows]
    assert got == want
    for r in rows:
        days = truth.active_days[r.period]
        assert r.stickiness == pytest.approx(statistics.mean(len(d) for d in days.values()))
    assert {number[p] for p in events["person"]} >= set(COMMS)
    assert email_person("p7@contoso.nl") == 7
