"""A store that says what is wrong (issue 10 item 5): damaged manifests and data files exit 5
naming the file and pointing to `repair`; a full disk and a read-only store exit 5 and
leave nothing half-written; an ingest's cleanup never removes another command's files."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from intranet_metrics import api
from intranet_metrics.cli import cli
from intranet_metrics.errors import StoreError
from intranet_metrics.store import MANIFEST, Store
from tests.synth import make_org, write_org

Q1 = ["--from", "2026-01-01", "--to", "2026-03-31"]


@pytest.fixture
def org(tmp_path):
    roster, events = make_org(seed=7, people=40, events=800)
    rp, ep = write_org(roster, events, tmp_path / "org")
    return tmp_path, rp, ep


def run(store: Path, *args: object):
    return CliRunner().invoke(cli, ["--store", str(store), *map(str, args)])


def ingested(org) -> Path:
    tmp, _rp, ep = org
    s = tmp / "store"
    assert run(s, "ingest", ep).exit_code == 0
    return s


def figures(store: Path, rp: Path) -> dict:
    r = run(store, "baseline", "--roster", rp, *Q1, "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    return {k: out[k] for k in ("population", "metrics", "ladder")}


def leftovers(root: Path) -> list[str]:
    rel = [p.relative_to(root) for p in root.rglob("*")]
    return sorted(str(p) for p in rel if p.name.endswith(".tmp") or p.parts[0] == "tmp")


# -- damaged manifest and files ----------------------------------------------------------
@pytest.mark.parametrize(
    "manifest",
    [
        "[]",
        "{}",
        '{"intranet_metrics_store": 1}',
        '{"intranet_metrics_store": 1, "sources": [], "files": {}, "rejects": []}',
        '{"intranet_metrics_store": 1, "sources": [], "files": [7], "rejects": []}',
        '{"intranet_metrics_store": 1, "sources": [], "files": [{"path": "x"}], "rejects": []}',
        '{"intranet_metrics_store": 1, "sources": [], "rejects": [], '
        '"files": [{"path": "../../etc/passwd", "month": "2026-01", "rows": 1}]}',
        '{"intranet_metrics_store": 1, "sources": [',
    ],
)
@pytest.mark.parametrize("command", [["sources"], ["report", "--period", "month"], ["ingest"]])
def test_manifest_of_the_wrong_shape_exits_5_naming_it_and_repair(org, manifest, command):
    # On 181da4d these were "internal error" (KeyError, AttributeError, TypeError), exit 1.
    s = ingested(org)
    (s / MANIFEST).write_text(manifest)
    args = [*command, org[2]] if command == ["ingest"] else command
    r = run(s, *args)
    assert r.exit_code == 5, r.output
    assert str(s / MANIFEST) in r.stderr and "intranet-metrics repair" in r.stderr
    assert "internal error" not in r.stderr


def _data_file(s: Path) -> Path:
    return s / json.loads((s / MANIFEST).read_text())["files"][0]["path"]


def _truncate(p: Path) -> None:
    with open(p, "r+b") as fh:
        fh.truncate(p.stat().st_size // 2)


@pytest.mark.parametrize("damage", [Path.unlink, _truncate])
def test_missing_or_truncated_data_file_exits_5_then_repair_restores_the_figures(org, damage):
    _tmp, rp, ep = org
    s = ingested(org)
    want = figures(s, rp)
    damaged = _data_file(s)
    damage(damaged)
    r = run(s, "baseline", "--roster", rp, *Q1)
    assert r.exit_code == 5, r.output
    assert str(damaged) in r.stderr and "intranet-metrics repair" in r.stderr
    # 181da4d: a re-ingest said "already in the store" and nothing could fix it.
    r = run(s, "repair", "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [x["path"] for x in out["ingest_again"]] == [str(ep)]
    assert any(str(damaged) in p for p in out["problems"])
    assert run(s, "ingest", ep).exit_code == 0
    assert figures(s, rp) == want


def test_repair_of_a_manifest_that_is_not_json_lists_the_sources_on_disk(org):
    _tmp, rp, ep = org
    s = ingested(org)
    want = figures(s, rp)
    (s / MANIFEST).write_text("{not json")
    r = run(s, "repair")
    assert r.exit_code == 0, r.output
    assert str(ep) in r.stdout
    assert run(s, "ingest", ep).exit_code == 0
    assert figures(s, rp) == want


def test_repair_of_a_consistent_store_changes_nothing(org):
    s = ingested(org)
    before = (s / MANIFEST).read_text()
    r = run(s, "repair")
    assert r.exit_code == 0 and "nothing to repair" in r.stdout
    assert (s / MANIFEST).read_text() == before


def test_repair_without_a_store_is_exit_5(tmp_path):
    r = run(tmp_path / "nowhere", "repair")
    assert r.exit_code == 5 and "nothing to repair" in r.stderr


# -- full disk -----------------------------------------------------------------------------
def _no_space(*args, **kw):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_full_disk_while_writing_the_manifest_exits_5_and_leaves_nothing(org, monkeypatch):
    tmp, _rp, ep = org
    s = tmp / "store"
    Store.open(s, create=True)
    before = (s / MANIFEST).read_text()
    real_dump = json.dump

    def dump(obj, fh, **kw):
        real_dump(obj, fh, **kw)  # part of the manifest reaches the temp file, then ENOSPC
        _no_space()

    monkeypatch.setattr(json, "dump", dump)
    r = run(s, "ingest", ep)
    monkeypatch.undo()
    assert r.exit_code == 5, r.output
    assert f"no space left on {s}" in r.stderr
    assert leftovers(s) == []  # 181da4d left .manifest.json.<uuid>.tmp behind
    assert (s / MANIFEST).read_text() == before
    assert not list(s.rglob("*.parquet"))  # files moved into place are taken back


def test_full_disk_while_saving_tiers_still_prints_the_baseline(org, monkeypatch):
    _tmp, rp, _ep = org
    s = ingested(org)
    monkeypatch.setattr(pq, "write_table", _no_space)
    r = run(s, "baseline", "--roster", rp, *Q1, "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert "measurement_id" not in out
    assert any("no space left on" in w and "unpaired" in w for w in out["warnings"])
    assert leftovers(s) == []


# -- read-only store -----------------------------------------------------------------------
def _read_only_runner() -> list[str] | None:
    """A command prefix that runs with the store read-only for real: as root (who ignores
    permissions) a private read-only bind mount; otherwise None (chmod is enough)."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    if shutil.which("unshare") is None:
        pytest.skip("root without unshare: cannot make a read-only store")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("root without mount namespaces: cannot make a read-only store")
    return [
        "unshare",
        "-m",
        "sh",
        "-c",
        'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && shift && exec "$@"',
    ]


