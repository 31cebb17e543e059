"""The ingest's progress bar: bytes done by file, silent off a terminal and with --quiet."""

from __future__ import annotations

import io
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console

from intranet_metrics.cli import cli
from intranet_metrics.progress import ingest_bar, input_bytes


def _files(tmp_path: Path) -> list[Path]:
    out = []
    for name, size in (("a.csv", 1000), ("b.csv", 3000)):
        p = tmp_path / "in" / name
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(b"x" * size)
        out.append(p)
    return out


def test_bytes_advance_file_by_file(tmp_path: Path) -> None:
    a, b = _files(tmp_path)
    assert input_bytes([tmp_path / "in"]) == 4000
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with ingest_bar([tmp_path / "in"], console, enabled=True) as bar:
        task = bar.progress.tasks[0]
        assert task.total == 4000
        bar.on_start(a, "generic")
        assert task.completed == 0
        bar.on_start(b, "generic")
        assert task.completed == 1000  # a is done once b starts
    assert task.completed == 4000
    assert "reading" in out.getvalue()


def test_no_bar_when_disabled(tmp_path: Path) -> None:
    out = io.StringIO()
    with ingest_bar(_files(tmp_path), Console(file=out), enabled=False) as bar:
        bar.on_start(tmp_path / "in" / "a.csv", "generic")
        bar.done()
    assert out.getvalue() == ""


def test_quiet_ingest_writes_no_progress(tmp_path: Path) -> None:
    csv = tmp_path / "events.csv"
    csv.write_text("timestamp,user,activity\n2026-01-05T10:00:00Z,a@x.nl,page_view\n")
    r = CliRunner().invoke(cli, ["--store", str(tmp_path / "s"), "ingest", str(csv), "--quiet"])
    assert r.exit_code == 0, r.output
    assert "reading" not in r.stderr
