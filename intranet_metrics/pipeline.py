"""Ingest: read -> classify -> store.

Everything that knows formats lives here or in the loaders: finding the sources under the
given paths (``detect.expand``), fingerprinting them, driving a loader through an
``EventBuilder`` (which classifies and keys the records) and turning the loaders' read
failures into one-line errors. The store only stages Arrow batches and commits them
(``Store.staging`` / ``Staging.write_source`` / ``Store.commit``): it knows no format.
"""

from __future__ import annotations

import codecs
import contextlib
import gc
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow as pa

from . import arrowutil as au
from .config import Config
from .errors import InputError
from .identity import Pseudonymiser
from .loaders.base import KEY_VERSIONS, MAKES, Counts, EventBuilder, SourceInfo, file_sha256
from .loaders.container import ARCHIVE_ERRORS, archive_error
from .loaders.detect import expand
from .schema import EVENT_SCHEMA, REJECT_SCHEMA
from .store import IngestResult, SourceSummary, Staging, Store, settings_diff

# Formats whose event times depend on the configured time zone (local times without offset).
_TZ_FORMATS = frozenset({"generic", "iis-w3c"})


def event_settings(config: Config, pseudo: Pseudonymiser, fmt: str) -> dict[str, Any]:
    """The settings that shape what a source of format ``fmt`` stores (times, exclusions,
    classes, keyed identities), as JSON values; kept per source in the manifest so that a
    later ingest with other settings can say what changed."""
    accounts: Any = sorted(config.service_accounts)
    if pseudo.enabled:
        # Account names are identities: under a key the store keeps only a keyed digest of
        # the list (enough to tell that it changed, nothing to read back).
        accounts = {"keyed": pseudo.key_hash(json.dumps(accounts))}
    out: dict[str, Any] = {
        "service_accounts": accounts,
        "exclude_user_agents": sorted(config.exclude_user_agents),
        "key_fingerprint": pseudo.fingerprint,
    }
    # Not `activities`: the store keeps each event's activity and the classes are applied
    # when measuring, so a change of [activities] needs no re-ingest.
    if fmt in _TZ_FORMATS:
        out["timezone"] = config.timezone
    if fmt == "generic":
        out["column_map"] = dict(sorted(config.column_map.items()))
        # Forced CSV dialects, in versions that have them (issue 10 item 2).
        for name in ("encoding", "delimiter"):
            if getattr(config, name, None) is not None:
                out[name] = getattr(config, name)
    if fmt == "m365-audit":
        out["sites"] = sorted(config.sites)
    return out


def key_version(stored: Iterable[dict[str, Any]], fmt: str) -> int:
    """The key version a new source of ``fmt`` is keyed with in a store holding ``stored``
    sources: the oldest one of that format the builder still makes, else the newest. A
    store keyed by an older version keeps it, so an export overlapping a stored one is
    deduplicated against it exactly once (the speed of the newest comes with a new store,
    or once 'forget' has removed the older sources)."""
    makes = MAKES.get(fmt, ())
    old = [s.get("key_version", 1) for s in stored if s.get("format") == fmt]
    return min((v for v in old if v in makes), default=KEY_VERSIONS.get(fmt, 1))


# -- one driver for production and tests ---------------------------------------------------
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


def read_batches(module: ModuleType, path: Path, builder: EventBuilder) -> Iterator[pa.RecordBatch]:
    """Every batch one loader yields for one source (GC paused, last batch flushed, read
    failures turned into one-line InputErrors). The only loader driver: ingest and
    ``read_source`` both use it."""
    try:
        with _no_gc():
            for batch in module.load(path, builder):
                if batch is not None and batch.num_rows:
                    yield batch
            yield from (b for b in builder.flush_chunks() if b.num_rows)
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


@dataclass
class LoadResult:
    """Everything one source yielded, in memory (tests, notebooks, small inputs)."""

    events: pa.Table
    rejects: pa.Table
    counts: Counts


def read_source(
    module: ModuleType,
    path: Path,
    config: Config | None = None,
    pseudo: Pseudonymiser | None = None,
) -> LoadResult:
    """Run one loader over one source fully in memory, through the ingest's driver."""
    builder = EventBuilder(
        SourceInfo(str(path), file_sha256(path), module.NAME), config or Config(), pseudo
    )
    batches = list(read_batches(module, path, builder))
    rejects = builder.take_rejects()
    return LoadResult(
        events=pa.Table.from_batches(batches, schema=EVENT_SCHEMA),
        rejects=rejects if rejects is not None else au.empty(REJECT_SCHEMA),
        counts=builder.counts,
    )


# -- ingest ---------------------------------------------------------------------------------
Notify = Callable[[SourceSummary], None] | None


def ingest(
    store: Store,
    paths: list[Path],
    config: Config,
    pseudo: Pseudonymiser,
    input_format: str | None = None,
    skip_bad: bool = False,
    wait: bool = True,
    notify: Callable[[str], None] | None = None,
    on_source: Notify = None,
    on_start: Callable[[Path, str], Any] | None = None,
) -> IngestResult:
    """Read every export under ``paths`` and commit their new events in one step.
    ``on_start(path, format)`` is told each source as it starts; if it returns a callable,
    that is told the last line each batch of the source reached (a progress bar's bytes)."""
    with store.staging(pseudo, wait=wait, notify=notify) as stage:
        run = _Run(store, stage, config, pseudo, skip_bad, on_source, on_start)
        found = expand(paths, input_format, run.skipped, run.failed if skip_bad else None)
        for n, (path, module) in enumerate(found):
            run.source(n, path, module)
        stage.close()
        if not run.staged:
            return IngestResult(run.summaries, None)
        commit = store.commit(stage, run.staged, pseudo.fingerprint, tz=config.timezone)
        if on_source:
            for s in run.staged:
                on_source(s)
        return IngestResult(run.summaries, commit)


