"""Ingest at an organisation's size, and an append to a large store in bounded memory.

- The store knows no format: importing it loads no loader (issue 11 item 1).
- Appending to a store whose months hold millions of keys works under a tight DuckDB
  memory limit: only this ingest's keys are hashed, the store's stream past them (the old
  ``SELECT DISTINCT event_key`` over the months touched ran out of memory).
- 1 M generic events of 20,000 people through the whole CLI ingest, in bounded memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from intranet_metrics import api
from intranet_metrics import store as store_module
from intranet_metrics.schema import EVENT_SCHEMA
from intranet_metrics.store import Store

ROOT = Path(__file__).resolve().parents[1]


def test_the_store_imports_no_loader():
    code = (
        "import sys, intranet_metrics.store; "
        "print(sorted(m for m in sys.modules if m.startswith('intranet_metrics.loaders')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def built_store(root: Path, rows: int, month: str = "2024-01", files: int = 3) -> Store:
    """A store of ``rows`` events in one month, written directly in the store's layout."""
    store = Store.open(root, create=True)
    per = rows // files
    base = pa.array([f"{i:024x}" for i in range(per)])
    t0 = np.datetime64(f"{month}-01T00:00:00", "us").astype(np.int64)
    entries = []
    for f in range(files):
        cols = {
            "time": pa.array(t0 + np.arange(per) * 1_000_000, pa.int64()).cast(
                EVENT_SCHEMA.field("time").type
            ),
            "actor": pa.array(["p"] * per),
            "activity": pa.array(["page_view"] * per),
            "count": pa.array(np.ones(per, np.int64)),
            "source_format": pa.array(["generic"] * per),
            "source_sha256": pa.array(["b" * 64] * per),
            "source_file": pa.array(["built.csv"] * per),
            "source_line": pa.array(np.arange(per, dtype=np.int64)),
            "event_key": pc.binary_join_element_wise(f"{f:08x}", base, ""),
        }
        table = pa.table(
            [cols.get(x.name, pa.nulls(per, x.type)) for x in EVENT_SCHEMA], schema=EVENT_SCHEMA
        )
        rel = f"events/month={month}/part-built-{f}.parquet"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, root / rel)
        entries.append(
            {
                "path": rel,
                "month": month,
                "rows": per,
                "commit": "built",
                "bytes": (root / rel).stat().st_size,
                "sources": ["b" * 64],
            }
        )
    manifest = dict(store.manifest, files=entries)
    (root / "manifest.json").write_text(json.dumps(manifest))
    return Store.open(root)


@pytest.mark.slow
def test_append_to_a_month_of_millions_of_keys_under_a_small_memory_limit(tmp_path, monkeypatch):
    store = built_store(tmp_path / "store", 3_000_000)
    monkeypatch.setattr(store_module, "DUCKDB_MEMORY", "40MB")
    export = tmp_path / "new.csv"
    lines = [
        f"2024-01-{d:02d}T10:{m:02d}:00Z,u{m}@contoso.com,like,/p"
        for d in (5, 6)
        for m in range(60)
    ]
    export.write_text("timestamp,user,activity,item\n" + "\n".join(lines) + "\n")
    (s,) = api.ingest(store, [export]).sources
    assert (s.status, s.new_events, s.duplicates) == ("ingested", 120, 0)
    # The same records in a grown export: only the new one is stored.
    grown = tmp_path / "grown.csv"
    grown.write_text(export.read_text() + "2024-01-07T10:00:00Z,new@contoso.com,like,/p\n")
    (again,) = api.ingest(store, [grown]).sources
    assert (again.new_events, again.duplicates) == (1, 120)


WRAP = """
import atexit, runpy, sys
def hwm():
    with open("/proc/self/status") as fh:
        kb = next(int(x.split()[1]) for x in fh if x.startswith("VmHWM"))
    print("VmHWM", kb, file=sys.stderr)
atexit.register(hwm)
sys.argv = ["intranet_metrics", *sys.argv[1:]]
runpy.run_module("intranet_metrics", run_name="__main__", alter_sys=True)
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_a_million_events_of_twenty_thousand_people_in_bounded_memory(tmp_path):
    rng = np.random.default_rng(5)
    n = 1_000_000
    secs = np.datetime64("2026-01-01T00:00:00", "s") + rng.integers(0, 31 * 86400, n).astype(
        "timedelta64[s]"
    )
    table = pa.table(
        {
            "timestamp": pc.binary_join_element_wise(
                pa.array(np.datetime_as_string(secs)), "Z", ""
            ),
            "user": pc.binary_join_element_wise(
                "user", pa.array(rng.integers(0, 20_000, n)).cast(pa.string()), "@contoso.com", ""
            ),
            "activity": pa.array(np.array(["page_view", "like", "comment"])[rng.integers(0, 3, n)]),
            "item": pc.binary_join_element_wise(
                "/p/", pa.array(np.arange(n)).cast(pa.string()), ""
            ),
        }
    )
    export = tmp_path / "events.csv"
    pacsv.write_csv(table, export, pacsv.WriteOptions(quoting_style="none"))
    store = tmp_path / "store"
    out = subprocess.run(
        [sys.executable, "-c", WRAP, "--store", str(store), "ingest", str(export)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    kb = int(out.stderr.split("VmHWM")[-1].split()[0])
    (s,) = Store.open(store).sources
    assert (s["rows"], s["events"], s["new_events"]) == (n, n, n)
    assert kb < 1024 * 1024, f"peak RSS {kb / 1024:.0f} MB"
