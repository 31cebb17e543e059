"""--output FILE: the format follows the extension unless --format says otherwise, the
folder is created, and what baseline writes to baseline.json is what compare reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from intranet_metrics.cli import cli

WINDOW = ("--from", "2024-03-01", "--to", "2024-03-31")


def run(tmp: Path, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["--store", str(tmp / "store"), *args], env={"INTRANET_METRICS_KEY": ""}
    )


@pytest.fixture
def tmp(tmp_path) -> Path:
    lines = [f"2024-03-{1 + i:02d}T10:00:00Z,u{i}@contoso.com,page_view,/a" for i in range(20)]
    (tmp_path / "e.csv").write_text("timestamp,user,activity,item\n" + "\n".join(lines) + "\n")
    assert run(tmp_path, "ingest", str(tmp_path / "e.csv")).exit_code == 0
    return tmp_path


def test_baseline_json_by_extension_is_read_by_compare(tmp):
    out = tmp / "out" / "baseline.json"
    assert run(tmp, "baseline", *WINDOW, "--population", "25", "--output", str(out)).exit_code == 0
    r = run(tmp, "compare", "--baseline", str(out), *WINDOW, "--population", "25")
    assert r.exit_code == 0, r.output
    assert "baseline 2024-03-01..2024-03-31" in r.stdout


@pytest.mark.parametrize(
    ("name", "fmt", "start"),
    [("r.md", None, "## "), ("r.CSV", None, "label,"), ("r.txt", None, " "), ("r.md", "json", "{")],
)
def test_format_follows_the_extension_unless_given(tmp, name, fmt, start):
    args = ("baseline", *WINDOW, "--output", str(tmp / name))
    r = run(tmp, *args, *(("--format", fmt) if fmt else ()))
    assert r.exit_code == 0, r.output
    assert (tmp / name).read_text(encoding="utf-8").startswith(start)


def test_an_unwritable_output_is_a_usage_error(tmp):
    (tmp / "blocker").write_text("a file where a folder is needed")
    r = run(tmp, "baseline", *WINDOW, "--output", str(tmp / "blocker" / "r.json"))
    assert r.exit_code == 2 and "internal error" not in r.output
    assert "cannot write the report" in r.stderr


def test_compare_prints_the_warnings_of_both_windows(tmp):
    base = tmp / "b.json"
    assert run(tmp, "baseline", *WINDOW, "--output", str(base)).exit_code == 0
    r = run(tmp, "compare", "--baseline", str(base), "--from", "2024-05-01", "--to", "2024-05-31")
    assert r.exit_code == 0, r.output
    cmp_json = json.loads(
        run(tmp, "compare", "--baseline", str(base), "--from", "2024-05-01", "--to",
            "2024-05-31", "--format", "json").stdout
    )  # fmt: skip
    warnings = cmp_json["warnings"]
    assert any(w.startswith("baseline: no roster") for w in warnings)
    assert any(w.startswith("current 2024-05-01..2024-05-31: the store holds no") for w in warnings)
    assert "current 2024-05-01..2024-05-31: the store holds no" in r.stderr
