"""The run record: which inputs a report was computed from, and whether they changed."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InputError

# pyarrow (for rejects) and the hashing helper are imported where used: the CLI imports this
# module for every report it writes with --output.
if TYPE_CHECKING:
    import pyarrow as pa

    from .store import Store


@dataclass(frozen=True)
class InputCheck:
    file: str
    status: str  # unchanged | changed | missing | superseded (a newer version is checked)


def _sides(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The parts of a report that carry inputs: both measurements of a comparison."""
    if report.get("kind") == "comparison":
        return [report[s] for s in ("baseline", "current") if isinstance(report.get(s), dict)]
    return [report]


def report_inputs(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every input of a measurement, comparison (both sides) or trend report."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for side in _sides(report):
        for i in side.get("inputs", []):
            key = (i["file"], i["sha256"])
            # A version one side lists as superseded (the current window also used a newer
            # version of the file) is checked as superseded for the whole report.
            if key not in seen or i.get("superseded_by"):
                seen[key] = i
    return list(seen.values())


def with_relative_inputs(report: dict[str, Any], folder: Path) -> dict[str, Any]:
    """A copy of ``report`` whose inputs also carry their path relative to ``folder`` (where
    the report is written), so verify finds them when report and exports move together."""

    def rel(i: dict[str, Any]) -> dict[str, Any]:
        try:
            return {**i, "relative": Path(os.path.relpath(i["file"], folder)).as_posix()}
        except ValueError:  # another drive on Windows: no relative path exists
            return i

    def side(m: dict[str, Any]) -> dict[str, Any]:
        return {**m, "inputs": [rel(i) for i in m["inputs"]]} if "inputs" in m else m

    if report.get("kind") == "comparison":
        return {
            **report,
            **{k: side(report[k]) for k in ("baseline", "current") if k in report},
        }
    return side(report)


def _load(p: Path) -> dict[str, Any]:
    advice = "give a file written with --format json"
    try:
        report = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{p}: no such report; {advice}") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise InputError(f"{p}: not a JSON report ({exc}); {advice}") from None
    except OSError as exc:  # a symlink loop, a folder, no permission
        raise InputError(f"{p}: cannot be read ({exc.strerror or exc}); {advice}") from None
    if not isinstance(report, dict) or "kind" not in report:
        raise InputError(f"{p}: not an intranet-metrics report; {advice}")
    for side in _sides(report):
        if "inputs" not in side:
            # (trend reports of earlier versions): passing them would verify nothing
            raise InputError(
                f"{p}: the report does not list its inputs, so it cannot be verified; "
                "make it again with this version"
            )
        inputs = side["inputs"]
        if not isinstance(inputs, list) or not all(
            isinstance(i, dict)
            and isinstance(i.get("file"), str)
            and isinstance(i.get("sha256"), str)
            for i in inputs
        ):
            raise InputError(f"{p}: its inputs are not a list of {{file, sha256}}; {advice}")
    return report


def _locate(i: dict[str, Any], folder: Path) -> Path | None:
    """The input on disk: its absolute path, else its path relative to the report's folder
    (report and exports moved together). Never resolved against the current folder."""
    candidates = [Path(i["file"])]
    if "relative" in i:
        candidates.append(folder / i["relative"])
    if not candidates[0].is_absolute():  # a report from an older version: relative paths
        candidates[0] = folder / candidates[0]
    for c in candidates:
        try:
            if c.is_file():
                return c
        except OSError:
            continue
    return None


def verify(report_path: str | Path, base: Path | None = None) -> list[InputCheck]:
    """Re-hash the files a JSON report lists. Paths are absolute, or relative to ``base``
    (default: the report's folder). An older version of a file the report also lists in a
    newer version (``superseded_by``) is not hashed: the file must match the newest."""
    from .loaders.base import file_sha256

    p = Path(report_path)
    report = _load(p)
    folder = base if base is not None else p.absolute().parent
    checks = []
    for i in report_inputs(report):
        if i.get("superseded_by"):
            checks.append(InputCheck(i["file"], "superseded"))
            continue
        f = _locate(i, folder)
        if f is None:
            checks.append(InputCheck(i["file"], "missing"))
            continue
        try:
            same = file_sha256(f) == i["sha256"]
        except OSError:
            checks.append(InputCheck(i["file"], "missing"))
            continue
        checks.append(InputCheck(i["file"], "unchanged" if same else "changed"))
    return checks


def rejects(store: Store, limit: int | None = None) -> pa.Table:
    """The rejected rows of every ingest, with file, line and reason."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .arrowutil import empty
    from .schema import REJECT_SCHEMA

    files = store.reject_files()
    if not files:
        return empty(REJECT_SCHEMA)
    # ParquetFile.read, not pq.read_table: the dataset API behind it imports pandas (a third
    # of a CPU second of a command that never uses it).
    names = REJECT_SCHEMA.names
    tables = (pq.ParquetFile(f).read(columns=names).cast(REJECT_SCHEMA) for f in files)
    table = pa.concat_tables(_in_line_order(t) for t in tables)
    return table if limit is None else table.slice(0, limit)


def _in_line_order(table: pa.Table) -> pa.Table:
    """One ingest's rejects by file (in the order the ingest read them) and line: a loader
    may set a block's rejects aside in another order than its lines (a rule table's rejects
    before the builder's own)."""
    import pyarrow.compute as pc

    # dictionary_encode numbers the files in the order they first appear.
    order = pc.dictionary_encode(table.column("source_file")).combine_chunks().indices
    keyed = table.append_column("_file", order)
    by = [("_file", "ascending"), ("source_line", "ascending")]
    return keyed.sort_by(by).drop_columns(["_file"]).cast(table.schema)
