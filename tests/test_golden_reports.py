"""The JSON of baseline, compare and report on sample_logs/ is the JSON of before the
typed results and the metric registry (issue 11): apart from generated_at and the
absolute paths of the inputs, byte for byte the same document."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from intranet_metrics.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_logs"
GOLDEN = Path(__file__).parent / "golden"
ROSTER = str(SAMPLE / "roster.csv")
Q1 = ["--from", "2026-01-01", "--to", "2026-03-31"]
Q3 = ["--from", "2026-07-01", "--to", "2026-09-30"]


def _clean(doc, root: str):
    """generated_at and measurement_id vary per run and input paths per checkout and
    temporary folder: they are blanked (paths from sample_logs/ on)."""
    if isinstance(doc, dict):
        return {
            k: ("-" if k in ("generated_at", "measurement_id") else _clean(v, root))
            for k, v in doc.items()
        }
    if isinstance(doc, list):
        return [_clean(v, root) for v in doc]
    if isinstance(doc, str) and "sample_logs" in doc:
        return "<root>/sample_logs" + doc.replace(os.sep, "/").split("sample_logs", 1)[1]
    return doc


def _run(store: Path, *args: str) -> str:
    r = CliRunner().invoke(cli, ["--store", str(store), *args])
    assert r.exit_code == 0, r.output
    return r.stdout


def reports(tmp: Path) -> dict[str, dict]:
    store = tmp / "store"
    _run(store, "ingest", str(SAMPLE / "exports"), "--format", "json")
    base = tmp / "baseline.json"
    by = ["--by", "department"]
    _run(store, "baseline", "--roster", ROSTER, *Q1, *by, "--format", "json", "-o", str(base))
    out = {"baseline": json.loads(base.read_text(encoding="utf-8"))}
    args = ["compare", "--baseline", str(base), "--roster", ROSTER, *Q3, *by]
    out["compare"] = json.loads(_run(store, *args, "--format", "json"))
    args = ["report", "--period", "quarter", "--roster", ROSTER, *by, "--format", "json"]
    out["report"] = json.loads(_run(store, *args))
    out["report_observed"] = json.loads(
        _run(store, "report", "--period", "month", "--format", "json")
    )
    root = str(ROOT)
    return {k: _clean(v, root) for k, v in out.items()}


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, dict]:
    return reports(tmp_path_factory.mktemp("golden"))


@pytest.mark.parametrize("name", ["baseline", "compare", "report", "report_observed"])
def test_json_is_unchanged(made, name):
    golden = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    assert json.dumps(made[name], indent=1) == json.dumps(golden, indent=1)


if __name__ == "__main__":  # writes the golden files (only from the code they pin)
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        for name, doc in reports(Path(d)).items():
            text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
            (GOLDEN / f"{name}.json").write_text(text, encoding="utf-8")


@pytest.mark.parametrize("name", ["baseline", "compare", "report", "report_observed"])
@pytest.mark.parametrize("fmt", ["csv", "md"])
def test_csv_and_markdown_of_the_golden_json_are_unchanged(name, fmt):
    from intranet_metrics.render import to_csv, to_markdown

    doc = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    text = (to_csv if fmt == "csv" else to_markdown)(doc)
    assert text == (GOLDEN / f"{name}.{fmt}").read_text(encoding="utf-8")
