"""`intranet-metrics compact`: merges each month's files into one sorted file, changes no
event, and is crash-safe like ingest and forget (SIGKILL at random points)."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from intranet_metrics import api
from intranet_metrics.store import MANIFEST, Store
from tests.test_crash_safety import (
    assert_consistent,
    events,
    ingest_cmd,
    unlisted_files,
    write_exports,
)


def compact_cmd(store: Path) -> list[str]:
    return [sys.executable, "-m", "intranet_metrics", "--store", str(store), "compact"]


def files_per_month(store: Path) -> Counter[str]:
    m = json.loads((store / MANIFEST).read_text())
    return Counter(f["month"] for f in m["files"])


def three_commits(tmp_path: Path, rows: int = 3000) -> tuple[Path, Path]:
    """A store written by one ingest per export: up to three files in every month."""
    exports = write_exports(tmp_path / "exports", files=3, rows=rows)
    store = tmp_path / "store"
    for f in sorted(exports.iterdir()):
        subprocess.run(ingest_cmd(store, f), check=True, capture_output=True)
    return store, exports


def test_compact_merges_each_month_into_one_sorted_file(tmp_path):
    store, exports = three_commits(tmp_path, rows=400)
    assert max(files_per_month(store).values()) == 3
    before = events(store)
    sources = json.loads((store / MANIFEST).read_text())["sources"]
    res = api.compact(Store.open(store))
    assert set(files_per_month(store).values()) == {1}
    assert res.files_before > res.files_after == len(files_per_month(store))
    assert events(store) == before
    assert json.loads((store / MANIFEST).read_text())["sources"] == sources
    assert unlisted_files(store) == []
    for f in Store.open(store).event_files():
        t = pq.read_table(f, columns=["time"]).column("time")
        assert pc.all(pc.greater_equal(t[1:], t[:-1])).as_py()
    # Every file still names its sources (forget relies on it), and forget still works.
    m = json.loads((store / MANIFEST).read_text())
    assert all(f["sources"] for f in m["files"])
    api.forget(Store.open(store), [str(exports / "export-1.csv")])
    assert len(events(store)) < len(before)
    # Nothing left to merge: a second compact writes nothing.
    again = api.compact(Store.open(store))
    assert again.commit is None and again.months == []


def test_compact_cli_says_what_it_did(tmp_path):
    store, _ = three_commits(tmp_path, rows=200)
    out = subprocess.run(compact_cmd(store), check=True, capture_output=True, text=True)
    assert "compacted" in out.stdout and "data files ->" in out.stdout
    out = subprocess.run(compact_cmd(store), check=True, capture_output=True, text=True)
    assert "nothing to compact" in out.stdout


@pytest.mark.slow
def test_sigkill_during_compact_leaves_before_or_after_then_rerun_completes(tmp_path):
    base, _ = three_commits(tmp_path)
    want = events(base)
    before = files_per_month(base)
    ref = tmp_path / "reference"
    shutil.copytree(base, ref)
    t0 = time.perf_counter()
    subprocess.run(compact_cmd(ref), check=True, capture_output=True)
    clean = time.perf_counter() - t0
    after = files_per_month(ref)
    rng = random.Random(20261201)
    landed = 0
    for episode in range(10):
        store = tmp_path / f"store-{episode}"
        shutil.copytree(base, store)
        proc = subprocess.Popen(
            compact_cmd(store), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(clean * 0.3, clean * 1.05))
        landed += proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert_consistent(store)
        # Never half: the manifest lists the old files or the merged ones, and the events
        # are the same either way.
        assert files_per_month(store) in (before, after), f"episode {episode}"
        assert events(store) == want, f"episode {episode}"
        subprocess.run(compact_cmd(store), check=True, capture_output=True)
        assert files_per_month(store) == after and events(store) == want
        assert unlisted_files(store) == [], f"episode {episode}"
    print(f"\n{landed} of 10 SIGKILLs landed while compact ran; clean compact {clean:.2f} s")
