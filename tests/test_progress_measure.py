"""Progress of measurements and within one export (issue 12 item 6): a bar on stderr with
what is done, rate and time left; nothing when stderr is piped or with --quiet; stdout's
JSON the same either way."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from rich.console import Console
from rich.progress import Progress

from intranet_metrics import api
from intranet_metrics.progress import IngestBar, Steps, measure_bar


class _Duck:
    """A DuckDB connection's stand-in: a query running at 40 %."""

    def __init__(self) -> None:
        self.sql: list[str] = []

    def execute(self, sql: str) -> None:
        self.sql.append(sql)

    def query_progress(self) -> float:
        return 40.0


class _Backend:
    def __init__(self) -> None:
        self.con = _Duck()


def _progress() -> Progress:
    return Progress(console=Console(file=io.StringIO(), force_terminal=True))


def _wait_for(check, seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.02)
    return False


def test_steps_follow_the_running_query() -> None:
    progress = _progress()
    steps = Steps(progress, "baseline")
    steps.start(("tiers", "figures"), _Backend(), rows=1000)
    task = progress.tasks[0]
    assert task.total == 2000  # one pass over the window's 1000 events per step
    assert _wait_for(lambda: task.completed == 400)  # 40 % of the first step
    steps.next()
    assert task.completed >= 1000
    assert "step 2/2: figures" in task.description
    steps.close()
    assert task.completed == 2000


def test_steps_turn_on_duckdb_progress_tracking_only() -> None:
    backend = _Backend()
    steps = Steps(_progress())
    steps.start(("tiers",), backend, rows=10)
    steps.close()
    assert "SET enable_progress_bar = true" in backend.con.sql
    assert "SET enable_progress_bar_print = false" in backend.con.sql  # DuckDB's own bar: off


def test_silent_steps_touch_nothing() -> None:
    backend = _Backend()
    steps = Steps()
    steps.start(("tiers",), backend, rows=10)
    steps.next()
    steps.close()
    assert backend.con.sql == []


def test_a_real_duckdb_connection_can_be_watched() -> None:
    import ibis

    con = ibis.duckdb.connect()
    steps = Steps(_progress())
    steps.start(("count",), con, rows=10)
    con.raw_sql("SELECT count(*) FROM range(1000)").fetchall()
    steps.close()
    assert con.con.execute("SELECT current_setting('enable_progress_bar')").fetchone() == (True,)


def test_measure_bar_disabled_is_silent() -> None:
    out = io.StringIO()
    with measure_bar(Console(file=out), enabled=False, label="baseline") as steps:
        steps.start(("tiers",), None, rows=10)
    assert out.getvalue() == ""


def test_ingest_bar_moves_within_one_large_file(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    big.write_bytes(b"123456789\n" * 100)  # 100 lines of 10 bytes
    progress = _progress()
    bar = IngestBar(progress, 1000)
    on_line = bar.on_start(big, "generic")
    assert on_line is not None
    on_line(50)
    assert progress.tasks[0].completed == 500
    on_line(10_000)  # never past the file's own size
    assert progress.tasks[0].completed == 1000


def test_ingest_reports_the_line_each_batch_reached(tmp_path: Path) -> None:
    csv = tmp_path / "events.csv"
    rows = 150_000  # several batches
    lines = "".join(f"2026-01-05T10:00:00Z,u{i % 50}@x.nl,page_view,/p/{i}\n" for i in range(rows))
    csv.write_text("timestamp,user,activity,item\n" + lines)
    reached: list[int] = []
    store = api.open_store(tmp_path / "s", create=True)
    api.ingest(store, [csv], on_start=lambda path, fmt: reached.append)
    assert len(reached) > 1
    assert reached == sorted(reached)
    assert reached[-1] == rows + 1  # the header is line 1


# -- the commands, with stderr on a pseudo-terminal -------------------------------------
@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("bar")
    roster = d / "roster.csv"
    roster.write_text(
        "user_id,email,department\n"
        + "".join(f"E{i},p{i}@corp.example,{'AB'[i % 2]}\n" for i in range(20))
    )
    events = d / "events.csv"
    events.write_text(
        "timestamp,user,activity\n"
        + "".join(
            f"2026-0{1 + i % 6}-1{i % 9}T10:00:00Z,p{i % 17}@corp.example,"
            f"{('page_view', 'like', 'post')[i % 3]}\n"
            for i in range(300)
        )
    )
    api.ingest(api.open_store(d / "store", create=True), [events])
    return d / "store", roster


COMMANDS = {
    "baseline": ["baseline", "--from", "2026-01-01", "--to", "2026-03-31", "--by", "department"],
    "report": ["report", "--period", "month", "--from", "2026-01-01", "--to", "2026-06-30"],
}


def _run(store: Path, args: list[str], tty: bool) -> tuple[int, bytes, bytes]:
    """The CLI with stdout piped and stderr on a pseudo-terminal (``tty``) or piped."""
    import pty

    cmd = [sys.executable, "-m", "intranet_metrics", "--store", str(store), *args]
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "160"}
    if not tty:
        r = subprocess.run(cmd, capture_output=True, env=env, timeout=120)
        return r.returncode, r.stdout, r.stderr
    master, slave = pty.openpty()
    with tempfile.TemporaryFile() as stdout:
        p = subprocess.Popen(cmd, stdout=stdout, stderr=slave, env=env)
        os.close(slave)
        err = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            err.append(chunk)
        p.wait(timeout=120)
        os.close(master)
        stdout.seek(0)
        return p.returncode, stdout.read(), b"".join(err)


def _doc(out: bytes) -> dict:
    doc = json.loads(out)
    for key in ("generated_at", "measurement_id"):
        doc.pop(key, None)
    return doc


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_bar_on_a_terminal_only_and_json_unchanged(store, command: str) -> None:
    path, roster = store
    args = [*COMMANDS[command], "--roster", str(roster), "--format", "json"]
    code, out_tty, err_tty = _run(path, args, tty=True)
    assert code == 0, err_tty
    assert b"step 1/2" in err_tty and b"events read" in err_tty
    code, out_pipe, err_pipe = _run(path, args, tty=False)
    assert code == 0, err_pipe
    assert b"step 1/2" not in err_pipe
    code, out_quiet, err_quiet = _run(path, [*args, "--quiet"], tty=True)
    assert code == 0, err_quiet
    assert b"step 1/2" not in err_quiet
    assert b"step" not in out_tty
    assert _doc(out_tty) == _doc(out_pipe) == _doc(out_quiet)


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_compare_shows_its_bar(store, tmp_path: Path) -> None:
    path, roster = store
    base = tmp_path / "base.json"
    code, _, err = _run(
        path,
        [*COMMANDS["baseline"], "--roster", str(roster), "--output", str(base), "--quiet"],
        tty=True,
    )
    assert code == 0, err
    args = ["compare", "--baseline", str(base), "--from", "2026-04-01", "--to", "2026-06-30"]
    code, out, err = _run(path, [*args, "--roster", str(roster), "--format", "json"], tty=True)
    assert code == 0, err
    assert b"compare, step 1/2" in err
    assert json.loads(out)["kind"] == "comparison"