class _Run:
    """One ingest's sources: what each yielded, listed in order."""

    def __init__(
        self,
        store: Store,
        stage: Staging,
        config: Config,
        pseudo: Pseudonymiser,
        skip_bad: bool,
        on_source: Notify,
        on_start: Callable[[Path, str], Any] | None,
    ) -> None:
        self.stage, self.config, self.pseudo, self.skip_bad = stage, config, pseudo, skip_bad
        self.on_source, self.on_start = on_source, on_start
        self.known = {s["sha256"]: s for s in store.sources}
        self.versions: dict[str, int] = {}
        self.summaries: list[SourceSummary] = []
        self.staged: list[SourceSummary] = []

    def _key_version(self, fmt: str) -> int:
        """``key_version`` of the store's sources, worked out once per format and run (the
        run's own sources take the same version: a folder of 10,000 files is not 10,000
        passes over the manifest)."""
        if fmt not in self.versions:
            self.versions[fmt] = key_version(self.known.values(), fmt)
        return self.versions[fmt]

    def _listed(self, s: SourceSummary) -> None:
        self.summaries.append(s)
        if self.on_source:
            self.on_source(s)

    def skipped(self, path: Path, why: str) -> None:
        # Never drop an input silently: list it with its reason (not in the manifest).
        self._listed(SourceSummary(str(path), "", "", status="skipped", message=why))

    def failed(self, path: Path, exc: InputError) -> None:
        # --skip-bad: a recognised export that cannot be read is listed, not fatal.
        self._listed(SourceSummary(str(path), "", "", status="failed", message=str(exc)))

    def source(self, n: int, path: Path, module: ModuleType) -> None:
        try:
            sha = file_sha256(path)
        except OSError as exc:
            raise InputError(f"{path}: cannot be read ({exc.strerror or exc}); check it") from None
        s = SourceSummary(
            path=str(path),
            sha256=sha,
            format=module.NAME,
            abs_path=os.path.abspath(path),
            settings=event_settings(self.config, self.pseudo, module.NAME),
            key_version=self._key_version(module.NAME),
        )
        if sha in self.known:
            self._unchanged(s, self.known[sha])
            return
        self.known[sha] = s.to_dict()
        # on_start may hand back a callback for the line each batch reached (progress bar).
        on_line = self.on_start(path, module.NAME) if self.on_start else None
        builder = EventBuilder(
            SourceInfo(str(path), sha, module.NAME),
            self.config,
            self.pseudo,
            key_version=s.key_version,
        )
        rejects: list[pa.Table] = []
        try:
            batches = lines_read(read_batches(module, path, builder), on_line)
            self.stage.write_source(_taking_rejects(batches, builder, rejects))
        except InputError as exc:
            if not self.skip_bad:
                raise
            s.status, s.message = "failed", str(exc)
            self._listed(s)
            return
        for table in rejects:
            self.stage.write_rejects(table)
        for name, value in builder.counts.to_dict().items():
            setattr(s, name, value)
        s.message = "; ".join(builder.notes) or None  # the loader's notes
        self.summaries.append(s)
        self.staged.append(s)

    def _unchanged(self, s: SourceSummary, old: dict[str, Any]) -> None:
        s.status, s.message = "unchanged", "already in the store (same SHA-256)"
        s.settings_changed = settings_diff(old.get("settings"), s.settings)
        if s.settings_changed:
            s.message = (
                f"already in the store, read with other settings "
                f"({'; '.join(s.settings_changed)}); to apply the new ones run "
                f"'intranet-metrics forget {s.sha256[:12]}' and ingest it again"
            )
        self._listed(s)


def lines_read(
    batches: Iterable[pa.RecordBatch], on_line: Callable[[int], None] | None
) -> Iterable[pa.RecordBatch]:
    """The batches, telling ``on_line`` the last ``source_line`` each one reached."""
    if not callable(on_line):
        return batches
    return _reporting(batches, on_line)


def _reporting(
    batches: Iterable[pa.RecordBatch], on_line: Callable[[int], None]
) -> Iterator[pa.RecordBatch]:
    import pyarrow.compute as pc

    for batch in batches:
        yield batch
        top = pc.max(batch.column("source_line")).as_py() if batch.num_rows else None
        if top is not None:
            on_line(int(top))


def _taking_rejects(
    batches: Iterable[pa.RecordBatch], builder: EventBuilder, into: list[pa.Table]
) -> Iterator[pa.RecordBatch]:
    """The batches, with the builder's rejects taken after each (so they do not pile up in
    the builder); they are staged only once the source has been read to its end."""
    for batch in batches:
        yield batch
        table = builder.take_rejects()
        if table is not None:
            into.append(table)
    table = builder.take_rejects()
    if table is not None:
        into.append(table)
