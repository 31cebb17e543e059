"""Exactly-once, crash-safe store (issue 4.3): SIGKILL an ingest at random points, many
times, then re-run it; the store must hold exactly the events of one clean ingest, and no
file outside the manifest may remain. Two ingests at once are serialised by the lock."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from intranet_metrics import activity
from intranet_metrics.store import MANIFEST, Store

KILLS = 50  # kills that land while the ingest runs
KILLS_PER_STORE = 3
ACTIVITIES = ("page_view", "like", "post", "comment", "file_view", "edit")


def write_exports(folder: Path, files: int = 3, rows: int = 3000, seed: int = 4) -> Path:
    """Generic CSVs spread over a year (many month partitions), with duplicates across files
    (so dedupe matters) and a few bad rows (so rejects are written too)."""
    rng = random.Random(seed)
    folder.mkdir()
    for f in range(files):
        with open(folder / f"export-{f}.csv", "w") as fh:
            fh.write("timestamp,user,activity,item\n")
            for i in range(rows):
                if i % 997 == 0:
                    fh.write("not-a-time,someone@contoso.com,like,/x\n")
                    continue
                fh.write(
                    f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
                    f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z,"
                    f"user{rng.randint(1, 400)}@contoso.com,{rng.choice(ACTIVITIES)},"
                    f"/p/{rng.randint(1, 50)}\n"
                )
    return folder


def ingest_cmd(store: Path, exports: Path) -> list[str]:
    return [sys.executable, "-m", "intranet_metrics", "--store", str(store), "ingest", str(exports)]


def events(store: Path) -> Counter[tuple[str, int]]:
    """The store's events as a multiset of (event_key, count): duplicates would show."""
    s = Store.open(store)
    out: Counter[tuple[str, int]] = Counter()
    for f in s.event_files():
        t = pq.read_table(f, columns=["event_key", "count"])
        out.update(
            zip(t.column("event_key").to_pylist(), t.column("count").to_pylist(), strict=True)
        )
    return out


def unlisted_files(store: Path) -> list[str]:
    """Files that are neither the manifest, the lock, nor listed in the manifest."""
    m = json.loads((store / MANIFEST).read_text())
    listed = {f["path"] for f in m["files"]} | {f["path"] for f in m["rejects"]}
    for f in m["files"]:  # derived files
        listed |= set(activity.paths_of(f["activity"])) if "activity" in f else set()
    return sorted(
        str(p.relative_to(store))
        for p in store.rglob("*")
        if p.is_file() and str(p.relative_to(store)) not in listed | {MANIFEST, ".lock"}
    )


def assert_consistent(store: Path) -> None:
    """After any crash: the manifest parses and every file it lists exists."""
    if not (store / MANIFEST).exists():
        return
    s = Store.open(store)
    for f in s.event_files() + s.reject_files():
        assert Path(f).is_file(), f


@pytest.mark.slow
def test_sigkill_at_random_points_then_rerun_is_exactly_once(tmp_path):
    exports = write_exports(tmp_path / "exports")
    ref = tmp_path / "reference"
    t0 = time.perf_counter()
    subprocess.run(ingest_cmd(ref, exports), check=True, capture_output=True)
    clean = time.perf_counter() - t0
    want = events(ref)
    want_sources = [(s["sha256"], s["rows"], s["rejected"]) for s in Store.open(ref).sources]
    assert len(want) > 8_000

    rng = random.Random(int(os.environ.get("KILL_SEED", "20261127")))
    started = time.perf_counter()
    landed = finished = episodes = 0
    while landed < KILLS:
        store = tmp_path / f"store-{episodes}"
        episodes += 1
        # Up to three kills on one store, so crash debris piles up before the clean run.
        for _ in range(KILLS_PER_STORE):
            proc = subprocess.Popen(
                ingest_cmd(store, exports), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            time.sleep(rng.uniform(0.05, clean * 1.1))
            running = proc.poll() is None
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            assert_consistent(store)
            landed += running
            finished += not running
            if (store / MANIFEST).exists() and Store.open(store).sources:
                break  # committed before the kill: later runs would have nothing to do
        subprocess.run(ingest_cmd(store, exports), check=True, capture_output=True)
        assert events(store) == want, f"episode {episodes}"
        got = [(s["sha256"], s["rows"], s["rejected"]) for s in Store.open(store).sources]
        assert sorted(got) == sorted(want_sources)
        assert unlisted_files(store) == [], f"episode {episodes}"
    took = time.perf_counter() - started
    print(
        f"\n{landed} SIGKILLs of a running ingest ({finished} more came too late) over "
        f"{episodes} stores in {took:.0f} s; clean ingest {clean:.2f} s"
    )


def test_crash_debris_is_removed_by_the_next_ingest(tmp_path):
    exports = write_exports(tmp_path / "exports", files=1, rows=50)
    store = Store.open(tmp_path / "store", create=True)
    (tmp_path / "store" / "tmp" / "x").mkdir(parents=True)
    (tmp_path / "store" / "tmp" / "x" / "stage-000000.parquet").write_bytes(b"junk")
    orphan = tmp_path / "store" / "events" / "month=2024-01" / "part-dead-0.parquet"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"junk")
    (tmp_path / "store" / f".{MANIFEST}.dead.tmp").write_text("{")
    from intranet_metrics.config import Config
    from intranet_metrics.identity import Pseudonymiser
    from intranet_metrics.pipeline import ingest

    ingest(store, [exports], Config(), Pseudonymiser(None))
    assert unlisted_files(tmp_path / "store") == []
    assert not (tmp_path / "store" / "tmp").exists()


