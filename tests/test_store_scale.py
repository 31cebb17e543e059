"""forget, re-ingest and repair at a real organisation's size: 20,000 people, 1,000,000
events in four overlapping exports (about 40 s on a shared 2-core machine)."""

from __future__ import annotations

import random
import time
from pathlib import Path

import duckdb
import pytest

from intranet_metrics import api
from intranet_metrics.config import Config

PEOPLE = 20_000
FILES = 4
ROWS = 250_000
ACTS = ("page_view", "like", "post", "comment", "file_view")


def write_exports(folder: Path) -> list[Path]:
    """Four exports; each repeats 10% of the previous one's rows (overlapping exports)."""
    rng = random.Random(20_000)
    folder.mkdir()
    out, prev = [], []
    for f in range(FILES):
        rows = prev[: ROWS // 10]
        while len(rows) < ROWS:
            rows.append(
                f"2026-{rng.randint(1, 6):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
                f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d},p{rng.randint(1, PEOPLE)}"
                f"@org.example,{rng.choice(ACTS)},/p/{rng.randint(1, 500)}\n"
            )
        p = folder / f"export-{f}.csv"
        p.write_text("timestamp,user,activity,item\n" + "".join(rows))
        out.append(p)
        prev = rows[ROWS // 10 :]
    return out


def distinct_events(store) -> tuple[int, int]:
    ((n, keys),) = duckdb.execute(
        "SELECT count(*), count(DISTINCT event_key) FROM read_parquet(?)", [store.event_files()]
    ).fetchall()
    return n, keys


@pytest.mark.slow
def test_forget_reingest_and_repair_at_20000_people_and_a_million_events(tmp_path):
    files = write_exports(tmp_path / "exports")
    store = api.open_store(tmp_path / "s", create=True)
    t0 = time.perf_counter()
    api.ingest(store, files)
    t_ingest = time.perf_counter() - t0
    n, keys = distinct_events(store)
    assert n == keys == FILES * ROWS - (FILES - 1) * (ROWS // 10)

    # Another time zone for the second export: forget it and read it again. Its events
    # shared with export 0 and 2 must neither be lost nor doubled.
    t0 = time.perf_counter()
    res = api.forget(store, [str(files[1])])
    t_forget = time.perf_counter() - t0
    assert res.events_removed > 0
    api.ingest(store, [files[1]], Config(timezone="Europe/Amsterdam"))
    assert distinct_events(store) == (n, n)

    # A truncated data file: repair lists whom to ingest again; afterwards all is back.
    # (a file of the re-ingested export alone, so repair asks for that one file again)
    entry = min(store.manifest["files"], key=lambda f: (len(f["sources"]), f["path"]))
    victim = tmp_path / "s" / entry["path"]
    with open(victim, "r+b") as fh:
        fh.truncate(victim.stat().st_size // 3)
    t0 = time.perf_counter()
    rep = api.repair(tmp_path / "s")
    t_repair = time.perf_counter() - t0
    assert [s["sha256"] for s in rep.ingest_again] == entry["sources"]
    store = api.open_store(tmp_path / "s")
    api.ingest(store, [Path(s["path"]) for s in rep.ingest_again])
    assert distinct_events(store) == (n, n)
    print(f"ingest {t_ingest:.1f}s, forget {t_forget:.1f}s, repair {t_repair:.2f}s")
