"""Issue 10 (items 6 and 7, CLI parts): bad inputs a user can give the CLI, as one table.

Each case runs the command and checks the exit code and what the user sees: never an
``internal error``, values shown exactly as written (rich markup and terminal control
characters escaped), ``--output`` into a new folder, config values of the wrong type
(exit 6 naming the key), symlink loops, ``--output FILE`` picking the format from the
extension, and warnings in every format a reader looks at.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from intranet_metrics.cli import cli

WINDOW = ("--from", "2024-03-01", "--to", "2024-03-31")
# Department names rich would read as markup, or a terminal as control sequences.
DEPTS = ["Finance [old]", "Finance [new]", "[bold]Sales", "R&D [/]", "Ops\x1b[31mRed"]


@pytest.fixture(scope="module")
def org(tmp_path_factory) -> Path:
    """Six people per department (above k = 5), everyone reads in March 2024."""
    tmp = tmp_path_factory.mktemp("org")
    rows, events = ["user_id,email,department"], ["timestamp,user,activity,item"]
    for i in range(6 * len(DEPTS)):
        dept = DEPTS[i % len(DEPTS)].replace('"', '""')
        rows.append(f'E{i},u{i}@contoso.com,"{dept}"')
        events.append(f"2024-03-{1 + i % 28:02d}T10:00:00Z,u{i}@contoso.com,page_view,/a")
        if i % 3 == 0:
            events.append(f"2024-03-{1 + i % 28:02d}T11:00:00Z,u{i}@contoso.com,like,/a")
    (tmp / "roster.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    # An unmatched actor and a rejected row that rich would read as markup.
    events.append("2024-03-05T10:00:00Z,[/]stranger@else.example,page_view,/a")
    events.append("not a time,x@y.z,like,/[/]b")
    (tmp / "march.csv").write_text("\n".join(events) + "\n", encoding="utf-8")
    assert _run(tmp, "ingest", str(tmp / "march.csv")).exit_code == 0
    base = _run(tmp, "baseline", *WINDOW, "--roster", str(tmp / "roster.csv"), "--format", "json")
    (tmp / "base-nodims.json").write_text(base.stdout, encoding="utf-8")
    return tmp


def _run(tmp: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(
        cli,
        ["--store", str(tmp / "store"), *args],
        env={"INTRANET_METRICS_KEY": "", **(env or {})},
    )


def _config(tmp: Path, name: str, text: str) -> str:
    p = tmp / f"{name}.toml"
    p.write_text(text, encoding="utf-8")
    return str(p)


def _loop(tmp: Path, name: str) -> str:
    p = tmp / name
    if not p.is_symlink():
        p.symlink_to(p)  # a symlink to itself: ELOOP on open
    return str(p)


def _shows_every_name(r: Result, tmp: Path) -> bool:
    return all(d.replace("\x1b", "") in r.stdout.replace("\\x1b", "") for d in DEPTS)


def _no_escape_byte(r: Result, tmp: Path) -> bool:
    return "\x1b" not in r.stdout and "\x1b" not in r.stderr


def _file(name: str, check: Callable[[str], object]) -> Callable[[Result, Path], bool]:
    def ok(r: Result, tmp: Path) -> bool:
        p = tmp / name
        return p.is_file() and bool(check(p.read_text(encoding="utf-8")))

    return ok


def _is_json_measurement(text: str) -> bool:
    return json.loads(text)["kind"] == "measurement"


def _is_csv(text: str) -> bool:
    rows = [r for r in csv.reader(text.splitlines()) if r and not r[0].startswith("#")]
    return rows[0][:2] == ["label", "from"]


def _stderr_names(*needles: str) -> Callable[[Result, Path], bool]:
    return lambda r, tmp: all(n in r.stderr for n in needles)


def _stdout_has(*needles: str) -> Callable[[Result, Path], bool]:
    return lambda r, tmp: all(n in r.stdout for n in needles)


def _csv_no_data(text: str, period: str) -> bool:
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    (row,) = [r for r in rows if r["period"] == period]
    return row["note"] == "no data" and row["reader_rate"] == "" and row["reader_users"] == ""


def _stdout_lacks(*needles: str) -> Callable[[Result, Path], bool]:
    return lambda r, tmp: not any(n in r.stdout for n in needles)


def _both(*checks: Callable[[Result, Path], bool]) -> Callable[[Result, Path], bool]:
    return lambda r, tmp: all(c(r, tmp) for c in checks)


R = "{tmp}/roster.csv"
# The escape byte written out, not sent to the terminal (nor dropped, as click.echo does
# when stdout is not a terminal, which showed "Ops\x1b[31mRed" as "OpsRed").
ESCAPED = _both(_no_escape_byte, _stdout_has("Ops\\x1b[31mRed"))
BY = ("--roster", R, "--by", "department")
EMPTY_MONTHS = ("report", "--period", "month", "--from", "2024-02-01", "--to", "2024-04-30")

# (id, args with {tmp} placeholders, expected exit code, check of what the user sees)
CASES: list[tuple[str, tuple[str, ...], int, Callable[[Result, Path], bool]]] = [
    # -- markup and control characters, shown exactly as written --------------------------
    ("markup-baseline-table", ("baseline", *WINDOW, *BY), 0, _shows_every_name),
    ("markup-report-table", ("report", "--period", "month", *WINDOW, *BY), 0, _shows_every_name),
    (
        "markup-compare-table",
        ("compare", "--baseline", "{tmp}/base-nodims.json", *WINDOW, *BY),
        0,
        _shows_every_name,
    ),
    ("markup-label", ("baseline", *WINDOW, "--label", "Q1 [draft]"), 0, _stdout_has("Q1 [draft]")),
    ("markup-rejects-table", ("rejects",), 0, _stdout_has("/[/]b")),
    (
        "markup-identities-table",
        ("identities", "--roster", R),
        0,
        _stdout_has("[/]stranger@else.example"),
    ),
    ("control-chars-table", ("baseline", *WINDOW, *BY), 0, ESCAPED),
    (
        "control-chars-markdown",
        ("baseline", *WINDOW, *BY, "--format", "markdown"),
        0,
        ESCAPED,
    ),
    (
        "control-chars-csv-kept-as-data",
        ("baseline", *WINDOW, *BY, "--format", "csv"),
        0,
        _stdout_has("Ops\x1b[31mRed"),
    ),
    # -- --output --------------------------------------------------------------------------
    (
        "output-missing-folder",
        ("baseline", *WINDOW, "--format", "json", "--output", "{tmp}/new/deeper/b.json"),
        0,
        _file("new/deeper/b.json", _is_json_measurement),
    ),
    (
        "output-json-by-extension",
        ("baseline", *WINDOW, "--roster", R, "--output", "{tmp}/ext-baseline.json"),
        0,
        _file("ext-baseline.json", _is_json_measurement),
    ),
    (
        "output-csv-by-extension",
        ("baseline", *WINDOW, "--output", "{tmp}/ext-b.csv"),
        0,
        _file("ext-b.csv", _is_csv),
    ),
    (
        "output-md-by-extension",
        ("baseline", *WINDOW, "--output", "{tmp}/ext-b.md"),
        0,
        _file("ext-b.md", lambda t: t.startswith("## ") and "| Tier |" in t),
    ),
    (
        "output-format-wins-over-extension",
        ("baseline", *WINDOW, "--format", "csv", "--output", "{tmp}/ext-really-csv.json"),
        0,
        _file("ext-really-csv.json", _is_csv),
    ),
    (
        "output-html-by-extension",
        ("baseline", *WINDOW, "--output", "{tmp}/ext-b.html"),
        0,
        _file("ext-b.html", lambda t: t.startswith("<!DOCTYPE html>") and "<svg" in t),
    ),
    # -- config values of the wrong type: exit 6 naming the key ----------------------------
    (
        "config-activities-int",
        ("--config", "cfg:activities = 5", "formats"),
        6,
        _stderr_names("activities"),
    ),
    (
        "config-min-group-size-str",
        ("--config", 'cfg:min_group_size = "x"', "formats"),
        6,
        _stderr_names("min_group_size"),
    ),
    (
        "config-timezone-int",
        ("--config", "cfg:timezone = 3", "formats"),
        6,
        _stderr_names("timezone"),
    ),
    ("config-tiers-int", ("--config", "cfg:tiers = 3", "formats"), 6, _stderr_names("tiers")),
    ("config-map-list", ("--config", "cfg:map = [1]", "formats"), 6, _stderr_names("map")),
    ("config-store-int", ("--config", "cfg:store = 5", "formats"), 6, _stderr_names("store")),
    (
        "config-roster-table",
        ("--config", "cfg:roster = {a = 1}", "formats"),
        6,
        _stderr_names("roster"),
    ),
    (
        "config-pseudonymise-str",
        ("--config", 'cfg:pseudonymise = "no"', "formats"),
        6,
        _stderr_names("pseudonymise"),
    ),
    (
        "config-activity-class-int",
        ("--config", "cfg:[activities]\nlike = 5", "formats"),
        6,
        _stderr_names("like"),
    ),
    (
        "config-min-group-size-bool",
        ("--config", "cfg:min_group_size = true", "formats"),
        6,
        _stderr_names("min_group_size"),
    ),
    # -- symlink loops ---------------------------------------------------------------------
    ("loop-config", ("--config", "loop:cfg-loop.toml", "formats"), 6, _stderr_names("cfg-loop")),
    ("loop-goals", ("goals", "--goals", "loop:goals-loop.toml"), 6, _stderr_names("goals-loop")),
    (
        "loop-goals-baseline",
        ("baseline", *WINDOW, "--goals", "loop:goals-loop2.toml"),
        6,
        _stderr_names("goals-loop2"),
    ),
    ("loop-verify", ("verify", "loop:report-loop.json"), 4, _stderr_names("report-loop")),
    (
        "loop-baseline-file",
        ("compare", "--baseline", "loop:base-loop.json", *WINDOW),
        4,
        _stderr_names("base-loop"),
    ),
    # -- warnings everywhere a reader looks ------------------------------------------------
    (
        "no-data-months-markdown",
        (*EMPTY_MONTHS, "--roster", R, "--format", "markdown"),
        0,
        _both(_stdout_has("no data", "2024-02: the store holds no counted events")),
    ),
    (
        "no-data-months-table",
        (*EMPTY_MONTHS, "--roster", R),
        0,
        _both(_stdout_has("no data", "2024-04: the store holds no counted events")),
    ),
    (
        "no-data-months-csv",
        (*EMPTY_MONTHS, "--roster", R, "--format", "csv"),
        0,
        _both(_stdout_has("# warning: 2024-02"), lambda r, tmp: _csv_no_data(r.stdout, "2024-02")),
    ),
    (
        "warnings-in-measurement-csv",
        ("baseline", *WINDOW, "--format", "csv"),
        0,
        _stdout_has("# warning: no roster and no --population"),
    ),
    (
        "warnings-in-measurement-markdown",
        ("baseline", *WINDOW, "--format", "markdown"),
        0,
        _stdout_has("> **Warning:** no roster and no --population"),
    ),
    (
        "warnings-under-table",
        ("baseline", *WINDOW),
        0,
        _stdout_has("Warning: no roster and no --population"),
    ),
    (
        "compare-warns-for-current-window",
        ("compare", "--baseline", "{tmp}/base-nodims.json", "--from", "2025-01-01", "--to",
         "2025-01-31", "--roster", R, "--format", "json"),
        0,
        _stderr_names("2025-01-01..2025-01-31: the store holds no counted events"),
    ),
    (
        "compare-baseline-lacks-breakdown",
        ("compare", "--baseline", "{tmp}/base-nodims.json", *WINDOW, *BY, "--format", "json"),
        0,
        _stderr_names("baseline", "department"),
    ),
]  # fmt: skip


def _materialise(tmp: Path, case_id: str, args: tuple[str, ...]) -> list[str]:
    out = []
    for a in args:
        if a.startswith("cfg:"):
            a = _config(tmp, case_id, a[4:])
        elif a.startswith("loop:"):
            a = _loop(tmp, a[5:])
        out.append(a.replace("{tmp}", str(tmp)))
    return out


@pytest.mark.parametrize(
    ("args", "code", "check"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_gives_a_clear_answer(org, request, args, code, check):
    r = _run(org, *_materialise(org, request.node.callspec.id, args))
    assert "internal error" not in r.output, r.output
    assert r.exit_code == code, r.output
    if code:
        errors = [x for x in r.stderr.splitlines() if x.startswith("Error:")]
        assert len(errors) == 1, r.stderr
    assert check(r, org), (r.stdout, r.stderr)


def test_cases_are_distinct():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[a-z0-9-]+", i) for i in ids)
