"""Progress people can read, on stderr: a rich bar with bytes done, rate and time left for an
ingest; silent when stderr is not a terminal or with ``--quiet`` (issue 12 item 6).

The ingest pipeline reports each file as it starts (``on_start``), so the bar advances by
whole files: a file's bytes count as done when the next one starts, or at the end."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


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


class IngestBar:
    """``on_start`` for api.ingest: the previous file is done, ``path`` is being read."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress = progress
        self.task = progress.add_task("reading exports", total=total or None) if progress else None
        self._current = 0

    def on_start(self, path: Path, fmt: str) -> None:
        if self.progress is None or self.task is None:
            return
        self.progress.advance(self.task, self._current)
        self._current = input_bytes([path])  # a folder export (Slack) counts all its files
        self.progress.update(self.task, description=f"reading {Path(path).name} ({fmt})")

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
