"""`compare --format json` over the synthetic organisation of tests/science_org.py: the
interval of each change and its split into stayers, joiners and leavers are the truth
built into the organisation (counted from the design, never from the code under test)."""

from __future__ import annotations

import json
import statistics
from importlib import resources

import jsonschema
import pytest
from click.testing import CliRunner

from intranet_metrics.cli import cli
from intranet_metrics.stats import newcombe_unpaired, tango_paired

from .science_org import COMMS, COMMS_POSTS_NOW, JOINERS, LEAVERS, MANAGERS, RANK, TIERS, ScienceOrg

SCHEMA = json.loads(resources.files("intranet_metrics").joinpath("report.schema.json").read_text())
JAN = ["--from", "2026-01-01", "--to", "2026-01-31"]
MAR = ["--from", "2026-03-01", "--to", "2026-03-31"]


# The comms team is 3 people: the team's figures need min_group_size 3 to be shown.
CONFIG = """min_group_size = 3
[communication_team]
column = "department"
values = ["Comms"]
[managers]
column = "is_manager"
"""


def _run_args(*args) -> str:
    r = CliRunner().invoke(cli, [*map(str, args)])
    assert r.exit_code == 0, r.output
    return r.stdout


def _run(store, *args) -> str:
    return _run_args("--store", store, *args)


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    folder = tmp_path_factory.mktemp("science_cli")
    org = ScienceOrg().build()
    events, roster = org.write(folder)
    store = folder / "store"
    config = folder / "intranet-metrics.toml"
    config.write_text(CONFIG, encoding="utf-8")
    _run(store, "ingest", events)
    base = folder / "baseline.json"
    _run(store, "baseline", "--roster", roster, *JAN, "--format", "json", "-o", base)
    args = ["--config", config, "--store", store, "compare", "--baseline", base]
    paired = json.loads(
        _run_args(*args, "--roster", roster, *MAR, "--by", "department", "--format", "json")
    )
    trend = json.loads(
        _run_args(
            "--store",
            store,
            "report",
            "--period",
            "month",
            "--roster",
            roster,
            "--from",
            "2026-01-01",
            "--to",
            "2026-03-31",
            "--format",
            "json",
        )
    )
    return org.truth, paired | {"trend": trend}


@pytest.mark.parametrize("k, tier", list(enumerate(TIERS, start=1)))
def test_paired_interval_and_split_are_the_truth(compared, k, tier):
    truth, doc = compared
    jsonschema.validate(doc, SCHEMA)
    a, b, c, d = truth.paired[tier]
    ch = doc["changes"][tier]
    assert ch["test"] == "mcnemar-midp"
    assert ch["discordant"] == {"b": b, "c": c}
    iv = tango_paired(a, b, c, d)
    assert ch["interval_method"] == "tango-score"
    assert ch["interval_pp"] == [100 * iv.low, 100 * iv.high]
    j_in = sum(RANK[t] >= k for t in JOINERS.values())
    l_in = sum(RANK[t] >= k for t in LEAVERS.values())
    sp = ch["split"]
    assert sp["stayers"]["people"] == a + b + c + d == 49
    assert sp["joiners"]["people"] == len(JOINERS)
    assert sp["leavers"]["people"] == len(LEAVERS)
    assert sp["stayers"]["baseline_rate"] == (a + b) / 49
    assert sp["stayers"]["current_rate"] == (a + c) / 49
    assert sp["joiners"]["current_rate"] == j_in / len(JOINERS)
    assert sp["leavers"]["baseline_rate"] == l_in / len(LEAVERS)
    headline = 100 * ((a + c + j_in) / 55 - (a + b + l_in) / 54)
    assert sp["delta_pp"] == pytest.approx(headline, abs=1e-12)
    assert ch["delta_pp"] == pytest.approx(headline, abs=1e-12)
    parts = sum(sp[g]["contribution_pp"] for g in ("stayers", "joiners", "leavers"))
    assert parts == pytest.approx(sp["delta_pp"], abs=1e-9)
    # The interval holds the stayers' own change.
    assert iv.low <= (c - b) / 49 <= iv.high


def test_the_interval_excludes_zero_exactly_when_the_stayers_moved(compared):
    """Tango's interval at 0 is McNemar's asymptotic test: the contributor's 4 stopped vs
    9 started is not enough to exclude 0 at 49 pairs; the JSON says the same."""
    truth, doc = compared
    for tier in TIERS:
        _, b, c, _ = truth.paired[tier]
        low, high = doc["changes"][tier]["interval_pp"]
        z = (c - b) / (b + c) ** 0.5 if b + c else 0.0
        assert (low > 0 or high < 0) == (abs(z) > 1.959963984540054)


