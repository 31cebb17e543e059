"""The run record: which inputs a report was computed from, and whether they changed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .errors import InputError
from .loaders.base import file_sha256
from .schema import REJECT_SCHEMA
from .store import Store


@dataclass(frozen=True)
class InputCheck:
    file: str
    status: str  # unchanged | changed | missing


def report_inputs(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every input of a measurement, comparison (both sides) or trend report."""
    if report.get("kind") == "comparison":
        seen: dict[tuple[str, str], dict[str, Any]] = {}
        for side in ("baseline", "current"):
            for i in report[side].get("inputs", []):
                seen[(i["file"], i["sha256"])] = i
        return list(seen.values())
    return list(report.get("inputs", []))


def verify(report_path: str | Path, base: Path | None = None) -> list[InputCheck]:
    """Re-hash the files a JSON report lists (relative paths from ``base``)."""
    p = Path(report_path)
    try:
        report = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{p}: no such report; give a file written with --format json") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{p}: not a JSON report ({exc}); give a file written with --format json"
        ) from None
    if not isinstance(report, dict) or "kind" not in report:
        raise InputError(
            f"{p}: not an intranet-metrics report; give a file written with --format json"
        )
    checks = []
    for i in report_inputs(report):
        f = Path(i["file"])
        if not f.is_absolute() and base is not None:
            f = base / f
        if not f.exists():
            checks.append(InputCheck(i["file"], "missing"))
        else:
            same = file_sha256(f) == i["sha256"]
            checks.append(InputCheck(i["file"], "unchanged" if same else "changed"))
    return checks


def rejects(store: Store, limit: int | None = None) -> pa.Table:
    """The rejected rows of every ingest, with file, line and reason."""
    files = store.reject_files()
    if not files:
        return REJECT_SCHEMA.empty_table()
    table = pa.concat_tables(pq.read_table(f, schema=REJECT_SCHEMA) for f in files)
    return table if limit is None else table.slice(0, limit)
