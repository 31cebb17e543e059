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

import contextlib
import errno
import itertools
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from . import __version__
from . import activity as activity_table
from . import arrowutil as au
from .config import Config
from .errors import InputError, IntranetMetricsError, StoreError, UsageError
from .identity import Pseudonymiser
from .schema import EVENT_SCHEMA, REJECT_SCHEMA

# DuckDB (a twentieth of a CPU second) is imported by the work that uses it (the dedupe of
# an ingest, forget, compact), not by the commands that only read the manifest or rejects.
if TYPE_CHECKING:
    import duckdb

STORE_ENV = "INTRANET_METRICS_STORE"
DEFAULT_STORE = ".intranet-metrics"
MANIFEST = "manifest.json"
TIERS_DIR = "measurements"
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
    # The settings that shaped this source's events (see event_settings), and for a source
    # already in the store, how today's settings differ from those it was read with.
    settings: dict[str, Any] = field(default_factory=dict)
    settings_changed: list[str] = field(default_factory=list)
    # How this version makes the format's event keys (see KEY_VERSIONS).
    key_version: int = 1

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def settings_diff(old: Any, new: dict[str, Any]) -> list[str]:
    """'name: then -> now' for each setting that differs (settings a source was stored
    without, by an older version, are not compared)."""
    if not isinstance(old, dict):
        return []
    return [
        f"{name}: changed"
        if isinstance(new[name], dict) and "keyed" in new[name]
        else f"{name}: {_short(old[name])} then, {_short(new[name])} now"
        for name in sorted(new)
        if name in old and old[name] != new[name]
    ]


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


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
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        _replace(tmp, path)
    except BaseException:
        # A full disk or a kill mid-write: never leave a half-written manifest behind.
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def store_os_error(root: Path, exc: OSError) -> IntranetMetricsError:
    """One line for an OS error while writing the store: what, where, and what to do."""
    where = exc.filename or root
    if exc.filename and not _inside(Path(str(exc.filename)), root):
        # Not the store: an input that a folder walk could not open.
        return InputError(f"{where}: cannot be read ({exc.strerror or exc}); check it")
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return StoreError(
            f"no space left on {root}; free some space (or choose another --store) and run "
            "again: the store is as it was before this command"
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StoreError(
            f"{where}: the store is read-only here; reading commands still work, writing "
            f"needs write access to {root} (or choose another --store)"
        )
    return StoreError(
        f"{where}: cannot write to the store ({exc.strerror or exc}); check {root} and run again"
    )


class Store:
    """A folder of Parquet files with a manifest; open with ``Store.open(path)``."""

    def __init__(self, root: Path, manifest: dict[str, Any]) -> None:
        self.root = root
        self.manifest = manifest
        # Measurements read the derived activity files (activity.py); False makes them read
        # every raw event instead (the reference the tests and benchmarks compare with).
        self.read_activity = True

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, root: str | Path, create: bool = False) -> Store:
        root = Path(root)
        mpath = root / MANIFEST
        if mpath.is_file():
            return cls(root, _read_manifest(mpath))
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
        manifest = {
            "intranet_metrics_store": FORMAT_VERSION,
            "created_at": _now(),
            "tool_version": __version__,
            "key_fingerprint": None,
            "sources": [],
            "files": [],
            "rejects": [],
        }
        try:
            root.mkdir(parents=True, exist_ok=True)
            _write_json_atomic(mpath, manifest)
        except OSError as exc:
            raise store_os_error(root, exc) from None
        return cls(root, manifest)

    @classmethod
    def open_for_repair(cls, root: str | Path) -> Store:
        """The store at ``root`` however damaged its manifest (repair reads it leniently)."""
        root = Path(root)
        if not (root / MANIFEST).exists() and not (root / "events").is_dir():
            raise StoreError(
                f"{root}: no store here (no {MANIFEST}, no events/); nothing to repair"
            )
        return cls(root, {"sources": [], "files": [], "rejects": []})

    # -- reading ---------------------------------------------------------------------------
    @property
    def sources(self) -> list[dict[str, Any]]:
        return self.manifest["sources"]

    @property
    def key_fingerprint(self) -> str | None:
        return self.manifest.get("key_fingerprint")

    def event_files(self, months: Iterator[str] | list[str] | None = None) -> list[str]:
        """Absolute paths of the data files, only those of ``months`` when given; a listed
        file that is missing or truncated is a StoreError that points to ``repair``."""
        wanted = None if months is None else set(months)
        return self._checked(
            f for f in self.manifest["files"] if wanted is None or f["month"] in wanted
        )

    def reject_files(self) -> list[str]:
        return self._checked(self.manifest["rejects"])

    def _checked(self, entries: Iterable[dict[str, Any]]) -> list[str]:
        out = []
        for f in entries:
            path = self.root / f["path"]
            problem = _file_problem(path, f)
            if problem and self._changed_under_us(f):
                raise StoreError(
                    f"{self.root}: the store changed while this command read it (a forget or "
                    "repair ran at the same time); run the command again"
                )
            if problem:
                raise StoreError(
                    f"{path}: a file the store lists is {problem}; {REPAIR_HINT} (it lists "
                    "the exports to ingest again)"
                )
            out.append(str(path))
        return out

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

    def _changed_under_us(self, entry: dict[str, Any]) -> bool:
        """True when the manifest on disk no longer lists ``entry`` (readers take no lock)."""
        try:
            now = json.loads((self.root / MANIFEST).read_text(encoding="utf-8"))
            return entry["path"] not in {f.get("path") for f in now["files"] + now["rejects"]}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return False

    # -- writing ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, wait: bool = True, notify: Callable[[str], None] | None = None):
        """Hold the writer lock; a second writer waits (with a note) or fails at once.

        filelock takes an OS lock (fcntl on Unix, msvcrt on Windows) that the system
        releases when a writer dies, so a crash never leaves the store locked."""
        lock = FileLock(str(self.root / ".lock"))
        with self.writing():
            try:
                lock.acquire(timeout=0)
            except Timeout:
                if not wait:
                    raise StoreError(
                        f"{self.root}: another ingest is running; wait for it, or run "
                        "again without --no-wait to queue behind it"
                    ) from None
                if notify:
                    notify(f"{self.root}: another ingest is running; waiting for it to finish")
                lock.acquire()
        try:
            yield
        finally:
            lock.release()

    @contextlib.contextmanager
    def writing(self):
        """Turn the OS errors of writing into the store into one line and exit 5."""
        try:
            yield
        except OSError as exc:
            raise store_os_error(self.root, exc) from None
        except Exception as exc:
            if not _duckdb_io_error(exc):
                raise
            raise store_os_error(
                self.root,
                OSError(errno.ENOSPC if "space left" in str(exc) else errno.EACCES, str(exc)),
            ) from None

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
        for act in map(activity_table.entry_of, self.manifest["files"]):
            listed |= set(activity_table.paths_of(act)) if act else set()
        for sub in ("events", "rejects", activity_table.FOLDER):
            base = self.root / sub
            if not base.exists():
                continue
            for p in sorted(base.rglob("*")):
                if p.is_file() and p.relative_to(self.root).as_posix() not in listed and _remove(p):
                    removed.append(str(p))
        # Half-written manifests, and per-person tiers of a baseline cut short. Every writer
        # of these holds the lock (see save_tiers), and so does the caller: a temp file seen
        # now belongs to a writer that died, never to one still at work.
        for p in [*self.root.glob(f".{MANIFEST}.*.tmp"), *self.root.glob(f"{TIERS_DIR}/.*.tmp")]:
            if _remove(p):
                removed.append(str(p))
        return removed

    def save_tiers(
        self, tiers: pa.Table, wait: bool = True, notify: Callable[[str], None] | None = None
    ) -> str:
        """Keep per-person tiers (pseudonymous keys only) under ``measurements/``; returns the
        measurement id. Written under the writer lock, so an ingest's cleanup cannot remove
        the temp file while it is being written."""
        mid = uuid.uuid4().hex[:16]
        with self.lock(wait=wait, notify=notify), self.writing():
            folder = self.root / TIERS_DIR
            folder.mkdir(exist_ok=True)
            tmp = folder / f".{mid}.parquet.tmp"
            try:
                pq.write_table(tiers, tmp)
                os.replace(tmp, folder / f"{mid}.parquet")
            except BaseException:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                raise
        return mid

    @contextlib.contextmanager
    def staging(
        self,
        pseudo: Pseudonymiser,
        wait: bool = True,
        notify: Callable[[str], None] | None = None,
    ) -> Iterator[Staging]:
        """Hold the writer lock with a fresh staging folder ``tmp/<commit>/``; batches staged
        there reach the store only through ``commit``. The folder goes whatever happens."""
        with self.lock(wait=wait, notify=notify), self.writing():
            self._reload()
            self.check_key(pseudo)
            self.cleanup()
            commit = _commit_id()
            folder = self.root / "tmp" / commit
            folder.mkdir(parents=True)
            stage = Staging(folder, commit)
            try:
                yield stage
            finally:
                stage.abandon()
                shutil.rmtree(folder, ignore_errors=True)
                with contextlib.suppress(OSError):
                    (self.root / "tmp").rmdir()

    def commit(
        self,
        stage: Staging,
        staged: list[SourceSummary],
        fingerprint: str | None,
        tz: str | None = None,
    ) -> str:
        """Deduplicate the staged events against the store, move the new files into place
        and replace the manifest (the commit). Fills each source's new_events, duplicates
        and time span; returns the commit id. Each new data file gets its derived activity
        file (activity.py) by local days in ``tz`` (the config's time zone), in the same
        commit."""
        stage.close()
        commit = stage.commit
        new_files = self._dedupe(stage, staged)
        derived = self._derive(new_files, stage.path, tz or self.activity_tz())
        self._note_stale_duplicates(staged)
        rejects_entry = []
        if stage.reject_rows:
            rejects_entry.append(
                {
                    "path": f"rejects/part-{commit}.parquet",
                    "rows": stage.reject_rows,
                    "commit": commit,
                    "bytes": (stage.path / "rejects.parquet").stat().st_size,
                    "staged": "rejects.parquet",
                }
            )
        now = _now()
        for s in staged:
            s.ingested_at, s.commit = now, commit
        manifest = dict(self.manifest)
        manifest["sources"] = [*self.sources, *(s.to_dict() for s in staged)]
        manifest["files"] = [*self.manifest["files"], *new_files]
        manifest["rejects"] = [*self.manifest["rejects"], *rejects_entry]
        if fingerprint is not None:
            manifest["key_fingerprint"] = fingerprint
        manifest["updated_at"] = now
        self._publish(stage.path, [*new_files, *derived, *rejects_entry], manifest)
        return commit

    def activity_tz(self) -> str:
        """The time zone of the newest derived activity file (the one to keep building in
        when no config says otherwise), or UTC."""
        for f in reversed(self.manifest["files"]):
            act = activity_table.entry_of(f)
            if act:
                return act["tz"]
        return "UTC"

    def _derive(
        self, entries: list[dict[str, Any]], stage: Path, tz: str, committed: bool = False
    ) -> list[dict[str, Any]]:
        """Build the derived activity file (activity.py) of each data file entry into
        ``stage``: a staged file (its "staged" name under ``stage``) or, ``committed``, one
        the store lists. Sets each entry's "activity"; returns what _publish must move. A
        committed file's derived file gets a fresh name, so a listed one is never replaced."""
        moves = []
        for i, f in enumerate(entries):
            name = f"activity-{'c' if committed else 's'}{i}.parquet"
            msg = name.replace(".parquet", activity_table.MESSAGES_SUFFIX)
            src = Path(self._checked([f])[0]) if committed else stage / f["staged"]
            act = activity_table.build(src, stage / name, tz, stage / msg)
            rel = activity_table.path_for(f["path"])
            act["path"] = rel.replace(".parquet", f"-{stage.name}.parquet") if committed else rel
            act["messages"]["path"] = act["path"].replace(
                ".parquet", activity_table.MESSAGES_SUFFIX
            )
            f["activity"] = act
            moves.append({"path": act["path"], "staged": name})
            moves.append({"path": act["messages"]["path"], "staged": msg})
        return moves

    def rebuild_activity(
        self,
        tz: str | None = None,
        wait: bool = True,
        notify: Callable[[str], None] | None = None,
    ) -> int:
        """Build the derived activity file of every data file that has none (a store written
        before them, one built directly in the store's layout, or one repair dropped), or
        has one of another time zone than ``tz``: one commit, crash-safe like compact.
        Returns how many were built."""
        with self.lock(wait=wait, notify=notify), self.writing():
            self._reload()
            self.cleanup()
            commit = _commit_id()
            stage = self.root / "tmp" / commit
            stage.mkdir(parents=True)
            try:
                files = [dict(f) for f in self.manifest["files"]]
                old, moves = self._rederive(files, stage, tz or self.activity_tz())
                if not moves:
                    return 0
                manifest = dict(self.manifest)
                manifest["files"] = files
                manifest["updated_at"] = _now()
                self._publish(stage, moves, manifest)
                for p in old:  # committed: no longer listed (a crash leaves only debris)
                    with contextlib.suppress(OSError):
                        p.unlink()
                return sum(not m["path"].endswith(activity_table.MESSAGES_SUFFIX) for m in moves)
            finally:
                shutil.rmtree(stage, ignore_errors=True)
                with contextlib.suppress(OSError):
                    (self.root / "tmp").rmdir()

    def _rederive(
        self, files: list[dict[str, Any]], stage: Path, tz: str
    ) -> tuple[list[Path], list[dict[str, Any]]]:
        """Derive the entries of ``files`` (copies) without a sound derived file in ``tz``:
        (the derived files they stop listing, what _publish must move)."""
        todo, old = [], []
        for f in files:
            act = activity_table.entry_of(f)
            # Derived before the messages files were: built again, with them.
            whole = act is not None and "messages" in act
            if whole and act["tz"] == tz and not activity_table.problem(self.root, act):
                continue
            if act:
                old.extend(self.root / p for p in activity_table.paths_of(act))
            f.pop("activity", None)
            todo.append(f)
        return old, self._derive(todo, stage, tz, committed=True)

    def _note_stale_duplicates(self, staged: list[SourceSummary]) -> None:
        """A new export overlapping one stored with other settings: its shared records keep
        the stored version (read with the old settings). Say so, and how to change that.
        Also an export overlapping one whose event keys an older version made another way:
        shared records cannot be recognised, so they may count twice."""
        for s in staged:
            if not s.min_time:
                continue
            for old in self.sources:
                overlaps = (
                    old.get("format") == s.format
                    and isinstance(old.get("min_time"), str)
                    and isinstance(old.get("max_time"), str)
                    and old["min_time"] <= (s.max_time or "")
                    and s.min_time <= old["max_time"]
                )
                if overlaps and old.get("key_version", 1) < s.key_version:
                    s.message = (
                        f"overlaps {old['path']}, whose event keys an older version made "
                        "another way: records both hold may be counted twice. Run "
                        f"'intranet-metrics forget {old['sha256'][:12]}' and ingest it again"
                    )
                    s.settings_changed = [
                        f"key_version: {old.get('key_version', 1)} then, {s.key_version} now"
                    ]
                    break
                diff = settings_diff(old.get("settings"), s.settings)
                if diff and overlaps and s.duplicates:
                    s.settings_changed = diff
                    s.message = (
                        f"{s.duplicates:,} events were already stored from {old['path']}, read "
                        f"with other settings ({'; '.join(diff)}); they keep those. To read "
                        f"them with today's: 'intranet-metrics forget {old['sha256'][:12]}' and "
                        "ingest it again"
                    )
                    break

    def _publish(
        self, stage: Path, entries: list[dict[str, Any]], manifest: dict[str, Any]
    ) -> None:
        """Move staged files into place, then commit them with one manifest replace. If
        anything fails first (a full disk), the moved files are removed again: nothing
        half-done stays behind, and the store is as it was."""
        moved: list[Path] = []
        try:
            for f in entries:
                dest = self.root / f["path"]
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(stage / f.pop("staged"), dest)
                moved.append(dest)
            for d in {p.parent for p in moved}:
                _fsync_dir(d)
            _write_json_atomic(self.root / MANIFEST, manifest)
        except BaseException:
            for p in moved:
                with contextlib.suppress(OSError):
                    p.unlink()
            raise
        self.manifest = manifest

    def _dedupe(self, stage: Staging, staged: list[SourceSummary]) -> list[dict[str, Any]]:
        """Keep one event per key (within this ingest and against the store). A staged file
        without duplicates becomes a data file as it is; one with some is rewritten without
        them. Fills each source's counts and time span; returns the manifest entries."""
        drops = self._duplicates(stage) if stage.parts else {}
        dropped: dict[str, int] = {}
        entries = []
        for part in stage.parts:
            rows = drops.get(str(part.path))
            if rows is not None:
                gone = _count_by_source(part.path, rows)
                for sha, k in gone.items():
                    dropped[sha] = dropped.get(sha, 0) + k
                if len(rows) == part.rows:
                    continue
                part = _without_rows(part, rows)
            entries.append(
                {
                    "path": f"events/month={part.month}/{part.name}",
                    "month": part.month,
                    "rows": part.rows,
                    "commit": stage.commit,
                    "bytes": part.path.stat().st_size,
                    "sources": sorted(part.sources),
                    "staged": part.rel,
                }
            )
        for s in staged:
            lo, hi, n = stage.spans.get(s.sha256, (None, None, 0))
            s.duplicates = dropped.get(s.sha256, 0)
            s.new_events = n - s.duplicates
            s.min_time = _iso(lo)
            s.max_time = _iso(hi)
        return entries

    def _duplicates(self, stage: Staging) -> dict[str, np.ndarray]:
        """Staged rows to drop, as row numbers per staged file: rows whose key the store
        holds, and every occurrence of a key but the first within this ingest. Only the key
        column is read, and of the store only the months the ingest touches (+/- 2 days: a
        different time zone can move one record into the neighbouring month). DuckDB
        builds its hash tables on this ingest's keys and spills to the staging folder."""
        months = sorted(
            {
                str(np.datetime64(t + d, "us").astype("datetime64[M]"))
                for p in stage.parts
                for t in (p.low, p.high)
                for d in (-_TWO_DAYS, 0, _TWO_DAYS)
                if t is not None
            }
        )
        existing = self.event_files(months)
        con = _duckdb(stage.path)
        try:
            con.read_parquet(
                [str(p.path) for p in stage.parts], filename=True, file_row_number=True
            ).select("event_key, source_file, source_line, filename, file_row_number").create_view(
                "staged"
            )
            con.execute(
                "CREATE TEMP TABLE twice AS "
                "SELECT event_key FROM staged GROUP BY event_key HAVING count(*) > 1"
            )
            con.execute("CREATE TEMP TABLE old (event_key VARCHAR)")
            if existing:
                con.execute(
                    "INSERT INTO old SELECT DISTINCT o.event_key FROM read_parquet(?) o "
                    "SEMI JOIN staged s ON o.event_key = s.event_key",
                    [existing],
                )
            # The first occurrence of a key is the one of the first source file and line.
            found = con.sql(
                """
                SELECT filename, file_row_number FROM staged s
                SEMI JOIN old o ON s.event_key = o.event_key
                UNION ALL
                SELECT filename, file_row_number FROM (
                    SELECT s.filename, s.file_row_number, row_number() OVER (
                        PARTITION BY s.event_key
                        ORDER BY s.source_file, s.source_line, s.filename, s.file_row_number
                    ) AS n
                    FROM staged s SEMI JOIN twice t ON s.event_key = t.event_key
                    ANTI JOIN old o ON s.event_key = o.event_key
                ) WHERE n > 1
                ORDER BY 1, 2
                """
            ).to_arrow_table()
        finally:
            con.close()
        return _rows_by_file(found)

    @staticmethod
    def _file_entry(
        con: duckdb.DuckDBPyConnection, p: Path, month: str, commit: str, stage: Path
    ) -> dict[str, Any]:
        """The manifest entry of a staged data file: with its size (so truncation is seen
        without opening it) and the sources whose events it holds (so repair and forget
        know whom a file concerns)."""
        sources = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT source_sha256 FROM read_parquet(?) ORDER BY 1", [str(p)]
            ).fetchall()
        ]
        return {
            "path": f"events/month={month}/{p.name}",
            "month": month,
            "rows": pq.ParquetFile(p).metadata.num_rows,
            "commit": commit,
            "bytes": p.stat().st_size,
            "sources": sources,
            "staged": str(p.relative_to(stage).as_posix()),
        }

    def load_tiers(self, measurement_id: str | None) -> pa.Table | None:
        """A baseline's saved per-person tiers; None when it has none in this store."""
        if not measurement_id or not measurement_id.isalnum():
            return None
        path = self.root / TIERS_DIR / f"{measurement_id}.parquet"
        if not path.is_file():
            return None
        try:
            return pq.read_table(path)
        except (OSError, pa.ArrowException) as exc:
            raise StoreError(
                f"{path}: the baseline's saved tiers are damaged ({exc}); {REPAIR_HINT}"
            ) from None

    # -- sources, forget, repair ------------------------------------------------------------
    def find_source(self, spec: str) -> dict[str, Any]:
        """The stored source named by ``spec``: its path as ingested (or the same file), or
        its SHA-256 or a unique prefix of it (4+ characters)."""
        sources = self.sources
        hits = [s for s in sources if s["path"] == spec]
        if not hits:
            with contextlib.suppress(OSError, ValueError):
                want = Path(spec).resolve()
                hits = [s for s in sources if Path(s["path"]).resolve() == want]
        if not hits and len(spec) >= 4 and all(c in "0123456789abcdefABCDEF" for c in spec):
            hits = [s for s in sources if s["sha256"].startswith(spec.lower())]
        if not hits:
            raise UsageError(
                f"'{spec}': no such source in {self.root}; list them with "
                "'intranet-metrics sources' and give a path or SHA-256 from there"
            )
        if len({s["sha256"] for s in hits}) > 1:
            listed = ", ".join(f"{s['sha256'][:12]} ({s['path']})" for s in hits[:5])
            raise UsageError(f"'{spec}' matches {len(hits)} sources: {listed}; give more of it")
        return hits[0]

    def forget(
        self,
        specs: Sequence[str],
        wait: bool = True,
        notify: Callable[[str], None] | None = None,
    ) -> ForgetResult:
        """Take sources out of the store: their events and rejects are removed (the data
        files that hold them are rewritten without them) and the manifest no longer lists
        them, so ingesting them again reads them afresh. Crash-safe like ingest: the new
        files are staged, one manifest replace commits, and only then are the old files
        deleted (a crash before leaves them listed, after only leaves unlisted debris)."""
        with self.lock(wait=wait, notify=notify), self.writing():
            self._reload()
            targets = {}
            for spec in specs:
                src = self.find_source(spec)
                targets[src["sha256"]] = src
            self.cleanup()
            commit = _commit_id()
            stage = self.root / "tmp" / commit
            stage.mkdir(parents=True)
            try:
                return self._forget(targets, commit, stage)
            finally:
                shutil.rmtree(stage, ignore_errors=True)
                with contextlib.suppress(OSError):
                    (self.root / "tmp").rmdir()

    def _forget(self, targets: dict[str, dict[str, Any]], commit: str, stage: Path):
        shas = sorted(targets)
        con = _duckdb(stage)
        events = rejects = 0
        try:
            new_files: list[dict[str, Any]] = []
            new_rejects: list[dict[str, Any]] = []
            keep_files: list[dict[str, Any]] = []
            keep_rejects: list[dict[str, Any]] = []
            dropped: list[Path] = []
            for kind, keep, new in (
                ("files", keep_files, new_files),
                ("rejects", keep_rejects, new_rejects),
            ):
                for f in self.manifest[kind]:
                    listed = f.get("sources")
                    if isinstance(listed, list) and not set(listed) & set(shas):
                        keep.append(f)
                        continue
                    n = len(new_files) + len(new_rejects)
                    gone, entry = self._forget_file(con, kind, f, shas, commit, stage, n)
                    if not gone:
                        keep.append(f)
                        continue
                    if kind == "files":
                        events += gone
                    else:
                        rejects += gone
                    dropped.append(self.root / f["path"])
                    act = activity_table.entry_of(f)
                    if act:
                        dropped.extend(self.root / p for p in activity_table.paths_of(act))
                    if entry is not None:
                        new.append(entry)
        finally:
            con.close()
        # What is left of a file is a new data file: it gets its own derived file.
        derived = self._derive(new_files, stage, self.activity_tz())
        manifest = dict(self.manifest)
        manifest["sources"] = [s for s in self.sources if s["sha256"] not in targets]
        manifest["files"] = [*keep_files, *(dict(f) for f in new_files)]
        manifest["rejects"] = [*keep_rejects, *(dict(f) for f in new_rejects)]
        manifest["updated_at"] = _now()
        for f in manifest["files"] + manifest["rejects"]:
            f.pop("staged", None)
        self._publish(stage, [*new_files, *derived, *new_rejects], manifest)
        # Committed: the old files are no longer listed; remove them now (a crash here only
        # leaves debris that the next writer's cleanup removes).
        for p in dropped:
            with contextlib.suppress(OSError):
                p.unlink()
        # Events another source shares with a forgotten one were kept once, under the source
        # read first: if that was a forgotten one, they return when it is ingested again.
        shared = [
            s["path"]
            for s in manifest["sources"]
            if s.get("duplicates") and s.get("format") in {t["format"] for t in targets.values()}
        ]
        return ForgetResult(list(targets.values()), events, rejects, commit, shared)

    def compact(
        self,
        wait: bool = True,
        notify: Callable[[str], None] | None = None,
        tz: str | None = None,
    ) -> CompactResult:
        """Merge each month's data files into one, sorted by time (ingest appends a file per
        commit and sorts nothing), and (re)build the derived activity file of every data
        file without a sound one in ``tz`` (default: the store's). Crash-safe like forget:
        the merged files are staged, one manifest replace commits, and only then are the
        old files deleted."""
        with self.lock(wait=wait, notify=notify), self.writing():
            self._reload()
            self.cleanup()
            commit = _commit_id()
            stage = self.root / "tmp" / commit
            stage.mkdir(parents=True)
            try:
                return self._compact(commit, stage, tz or self.activity_tz())
            finally:
                shutil.rmtree(stage, ignore_errors=True)
                with contextlib.suppress(OSError):
                    (self.root / "tmp").rmdir()

    def _compact(self, commit: str, stage: Path, tz: str) -> CompactResult:
        by_month: dict[str, list[dict[str, Any]]] = {}
        for f in self.manifest["files"]:
            by_month.setdefault(f["month"], []).append(f)
        merge = {m: fs for m, fs in sorted(by_month.items()) if len(fs) > 1}
        before = len(self.manifest["files"])
        kept = [dict(f) for f in self.manifest["files"] if f["month"] not in merge]
        old, derived = self._rederive(kept, stage, tz)
        if not merge and not derived:
            return CompactResult([], before, before, None)
        con = _duckdb(stage)
        new_files = []
        try:
            for month, files in merge.items():
                staged = stage / f"compact-{month}.parquet"
                # Sorted by time (then key, so the result does not depend on file order):
                # readers skip row groups by their time range.
                con.read_parquet(self._checked(files)).order("time, event_key").write_parquet(
                    str(staged)
                )
                entry = self._file_entry(con, staged, month, commit, stage)
                entry["path"] = f"events/month={month}/part-{commit}-c.parquet"
                new_files.append(entry)
        finally:
            con.close()
        derived += self._derive(new_files, stage, tz)
        manifest = dict(self.manifest)
        manifest["files"] = [*kept, *(dict(f) for f in new_files)]
        for f in manifest["files"]:
            f.pop("staged", None)
        manifest["updated_at"] = _now()
        self._publish(stage, [*new_files, *derived], manifest)
        # Committed: the merged files (and replaced derived files) are no longer listed (a
        # crash here leaves debris that the next writer's cleanup removes).
        for files in merge.values():
            for f in files:
                act = activity_table.entry_of(f)
                old.append(self.root / f["path"])
                if act:
                    old.extend(self.root / p for p in activity_table.paths_of(act))
        for p in old:
            with contextlib.suppress(OSError):
                p.unlink()
        return CompactResult(sorted(merge), before, len(manifest["files"]), commit)

    def _forget_file(
        self,
        con: duckdb.DuckDBPyConnection,
        kind: str,
        f: dict[str, Any],
        shas: list[str],
        commit: str,
        stage: Path,
        n: int,
    ) -> tuple[int, dict[str, Any] | None]:
        """(rows of ``shas`` in a listed file, the staged entry of what is left of it, or
        None when nothing is)."""
        path = str(self._checked([f])[0])
        rest = con.sql(
            "SELECT * FROM read_parquet(?) WHERE NOT list_contains(?, source_sha256)",
            params=[path, shas],
        )
        left = rest.aggregate("count(*)").fetchall()[0][0]
        gone = f["rows"] - left
        if not gone or not left:
            return gone, None
        if kind == "files":
            rel = f"events/month={f['month']}/part-{commit}-f{n}.parquet"
        else:
            rel = f"rejects/part-{commit}-f{n}.parquet"
        staged = stage / f"forget-{n}.parquet"
        rest.write_parquet(str(staged))
        entry = {k: v for k, v in f.items() if k not in ("path", "bytes", "sources", "activity")}
        entry.update(path=rel, rows=left, commit=commit, staged=staged.name)
        entry["bytes"] = staged.stat().st_size
        if kind == "files":
            entry["sources"] = [
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT source_sha256 FROM read_parquet(?) ORDER BY 1",
                    [str(staged)],
                ).fetchall()
            ]
        return gone, entry

    def repair(
        self, wait: bool = True, notify: Callable[[str], None] | None = None
    ) -> RepairResult:
        """Make the store consistent again: keep what can be read, drop what cannot (from
        the manifest, and the damaged files themselves), and take the sources whose events
        were lost out of the manifest, so that ingesting them again reads them afresh."""
        with self.lock(wait=wait, notify=notify), self.writing():
            mpath = self.root / MANIFEST
            problems: list[str] = []
            raw = _lenient_manifest(mpath, problems)
            base = raw if isinstance(raw, dict) else {}
            fp = base.get("key_fingerprint")
            manifest: dict[str, Any] = {
                "intranet_metrics_store": FORMAT_VERSION,
                "created_at": base.get("created_at")
                if isinstance(base.get("created_at"), str)
                else _now(),
                "tool_version": __version__,
                "key_fingerprint": fp if isinstance(fp, str) else None,
            }
            lists = _good_entries(base, raw is not None, mpath, problems)
            lost = self._drop_damaged(lists, problems)
            lost_all = raw is None or not isinstance(base.get("files"), list)
            if lost_all:
                # No list of data files survived: nothing on disk can be trusted as listed, so
                # every source there must be read again (cleanup removes the unlisted files).
                again = _sources_on_disk(self.root)
                lists["files"], lists["rejects"] = [], []
                lists["sources"] = []
            else:
                again = [
                    {"path": s["path"], "sha256": s["sha256"], "format": s["format"]}
                    for s in lists["sources"]
                    if s["sha256"] in lost
                ]
                lists["sources"] = [s for s in lists["sources"] if s["sha256"] not in lost]
            manifest.update(lists)
            manifest["updated_at"] = _now()
            if not problems and not self._damaged_tiers():
                self.manifest = manifest if raw is None else raw
                self.cleanup()
                return RepairResult([], [], [])
            damaged_tiers = self._damaged_tiers()
            problems.extend(
                f"{p}: unreadable saved tiers; removed (a compare against that "
                "baseline will be unpaired)"
                for p in damaged_tiers
            )
            for p in damaged_tiers:
                p.unlink()
            _write_json_atomic(mpath, manifest)
            self.manifest = manifest
            removed = self.cleanup()
            return RepairResult(problems, again, removed)

    def _drop_damaged(self, lists: dict[str, list], problems: list[str]) -> set[str]:
        """Drop listed files that are missing, truncated or unreadable; returns the SHA-256
        of the sources whose events were (partly) lost with them."""
        lost: set[str] = set()
        for kind in ("files", "rejects"):
            keep = []
            for f in lists[kind]:
                path = self.root / f["path"]
                why = _file_problem(path, f) or _parquet_problem(path, f)
                if why is None:
                    keep.append(_activity_checked(self.root, f, problems) if kind == "files" else f)
                    continue
                problems.append(f"{path}: {why}; dropped")
                listed = f.get("sources")
                if kind == "files" and isinstance(listed, list):
                    lost.update(x for x in listed if isinstance(x, str))
                elif kind == "files":
                    lost.update(_sources_of_month(lists["sources"], f["month"]))
                else:
                    # Rejects of one ingest: its sources' rejected rows are gone.
                    lost.update(
                        s["sha256"] for s in lists["sources"] if s.get("commit") == f.get("commit")
                    )
            lists[kind] = keep
        return lost

    def _damaged_tiers(self) -> list[Path]:
        out = []
        for p in sorted((self.root / TIERS_DIR).glob("*.parquet")):
            try:
                pq.ParquetFile(p).metadata  # noqa: B018 - reading the footer is the check
            except (OSError, pa.ArrowException):
                out.append(p)
        return out