def test_unpaired_compare_has_newcombes_interval(tmp_path):
    """Two saved measurements compared without their people: Newcombe's hybrid score."""
    org = ScienceOrg().build()
    events, roster = org.write(tmp_path)
    store = tmp_path / "store"
    _run(store, "ingest", events)
    docs = []
    for window in (JAN, MAR):
        out = tmp_path / f"m{len(docs)}.json"
        _run(store, "baseline", "--roster", roster, *window, "--format", "json", "-o", out)
        docs.append(json.loads(out.read_text()))
    b, c = docs
    # Without the store's per-person tiers the comparison is unpaired.
    for doc in docs:
        doc.pop("measurement_id", None)
    base = tmp_path / "b.json"
    base.write_text(json.dumps(b))
    out = json.loads(
        _run(store, "compare", "--baseline", base, "--roster", roster, *MAR, "--format", "json")
    )
    jsonschema.validate(out, SCHEMA)
    for tier in TIERS:
        ch = out["changes"][tier]
        assert ch["test"] == "two-proportion-z"
        nb, nc = b["population"]["size"], c["population"]["size"]
        xb, xc = b["metrics"][tier]["users"], c["metrics"][tier]["users"]
        iv = newcombe_unpaired(xc, nc, xb, nb)
        assert ch["interval_method"] == "newcombe-hybrid-score"
        assert ch["interval_pp"] == [100 * iv.low, 100 * iv.high]
        assert "split" not in ch


def test_interaction_of_the_current_window_is_the_truth(compared):
    truth, doc = compared
    it = doc["current"]["interaction"]
    assert it["thread_starts"] == truth.thread_starts == 27
    assert it["reply_coverage"] == pytest.approx(truth.reply_coverage, abs=1e-15)
    assert it["median_first_response_hours"] == truth.median_first_response_hours
    assert it["solo_thread_rate"] == pytest.approx(len(truth.solo) / 27, abs=1e-15)
    assert it["broadcast_share"] == pytest.approx(truth.broadcast_share, abs=1e-15)
    assert it["replies_per_own_post"] == truth.replies_per_own_post == 0.0


def test_inequality_and_leadership_of_the_current_window(compared):
    truth, doc = compared
    ineq = doc["current"]["inequality"]
    total = sum(truth.contributions_now.values())
    assert ineq["contributions"] == total
    assert ineq["contributors"] == sum(1 for v in truth.contributions_now.values() if v)
    # The top 1% is one comms member (4 posts), the top 10% two of them.
    assert ineq["top1_share"] == pytest.approx(4 / total)
    assert ineq["top10_share"] == pytest.approx(8 / total)
    assert sum(ineq["ladder_shares"].values()) == pytest.approx(1.0)
    lead = doc["current"]["leadership"]
    assert lead["threads_with_manager"] == truth.threads_with_manager
    assert lead["managers"]["population"] == len(MANAGERS)


def test_segment_figures_are_suppressed_like_the_tiers(compared):
    _, doc = compared
    for seg in doc["current"]["segments"]["department"]:
        if seg["suppressed"]:
            assert seg["inequality"]["gini"] is None
            assert seg["interaction"]["reply_coverage"] is None
        else:
            assert seg["inequality"]["contributions"] is not None
    comms = next(s for s in doc["current"]["segments"]["department"] if s["value"] == "Comms")
    # Three comms members posting 4 threads each, nothing else.
    assert comms["inequality"]["contributions"] == 3 * COMMS_POSTS_NOW
    assert comms["inequality"]["gini"] == 0.0
    assert comms["interaction"]["thread_starts"] == 3 * COMMS_POSTS_NOW


def test_trend_lifecycle_is_the_truth(compared):
    truth, doc = compared
    act = {m: truth.active.get(m, set()) for m in ("2026-01", "2026-02", "2026-03")}
    jan, feb, mar = act["2026-01"], act["2026-02"], act["2026-03"]
    want = [
        (len(jan), 0, 0, 0),
        (len(feb - jan), len(feb & jan), 0, len(jan - feb)),
        (len(mar - jan - feb), len(mar & feb), len((mar & jan) - feb), len(feb - mar)),
    ]
    rows = doc["trend"]["rows"]
    got = [
        tuple(r["lifecycle"][k] for k in ("new", "returning", "resurrecting", "dormant"))
        for r in rows
    ]
    assert got == want
    for r in rows:
        days = truth.active_days[r["period"]]
        assert r["stickiness"] == pytest.approx(statistics.mean(len(d) for d in days.values()))
    jsonschema.validate(doc["trend"], SCHEMA)


@pytest.mark.parametrize("keyed", [False, True])
def test_a_team_named_by_people_is_matched_and_never_printed(tmp_path, monkeypatch, keyed):
    """People named in the config are matched like the roster's identifiers; under the
    key they are hashed first, as the stored actors are, and no address is printed."""
    if keyed:
        monkeypatch.setenv("INTRANET_METRICS_KEY", "a-secret-key-for-the-works-council")
    else:
        monkeypatch.delenv("INTRANET_METRICS_KEY", raising=False)
    org = ScienceOrg().build()
    events, roster = org.write(tmp_path)
    config = tmp_path / "team.toml"
    people = ", ".join(f'"P{i}@Contoso.nl"' for i in COMMS)  # any case, like the roster
    config.write_text(f"min_group_size = 3\n[communication_team]\npeople = [{people}]\n")
    store = tmp_path / "store"
    _run(store, "ingest", events)
    for use_roster in (True, False):
        extra = ["--roster", roster] if use_roster else []
        out = _run_args(
            "--config", config, "--store", store, "baseline", *extra, *MAR, "--format", "json"
        )
        doc = json.loads(out)
        assert doc["interaction"]["broadcast_share"] == pytest.approx(
            org.truth.broadcast_share, abs=1e-15
        )
        if keyed:
            assert "contoso" not in out.lower()
