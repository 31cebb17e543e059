"""Progress people can read, on stderr: rich bars with what is done, rate and time left;
silent when stderr is not a terminal or with ``--quiet`` (issue 12 item 6). Never on stdout:
JSON reports are piped.

Ingest: bytes of the exports. The pipeline reports each file as it starts (``on_start``) and,
within a plain (not gzip) file, the line each batch reached: bytes are estimated from the
line and the file's mean line length (from its first MiB), capped at the file's size.

Measurements: events read. Each step of a measurement is one pass over the window's events
(the tiers per person, then the inequality and interaction figures); within a step DuckDB's
``query_progress()`` moves the bar, polled from a thread (Spark: step by step)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text

# Bytes per line are estimated from this much of the start of a file.
HEAD = 1 << 20


def input_bytes(paths: Sequence[str | Path]) -> int:
    """Total size of the files under ``paths`` (what an ingest may read); unreadable
    entries count 0 here and are reported by the ingest itself."""
    total = 0
    for p in map(Path, paths):
        try:
            if p.is_file():
                total += p.stat().st_size
            elif p.is_dir():
                for root, _dirs, files in os.walk(p):
                    for f in files:
                        with suppress(OSError):
                            total += os.path.getsize(os.path.join(root, f))
        except OSError:
            pass
    return total


def bytes_per_line(path: Path) -> float | None:
    """Mean bytes per line over the first MiB of a plain file; None for a gzip file, a
    folder or an unreadable one (those advance a whole file at a time)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEAD)
    except OSError:
        return None
    if head[:2] == b"\x1f\x8b" or not head:
        return None
    return len(head) / max(head.count(b"\n"), 1)


class IngestBar:
    """``on_start`` for api.ingest: the previous file is done, ``path`` is being read; it
    returns ``on_line`` for the pipeline to report the line each batch reached."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress = progress
        self.task = progress.add_task("reading exports", total=total or None) if progress else None
        self._done = 0  # bytes of the files read to the end
        self._current = 0  # size of the file being read
        self._per_line: float | None = None

    def on_start(self, path: Path, fmt: str) -> Callable[[int], None] | None:
        if self.progress is None or self.task is None:
            return None
        self._done += self._current
        self._current = input_bytes([path])  # a folder export (Slack) counts all its files
        self._per_line = bytes_per_line(Path(path)) if Path(path).is_file() else None
        self.progress.update(
            self.task, completed=self._done, description=f"reading {Path(path).name} ({fmt})"
        )
        return self.on_line if self._per_line else None

    def on_line(self, line: int) -> None:
        """The file being read has reached ``line``: its bytes done so far, estimated."""
        if self.progress is None or self.task is None or not self._per_line:
            return
        within = min(int(line * self._per_line), self._current)
        self.progress.update(self.task, completed=self._done + within)

    def done(self) -> None:
        if self.progress is not None and self.task is not None:
            total = self.progress.tasks[0].total
            self.progress.update(self.task, completed=total, description="committing")


@contextmanager
def ingest_bar(paths: Sequence[str | Path], console: Console, enabled: bool) -> Iterator[IngestBar]:
    """A bytes bar over the files under ``paths``; a no-op bar when not ``enabled``."""
    if not enabled:
        yield IngestBar(None, 0)
        return
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    with progress:
        bar = IngestBar(progress, input_bytes(paths))
        yield bar
        bar.done()


# -- measurements ---------------------------------------------------------------------------
class _Events(ProgressColumn):
    """``12.1 M of 37.5 M events read, 3.2 M/s``: work done and rate, in events."""

    def render(self, task: Task) -> Text:
        if not task.fields.get("rows"):
            return Text("")
        speed = f", {_count(task.speed)}/s" if task.speed else ""
        return Text(f"{_count(task.completed)} of {_count(task.total or 0)} events read{speed}")


def _count(n: float) -> str:
    """12,345 / 123.4 k / 12.3 M: short enough to stay on the bar's line."""
    if n < 10_000:
        return f"{n:,.0f}"
    return f"{n / 1e3:.1f} k" if n < 1_000_000 else f"{n / 1e6:.1f} M"


