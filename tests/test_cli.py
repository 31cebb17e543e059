"""The commands end to end: exit code first, then the JSON against the library call."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest
from click.testing import CliRunner

from intranet_metrics import api
from intranet_metrics.cli import cli
from tests.synth import make_org, write_org

SCHEMA = json.loads(resources.files("intranet_metrics").joinpath("report.schema.json").read_text())
Q1 = ["--from", "2026-01-01", "--to", "2026-03-31"]


@pytest.fixture
def org(tmp_path):
    roster, events = make_org(seed=5, people=60, events=1500)
    rp, ep = write_org(roster, events, tmp_path / "org")
    return tmp_path, rp, ep


def run(tmp_path, *args):
    return CliRunner().invoke(cli, ["--store", str(tmp_path / "store"), *map(str, args)])


def test_baseline_json_validates_and_equals_library(org):
    tmp, rp, ep = org
    r = run(tmp, "baseline", ep, "--roster", rp, *Q1, "--format", "json", "--by", "department")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    jsonschema.validate(out, SCHEMA)
    lib = api.measure(
        api.open_store(tmp / "store"),
        "2026-01-01",
        "2026-03-31",
        roster=rp,
        by=["department"],
        label=out["label"],
    )
    for key in ("population", "metrics", "ladder", "goals", "segments", "inputs"):
        assert out[key] == lib[key]


def test_ingest_twice_and_overlapping_exports_change_nothing(org):
    tmp, rp, ep = org
    assert run(tmp, "ingest", ep).exit_code == 0
    first = json.loads(run(tmp, "baseline", "--roster", rp, *Q1, "--format", "json").stdout)
    # The same file again, and an overlapping export holding half of its rows again.
    lines = ep.read_text().splitlines(keepends=True)
    (tmp / "overlap.csv").write_text("".join(lines[:1] + lines[len(lines) // 2 :]) + lines[5])
    assert run(tmp, "ingest", ep, tmp / "overlap.csv").exit_code == 0
    again = json.loads(run(tmp, "baseline", "--roster", rp, *Q1, "--format", "json").stdout)
    assert again["metrics"] == first["metrics"] and again["ladder"] == first["ladder"]
    manifest = json.loads((tmp / "store" / "manifest.json").read_text())
    overlap = next(s for s in manifest["sources"] if s["path"].endswith("overlap.csv"))
    assert overlap["new_events"] == 0 and overlap["duplicates"] == overlap["rows"]


def test_compare_reports_delta_and_goals(org):
    tmp, rp, ep = org
    base = tmp / "base.json"
    r = run(tmp, "baseline", ep, "--roster", rp, *Q1, "--format", "json", "--output", base)
    assert r.exit_code == 0, r.output
    r = run(
        tmp,
        "compare",
        "--baseline",
        base,
        "--roster",
        rp,
        "--from",
        "2026-04-01",
        "--to",
        "2026-06-30",
        "--format",
        "json",
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    jsonschema.validate(out, SCHEMA)
    ch = out["changes"]["reader"]
    assert ch["delta_pp"] == pytest.approx(100 * (ch["current_rate"] - ch["baseline_rate"]))
    assert ch["test"] == "mcnemar-midp" and 0 <= ch["p_value"] <= 1
    assert set(out["population_change"]) == {"stayers", "joiners", "leavers"}
    assert [g["metric"] for g in out["goals"]] == ["reader", "reactor", "contributor"]


def test_fail_on_goals_exits_3(org):
    tmp, rp, ep = org
    base = tmp / "base.json"
    run(tmp, "baseline", ep, "--roster", rp, *Q1, "--format", "json", "-o", base)
    goals = tmp / "goals.toml"
    goals.write_text("[goals]\ncontributor = 100\n")
    r = run(
        tmp, "compare", "--baseline", base, "--roster", rp, *Q1, "--goals", goals, "--fail-on-goals"
    )
    assert r.exit_code == 3, r.output


def test_fail_on_goals_checks_segment_goals(org):
    """Overall goals met, one department's goal missed: exit 3 naming the segment (the
    segment goals were ignored before); a goal no segment misses exits 0."""
    tmp, rp, ep = org
    base = tmp / "base.json"
    by = ["--by", "department"]
    run(tmp, "baseline", ep, "--roster", rp, *Q1, *by, "--format", "json", "-o", base)
    cmd = ["compare", "--baseline", base, "--roster", rp, *Q1, *by, "--fail-on-goals"]
    goals = tmp / "goals.toml"
    goals.write_text("[goals]\nreader = 0\n\n[goals.department]\nreader = 0\n")
    assert run(tmp, *cmd, "--goals", goals).exit_code == 0
    goals.write_text("[goals]\nreader = 0\n\n[goals.department]\ncontributor = 100\n")
    r = run(tmp, *cmd, "--goals", goals)
    assert r.exit_code == 3, r.output
    assert "goals not met: department=" in r.stderr and ": contributor" in r.stderr


@pytest.mark.parametrize("period", ["week", "month", "quarter"])
def test_report_trend_validates(org, period):
    tmp, rp, ep = org
    run(tmp, "ingest", ep)
    r = run(tmp, "report", "--period", period, "--roster", rp, "--format", "json", *Q1)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    jsonschema.validate(out, SCHEMA)
    assert out["rows"][0]["from"] == "2026-01-01" and out["rows"][-1]["to"] == "2026-03-31"


def test_empty_window_gives_null_rates_and_a_warning(org):
    tmp, rp, ep = org
    rp = tmp / "joiners.csv"
    rp.write_text("user_id,start_date\np1@org.example,2026-01-01\np2@org.example,2026-02-01\n")
    r = run(
        tmp,
        "baseline",
        ep,
        "--roster",
        rp,
        "--from",
        "2025-01-01",
        "--to",
        "2025-01-31",
        "--format",
        "json",
    )
    assert r.exit_code == 0
    out = json.loads(r.stdout)
    assert out["population"]["size"] == 0
    assert all(out["metrics"][t]["rate"] is None for t in ("reader", "reactor", "contributor"))
    assert "population is empty" in r.stderr


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_human_formats_render(org, fmt):
    tmp, rp, ep = org
    r = run(tmp, "baseline", ep, "--roster", rp, *Q1, "--format", fmt, "--by", "department")
    assert r.exit_code == 0, r.output
    assert "reader" in r.stdout


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["baseline", "--from", "2026-13-01", "--to", "2026-02-01"], 2, "--from"),
        (["baseline", "--from", "2026-03-01", "--to", "2026-02-01"], 2, "before --from"),
        (["report", "--period", "fortnight"], 2, "fortnight"),
        (
            ["baseline", "--from", "2026-01-01", "--to", "2026-01-02", "--by", "department"],
            2,
            "roster",
        ),
    ],
)
def test_bad_options_give_one_line_errors(org, args, code, needle):
    tmp, _rp, ep = org
    run(tmp, "ingest", ep)
    r = run(tmp, *args)
    assert r.exit_code == code
    assert needle in r.stderr and "Traceback" not in r.output
    assert len([line for line in r.stderr.splitlines() if line.startswith("Error:")]) == 1


def test_missing_required_column_names_file_and_fix(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("when,who,what\n2026-01-01T00:00:00Z,a@b.c,like\n")
    r = run(tmp_path, "ingest", bad)
    assert r.exit_code == 4
    assert "x.csv line 1: missing required column(s) timestamp" in r.stderr
    assert "--map" in r.stderr
    r = run(tmp_path, "ingest", bad, "--map", "timestamp=when,user=who,activity=what")
    assert r.exit_code == 0, r.output


def test_unknown_format_is_one_line_error(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("just some notes\nnothing else\n")
    r = run(tmp_path, "ingest", f)
    assert r.exit_code == 4
    assert "not a known export format" in r.stderr and "notes.txt" in r.stderr


def test_unparseable_rows_are_counted_and_shown(tmp_path):
    f = tmp_path / "e.csv"
    f.write_text(
        "timestamp,user,activity\n2026-01-01T10:00:00Z,a@b.c,like\nnope,a@b.c,like\n"
        "2026-01-01T10:00:00Z,a@b.c,dance\n"
    )
    r = run(tmp_path, "ingest", f, "--format", "json")
    assert r.exit_code == 0
    src = json.loads(r.stdout)["sources"][0]
    assert (src["rows"], src["events"], src["rejected"]) == (3, 1, 2)
    r = run(tmp_path, "rejects", "--format", "json")
    reasons = [x["reason"] for x in json.loads(r.stdout)["rows"]]
    assert any("ISO 8601" in x for x in reasons) and any("known activity" in x for x in reasons)


def test_schema_command_prints_the_schema():
    r = CliRunner().invoke(cli, ["schema"])
    assert r.exit_code == 0 and json.loads(r.stdout) == SCHEMA


def test_goals_defaults_and_init(tmp_path):
    r = CliRunner().invoke(cli, ["goals"])
    assert r.exit_code == 0 and "reader       55%" in r.stdout
    f = tmp_path / "g.toml"
    assert CliRunner().invoke(cli, ["goals", "--init", str(f)]).exit_code == 0
    r = CliRunner().invoke(cli, ["goals", "--goals", str(f)])
    assert "contributor  5%" in r.stdout


def test_goals_typo_is_config_error(tmp_path):
    f = tmp_path / "g.toml"
    f.write_text("[goals]\nreadr = 50\n")
    r = CliRunner().invoke(cli, ["goals", "--goals", str(f)])
    assert r.exit_code == 6 and "did you mean 'reader'" in r.stderr


def test_population_without_roster_and_observed_flag(org):
    tmp, _rp, ep = org
    run(tmp, "ingest", ep)
    fixed = json.loads(run(tmp, "baseline", *Q1, "--population", 1000, "--format", "json").stdout)
    assert fixed["population"] == {**fixed["population"], "basis": "fixed", "size": 1000}
    assert sum(fixed["ladder"].values()) == 1000
    r = run(tmp, "baseline", *Q1, "--format", "json")
    assert json.loads(r.stdout)["population"]["basis"] == "observed"
    assert "upper bound" in r.stderr


def test_sample_command_writes_an_organisation(tmp_path):
    r = CliRunner().invoke(cli, ["sample", str(tmp_path / "s"), "--seed", "3"])
    assert r.exit_code == 0
    assert (tmp_path / "s" / "roster.csv").is_file()
    exports = {p.name for p in (tmp_path / "s" / "exports").iterdir()}
    assert {"sharepoint-server", "m365-audit", "slack-workspace"} <= exports


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv"])
def test_compare_by_segment_renders_each_value(org, fmt):
    tmp, rp, ep = org
    base = tmp / "base.json"
    run(
        tmp,
        "baseline",
        ep,
        "--roster",
        rp,
        *Q1,
        "--by",
        "department",
        "--format",
        "json",
        "-o",
        base,
    )
    r = run(
        tmp,
        "compare",
        "--baseline",
        base,
        "--roster",
        rp,
        "--from",
        "2026-04-01",
        "--to",
        "2026-06-30",
        "--by",
        "department",
        "--format",
        fmt,
    )
    assert r.exit_code == 0, r.output
    for dept in ("Ops", "Sales", "IT", "HR"):
        assert dept in r.stdout
    assert "suppressed" in r.stdout or "True" in r.stdout  # the three-person Tiny group


def test_trend_warns_about_periods_without_events(org):
    tmp, rp, ep = org
    run(tmp, "ingest", ep)
    r = run(
        tmp,
        "report",
        "--period",
        "month",
        "--roster",
        rp,
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "--format",
        "json",
    )
    assert r.exit_code == 0
    assert "2026-12: the store holds no counted events" in r.stderr
    assert "2026-01: the store holds no counted events" not in r.stderr


def test_identical_rows_in_one_file_are_one_event(tmp_path):
    f = tmp_path / "e.csv"
    row = "2026-01-05T10:00:00Z,a@x.com,like,/p/1\n"
    f.write_text("timestamp,user,activity,item\n" + row * 3 + row.replace("like", "post"))
    r = run(tmp_path, "ingest", f, "--format", "json")
    src = json.loads(r.stdout)["sources"][0]
    assert (src["events"], src["new_events"], src["duplicates"]) == (4, 2, 2)
