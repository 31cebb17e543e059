"""The shipped synthetic organisation: every format, one person across platforms, the
documented headline, and a generator that is deterministic and holds at real size."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from click.testing import CliRunner

from intranet_metrics.cli import cli
from intranet_metrics.loaders import format_names
from intranet_metrics.roster import load_roster
from intranet_metrics.sample import DEFAULT_PEOPLE, DEFAULT_SEED, write_sample
from intranet_metrics.store import Store

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_logs"
ROSTER = SAMPLE / "roster.csv"
Q1 = ("--from", "2026-01-01", "--to", "2026-03-31")
Q3 = ("--from", "2026-07-01", "--to", "2026-09-30")


def run(store: Path, *args: object):
    r = CliRunner().invoke(cli, ["--store", str(store), *map(str, args)])
    assert r.exit_code == 0, r.output
    return r


def files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "README.md"
    }


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> tuple[Path, list[dict]]:
    store = tmp_path_factory.mktemp("sample") / "store"
    r = run(store, "ingest", SAMPLE / "exports", "--format", "json")
    return store, json.loads(r.stdout)["sources"]


def test_committed_sample_is_the_sample_command_output(tmp_path):
    # `sample` with its defaults, exactly as the sample_logs README says it was made.
    r = CliRunner().invoke(cli, ["sample", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    made = files(tmp_path / "s")
    committed = files(SAMPLE)
    assert sorted(made) == sorted(committed)
    assert [n for n in made if made[n] != committed[n]] == []
    assert f"--seed {DEFAULT_SEED} --people {DEFAULT_PEOPLE}" in (SAMPLE / "README.md").read_text()


def test_the_same_seed_writes_the_same_bytes(tmp_path):
    write_sample(tmp_path / "a", seed=5, people=60)
    write_sample(tmp_path / "b", seed=5, people=60)
    write_sample(tmp_path / "c", seed=6, people=60)
    assert files(tmp_path / "a") == files(tmp_path / "b")
    assert files(tmp_path / "a") != files(tmp_path / "c")


@pytest.mark.parametrize("people", [1, 2, 7])
def test_a_tiny_organisation_is_written_and_read_without_rejects(tmp_path, people):
    r = CliRunner().invoke(cli, ["sample", str(tmp_path / "s"), "--people", str(people)])
    assert r.exit_code == 0, r.output
    assert "next: intranet-metrics baseline" in r.stderr
    r = run(tmp_path / "store", "ingest", tmp_path / "s" / "exports", "--format", "json")
    sources = json.loads(r.stdout)["sources"]
    assert sources and all(s["rejected"] == 0 and s["status"] == "ingested" for s in sources)


@pytest.mark.parametrize("people", ["0", "-3", "many"])
def test_sample_refuses_a_size_that_is_no_organisation(tmp_path, people):
    r = CliRunner().invoke(cli, ["sample", str(tmp_path / "s"), "--people", people])
    assert r.exit_code == 2
    assert not (tmp_path / "s").exists()


def test_every_supported_format_has_counted_events(ingested):
    _store, sources = ingested
    assert all(s["rejected"] == 0 and s["status"] == "ingested" for s in sources), sources
    events: dict[str, int] = {}
    for s in sources:
        events[s["format"]] = events.get(s["format"], 0) + s["events"]
    assert set(events) == set(format_names())
    assert all(n > 0 for n in events.values()), events
    # The audit log comes both as the portal's CSV and as Management API JSON Lines.
    audit = {Path(s["path"]).suffix: s["events"] for s in sources if s["format"] == "m365-audit"}
    assert audit.get(".csv", 0) > 0 and audit.get(".jsonl", 0) > 0


def test_one_person_is_matched_in_many_formats(ingested):
    store, _ = ingested
    events = ds.dataset(Store.open(store).event_files(), format="parquet").to_table(
        columns=["actor", "source_format", "excluded", "activity"]
    )
    aliases = load_roster(ROSTER).aliases.to_pylist()
    person = {a["identifier"]: a["person"] for a in aliases}
    formats: dict[int, set[str]] = {}
    for actor, fmt, excluded, activity in zip(
        *(events[c].to_pylist() for c in ("actor", "source_format", "excluded", "activity")),
        strict=True,
    ):
        if not excluded and activity != "other" and actor in person:
            formats.setdefault(person[actor], set()).add(fmt)
    assert sum(len(f) >= 4 for f in formats.values()) >= 20
    # The READMEs' example: Hanna Yilmaz, written four ways, in every format.
    hanna = person["contoso\\hyilmaz"]
    assert hanna == person["hanna.yilmaz@contoso.example"] == person["hyilmaz@contoso.example"]
    assert hanna == person["engage:1700000000015080976"]
    assert formats[hanna] == set(format_names())


def test_identity_coverage_is_high_in_every_format(ingested):
    store, _ = ingested
    r = run(store, "identities", "--roster", ROSTER, "--format", "json")
    rows = json.loads(r.stdout)["by_format"]
    assert {row["format"] for row in rows} == set(format_names())
    assert all(row["coverage"] > 0.9 for row in rows), rows
    # Not on the roster, on purpose: a contractor, a former employee, two concealed names.
    unmatched = {u["actor"] for u in json.loads(r.stdout)["top_unmatched"]}
    assert {"contractor@partner.example", "k.dijkman@contoso.example"} <= unmatched


def test_onedrive_exchange_and_guests_never_count(ingested):
    _store, sources = ingested
    portal = [s for s in sources if s["format"] == "m365-audit" and s["path"].endswith(".csv")]
    assert len(portal) == 3  # one a quarter
    for s in portal:
        with open(s["path"], encoding="utf-8-sig", newline="") as fh:
            recs = [json.loads(row["AuditData"]) for row in csv.DictReader(fh)]
        # The intranet's own records by employees: SharePoint, a person, not a prefetch.
        counted = [
            r
            for r in recs
            if r["Workload"] == "SharePoint"
            and r["UserType"] == 0
            and "#ext#" not in r["UserId"]
            and r["Operation"] != "PagePrefetched"
        ]
        assert {r["Workload"] for r in recs} >= {"OneDrive", "Exchange", "SharePoint"}
        assert s["events"] == len(counted)
        assert s["excluded"] > 0


# The figures the README documents for the README's commands on sample_logs/.
HEADLINE = {
    "baseline": {"size": 185, "reader": 93, "reactor": 45, "contributor": 7},
    "current": {"size": 182, "reader": 132, "reactor": 83, "contributor": 24},
}


def test_baseline_and_compare_give_the_documented_launch_effect(ingested, tmp_path):
    store, _ = ingested
    base = tmp_path / "baseline.json"
    run(store, "baseline", "--roster", ROSTER, *Q1, "--format", "json", "--output", base)
    r = run(store, "compare", "--baseline", base, "--roster", ROSTER, *Q3, "--format", "json")
    result = json.loads(r.stdout)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for when, expected in HEADLINE.items():
        m = result[when]
        got = {"size": m["population"]["size"]}
        got.update({t: m["metrics"][t]["users"] for t in ("reader", "reactor", "contributor")})
        assert got == expected
        for t in ("reader", "reactor", "contributor"):
            assert f"{100 * m['metrics'][t]['rate']:.1f}%" in readme, (when, t)
    statuses = {g["metric"]: g["status"] for g in result["goals"]}
    assert statuses == {
        "reader": "met_with_confidence",
        "reactor": "met",
        "contributor": "met_with_confidence",
    }
    assert all(g["status"] == "not_met" for g in result["baseline"]["goals"])
    assert all(c["delta_pp"] > 8 and c["p_value"] < 0.01 for c in result["changes"].values())


def test_quarterly_trend_shows_the_launch_taking_hold(ingested):
    store, _ = ingested
    r = run(store, "report", "--period", "quarter", "--roster", ROSTER, "--format", "json")
    rows = json.loads(r.stdout)["rows"]
    got = [
        (row["period"], row["population"]["size"], row["metrics"]["reader"]["users"])
        for row in rows
    ]
    # As the table in sample_logs/README.md says.
    assert got == [("2026-Q1", 185, 93), ("2026-Q2", 188, 106), ("2026-Q3", 182, 132)]
    assert "| 188 | 106 (56.4%) |" in (SAMPLE / "README.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_sample_at_a_real_organisations_size(tmp_path):
    """20,000 people and about a million exported records: written, ingested and measured
    in well under a minute, with the rates the generator draws."""
    t0 = time.perf_counter()
    write_sample(tmp_path / "org", people=20_000)
    written = time.perf_counter() - t0
    store = tmp_path / "store"
    r = run(store, "ingest", tmp_path / "org" / "exports", "--format", "json")
    sources = json.loads(r.stdout)["sources"]
    assert sum(s["rows"] for s in sources) > 1_000_000
    assert {s["format"] for s in sources if s["events"]} == set(format_names())
    roster = tmp_path / "org" / "roster.csv"
    r = run(store, "baseline", "--roster", roster, *Q1, "--format", "json")
    m = json.loads(r.stdout)
    assert 18_000 < m["population"]["size"] < 20_000
    # Chances drawn per person: read 40% (50% in Communications) before the launch.
    assert 0.39 < m["metrics"]["reader"]["rate"] < 0.43
    assert m["population"]["identity_coverage"] > 0.999
    # Generous (shared CI machines): a quadratic generator would take many minutes.
    assert written < 60
