"""Issue 10.8: verify that means it. Inputs are recorded absolute (and relative to the
report written with --output), trend reports list theirs, and a report lists exactly the
source versions it used, so a grown export ingested again does not fail a fresh report."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result

from intranet_metrics.cli import cli
from intranet_metrics.errors import ExitCode

HEADER = "timestamp,user,activity,item\n"
SCHEMA = json.loads(resources.files("intranet_metrics").joinpath("report.schema.json").read_text())
MARCH = ("--from", "2024-03-01", "--to", "2024-03-31")


def run(store: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--store", str(store), *args], env={"INTRANET_METRICS_KEY": ""})


def rows(month: int, n: int, start: int = 0) -> str:
    return "".join(
        f"2024-{month:02d}-{1 + i % 28:02d}T10:00:00Z,u{i}@contoso.com,page_view,/a\n"
        for i in range(start, start + n)
    )


@pytest.fixture
def work(tmp_path, monkeypatch) -> Path:
    """exports/march.csv, ingested by a relative path from tmp_path."""
    (tmp_path / "exports").mkdir()
    (tmp_path / "reports").mkdir()
    (tmp_path / "exports" / "march.csv").write_text(HEADER + rows(3, 10))
    monkeypatch.chdir(tmp_path)
    assert run(tmp_path / "store", "ingest", "exports").exit_code == 0
    return tmp_path


def report(work: Path, *args: str, name: str = "r.json") -> Path:
    out = work / "reports" / name
    r = run(work / "store", *args, "--population", "20", "--format", "json", "-o", str(out))
    assert r.exit_code == 0, r.output
    return out


def test_inputs_are_absolute_and_verify_ignores_the_current_folder(work, monkeypatch):
    out = report(work, "baseline", *MARCH)
    (inp,) = json.loads(out.read_text())["inputs"]
    assert inp["file"] == str(work / "exports" / "march.csv")
    assert inp["relative"] == "../exports/march.csv"
    monkeypatch.chdir(work / "reports")  # where no exports/ folder exists
    r = run(work / "store", "verify", str(out))
    assert r.exit_code == 0, r.output
    assert r.stdout.split() == ["unchanged", str(work / "exports" / "march.csv")]


def test_report_and_exports_moved_together_still_verify(work, tmp_path_factory):
    report(work, "baseline", *MARCH)
    moved = tmp_path_factory.mktemp("moved")
    for d in ("exports", "reports"):
        shutil.move(str(work / d), str(moved / d))
    r = run(work / "store", "verify", str(moved / "reports" / "r.json"))
    assert r.exit_code == 0 and r.stdout.startswith("unchanged"), r.output


def test_trend_report_lists_its_inputs_and_verify_checks_them(work):
    out = report(work, "report", "--period", "month", *MARCH)
    jsonschema.validate(json.loads(out.read_text()), SCHEMA)
    (inp,) = json.loads(out.read_text())["inputs"]
    assert inp["file"] == str(work / "exports" / "march.csv")
    with open(work / "exports" / "march.csv", "a") as fh:
        fh.write(rows(3, 1, start=50))
    r = run(work / "store", "verify", str(out))
    assert r.exit_code == ExitCode.VERIFY_CHANGED, r.output
    assert r.stdout.startswith("changed")


def test_a_grown_export_ingested_again_does_not_fail_a_fresh_report(work):
    with open(work / "exports" / "march.csv", "a") as fh:
        fh.write(rows(3, 5, start=10))
    assert run(work / "store", "ingest", "exports").exit_code == 0
    out = report(work, "baseline", *MARCH)
    r = run(work / "store", "verify", str(out))
    assert r.exit_code == 0, r.output
    written = json.loads(out.read_text())
    jsonschema.validate(written, SCHEMA)
    inputs = written["inputs"]
    assert len(inputs) == 2  # both versions, newest last; the older one points to it
    assert inputs[0]["superseded_by"] == inputs[1]["sha256"]
    # It grows once more: now the report no longer matches the file.
    with open(work / "exports" / "march.csv", "a") as fh:
        fh.write(rows(3, 1, start=40))
    assert run(work / "store", "verify", str(out)).exit_code == ExitCode.VERIFY_CHANGED


def test_a_report_lists_only_the_sources_with_events_in_its_window(work):
    (work / "exports" / "january.csv").write_text(HEADER + rows(1, 10))
    assert run(work / "store", "ingest", "exports").exit_code == 0
    files = [i["file"] for i in json.loads(report(work, "baseline", *MARCH).read_text())["inputs"]]
    assert files == [str(work / "exports" / "march.csv")]


def test_comparison_checks_the_newest_version_for_both_sides(work):
    base = report(work, "baseline", *MARCH, name="base.json")
    with open(work / "exports" / "march.csv", "a") as fh:
        fh.write(rows(3, 5, start=10))
    assert run(work / "store", "ingest", "exports").exit_code == 0
    out = work / "cmp.json"
    args = ("compare", "--baseline", str(base), *MARCH, "--population", "20", "--format", "json")
    args = (*args, "-o", str(out))
    assert run(work / "store", *args).exit_code == 0
    r = run(work / "store", "verify", str(out))
    assert r.exit_code == 0, r.output
    assert sorted(r.stdout.split()[::2]) == ["superseded", "unchanged"]


def test_a_report_without_an_inputs_list_cannot_pass(work):
    out = report(work, "report", "--period", "month", *MARCH)
    old = json.loads(out.read_text())
    del old["inputs"]  # a trend report of an earlier version
    out.write_text(json.dumps(old))
    r = run(work / "store", "verify", str(out))
    assert r.exit_code == ExitCode.BAD_INPUT and "cannot be verified" in r.stderr