def run_read_only(store: Path, *args: object) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "intranet_metrics", "--store", str(store), *map(str, args)]
    prefix = _read_only_runner()
    if prefix is None:
        for p in [store, *store.rglob("*")]:
            p.chmod(p.stat().st_mode & ~0o222)
        try:
            return subprocess.run(cmd, capture_output=True, text=True)
        finally:
            for p in [store, *store.rglob("*")]:
                p.chmod(p.stat().st_mode | 0o200)
    return subprocess.run([*prefix, str(store), "_", *cmd], capture_output=True, text=True)


@pytest.mark.parametrize(
    "args",
    [
        ["sources"],
        ["rejects"],
        ["report", "--period", "month", "--format", "json"],
        ["baseline", *Q1, "--population", "5000", "--format", "json"],
    ],
)
def test_reading_commands_work_on_a_read_only_store(org, args):
    s = ingested(org)
    r = run_read_only(s, *args)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("command", ["ingest", "forget", "repair"])
def test_writing_commands_on_a_read_only_store_exit_5_naming_the_path(org, command):
    # 181da4d: ingest was "internal error (OSError: Read-only file system)", exit 1.
    tmp, _rp, ep = org
    s = ingested(org)
    other = tmp / "other.csv"
    other.write_text("timestamp,user,activity\n2026-01-05T10:00:00Z,z@org.example,like\n")
    args = {"ingest": [other], "forget": [ep], "repair": []}[command]
    r = run_read_only(s, command, *args)
    assert r.returncode == 5, r.stderr
    assert str(s) in r.stderr and "read-only" in r.stderr and "internal error" not in r.stderr


