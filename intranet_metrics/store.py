"""The Parquet store: events partitioned by month, a manifest that is the commit log.

Layout::

    <store>/manifest.json                   the only source of truth: sources, data files
    <store>/events/month=YYYY-MM/part-<commit>-<n>.parquet
    <store>/rejects/part-<commit>.parquet   rows that could not be read, with reasons
    <store>/tmp/<commit>/                   staging of an ingest in progress
    <store>/.lock                           one writer at a time

An ingest stages everything under ``tmp/``, deduplicates against the store on the event
key, moves the new files into place and then replaces ``manifest.json`` atomically: that
replace is the commit. Readers only ever open files the manifest lists, so a crash at any
point leaves the store as it was; the next writer removes the orphans.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import fcntl
import gc
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__
from .config import Config
from .errors import InputError, StoreError
from .identity import Pseudonymiser
from .loaders.base import EventBuilder, SourceInfo, file_sha256
from .loaders.container import ARCHIVE_ERRORS, archive_error
from .loaders.detect import expand
from .schema import EVENT_SCHEMA, REJECT_SCHEMA

STORE_ENV = "INTRANET_METRICS_STORE"
DEFAULT_STORE = ".intranet-metrics"
MANIFEST = "manifest.json"
# DuckDB's memory during deduplication; it spills to the staging folder beyond this.
DUCKDB_MEMORY = "512MB"
FORMAT_VERSION = 1


def default_store_path(config: Config | None = None) -> Path:
    env = os.environ.get(STORE_ENV)
    if env:
        return Path(env)
    if config is not None and config.store:
        return Path(config.store)
    return Path(DEFAULT_STORE)


@dataclass
class SourceSummary:
    """What one ingested file yielded, as printed and kept in the manifest."""

    path: str
    sha256: str
    format: str
    rows: int = 0
    events: int = 0
    excluded: int = 0
    other: int = 0
    rejected: int = 0
    new_events: int = 0
    duplicates: int = 0
    excluded_by_reason: dict[str, int] = field(default_factory=dict)
    events_by_class: dict[str, int] = field(default_factory=dict)
    min_time: str | None = None
    max_time: str | None = None
    status: str = "ingested"  # ingested | unchanged | failed | skipped
    message: str | None = None
    ingested_at: str | None = None
    commit: str | None = None
    # Where the file was, absolute: reports list it so that verify works from any folder.
    abs_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class IngestResult:
    sources: list[SourceSummary]
    commit: str | None

    @property
    def failed(self) -> list[SourceSummary]:
        return [s for s in self.sources if s.status == "failed"]


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class Store:
    """A folder of Parquet files with a manifest; open with ``Store.open(path)``."""

    def __init__(self, root: Path, manifest: dict[str, Any]) -> None:
        self.root = root
        self.manifest = manifest

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, root: str | Path, create: bool = False) -> Store:
        root = Path(root)
        mpath = root / MANIFEST
        if mpath.is_file():
            try:
                manifest = json.loads(mpath.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise StoreError(
                    f"{mpath}: the store manifest is unreadable ({exc}); restore it from a "
                    "backup or start a new store with --store"
                ) from None
            if manifest.get("intranet_metrics_store") != FORMAT_VERSION:
                raise StoreError(
                    f"{root}: not an intranet-metrics store of format {FORMAT_VERSION}; "
                    "choose another folder with --store"
                )
            return cls(root, manifest)
        if root.exists() and (not root.is_dir() or any(not _debris(p) for p in root.iterdir())):
            raise StoreError(
                f"{root}: exists but is not an intranet-metrics store (no {MANIFEST}); "
                "choose an empty or new folder with --store"
            )
        if not create:
            raise StoreError(
                f"{root}: no store here yet; ingest exports first ('intranet-metrics ingest "
                "PATH') or point --store / INTRANET_METRICS_STORE at your store"
            )
        root.mkdir(parents=True, exist_ok=True)
        manifest = {
            "intranet_metrics_store": FORMAT_VERSION,
            "created_at": _now(),
            "tool_version": __version__,
            "key_fingerprint": None,
            "sources": [],
            "files": [],
            "rejects": [],
        }
        _write_json_atomic(mpath, manifest)
        return cls(root, manifest)

    # -- reading ---------------------------------------------------------------------------
    @property
    def sources(self) -> list[dict[str, Any]]:
        return self.manifest["sources"]

    @property
    def key_fingerprint(self) -> str | None:
        return self.manifest.get("key_fingerprint")

    def event_files(self, months: Iterator[str] | list[str] | None = None) -> list[str]:
        """Absolute paths of the data files, only those of ``months`` when given."""
        wanted = None if months is None else set(months)
        return [
            str(self.root / f["path"])
            for f in self.manifest["files"]
            if wanted is None or f["month"] in wanted
        ]

    def reject_files(self) -> list[str]:
        return [str(self.root / f["path"]) for f in self.manifest["rejects"]]

    def check_key(self, pseudo: Pseudonymiser) -> None:
        """Refuse to mix pseudonymised and plain data, or two keys, in one store."""
        have = self.key_fingerprint
        if not self.manifest["files"] and not self.manifest["sources"]:
            return
        if have != pseudo.fingerprint:
            if have is None:
                msg = "holds plain identities but a pseudonymisation key is set"
            elif pseudo.fingerprint is None:
                msg = "is pseudonymised but INTRANET_METRICS_KEY is not set"
            else:
                msg = "was pseudonymised with another key"
            raise StoreError(
                f"{self.root}: the store {msg}; use the store's own key, or a new --store"
            )

    # -- writing ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, wait: bool = True, notify: Callable[[str], None] | None = None):
        """Hold the writer lock; a second writer waits (with a note) or fails at once."""
        fh = open(self.root / ".lock", "a+")  # noqa: SIM115 - held for the block
        try:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if not wait:
                    raise StoreError(
                        f"{self.root}: another ingest is running; wait for it, or run "
                        "again without --no-wait to queue behind it"
                    ) from None
                if notify:
                    notify(f"{self.root}: another ingest is running; waiting for it to finish")
                fcntl.flock(fh, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()

    def _reload(self) -> None:
        self.manifest = json.loads((self.root / MANIFEST).read_text(encoding="utf-8"))

    def cleanup(self) -> list[str]:
        """Remove staging folders and data files the manifest does not list (crash debris)."""
        removed: list[str] = []
        tmp = self.root / "tmp"
        if tmp.exists():
            removed.extend(str(p) for p in tmp.iterdir())
            shutil.rmtree(tmp, ignore_errors=True)
        listed = {f["path"] for f in self.manifest["files"]} | {
            f["path"] for f in self.manifest["rejects"]
        }
        for sub in ("events", "rejects"):
            base = self.root / sub
            if not base.exists():
                continue
            for p in sorted(base.rglob("*")):
                if p.is_file() and str(p.relative_to(self.root)) not in listed:
                    p.unlink()
                    removed.append(str(p))
        # Half-written manifests, and per-person tiers of a baseline cut short.
        for p in [*self.root.glob(f".{MANIFEST}.*.tmp"), *self.root.glob("measurements/.*.tmp")]:
            p.unlink()
            removed.append(str(p))
        return removed

    def ingest(
        self,
        paths: list[Path],
        config: Config,
        pseudo: Pseudonymiser,
        input_format: str | None = None,
        skip_bad: bool = False,
        wait: bool = True,
        notify: Callable[[str], None] | None = None,
        on_source: Callable[[SourceSummary], None] | None = None,
        on_start: Callable[[Path, str], None] | None = None,
    ) -> IngestResult:
        """Read every export under ``paths`` and commit their new events in one step."""
        with self.lock(wait=wait, notify=notify):
            self._reload()
            self.check_key(pseudo)
            self.cleanup()
            commit = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
            stage = self.root / "tmp" / commit
            stage.mkdir(parents=True)
            try:
                return self._ingest(
                    paths,
                    config,
                    pseudo,
                    input_format,
                    skip_bad,
                    commit,
                    stage,
                    on_source,
                    on_start,
                )
            finally:
                shutil.rmtree(stage, ignore_errors=True)
                with contextlib.suppress(OSError):
                    (self.root / "tmp").rmdir()

    def _ingest(
        self, paths, config, pseudo, input_format, skip_bad, commit, stage, on_source, on_start
    ):
        known = {s["sha256"] for s in self.sources}
        summaries: list[SourceSummary] = []
        staged: list[SourceSummary] = []
        reject_writer: pq.ParquetWriter | None = None
        reject_rows = 0

        def skipped(path: Path, why: str) -> None:
            # Never drop an input silently: list it with its reason (not in the manifest).
            s = SourceSummary(path=str(path), sha256="", format="", status="skipped", message=why)
            summaries.append(s)
            if on_source:
                on_source(s)

        # Small sources (one batch or less, the usual case for folders of many files) share
        # one staging file, so 10,000 files do not cost 10,000 Parquet files; a larger
        # source gets its own. Either way a failed source leaves nothing behind.
        shared: pq.ParquetWriter | None = None
        small: list[pa.RecordBatch] = []  # batches of small sources not yet written
        small_rows = 0

        def write_small() -> None:
            nonlocal shared, small_rows
            if shared is None:
                shared = pq.ParquetWriter(stage / "stage-shared.parquet", EVENT_SCHEMA)
            # One row group for many small sources: thousands of tiny row groups are slow
            # to write and slower to read back.
            shared.write_table(pa.Table.from_batches(small, schema=EVENT_SCHEMA))
            small.clear()
            small_rows = 0

        try:

            def failed(path: Path, exc: InputError) -> None:
                # --skip-bad: a recognised export that cannot be read is listed, not fatal.
                s = SourceSummary(
                    path=str(path), sha256="", format="", status="failed", message=str(exc)
                )
                summaries.append(s)
                if on_source:
                    on_source(s)

            found = expand(paths, input_format, skipped, failed if skip_bad else None)
            for n, (path, module) in enumerate(found):
                try:
                    sha = file_sha256(path)
                except OSError as exc:
                    raise InputError(
                        f"{path}: cannot be read ({exc.strerror or exc}); check it"
                    ) from None
                s = SourceSummary(
                    path=str(path), sha256=sha, format=module.NAME, abs_path=os.path.abspath(path)
                )
                if sha in known:
                    s.status, s.message = "unchanged", "already in the store (same SHA-256)"
                    summaries.append(s)
                    if on_source:
                        on_source(s)
                    continue
                known.add(sha)
                if on_start:
                    on_start(path, module.NAME)
                out = stage / f"stage-{n:06d}.parquet"
                builder = EventBuilder(SourceInfo(str(path), sha, module.NAME), config, pseudo)
                rejects: list[pa.Table] = []
                pending: list[pa.RecordBatch] = []
                writer: pq.ParquetWriter | None = None
                try:
                    for batch in read_batches(module, path, builder):
                        if writer is None and not pending:
                            pending.append(batch)
                        else:
                            if writer is None:
                                writer = pq.ParquetWriter(out, EVENT_SCHEMA)
                                for b in pending:
                                    writer.write_batch(b)
                                pending = []
                            writer.write_batch(batch)
                        rej = builder.take_rejects()
                        if rej is not None:
                            rejects.append(rej)
                    rej = builder.take_rejects()
                    if rej is not None:
                        rejects.append(rej)
                except InputError as exc:
                    if writer is not None:
                        writer.close()
                    out.unlink(missing_ok=True)
                    if not skip_bad:
                        raise
                    s.status, s.message = "failed", str(exc)
                    summaries.append(s)
                    if on_source:
                        on_source(s)
                    continue
                if writer is not None:
                    writer.close()
                small.extend(pending)
                small_rows += sum(b.num_rows for b in pending)
                if small_rows >= builder.batch_size:
                    write_small()
                for rej in rejects:
                    if reject_writer is None:
                        reject_writer = pq.ParquetWriter(stage / "rejects.parquet", REJECT_SCHEMA)
                    reject_writer.write_table(rej)
                    reject_rows += rej.num_rows
                c = builder.counts.to_dict()
                for k in (
                    "rows",
                    "events",
                    "excluded",
                    "other",
                    "rejected",
                    "excluded_by_reason",
                    "events_by_class",
                ):
                    setattr(s, k, c[k])
                s.message = "; ".join(builder.notes) or None  # the loader's notes
                summaries.append(s)
                staged.append(s)
            if small:
                write_small()
        finally:
            if shared is not None:
                shared.close()
        if reject_writer is not None:
            reject_writer.close()
        if not staged:
            return IngestResult(summaries, None)
        if not any(stage.glob("stage-*.parquet")):
            # Only header-only files: the dedupe query still needs one (empty) file to read.
            pq.write_table(EVENT_SCHEMA.empty_table(), stage / "stage-shared.parquet")
        new_files = self._dedupe_and_stage(stage, commit, staged)
        # Publish: move files into place, then the manifest replace commits them.
        now = _now()
        for f in new_files:
            dest = self.root / f["path"]
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / f.pop("staged"), dest)
        rejects_entry = []
        if reject_rows:
            rel = f"rejects/part-{commit}.parquet"
            (self.root / "rejects").mkdir(exist_ok=True)
            os.replace(stage / "rejects.parquet", self.root / rel)
            rejects_entry.append({"path": rel, "rows": reject_rows, "commit": commit})
        for s in staged:
            s.ingested_at, s.commit = now, commit
        manifest = dict(self.manifest)
        manifest["sources"] = [*self.sources, *(s.to_dict() for s in staged)]
        manifest["files"] = [*self.manifest["files"], *new_files]
        manifest["rejects"] = [*self.manifest["rejects"], *rejects_entry]
        if pseudo.fingerprint is not None:
            manifest["key_fingerprint"] = pseudo.fingerprint
        manifest["updated_at"] = now
        for d in {(self.root / f["path"]).parent for f in new_files}:
            _fsync_dir(d)
        _write_json_atomic(self.root / MANIFEST, manifest)
        self.manifest = manifest
        if on_source:
            for s in staged:
                on_source(s)
        return IngestResult(summaries, commit)

    def _dedupe_and_stage(self, stage: Path, commit: str, staged: list[SourceSummary]):
        """Keep one event per key (within this ingest and against the store); write the new
        events partitioned by month under ``stage/out``. Returns the manifest file entries."""
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            # Bounded memory: DuckDB spills to the staging folder beyond the limit.
            con.execute(f"SET temp_directory = '{stage / 'duckdb.tmp'}'")
            con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
            con.execute("SET preserve_insertion_order = false")
            glob = str(stage / "stage-*.parquet")
            # (filename, file_row_number) identifies each staged row, even two records of one
            # source line (a Slack message and its reactions).
            con.execute(
                "CREATE TEMP VIEW staged AS SELECT * FROM read_parquet("
                f"'{glob}', filename = true, file_row_number = true)"
            )
            spans = {
                r[0]: (r[1], r[2], r[3])
                for r in con.execute(
                    "SELECT source_sha256, min(time), max(time), count(*) FROM staged GROUP BY 1"
                ).fetchall()
            }
            months = [
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT strftime(time, '%Y-%m') FROM staged"
                ).fetchall()
            ]
            existing = self.event_files(months)
            if existing:
                con.execute(
                    "CREATE TEMP TABLE old_keys AS SELECT DISTINCT event_key FROM read_parquet(?)",
                    [existing],
                )
            else:
                con.execute("CREATE TEMP TABLE old_keys (event_key VARCHAR)")
            # The first occurrence of every new key, by keys and positions only (narrow), so
            # the wide rows stream through one join instead of a window over all columns.
            con.execute(
                """
                CREATE TEMP TABLE firsts AS
                SELECT event_key,
                       min({'f': source_file, 'l': source_line, 'n': filename,
                            'r': file_row_number}) AS pos
                FROM staged
                WHERE event_key NOT IN (SELECT event_key FROM old_keys)
                GROUP BY event_key
                """
            )
            con.execute(
                """
                CREATE TEMP VIEW fresh AS
                SELECT s.* EXCLUDE (filename, file_row_number) FROM staged s JOIN firsts k
                  ON s.filename = k.pos.n AND s.file_row_number = k.pos.r
                """
            )
            per_source = dict(
                con.execute("SELECT source_sha256, count(*) FROM fresh GROUP BY 1").fetchall()
            )
            for s in staged:
                lo, hi, stored = spans.get(s.sha256, (None, None, 0))
                s.new_events = int(per_source.get(s.sha256, 0))
                s.duplicates = max(stored - s.new_events, 0)
                s.min_time = lo.isoformat() if lo else None
                s.max_time = hi.isoformat() if hi else None
            out = stage / "out"
            con.execute(
                f"""
                COPY (SELECT *, strftime(time, '%Y-%m') AS month FROM fresh ORDER BY time)
                TO '{out}' (FORMAT parquet, PARTITION_BY (month),
                            FILENAME_PATTERN 'part-{commit}-{{i}}')
                """
            )
            files = []
            for p in sorted(out.rglob("*.parquet")):
                month = p.parent.name.split("=", 1)[1]
                rows = pq.ParquetFile(p).metadata.num_rows
                files.append(
                    {
                        "path": f"events/month={month}/{p.name}",
                        "month": month,
                        "rows": rows,
                        "commit": commit,
                        "staged": str(p.relative_to(stage)),
                    }
                )
            return files
        finally:
            con.close()


@contextlib.contextmanager
def _no_gc():
    """Pause the cyclic garbage collector while a loader builds millions of acyclic tuples
    (it otherwise re-scans them over and over: a third of the load time)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def read_batches(module, path: Path, builder: EventBuilder) -> Iterator[pa.RecordBatch]:
    """Every batch one loader yields for one source, as ingest reads it (GC paused, last
    batch flushed, read failures turned into one-line InputErrors)."""
    try:
        with _no_gc():
            for batch in module.load(path, builder):
                if batch is not None and batch.num_rows:
                    yield batch
            last = builder.flush()
            if last is not None:
                yield last
    except UnicodeDecodeError as exc:
        bad = exc.object[exc.start : exc.start + 1].hex()
        line = _bad_utf8_line(path) if path.is_file() else None
        where = f"{path} line {line}" if line else str(path)
        raise InputError(
            f"{where}: not UTF-8 text (byte 0x{bad}); save or re-export the file as UTF-8 "
            "(e.g. iconv -f latin1 -t utf-8)"
        ) from None
    except MemoryError:
        raise InputError(f"{path}: a record is too large to read; check the file") from None
    except ARCHIVE_ERRORS as exc:
        # Damaged or encrypted archives surface from deep inside zipfile.
        err = archive_error(path, exc)
        if err is None:
            raise
        raise err from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def _bad_utf8_line(path: Path) -> int | None:
    """The line of the first byte that is not UTF-8 (streamed; None if none is found)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    try:
        with open(path, "rb") as fh:
            first = True
            while chunk := fh.read(1 << 16):
                if first and chunk.startswith(codecs.BOM_UTF8):
                    chunk = chunk[len(codecs.BOM_UTF8) :]
                first = False
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    # exc.object is the held-back partial character (never a newline) + chunk.
                    return line + exc.object[: exc.start].count(b"\n")
                line += chunk.count(b"\n")
    except OSError:
        return None
    return None


def _debris(p: Path) -> bool:
    """What a crash while creating a store leaves behind: it does not make a folder foreign."""
    return p.name == ".lock" or (p.name.startswith(f".{MANIFEST}.") and p.name.endswith(".tmp"))


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def write_err(msg: str) -> None:
    print(msg, file=sys.stderr)
