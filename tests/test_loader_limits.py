"""Loader limits (issue 9 item 4, issue 10 items 6-7): no process-global reader settings,
an over-long record costs one reject and the rest of the file is read, deep JSON is one
reject, a huge file forced to a format is read in bounded memory, and an audit log with
no intranet event says why."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from intranet_metrics.cli import cli
from intranet_metrics.errors import ExitCode, InputError
from intranet_metrics.loaders import generic, m365_audit, slack
from intranet_metrics.loaders.base import read_source

DATA = Path(__file__).resolve().parent / "data"


def audit_record(i: int, workload: str = "SharePoint", extra: str = "") -> dict:
    return {
        "CreationTime": f"2024-03-01T10:{i // 60 % 60:02d}:{i % 60:02d}",
        "Id": f"id-{i}",
        "Operation": "PageViewed",
        "Workload": workload,
        "UserId": f"user{i % 7}@contoso.com",
        "UserType": 0,
        "ObjectId": "https://contoso.sharepoint.com/sites/intranet/SitePages/Home.aspx",
        **({"Extra": extra} if extra else {}),
    }


def audit_csv(path: Path, records: list[dict]) -> Path:
    lines = ["CreationDate,UserIds,Operations,AuditData"]
    for r in records:
        data = json.dumps(r).replace('"', '""')
        lines.append(f'2024-03-01,{r["UserId"]},{r["Operation"]},"{data}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(tmp_path: Path, *args: str):
    return CliRunner().invoke(cli, ["--store", str(tmp_path / "store"), *args])


def test_importing_loaders_leaves_the_csv_field_limit_alone() -> None:
    # csv.field_size_limit is one value for the whole process: a loader that sets it
    # changes every other reader's (generic lowered what m365_audit raised).
    code = (
        "import csv; before = csv.field_size_limit(); "
        "import intranet_metrics.loaders as L, intranet_metrics.roster; L.all_loaders(); "
        "print(before, csv.field_size_limit())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after = out.stdout.split()
    assert before == after


def test_audit_record_longer_than_csv_default_limit_is_read(tmp_path: Path) -> None:
    # 2 MB of AuditData: under the loader's 16 MB, over the csv module's process-wide limit
    # (which generic lowered to 1 MB on import): it was dropped with every row after it.
    # In a fresh process, as a user runs it: which limit the csv module had depended on
    # the order the loaders were imported in.
    records = [audit_record(i) for i in range(5)]
    records[1] = audit_record(1, extra="x" * (2 << 20))
    path = audit_csv(tmp_path / "a.csv", records)
    args = ["--store", str(tmp_path / "store"), "ingest", "--format", "json", str(path)]
    out = subprocess.run(
        [sys.executable, "-m", "intranet_metrics", *args], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    (source,) = json.loads(out.stdout)["sources"]
    assert (source["rows"], source["events"], source["rejected"]) == (5, 5, 0)


def test_audit_record_over_the_limit_is_one_reject_and_the_rest_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(m365_audit, "FIELD_LIMIT", 10_000)
    records = [audit_record(i) for i in range(6)]
    records[2] = audit_record(2, extra="y" * 20_000)
    result = read_source(m365_audit, audit_csv(tmp_path / "a.csv", records))
    assert (result.counts.rows, result.counts.events, result.counts.rejected) == (6, 5, 1)
    (reason,) = result.rejects.column("reason").to_pylist()
    assert "longer than 10,000 characters" in reason
    assert result.rejects.column("source_line").to_pylist() == [4]


def test_audit_jsonl_line_over_the_limit_is_one_reject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(m365_audit, "FIELD_LIMIT", 10_000)
    monkeypatch.setattr(m365_audit, "_JSON_BLOCK", 4096)  # blocks smaller than the limit
    lines = [json.dumps(audit_record(i)) for i in range(4)]
    lines[1] = json.dumps(audit_record(1, extra="z" * 50_000))
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = read_source(m365_audit, path)
    assert (result.counts.rows, result.counts.events, result.counts.rejected) == (4, 3, 1)
    assert "longer than" in result.rejects.column("reason")[0].as_py()


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_deep_json_line_in_generic_jsonl_is_one_reject(tmp_path: Path) -> None:
    ok = '{"timestamp": "2024-03-01T10:00:00Z", "user": "a@x.com", "activity": "like"}'
    deep = '{"timestamp": "2024-03-01T10:00:00Z", "user": "b@x.com", "activity": "like", '
    deep += f'"item": {nested(100_000)}}}'
    path = tmp_path / "g.jsonl"
    path.write_text(f"{ok}\n{deep}\n{ok.replace('a@', 'c@')}\n")
    result = read_source(generic, path)
    assert (result.counts.rows, result.counts.events, result.counts.rejected) == (3, 2, 1)
    assert "nested" in result.rejects.column("reason")[0].as_py()


def test_deep_json_message_in_slack_is_one_reject(tmp_path: Path) -> None:
    export = tmp_path / "slack"
    shutil.copytree(DATA / "slack", export)
    day = sorted((export / "general").glob("*.json"))[0]
    messages = json.loads(day.read_text())
    text = json.dumps(messages)
    deep = '{"type": "message", "user": "U1", "ts": "1700000000.000100", "x": '
    deep += nested(50_000) + "}"
    day.write_text(text[:-1] + ", " + deep + "]")
    before = read_source(slack, DATA / "slack").counts
    after = read_source(slack, export)
    assert after.counts.rejected == before.rejected + 1
    assert after.counts.events == before.events
    assert "nested too deeply" in " ".join(after.rejects.column("reason").to_pylist())


def test_deep_json_through_the_cli_is_no_internal_error(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    row = '{"timestamp": "2024-03-01T10:00:00Z", "user": "a@x.com", "activity": "like"'
    path.write_text(f'{row}, "item": {nested(5000)}}}\n{row}}}\n')
    result = run(tmp_path, "ingest", "--format", "json", str(path))
    assert result.exit_code == 0, result.output
    (source,) = json.loads(result.stdout)["sources"]
    assert (source["rows"], source["events"], source["rejected"]) == (2, 1, 1)


def _peak_reading(path: Path, forced: str) -> tuple[int, BaseException | None]:
    tracemalloc.start()
    caught = None
    try:
        read_source(m365_audit if forced == "m365-audit" else generic, path)
    except InputError as exc:
        caught = exc
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, caught


@pytest.mark.parametrize("first", [b"x", b"{"])
def test_huge_one_line_file_forced_to_audit_is_read_in_bounded_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first: bytes
) -> None:
    # A 48 MB file with no line end (the 2 GB case with a lowered limit): the reader holds
    # at most about the limit, never the file.
    monkeypatch.setattr(m365_audit, "FIELD_LIMIT", 1 << 20)
    path = tmp_path / "huge.bin"
    with open(path, "wb") as fh:
        fh.write(first)
        for _ in range(48):
            fh.write(b"a" * (1 << 20))
    peak, caught = _peak_reading(path, "m365-audit")
    assert peak < 20 << 20  # the encoding check holds a few MiB of a line-less file
    if first == b"x":  # a CSV without a readable header: exit 4, named
        assert isinstance(caught, InputError) and "line 1" in str(caught)
    else:  # JSON Lines: the one line is rejected as too long
        assert caught is None


def test_huge_file_forced_to_audit_exits_4_through_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "huge.dat"
    path.write_bytes(b"q" * ((16 << 20) + 1000))  # one line over the real 16 MB limit
    result = run(tmp_path, "ingest", "--input-format", "m365-audit", str(path))
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert "line 1" in result.stderr and "internal error" not in result.output


def test_audit_log_without_intranet_workloads_says_why(tmp_path: Path) -> None:
    records = [audit_record(i, "OneDrive") for i in range(3)]
    records += [audit_record(i, "Exchange") for i in range(3, 5)]
    path = tmp_path / "audit.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    result = run(tmp_path, "ingest", "--format", "json", str(path))
    assert result.exit_code == 0, result.output
    (source,) = json.loads(result.stdout)["sources"]
    assert source["events"] == 0
    assert "0 intranet events" in source["message"]
    assert "OneDrive (3)" in source["message"] and "Exchange (2)" in source["message"]
    table = run(tmp_path / "t", "ingest", str(path))
    assert "OneDrive (3)" in table.output


def test_audit_log_with_intranet_events_has_no_such_note(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text(json.dumps(audit_record(1)) + "\n")
    result = run(tmp_path, "ingest", "--format", "json", str(path))
    (source,) = json.loads(result.stdout)["sources"]
    assert source["events"] == 1 and source["message"] is None


@pytest.mark.parametrize("name", ["iis", "apache", "generic", "m365_usage"])
def test_every_line_format_reads_a_huge_line_in_bounded_memory(tmp_path: Path, name: str) -> None:
    # The same file forced to each text format: a line-less 48 MB file is one reject or
    # one exit-4 error, never a copy of the file in memory.
    import importlib

    module = importlib.import_module(f"intranet_metrics.loaders.{name}")
    path = tmp_path / "huge.bin"
    with open(path, "wb") as fh:
        for _ in range(48):
            fh.write(b"a" * (1 << 20))
    tracemalloc.start()
    try:
        counts = read_source(module, path).counts
        assert (counts.rows, counts.rejected) == (1, 1)
    except InputError as exc:
        assert "line 1" in str(exc) or "header" in str(exc)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 20 << 20


def test_iis_long_line_mid_file_is_one_reject_plain_or_gzip(tmp_path: Path) -> None:
    import gzip

    from intranet_metrics.loaders import iis

    lines = (DATA / "iis" / "sharepoint.log").read_bytes().split(b"\n")
    data = b"\n".join([*lines[:6], b"y" * (3 << 20), *lines[6:]])
    plain = read_source(iis, DATA / "iis" / "sharepoint.log").counts
    for name, content in (("a.log", data), ("a.log.gz", gzip.compress(data))):
        (tmp_path / name).write_bytes(content)
        counts = read_source(iis, tmp_path / name).counts
        assert (counts.rows, counts.rejected) == (plain.rows + 1, plain.rejected + 1)
        assert counts.events == plain.events