@dataclass
class ForgetResult:
    forgotten: list[dict[str, Any]]
    events_removed: int
    rejects_removed: int
    commit: str
    shared_with: list[str]


@dataclass
class CompactResult:
    months: list[str]  # the months whose files were merged
    files_before: int
    files_after: int
    commit: str | None  # None: nothing to merge, nothing written


@dataclass
class RepairResult:
    problems: list[str]
    ingest_again: list[dict[str, Any]]
    removed: list[str]

    @property
    def repaired(self) -> bool:
        return bool(self.problems)


def _activity_checked(root: Path, f: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """A sound data file's entry, without its derived activity file when that one is
    damaged: no events are lost (measurements read the data file itself until compact or
    rebuild_activity derives it again), so no source needs ingesting again."""
    if "activity" not in f:
        return f
    act = activity_table.entry_of(f)
    why, where = "an entry of another version or shape", f"{root / f['path']}'s derived file"
    if act is not None:
        entries = [act, *([act["messages"]] if "messages" in act else [])]
        for entry in entries:
            path = root / entry["path"]
            why, where = _file_problem(path, entry) or _parquet_problem(path, entry), str(path)
            if why is not None:
                break
    if why is None:
        return f
    problems.append(
        f"{where}: {why}; dropped (its data file is sound: measurements read it directly "
        "until 'intranet-metrics compact' derives it again)"
    )
    return {k: v for k, v in f.items() if k != "activity"}


def _lenient_manifest(mpath: Path, problems: list[str]) -> Any:
    """The manifest's JSON object, or None (with the problem noted) when there is none."""
    try:
        raw = json.loads(mpath.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{mpath}: missing")
        return None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        problems.append(f"{mpath}: not JSON ({exc})")
        return None
    if not isinstance(raw, dict):
        problems.append(f"{mpath}: a JSON {type(raw).__name__}, not an object")
        return None
    return raw


def _good_entries(
    base: dict[str, Any], parsed: bool, mpath: Path, problems: list[str]
) -> dict[str, list]:
    """The manifest's lists, each without its entries of the wrong shape (noted)."""
    lists = {}
    for kind in _ENTRY_FIELDS:
        entries = base.get(kind)
        if not isinstance(entries, list):
            if parsed:
                problems.append(f"{mpath}: '{kind}' is missing or not a list")
            entries = []
        good = []
        for e in entries:
            why = _entry_problem(kind, e)
            if why:
                problems.append(f"{mpath}: {why}; dropped")
            else:
                good.append(e)
        lists[kind] = good
    return lists


def _parquet_problem(path: Path, entry: dict[str, Any]) -> str | None:
    """A full read of the footer (repair only: slower than _file_problem, and thorough)."""
    try:
        rows = pq.ParquetFile(path).metadata.num_rows
    except (OSError, pa.ArrowException) as exc:
        return f"unreadable as Parquet ({exc})"
    if rows != entry["rows"]:
        return f"holds {rows:,} rows, the manifest says {entry['rows']:,}"
    return None


def _sources_of_month(sources: list[dict[str, Any]], month: str) -> list[str]:
    """Sources whose events may lie in ``month`` (entries written before files listed their
    sources): every source whose time span touches it, or that has no span."""
    out = []
    for s in sources:
        lo, hi = s.get("min_time"), s.get("max_time")
        if not isinstance(lo, str) or not isinstance(hi, str) or lo[:7] <= month <= hi[:7]:
            out.append(s["sha256"])
    return out


def _sources_on_disk(root: Path) -> list[dict[str, Any]]:
    """The sources whose events are in the readable data files under ``root``."""
    found: dict[str, dict[str, Any]] = {}
    for p in sorted((root / "events").rglob("*.parquet")):
        try:
            t = pq.read_table(p, columns=["source_sha256", "source_file", "source_format"])
        except (OSError, pa.ArrowException):
            continue
        for sha, f, fmt in zip(*(t.column(c).to_pylist() for c in t.column_names), strict=True):
            found.setdefault(sha, {"path": f.split("!", 1)[0], "sha256": sha, "format": fmt})
    return list(found.values())


def _duckdb_io_error(exc: Exception) -> bool:
    """A DuckDB write that failed for want of space or permission (an OS error to DuckDB's
    users). Only DuckDB raises its errors, so it is imported when one is raised."""
    duckdb = sys.modules.get("duckdb")
    if duckdb is None or not isinstance(exc, duckdb.IOException):
        return False
    return "space left" in str(exc) or "Permission denied" in str(exc)


def _duckdb(stage: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB for store work: UTC, bounded memory spilling into the staging folder. The
    settings are a config dict, so no path is ever pasted into a SET statement."""
    import duckdb

    con = duckdb.connect(
        config={
            "temp_directory": str(stage / "duckdb.tmp"),
            "memory_limit": DUCKDB_MEMORY,
            "preserve_insertion_order": False,
        }
    )
    con.execute("SET TimeZone = 'UTC'")  # a constant (the icu extension loads on first use)
    return con


def _commit_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


# Sources with fewer rows than this share one staging file (see Staging).
SMALL_ROWS = 65_536


# Staged (and so stored) files: zstd costs what snappy does and makes files ~45% smaller;
# no dictionary for columns whose values hardly repeat (Parquet would build one and drop it:
# 10% of the write). Measured on 1 M generic events: 0.40 -> 0.35 CPU-s, 74 -> 41 MB.
_DICTIONARY = [f.name for f in EVENT_SCHEMA if f.name not in ("time", "source_line", "event_key")]


class _Part:
    """One staged data file: one month's rows of one source (or of many small ones)."""

    def __init__(self, folder: Path, month: str, name: str) -> None:
        self.month, self.name = month, name
        self.rel = f"month={month}/{name}"
        self.path = folder / self.rel
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.writer: pq.ParquetWriter | None = pq.ParquetWriter(
            self.path, EVENT_SCHEMA, compression="zstd", use_dictionary=_DICTIONARY
        )
        self.rows = 0
        self.sources: set[str] = set()
        self.low: int | None = None  # first and last event time (microseconds)
        self.high: int | None = None

    def write(self, batch: pa.RecordBatch, micros: np.ndarray) -> None:
        assert self.writer is not None
        self.writer.write_batch(batch)
        self.rows += batch.num_rows
        self.sources.update(pc.unique(batch.column("source_sha256")).to_pylist())
        lo, hi = int(micros.min()), int(micros.max())
        self.low = lo if self.low is None else min(self.low, lo)
        self.high = hi if self.high is None else max(self.high, hi)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class Staging:
    """The staging folder of one writer: events as Parquet by UTC month, rejects aside.

    Each source's rows are staged in files of their month (``month=YYYY-MM/``), so that a
    commit moves a file into ``events/`` as it is unless deduplication drops rows from it.
    Small sources (one batch or less, the usual case for folders of many files) share
    files, so 10,000 files do not cost 10,000 Parquet files; a larger source gets its own,
    and a source whose batches fail half-way leaves nothing behind."""

    def __init__(self, path: Path, commit: str) -> None:
        self.path, self.commit = path, commit
        self.reject_rows = 0
        self.parts: list[_Part] = []
        # Per source SHA-256: [first time, last time, rows] of the rows it staged.
        self.spans: dict[str, list[int]] = {}
        self._shared: dict[str, _Part] = {}
        self._small: list[pa.RecordBatch] = []
        self._small_rows = 0
        self._rejects: pq.ParquetWriter | None = None

    def _part(self, month: str) -> _Part:
        part = _Part(self.path, month, f"part-{self.commit}-{len(self.parts)}.parquet")
        self.parts.append(part)
        return part

    def _write(self, parts: dict[str, _Part], batch: pa.RecordBatch) -> None:
        for month, piece, micros in _by_month(batch):
            if month not in parts:
                parts[month] = self._part(month)
            parts[month].write(piece, micros)

    def write_source(self, batches: Iterable[pa.RecordBatch]) -> None:
        """Stage one source's batches (EVENT_SCHEMA). An exception from ``batches`` removes
        what this source staged and propagates."""
        first: list[pa.RecordBatch] = []
        own: dict[str, _Part] = {}
        spans: dict[str, list[int]] = {}
        try:
            for batch in batches:
                _span(spans, batch)
                if not own and not first:
                    first.append(batch)
                    continue
                if first:
                    self._write(own, first.pop())
                self._write(own, batch)
        except BaseException:
            for part in own.values():
                part.close()
                part.path.unlink(missing_ok=True)
                self.parts.remove(part)
            raise
        for part in own.values():
            part.close()
        for sha, (lo, hi, n) in spans.items():
            self.spans[sha] = [lo, hi, n]
        self._small.extend(first)
        self._small_rows += sum(b.num_rows for b in first)
        if self._small_rows >= SMALL_ROWS:
            self._write_small()

    def _write_small(self) -> None:
        # One row group for many small sources: thousands of tiny row groups are slow to
        # write and slower to read back.
        if self._small:
            table = pa.Table.from_batches(self._small, schema=EVENT_SCHEMA).combine_chunks()
            for batch in table.to_batches():
                self._write(self._shared, batch)
        self._small.clear()
        self._small_rows = 0

    def write_rejects(self, table: pa.Table) -> None:
        if self._rejects is None:
            self._rejects = pq.ParquetWriter(self.path / "rejects.parquet", REJECT_SCHEMA)
        self._rejects.write_table(table)
        self.reject_rows += table.num_rows

    def close(self) -> None:
        """Finish the staged files (before ``Store.commit`` reads them)."""
        self._write_small()
        for part in self.parts:
            part.close()
        if self._rejects is not None:
            self._rejects.close()
            self._rejects = None

    def abandon(self) -> None:
        """Close quietly after a failure (the folder is removed next)."""
        self._small.clear()
        with contextlib.suppress(Exception):
            self.close()


def _rows_by_file(found: pa.Table) -> dict[str, np.ndarray]:
    """Row numbers per file of a table of (filename, file_row_number) sorted by both."""
    if not found.num_rows:
        return {}
    # Arrow to NumPy through arrowutil: to_numpy would import pandas (a third of a second).
    coded = pc.dictionary_encode(found.column("filename").combine_chunks())
    names, files = au.numbers(coded.indices), coded.dictionary.to_pylist()
    rows = au.numbers(found.column("file_row_number"))
    cuts = [0, *(np.flatnonzero(names[1:] != names[:-1]) + 1).tolist(), len(names)]
    return {str(files[names[a]]): rows[a:b] for a, b in itertools.pairwise(cuts) if b > a}


def _micros(batch: pa.RecordBatch) -> np.ndarray:
    return au.numbers(batch.column("time").cast(pa.int64()))


def _span(spans: dict[str, list[int]], batch: pa.RecordBatch) -> None:
    """Widen each source's [first, last, rows] by a batch (one source per batch, usually)."""
    micros = _micros(batch)
    shas = batch.column("source_sha256")
    names = pc.unique(shas).to_pylist()
    for sha in names:
        mine = micros if len(names) == 1 else micros[pc.equal(shas, sha).to_numpy(False)]
        lo, hi = int(mine.min()), int(mine.max())
        s = spans.setdefault(sha, [lo, hi, 0])
        s[0], s[1], s[2] = min(s[0], lo), max(s[1], hi), s[2] + len(mine)


def _by_month(batch: pa.RecordBatch) -> Iterator[tuple[str, pa.RecordBatch, np.ndarray]]:
    """``(YYYY-MM, rows, their times)`` for each UTC month of a batch's rows."""
    micros = _micros(batch)
    months = micros.astype("datetime64[us]").astype("datetime64[M]")
    if months.min() == months.max():  # the usual case: nothing to split
        yield str(months[0]), batch, micros
        return
    order = np.argsort(months, kind="stable")
    ordered = months[order]
    cuts = [0, *(np.flatnonzero(ordered[1:] != ordered[:-1]) + 1).tolist(), len(order)]
    taken = batch.take(au.fixed(order))
    for a, b in itertools.pairwise(cuts):
        yield str(ordered[a]), taken.slice(a, b - a), micros[order[a:b]]


_TWO_DAYS = 2 * 86_400 * 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _iso(micros: int | None) -> str | None:
    if micros is None:
        return None
    return (EPOCH + timedelta(microseconds=micros)).isoformat()


def _kept(rows: np.ndarray, start: int, n: int) -> np.ndarray:
    """Mask of the rows ``start .. start + n`` of a file not listed in sorted ``rows``."""
    keep = np.ones(n, bool)
    lo, hi = np.searchsorted(rows, [start, start + n])
    keep[rows[lo:hi] - start] = False
    return keep


def _count_by_source(path: Path, rows: np.ndarray) -> dict[str, int]:
    """How many of a staged file's ``rows`` each source holds."""
    out: dict[str, int] = {}
    start = 0
    for batch in pq.ParquetFile(path).iter_batches(columns=["source_sha256"]):
        gone = au.flags(~_kept(rows, start, batch.num_rows))
        start += batch.num_rows
        for pair in pc.value_counts(batch.column(0).filter(gone)).to_pylist():
            out[pair["values"]] = out.get(pair["values"], 0) + pair["counts"]
    return out


def _without_rows(part: _Part, rows: np.ndarray) -> _Part:
    """A staged file rewritten without ``rows`` (streamed), as a new part beside it."""
    new = _Part(part.path.parent.parent, part.month, part.name + ".kept")
    new.name = part.name  # its name in events/
    start = 0
    for batch in pq.ParquetFile(part.path).iter_batches():
        keep = _kept(rows, start, batch.num_rows)
        start += batch.num_rows
        if keep.any():
            kept = batch.filter(au.flags(keep))
            new.write(kept, _micros(kept))
    new.close()
    part.path.unlink()
    return new


REPAIR_HINT = "run 'intranet-metrics repair' to restore a consistent store"


def _read_manifest(mpath: Path) -> dict[str, Any]:
    """The manifest, or a StoreError that names it, says what is wrong and points to repair."""
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StoreError(f"{mpath}: cannot be read ({exc.strerror or exc}); check it") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise StoreError(
            f"{mpath}: the store manifest is unreadable (not JSON: {exc}); {REPAIR_HINT}"
        ) from None
    version = manifest.get("intranet_metrics_store") if isinstance(manifest, dict) else None
    if version is not None and version != FORMAT_VERSION:
        raise StoreError(
            f"{mpath.parent}: not an intranet-metrics store of format {FORMAT_VERSION}; "
            "choose another folder with --store"
        )
    problem = manifest_problem(manifest)
    if problem:
        raise StoreError(f"{mpath}: the store manifest is damaged ({problem}); {REPAIR_HINT}")
    return manifest


# What each list of the manifest must hold: entries are dicts with these fields (and types).
_ENTRY_FIELDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "sources": {"path": str, "sha256": str, "format": str},
    "files": {"path": str, "month": str, "rows": int},
    "rejects": {"path": str, "rows": int},
}


def _entry_problem(kind: str, entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return f"an entry of '{kind}' is {type(entry).__name__}, not an object"
    for name, typ in _ENTRY_FIELDS[kind].items():
        if not isinstance(entry.get(name), typ) or isinstance(entry.get(name), bool):
            return f"an entry of '{kind}' has no valid '{name}'"
    if kind != "sources" and not _safe_relative(entry["path"]):
        return f"'{kind}' lists a path outside the store: {entry['path'][:80]!r}"
    return None


def _safe_relative(rel: str) -> bool:
    """A manifest path stays inside the store (a hand-edited manifest cannot point out)."""
    p = Path(rel)
    return not p.is_absolute() and ".." not in p.parts and not p.drive


def manifest_problem(manifest: Any) -> str | None:
    """What is wrong with the shape of a manifest, or None."""
    if not isinstance(manifest, dict):
        return f"a JSON {type(manifest).__name__}, not an object"
    if manifest.get("intranet_metrics_store") != FORMAT_VERSION:
        return "no 'intranet_metrics_store' format marker"
    for kind in _ENTRY_FIELDS:
        entries = manifest.get(kind)
        if not isinstance(entries, list):
            return f"'{kind}' is missing or not a list"
        for entry in entries:
            problem = _entry_problem(kind, entry)
            if problem:
                return problem
    fp = manifest.get("key_fingerprint")
    if fp is not None and not isinstance(fp, str):
        return "'key_fingerprint' is not text"
    return None


def _file_problem(path: Path, entry: dict[str, Any]) -> str | None:
    """Why a listed Parquet file cannot be read as written (cheap: size, or its footer)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    want = entry.get("bytes")
    if isinstance(want, int):
        # Recorded at commit: a size check finds truncation without opening the file.
        return None if size == want else f"truncated or changed ({size:,} of {want:,} bytes)"
    if size < 12:
        return f"truncated ({size} bytes)"
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
            fh.seek(-4, os.SEEK_END)
            tail = fh.read(4)
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    if head != b"PAR1" or tail != b"PAR1":
        return "truncated or not Parquet"
    return None


def _remove(p: Path) -> bool:
    """Delete a file nobody lists; False if it cannot be deleted now (on Windows a reader
    that still has an old file open holds it): it stays unlisted and a later cleanup
    removes it, so a writer never fails over debris."""
    try:
        p.unlink()
    except FileNotFoundError:
        return False
    except PermissionError:
        return False
    return True


def _replace(src: Path, dest: Path) -> None:
    """os.replace, retried briefly on Windows, where a reader that has ``dest`` open at that
    instant makes it fail (POSIX replaces under open readers)."""
    for attempt in range(20):
        try:
            os.replace(src, dest)
            return
        except PermissionError:
            if os.name != "nt" or attempt == 19:
                raise
            time.sleep(0.05)


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return True


def _debris(p: Path) -> bool:
    """What a crash while creating a store leaves behind: it does not make a folder foreign."""
    return p.name == ".lock" or (p.name.startswith(f".{MANIFEST}.") and p.name.endswith(".tmp"))


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def write_err(msg: str) -> None:
    print(msg, file=sys.stderr)
