"""Real export formats together: one person recognised across all of them."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from intranet_metrics.cli import cli
from tests.mixed_org import Org

MARCH = ["--from", "2026-03-01", "--to", "2026-03-31"]


@pytest.fixture
def org(tmp_path):
    o = Org(seed=3)
    roster, exports = o.write(tmp_path / "org")
    return o, roster, exports, tmp_path / "store"


def baseline(store, exports, roster):
    r = CliRunner().invoke(
        cli,
        [
            "--store",
            str(store),
            "baseline",
            str(exports),
            "--roster",
            str(roster),
            *MARCH,
            "--format",
            "json",
        ],
    )
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_every_format_is_detected(org):
    _o, _roster, exports, store = org
    r = CliRunner().invoke(cli, ["--store", str(store), "ingest", str(exports), "--format", "json"])
    assert r.exit_code == 0, r.output
    formats = {s["format"] for s in json.loads(r.stdout)["sources"]}
    assert formats == {"iis-w3c", "m365-audit", "engage-export", "slack-export", "m365-usage"}


def test_baseline_matches_the_oracle(org):
    o, roster, exports, store = org
    m = baseline(store, exports, roster)
    exp = o.expected()
    assert m["population"]["size"] == exp["population"]
    assert {t: m["metrics"][t]["users"] for t in ("reader", "reactor", "contributor")} == {
        t: exp[t] for t in ("reader", "reactor", "contributor")
    }
    assert m["population"]["identity_coverage"] == 1.0
    assert m["population"]["unmatched_actors"] == 0


def test_ingesting_the_folder_twice_changes_nothing(org):
    _o, roster, exports, store = org
    first = baseline(store, exports, roster)
    again = baseline(store, exports, roster)
    for key in ("population", "metrics", "ladder"):
        assert again[key] == first[key]


def test_every_file_balances(org):
    _o, _roster, exports, store = org
    r = CliRunner().invoke(cli, ["--store", str(store), "ingest", str(exports), "--format", "json"])
    for s in json.loads(r.stdout)["sources"]:
        assert s["rows"] == s["events"] + s["excluded"] + s["other"] + s["rejected"], s["path"]
        assert s["rejected"] == 0, s["path"]


def test_overlapping_audit_records_count_once(org):
    _o, _roster, exports, store = org
    r = CliRunner().invoke(cli, ["--store", str(store), "ingest", str(exports), "--format", "json"])
    jsonl = next(s for s in json.loads(r.stdout)["sources"] if s["path"].endswith(".jsonl"))
    assert jsonl["duplicates"] == 3
