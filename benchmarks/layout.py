"""A store written directly in its own layout, for benchmarks whose subject is not ingest:
event files per month, a manifest listing them under one source, and (``derive``) the
derived activity files the store itself builds (``Store.rebuild_activity``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def write_store(
    root: Path, parts: Iterable[tuple[str, pa.Table]], source: dict[str, Any], derive: bool
) -> None:
    """Write each (month ``YYYY-MM``, events table) as one event file and list them all
    under ``source`` (its sha256 names the files' source)."""
    from intranet_metrics.store import Store

    store = Store.open(root, create=True)
    files = []
    for f, (month, table) in enumerate(parts):
        rel = f"events/month={month}/part-built-{f}.parquet"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, root / rel)
        files.append(
            {
                "path": rel,
                "month": month,
                "rows": table.num_rows,
                "commit": "built",
                "bytes": (root / rel).stat().st_size,
                "sources": [source["sha256"]],
            }
        )
    manifest = dict(store.manifest) | {"files": files, "sources": [source]}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1))
    if derive:
        Store.open(root).rebuild_activity()
