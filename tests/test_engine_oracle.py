"""The engine agrees exactly with a plain-pandas oracle on a generated organisation."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intranet_metrics import api
from intranet_metrics.config import Config
from intranet_metrics.stats import mcnemar_midp
from tests.synth import make_org, oracle, oracle_people, write_org

WINDOWS = [(date(2026, 1, 1), date(2026, 3, 31)), (date(2026, 4, 1), date(2026, 6, 30))]


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    folder = tmp_path_factory.mktemp("org")
    roster, events = make_org(seed=11)
    rp, ep = write_org(roster, events, folder)
    store = api.open_store(folder / "store", create=True)
    api.ingest(store, [ep])
    return store, rp, roster, events


@pytest.mark.parametrize("window", WINDOWS)
def test_totals_match_oracle(org, window):
    store, rp, roster, events = org
    m = api.measure(store, *window, roster=rp, by=["department"])
    truth = oracle(roster, events, *window)
    assert m["population"]["size"] == truth["population"]
    for tier in ("reader", "reactor", "contributor"):
        assert m["metrics"][tier]["users"] == truth[tier]
        assert m["metrics"][tier]["rate"] == truth[tier] / truth["population"]
    assert m["ladder"] == truth["ladder"]
    assert m["population"]["unmatched_actors"] == truth["unmatched_actors"]
    assert m["population"]["identity_coverage"] == pytest.approx(truth["identity_coverage"])


@pytest.mark.parametrize("window", WINDOWS)
def test_every_department_matches_oracle(org, window):
    store, rp, roster, events = org
    m = api.measure(store, *window, roster=rp, by=["department"])
    truth = oracle(roster, events, *window)["departments"]
    segs = {s["value"]: s for s in m["segments"]["department"]}
    assert set(segs) == set(truth)
    for dept, t in truth.items():
        s = segs[dept]
        if s["suppressed"]:
            continue
        assert s["population"] == t["population"]
        for tier in ("reader", "reactor", "contributor"):
            assert s["metrics"][tier]["users"] == t[tier], (dept, tier)
    assert segs["Tiny"]["suppressed"] is True  # 3 people < k = 5


def test_independent_tiers_count_only_their_class(org):
    store, rp, _roster, _events = org
    cfg = Config(tiers="independent")
    m = api.measure(store, *WINDOWS[0], config=cfg, roster=rp)
    c = api.measure(store, *WINDOWS[0], roster=rp)
    assert m["metrics"]["contributor"] == c["metrics"]["contributor"]
    assert m["metrics"]["reader"]["users"] <= c["metrics"]["reader"]["users"]
    assert m["ladder"] == c["ladder"]


def test_activity_mapping_override_needs_no_reingest(org):
    store, rp, _roster, _events = org
    acts = dict(Config().activities, edit="contribute")
    m = api.measure(store, *WINDOWS[0], config=Config(activities=acts), roster=rp)
    base = api.measure(store, *WINDOWS[0], roster=rp)
    assert m["metrics"]["contributor"]["users"] > base["metrics"]["contributor"]["users"]


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 10_000),
    people=st.integers(0, 40),
    n=st.integers(0, 300),
    month=st.integers(1, 6),
)
def test_invariants(tmp_path_factory, seed, people, n, month):
    folder = tmp_path_factory.mktemp("inv")
    roster, events = make_org(seed, people=max(people, 1), events=n)
    rp, ep = write_org(roster, events, folder)
    store = api.open_store(folder / "store", create=True)
    if n:
        api.ingest(store, [ep])
    m = api.measure(store, date(2026, month, 1), date(2026, month, 28), roster=rp)
    if m["suppressed"]:  # under min_group_size: nothing but the size is published
        assert 0 < m["population"]["size"] < 5 and set(m["ladder"].values()) == {None}
        return
    users = [m["metrics"][t]["users"] for t in ("reader", "reactor", "contributor")]
    assert users[0] >= users[1] >= users[2] >= 0
    assert sum(m["ladder"].values()) == m["population"]["size"]
    for t in ("reader", "reactor", "contributor"):
        rate = m["metrics"][t]["rate"]
        assert rate is None or 0 <= rate <= 1
        assert (rate is None) == (m["population"]["size"] == 0)


def test_paired_comparison_matches_oracle(org):
    store, rp, roster, events = org
    base = api.baseline(store, *WINDOWS[0], roster=rp)
    cmp = api.compare_to(store, base, *WINDOWS[1], roster=rp)
    t0 = oracle_people(roster, events, *WINDOWS[0])
    t1 = oracle_people(roster, events, *WINDOWS[1])
    both = t0.keys() & t1.keys()
    assert cmp["population_change"] == {
        "stayers": len(both),
        "joiners": len(t1.keys() - t0.keys()),
        "leavers": len(t0.keys() - t1.keys()),
    }
    for i, tier in enumerate(("reader", "reactor", "contributor")):
        b = sum(1 for u in both if t0[u][i] and not t1[u][i])
        c = sum(1 for u in both if t1[u][i] and not t0[u][i])
        ch = cmp["changes"][tier]
        assert ch["test"] == "mcnemar-midp"
        assert ch["discordant"] == {"b": b, "c": c}
        assert ch["p_value"] == pytest.approx(mcnemar_midp(b, c))


def test_compare_without_stored_tiers_is_unpaired(org):
    store, rp, _roster, _events = org
    base = api.measure(store, *WINDOWS[0], roster=rp)  # no measurement_id kept
    cmp = api.compare_to(store, base, *WINDOWS[1], roster=rp)
    assert {c["test"] for c in cmp["changes"].values()} == {"two-proportion-z"}
    assert any("unpaired" in w for w in cmp["warnings"])
