"""Honest populations (issue 9): headcounts below the active people, identity styles
without a roster, comparisons across population bases, and whole-population suppression."""

from __future__ import annotations

import csv
import json
from importlib import resources
from pathlib import Path

import jsonschema
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from intranet_metrics import api, report
from intranet_metrics.cli import cli
from intranet_metrics.stats import mcnemar

SCHEMA = json.loads(resources.files("intranet_metrics").joinpath("report.schema.json").read_text())
Q1 = ["--from", "2026-01-01", "--to", "2026-03-31"]
Q3 = ["--from", "2026-07-01", "--to", "2026-09-30"]


def write_events(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """A generic CSV export of (day, user, activity) rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["timestamp", "user", "activity", "item"])
        for day, user, act in rows:
            w.writerow([f"{day}T10:00:00Z", user, act, "/sites/news/a.aspx"])
    return path


def write_roster(path: Path, people: list[str]) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["user_id", "email", "aliases"])
        for p in people:
            w.writerow([p, f"{p}@contoso.com", f"CONTOSO\\{p}"])
    return path


def run(tmp: Path, *args):
    return CliRunner().invoke(cli, ["--store", str(tmp / "store"), *map(str, args)])


def people(n: int, day: str = "2026-02-02", act: str = "page_view") -> list[tuple[str, str, str]]:
    return [(day, f"p{i}@contoso.com", act) for i in range(n)]


# -- --population below the active people -----------------------------------------------------
def test_headcount_below_active_people_exits_6_naming_both(tmp_path):
    ep = write_events(tmp_path / "ev.csv", people(12))
    r = run(tmp_path, "baseline", ep, *Q1, "--population", 5)
    assert r.exit_code == 6, r.output
    assert "5" in r.stderr and "12" in r.stderr and "--roster" in r.stderr
    assert "internal error" not in r.stderr


def test_headcount_check_applies_to_trend_too(tmp_path):
    ep = write_events(tmp_path / "ev.csv", people(12))
    assert run(tmp_path, "ingest", ep).exit_code == 0
    r = run(tmp_path, "report", "--period", "month", *Q1, "--population", 11)
    assert r.exit_code == 6 and "12" in r.stderr


def test_headcount_counts_inactive_seen_actors_as_inactive(tmp_path):
    # 12 actors in February, 8 of them active in its first half: 8 <= 10 is fine, and the
    # ladder adds up to the headcount (old code: 4 + 8 = 12 people in a headcount of 10).
    rows = people(8) + [("2026-02-20", f"q{i}@contoso.com", "page_view") for i in range(4)]
    store = api.open_store(tmp_path / "store", create=True)
    api.ingest(store, [write_events(tmp_path / "ev.csv", rows)])
    m = api.measure(store, "2026-02-01", "2026-02-14", population_size=10)
    assert m["metrics"]["reader"]["users"] == 8
    assert sum(m["ladder"].values()) == 10 and m["ladder"]["inactive"] == 2


# -- identity styles without a roster ---------------------------------------------------------
def test_case_and_claims_prefix_are_one_actor(tmp_path):
    rows = [
        ("2026-02-02", "Jane@Contoso.com", "page_view"),
        ("2026-02-03", "i:0#.f|membership|jane@contoso.com", "like"),
        ("2026-02-04", " JANE@CONTOSO.COM ", "post"),
    ] + people(5)
    store = api.open_store(tmp_path / "store", create=True)
    api.ingest(store, [write_events(tmp_path / "ev.csv", rows)])
    m = api.measure(store, "2026-01-01", "2026-03-31")
    assert m["population"]["size"] == 6
    assert m["population"]["actor_styles"]["email"] == 6
    assert not any("identity styles" in w for w in m["warnings"])


def test_two_styles_without_roster_are_counted_and_warned(tmp_path):
    rows = people(6) + [("2026-02-02", f"CONTOSO\\p{i}", "post") for i in range(6)]
    rows.append(("2026-02-02", "slack:U0001", "post"))
    ep = write_events(tmp_path / "ev.csv", rows)
    r = run(tmp_path, "baseline", ep, *Q1, "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    jsonschema.validate(out, SCHEMA)
    styles = out["population"]["actor_styles"]
    assert (styles["email"], styles["domain_account"], styles["chat_id"]) == (6, 6, 1)
    warning = next(w for w in out["warnings"] if "identity styles" in w)
    assert "3 identity styles" in warning and "counted as two" in warning
    assert "--roster" in warning and "no upper bound" in warning


def test_two_styles_with_a_roster_do_not_warn(tmp_path):
    rows = people(6) + [("2026-02-02", f"CONTOSO\\p{i}", "post") for i in range(6)]
    store = api.open_store(tmp_path / "store", create=True)
    api.ingest(store, [write_events(tmp_path / "ev.csv", rows)])
    rp = write_roster(tmp_path / "roster.csv", [f"p{i}" for i in range(6)])
    m = api.measure(store, "2026-01-01", "2026-03-31", roster=rp)
    assert m["population"]["size"] == 6 and m["metrics"]["contributor"]["users"] == 6
    assert not any("identity styles" in w for w in m["warnings"])


# -- comparing across population bases ---------------------------------------------------------
@pytest.fixture
def two_quarters(tmp_path):
    rows = people(10) + people(10, day="2026-08-03", act="like")
    rows += [("2026-08-03", f"stranger{i}@else.example", "post") for i in range(5)]
    ep = write_events(tmp_path / "ev.csv", rows)
    rp = write_roster(tmp_path / "roster.csv", [f"p{i}" for i in range(12)])
    assert run(tmp_path, "ingest", ep).exit_code == 0
    r = run(
        tmp_path, "baseline", "--roster", rp, *Q1, "--format", "json", "-o", tmp_path / "b.json"
    )
    assert r.exit_code == 0, r.output
    return tmp_path, rp


def test_compare_without_roster_against_roster_baseline_exits_6(two_quarters):
    tmp, _rp = two_quarters
    r = run(tmp, "compare", "--baseline", tmp / "b.json", *Q3)
    assert r.exit_code == 6, r.output
    assert "roster" in r.stderr and "observed" in r.stderr
    assert "--allow-different-basis" in r.stderr and "--roster" in r.stderr


def test_compare_different_bases_when_allowed_says_so(two_quarters):
    tmp, _rp = two_quarters
    r = run(
        tmp,
        "compare",
        "--baseline",
        tmp / "b.json",
        *Q3,
        "--allow-different-basis",
        "--format",
        "json",
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    jsonschema.validate(out, SCHEMA)
    assert {c["test"] for c in out["changes"].values()} == {"two-proportion-z-different-bases"}
    assert any("different populations" in w for w in out["warnings"])
    assert (
        "different bases"
        in run(tmp, "compare", "--baseline", tmp / "b.json", *Q3, "--allow-different-basis").stdout
    )


def test_compare_same_basis_is_unchanged(two_quarters):
    tmp, rp = two_quarters
    r = run(tmp, "compare", "--baseline", tmp / "b.json", "--roster", rp, *Q3, "--format", "json")
    assert r.exit_code == 0, r.output
    ch = json.loads(r.stdout)["changes"]["reactor"]
    assert ch["test"] == "mcnemar-midp" and ch["discordant"] == {"b": 0, "c": 10}
    assert (ch["p_value"], ch["p_value_exact"]) == tuple(mcnemar(0, 10))


# -- whole-population suppression --------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["json", "csv", "markdown", "table"])
def test_one_person_roster_publishes_no_tiers(tmp_path, fmt):
    ep = write_events(tmp_path / "ev.csv", [("2026-02-02", "p0@contoso.com", "post")])
    rp = write_roster(tmp_path / "roster.csv", ["p0"])
    r = run(tmp_path, "baseline", ep, "--roster", rp, *Q1, "--format", fmt)
    assert r.exit_code == 0, r.output
    if fmt == "json":
        out = json.loads(r.stdout)
        jsonschema.validate(out, SCHEMA)
        assert out["suppressed"] is True and out["population"]["size"] == 1
        assert out["population"]["identity_coverage"] is None
        assert all(
            v == {"users": None, "rate": None, "ci95": None} for v in out["metrics"].values()
        )
        assert set(out["ladder"].values()) == {None}
        assert {g["status"] for g in out["goals"]} == {"no_data"}
        assert any("min_group_size" in w for w in out["warnings"])
    else:
        rows = [line for line in r.stdout.splitlines() if "contributor" in line]
        assert rows and not any("100.0%" in x or "│ 1 " in x or "| 1 |" in x for x in rows)


def test_small_population_in_a_trend_row_is_suppressed(tmp_path):
    ep = write_events(tmp_path / "ev.csv", [("2026-02-02", "p0@contoso.com", "post")])
    rp = write_roster(tmp_path / "roster.csv", ["p0", "p1"])
    assert run(tmp_path, "ingest", ep).exit_code == 0
    r = run(tmp_path, "report", "--roster", rp, *Q1, "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    jsonschema.validate(out, SCHEMA)
    assert len(out["rows"]) == 3 and all(row["suppressed"] for row in out["rows"])
    assert sum("min_group_size" in w for w in out["warnings"]) == 1  # once, not per period
    assert {row["metrics"]["contributor"]["users"] for row in out["rows"]} == {None}
    r = run(tmp_path, "report", "--roster", rp, *Q1, "--format", "csv")
    assert r.exit_code == 0 and ",True," in r.stdout


def test_compare_of_two_small_rosters_leaks_nothing(tmp_path):
    rows = [("2026-02-02", "p0@contoso.com", "page_view"), ("2026-08-03", "p0@contoso.com", "post")]
    ep = write_events(tmp_path / "ev.csv", rows)
    small = write_roster(tmp_path / "small.csv", ["p0", "p1"])
    assert run(tmp_path, "ingest", ep).exit_code == 0
    r = run(
        tmp_path, "baseline", "--roster", small, *Q1, "--format", "json", "-o", tmp_path / "b.json"
    )
    assert r.exit_code == 0, r.output
    for fmt in ("json", "csv", "markdown", "table"):
        r = run(
            tmp_path,
            "compare",
            "--baseline",
            tmp_path / "b.json",
            "--roster",
            small,
            *Q3,
            "--format",
            fmt,
        )
        assert r.exit_code == 0, r.output
        if fmt == "json":
            out = json.loads(r.stdout)
            jsonschema.validate(out, SCHEMA)
            for ch in out["changes"].values():
                assert ch["baseline_rate"] is None and ch["current_rate"] is None
                assert ch["delta_pp"] is None and ch["p_value"] is None
                assert "discordant" not in ch and "stayers" not in ch


def test_paired_test_over_fewer_than_k_stayers_is_withheld():
    keys = [f"k{i}" for i in range(40)]
    base = pa.table({"person_key": keys, **{t: [False] * 40 for t in report.TIERS}})
    # Only three of the current 40 were in the baseline population.
    cur_keys = keys[:3] + [f"n{i}" for i in range(37)]
    cur = pa.table({"person_key": cur_keys, **{t: [True] * 40 for t in report.TIERS}})
    m = _measurement(40, 0)
    out = report.compare(m, _measurement(40, 40), pairs=(base, cur), min_group_size=5)
    assert out["population_change"]["stayers"] == 3
    for ch in out["changes"].values():
        assert ch["p_value"] is None and "discordant" not in ch
        assert ch["current_rate"] == 1.0  # the whole populations are published
    assert any("only 3 people" in w for w in out["warnings"])


# -- McNemar at scale through the report ------------------------------------------------------
def _measurement(size: int, users: int, basis: str = "roster") -> dict:
    metric = {"users": users, "rate": users / size, "ci95": [0.0, 1.0]}
    return {
        "tiers": "cumulative",
        "window": {"timezone": "UTC"},
        "population": {"basis": basis, "size": size},
        "metrics": dict.fromkeys(report.TIERS, metric),
    }


def test_compare_with_thousands_of_tier_changes():
    """Old code: OverflowError from 2.0**n once 1,024 or more people change tier."""
    n = 6000
    keys = [f"k{i}" for i in range(n)]
    base = pa.table(
        {"person_key": keys, **{t: [i % 2 == 0 for i in range(n)] for t in report.TIERS}}
    )
    cur = pa.table(
        {"person_key": keys, **{t: [i % 3 == 0 for i in range(n)] for t in report.TIERS}}
    )
    out = report.compare(_measurement(n, n // 2), _measurement(n, n // 3), pairs=(base, cur))
    ch = out["changes"]["reader"]
    b, c = ch["discordant"]["b"], ch["discordant"]["c"]
    assert b + c > 1024
    assert (ch["p_value"], ch["p_value_exact"]) == tuple(mcnemar(b, c))
    assert 0 <= ch["p_value"] < 1e-50


# -- what the data itself proves, across real formats -----------------------------------------
def test_no_roster_merges_only_what_the_exports_prove(tmp_path):
    """Slack ids mapped to emails by users.json and upper-case audit-log emails become the
    person's email; unmapped Slack ids and IIS's CONTOSO\\sam stay apart, and say so."""
    from tests.mixed_org import Org

    o = Org(seed=3)
    _roster, exports = o.write(tmp_path / "org")
    store = api.open_store(tmp_path / "store", create=True)
    api.ingest(store, [exports])
    actors = set(
        pa.concat_tables([pq.read_table(f, columns=["actor"]) for f in store.event_files(None)])[
            "actor"
        ].to_pylist()
    )
    assert all(a == a.strip().lower() for a in actors)
    mapped = [i for i in range(o.n) if i % 2]  # users.json gives these an email
    assert not any(f"slack:{o.slack_id(i)}".lower() in actors for i in mapped)
    m = api.measure(store, "2026-03-01", "2026-03-31")
    styles = m["population"]["actor_styles"]
    assert styles["email"] > 0 and styles["domain_account"] > 0
    assert any("identity styles" in w for w in m["warnings"])


def test_under_a_key_the_unknown_styles_are_warned(tmp_path, monkeypatch):
    monkeypatch.setenv("INTRANET_METRICS_KEY", "a secret for the test")
    rows = people(6) + [("2026-02-02", f"CONTOSO\\p{i}", "post") for i in range(6)]
    store = api.open_store(tmp_path / "store", create=True)
    api.ingest(store, [write_events(tmp_path / "ev.csv", rows)])
    m = api.measure(store, "2026-01-01", "2026-03-31")
    assert m["population"]["actor_styles"]["pseudonymised"] == 12
    assert any("pseudonymised" in w and "--roster" in w for w in m["warnings"])