def test_baseline_with_roster_on_a_read_only_store_prints_it_and_warns(org):
    _tmp, rp, _ep = org
    s = ingested(org)
    r = run_read_only(s, "baseline", "--roster", rp, *Q1, "--format", "json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["metrics"] and "measurement_id" not in out
    assert "read-only" in r.stderr and "paired" in r.stderr


# -- other commands' files -----------------------------------------------------------------
def test_ingest_cleanup_leaves_a_baseline_writing_its_tiers_alone(org, monkeypatch):
    # 181da4d: the ingest's cleanup deleted measurements/.<id>.parquet.tmp while the
    # baseline was writing it, and the baseline then failed with FileNotFoundError.
    tmp, _rp, _ep = org
    s = ingested(org)
    store = api.open_store(s)
    writing, release = threading.Event(), threading.Event()
    real_write = pq.write_table

    def slow_write(table, where, **kw):
        real_write(table, where, **kw)
        writing.set()
        assert release.wait(10)

    monkeypatch.setattr(pq, "write_table", slow_write)
    result: dict = {}
    t = threading.Thread(
        target=lambda: result.update(mid=api.save_tiers(store, pa.table({"a": [1]})))
    )
    t.start()
    assert writing.wait(10)
    other = tmp / "other.csv"
    other.write_text("timestamp,user,activity\n2026-01-05T10:00:00Z,z@org.example,like\n")
    ing = threading.Thread(target=lambda: result.update(ing=api.ingest(api.open_store(s), [other])))
    ing.start()
    time.sleep(0.5)
    assert list((s / "measurements").glob(".*.tmp"))  # still there while being written
    release.set()
    t.join(10)
    ing.join(30)
    assert (s / "measurements" / f"{result['mid']}.parquet").is_file()
    assert result["ing"].sources[0].new_events == 1


def test_a_dead_writers_temp_files_are_removed_by_the_next_ingest(org):
    _tmp, _rp, ep = org
    s = ingested(org)
    (s / "measurements").mkdir(exist_ok=True)
    debris = [s / "measurements" / ".dead.parquet.tmp", s / f".{MANIFEST}.dead.tmp"]
    for p in debris:
        p.write_text("half")
    assert run(s, "ingest", ep).exit_code == 0
    assert not any(p.exists() for p in debris)


def test_store_errors_are_store_errors(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / MANIFEST).write_text("[]")
    with pytest.raises(StoreError, match="repair"):
        Store.open(tmp_path / "s")


def test_damaged_saved_tiers_exit_5_then_repair_removes_them_and_compare_is_unpaired(org):
    _tmp, rp, _ep = org
    s = ingested(org)
    r = run(s, "baseline", "--roster", rp, *Q1, "--format", "json")
    base = s.parent / "base.json"
    base.write_text(r.stdout)
    tiers = s / "measurements" / f"{json.loads(r.stdout)['measurement_id']}.parquet"
    _truncate(tiers)
    args = ["compare", "--baseline", base, "--roster", rp, *Q1, "--format", "json"]
    r = run(s, *args)
    assert r.exit_code == 5 and str(tiers) in r.stderr and "repair" in r.stderr, r.output
    r = run(s, "repair")
    assert r.exit_code == 0 and str(tiers) in r.stdout
    r = run(s, *args)
    assert r.exit_code == 0, r.output
    assert '"mcnemar-midp"' not in r.stdout


@pytest.mark.parametrize(
    "exc",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        duckdb.IOException('Could not write file "x": No space left on device'),
    ],
)
def test_full_disk_from_pyarrow_or_duckdb_exits_5(org, monkeypatch, exc):
    _tmp, _rp, ep = org
    s = _tmp / "store"

    def fail(*args, **kw):
        raise exc

    monkeypatch.setattr("intranet_metrics.store.Store._dedupe", fail)
    r = run(s, "ingest", ep)
    assert r.exit_code == 5 and f"no space left on {s}" in r.stderr, r.output
    assert leftovers(s) == []


def test_a_new_store_under_a_read_only_folder_exits_5(org, tmp_path):
    _tmp, _rp, ep = org
    parent = tmp_path / "ro"
    parent.mkdir()
    prefix = _read_only_runner()
    cmd = [sys.executable, "-m", "intranet_metrics", "--store", str(parent / "s"), "ingest", ep]
    if prefix is None:
        parent.chmod(0o555)
        try:
            r = subprocess.run(list(map(str, cmd)), capture_output=True, text=True)
        finally:
            parent.chmod(0o755)
    else:
        r = subprocess.run(
            [*prefix, str(parent), "_", *map(str, cmd)], capture_output=True, text=True
        )
    assert r.returncode == 5, r.stderr
    assert "read-only" in r.stderr and "internal error" not in r.stderr


def test_a_truncated_file_listed_without_its_size_is_found_by_its_footer(org):
    _tmp, rp, _ep = org
    s = ingested(org)
    m = json.loads((s / MANIFEST).read_text())
    for f in m["files"]:
        del f["bytes"]  # as 0.1 wrote them
    (s / MANIFEST).write_text(json.dumps(m))
    damaged = _data_file(s)
    _truncate(damaged)
    r = run(s, "baseline", "--roster", rp, *Q1)
    assert r.exit_code == 5 and str(damaged) in r.stderr and "repair" in r.stderr, r.output


def test_full_disk_while_writing_staged_parquet_exits_5_and_leaves_nothing(org, monkeypatch):
    _tmp, _rp, ep = org
    s = _tmp / "store"
    # (a source of one batch reaches the shared staging file through write_table)
    monkeypatch.setattr(pq.ParquetWriter, "write_table", _no_space)
    r = run(s, "ingest", ep)
    assert r.exit_code == 5 and f"no space left on {s}" in r.stderr, r.output
    assert leftovers(s) == [] and not list(s.rglob("*.parquet"))