def test_reingest_and_overlap_count_once(tmp_path):
    exports = write_exports(tmp_path / "exports", files=2, rows=300)
    store = tmp_path / "store"
    subprocess.run(ingest_cmd(store, exports), check=True, capture_output=True)
    first = events(store)
    # The same rows again under another file name: new SHA-256, but no new events.
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "copy.csv").write_text(
        (exports / "export-0.csv").read_text() + "2024-02-02T10:00:00Z,new@contoso.com,like,/n\n"
    )
    subprocess.run(ingest_cmd(store, tmp_path / "again"), check=True, capture_output=True)
    after = events(store)
    assert len(after) == len(first) + 1 and max(after.values()) == 1


def test_second_ingest_with_no_wait_fails_clearly(tmp_path):
    exports = write_exports(tmp_path / "exports", files=1, rows=50)
    store = Store.open(tmp_path / "store", create=True)
    with store.lock():
        r = subprocess.run(
            [*ingest_cmd(tmp_path / "store", exports)[:-2], "ingest", "--no-wait", str(exports)],
            capture_output=True,
            text=True,
        )
    assert r.returncode == 5
    assert r.stderr.count("Error:") == 1 and "another ingest is running" in r.stderr
    assert "Traceback" not in r.stderr
    assert Store.open(tmp_path / "store").sources == []


def test_second_ingest_waits_with_a_message(tmp_path):
    exports = write_exports(tmp_path / "exports", files=1, rows=50)
    store = Store.open(tmp_path / "store", create=True)
    with store.lock():
        proc = subprocess.Popen(
            ingest_cmd(tmp_path / "store", exports),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(2.5)
        assert proc.poll() is None  # still waiting for the lock
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "another ingest is running; waiting" in err
    assert len(Store.open(tmp_path / "store").sources) == 1


def test_crash_while_creating_the_store_does_not_lock_it_out(tmp_path):
    root = tmp_path / "store"
    root.mkdir()
    (root / ".lock").touch()
    (root / f".{MANIFEST}.0123.tmp").write_text('{"half": ')
    store = Store.open(root, create=True)
    assert store.sources == [] and (root / MANIFEST).is_file()


def forget_cmd(store: Path, source: Path) -> list[str]:
    return [sys.executable, "-m", "intranet_metrics", "--store", str(store), "forget", str(source)]


@pytest.mark.slow
def test_sigkill_during_forget_leaves_before_or_after_then_rerun_completes(tmp_path):
    """forget is crash-safe like ingest: a kill at any point leaves the store either as it
    was or with the source gone, never half; running it again finishes the job."""
    exports = write_exports(tmp_path / "exports")
    victim = exports / "export-1.csv"
    base = tmp_path / "base"
    subprocess.run(ingest_cmd(base, exports), check=True, capture_output=True)
    before = events(base)
    ref = tmp_path / "reference"
    shutil.copytree(base, ref)
    t0 = time.perf_counter()
    subprocess.run(forget_cmd(ref, victim), check=True, capture_output=True)
    clean = time.perf_counter() - t0
    after = events(ref)
    assert len(after) < len(before)

    rng = random.Random(int(os.environ.get("KILL_SEED", "20261201")))
    landed = 0
    for episode in range(12):
        store = tmp_path / f"store-{episode}"
        shutil.copytree(base, store)
        proc = subprocess.Popen(
            forget_cmd(store, victim), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(clean * 0.4, clean * 1.05))
        landed += proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert_consistent(store)
        assert events(store) in (before, after), f"episode {episode}"
        if events(store) == before:
            subprocess.run(forget_cmd(store, victim), check=True, capture_output=True)
        else:
            # Already committed: a second forget finds nothing; ingest cleans the debris.
            subprocess.run(
                ingest_cmd(store, exports / "export-0.csv"), check=True, capture_output=True
            )
        assert events(store) == after, f"episode {episode}"
        assert unlisted_files(store) == [], f"episode {episode}"
    print(f"\n{landed} of 12 SIGKILLs landed while forget ran; clean forget {clean:.2f} s")