class Steps:
    """The steps of one measurement on a bar (a silent one without ``progress``). Each step
    is a pass over ``rows`` events; DuckDB's query progress moves the bar within a step."""

    POLL = 0.1

    def __init__(self, progress: Progress | None = None, label: str = "") -> None:
        self.progress, self.label = progress, label
        self.task: Any = None
        self.names: tuple[str, ...] = ()
        self.index, self.unit = 0, 1
        self._duck: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._completed = 0.0

    def start(self, names: Sequence[str], con: Any = None, rows: int = 0) -> None:
        """Begin ``names`` (one pass over ``rows`` events each) on the connection ``con``
        (an ibis backend; its DuckDB connection is watched)."""
        if self.progress is None:
            return
        self.close()
        self.names, self.index, self.unit = tuple(names), 0, rows or 100
        self._completed = 0.0
        total = self.unit * len(self.names)
        self.task = self.progress.add_task(self._what(), total=total, rows=rows)
        self._duck = _duckdb_of(con)
        if self._duck is not None:
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()

    def next(self) -> None:
        """The current step is done; the next one begins."""
        if self.progress is None or self.task is None:
            return
        with self._lock:
            self.index = min(self.index + 1, len(self.names) - 1)
            self._completed = max(self._completed, float(self.index * self.unit))
            self.progress.update(self.task, completed=self._completed, description=self._what())

    def close(self) -> None:
        """All steps done: stop watching and fill the bar."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, completed=self.unit * len(self.names))
            self.task = None

    def _what(self) -> str:
        step = f"step {self.index + 1}/{len(self.names)}: {self.names[self.index]}"
        return f"{self.label}, {step}" if self.label else step

    def _poll(self) -> None:
        while not self._stop.wait(self.POLL):
            with suppress(Exception):  # a connection closing under us ends the polling
                pct = float(self._duck.query_progress())
                if pct < 0 or self.progress is None or self.task is None:
                    continue
                with self._lock:
                    done = self.index * self.unit + min(pct, 100.0) / 100 * self.unit
                    # A step runs several queries: the bar never goes back.
                    if done > self._completed:
                        self._completed = done
                        self.progress.update(self.task, completed=done)


def _duckdb_of(con: Any) -> Any:
    """The DuckDB connection under an ibis backend, set to track query progress without
    printing DuckDB's own bar; None for another backend (Spark)."""
    duck = getattr(con, "con", None)
    if duck is None or not hasattr(duck, "query_progress"):
        return None
    try:
        duck.execute("SET enable_progress_bar = true")
        duck.execute("SET enable_progress_bar_print = false")
    except Exception:  # an older DuckDB without the setting: step by step
        return None
    return duck


def window_rows(store: Any, start: date, end: date) -> int:
    """Events in the store's files of the months from ``start`` to ``end`` (the manifest's
    counts: nothing is read)."""
    months, y, m = set(), start.year, start.month
    while (y, m) <= (end.year, end.month):
        months.add(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    files = getattr(store, "manifest", {}).get("files", [])
    return sum(int(f.get("rows", 0)) for f in files if f.get("month") in months)


@contextmanager
def measure_bar(console: Console, enabled: bool, label: str = "") -> Iterator[Steps]:
    """A bar for the steps of a measurement; a silent ``Steps`` when not ``enabled``."""
    if not enabled:
        yield Steps()
        return
    # The spinner and elapsed time show it is alive while a step's Python part (the roster,
    # pandas figures) runs: DuckDB's query progress moves the bar only during its queries.
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        _Events(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    with progress:
        steps = Steps(progress, label)
        try:
            yield steps
        finally:
            steps.close()
