"""Windows and macOS (issue 10 items 3, 4): no Unix-only import, and paths that are data,
never SQL: a store at ``O'Brien [2026]/store`` works end to end and a path holding SQL
runs none."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from intranet_metrics.cli import cli
from tests.synth import make_org, write_org

ROOT = Path(__file__).resolve().parent.parent
Q1 = ["--from", "2026-01-01", "--to", "2026-03-31"]
Q2 = ["--from", "2026-04-01", "--to", "2026-06-30"]

# Makes `import fcntl` fail as it does on Windows, before anything else is imported.
NO_FCNTL = """
import sys


class _NoFcntl:
    def find_spec(self, name, path=None, target=None):
        if name == "fcntl":
            raise ImportError("No module named 'fcntl' (simulated Windows)")
        return None


sys.modules.pop("fcntl", None)
sys.meta_path.insert(0, _NoFcntl())
"""


@pytest.fixture
def org(tmp_path):
    roster, events = make_org(seed=11, people=50, events=1500)
    return write_org(roster, events, tmp_path / "org")


def test_ingest_and_measure_without_fcntl(tmp_path, org):
    # Fails on 181da4d: store.py imports fcntl at the top, so the package does not import.
    rp, ep = org
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(NO_FCNTL)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hook), str(ROOT)])}
    env.pop("INTRANET_METRICS_KEY", None)
    base = [
        sys.executable,
        "-W",
        "ignore",
        "-m",
        "intranet_metrics",
        "--store",
        str(tmp_path / "s"),
    ]
    probe = subprocess.run(
        [sys.executable, "-c", "import fcntl"], env=env, capture_output=True, text=True
    )
    assert probe.returncode != 0 and "simulated Windows" in probe.stderr  # the hook works
    r = subprocess.run([*base, "ingest", str(ep)], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(
        [*base, "baseline", "--roster", str(rp), *Q1, "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["population"]


def test_store_is_python_only_portable():
    # No module of the package imports a Unix-only module at any level.
    unix_only = re.compile(r"^\s*(import|from)\s+(fcntl|termios|pwd|grp|resource)\b", re.M)
    hits = [
        p.name for p in (ROOT / "intranet_metrics").rglob("*.py") if unix_only.search(p.read_text())
    ]
    assert hits == []


def test_pyproject_states_the_supported_systems_and_the_lock_dependency():
    text = (ROOT / "pyproject.toml").read_text()
    for system in ("Microsoft :: Windows", "MacOS", "POSIX :: Linux"):
        assert f"Operating System :: {system}" in text
    assert '"filelock' in text


def run(store: Path, *args: object):
    return CliRunner().invoke(cli, ["--store", str(store), *map(str, args)])


@pytest.mark.parametrize("name", ["O'Brien [2026]", "x'); COPY (SELECT 1) TO 'pwned.csv'; --"])
def test_store_path_with_quotes_brackets_or_sql_works_end_to_end(tmp_path, org, name, monkeypatch):
    # Fails on 181da4d: the store path was pasted into SET temp_directory, the staging glob
    # and COPY ... TO, so a quote broke the ingest and a crafted path ran its own SQL.
    rp, ep = org
    monkeypatch.chdir(tmp_path)
    s = tmp_path / name / "store"
    r = run(s, "ingest", ep)
    assert r.exit_code == 0, r.output
    r = run(s, "baseline", "--roster", rp, *Q1, "--format", "json")
    assert r.exit_code == 0, r.output
    base = tmp_path / "base.json"
    base.write_text(r.stdout)
    r = run(s, "compare", "--baseline", base, "--roster", rp, *Q2, "--format", "json")
    assert r.exit_code == 0, r.output
    assert '"mcnemar-midp"' in r.stdout  # paired: the tiers were saved and found again
    r = run(s, "report", "--period", "month", "--format", "json")
    assert r.exit_code == 0, r.output
    assert run(s, "ingest", ep).exit_code == 0  # dedupe against the stored files
    assert not list(tmp_path.rglob("pwned.csv"))


def test_manifest_paths_are_posix_and_stay_inside_the_store(tmp_path, org):
    _rp, ep = org
    s = tmp_path / "s"
    assert run(s, "ingest", ep).exit_code == 0
    m = json.loads((s / "manifest.json").read_text())
    for f in m["files"]:
        assert "\\" not in f["path"] and not Path(f["path"]).is_absolute()
        assert f["bytes"] == (s / f["path"]).stat().st_size
