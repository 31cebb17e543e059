"""Bad input, each case a test (issue 4.1): every file ends in a one-line error with a
documented exit code, or in rejected rows with reasons; never a traceback, never a partial
store. Accounting (issue 4.2): rows = events + excluded + other + rejected, per file."""

from __future__ import annotations

import codecs
import io
import json
import os
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from intranet_metrics.cli import cli
from intranet_metrics.errors import ExitCode
from intranet_metrics.loaders import container
from intranet_metrics.runrecord import rejects
from intranet_metrics.store import Store

DATA = Path(__file__).resolve().parent / "data"

HEADER = "timestamp,user,activity,item\n"
ROW = "2024-03-01T10:00:00Z,jane@contoso.com,page_view,/a\n"
ROW2 = "2024-03-02T10:00:00Z,bob@contoso.com,like,/b\n"
BIG = 100 << 20  # a 100 MB line
IIS_FIELDS = (
    "#Software: Microsoft Internet Information Services 10.0\n"
    "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
    "cs(User-Agent) sc-status\n"
)
IIS_ROW = (
    "2024-03-01 10:00:00 10.0.0.1 GET /SitePages/Home.aspx - 443 CONTOSO\\jane 10.0.0.2 "
    "Mozilla/5.0 200\n"
)


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, ["--store", str(tmp_path / "store"), *args], env=env)


def assert_one_line_error(result, code: int, *needles: str) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    for needle in needles:
        assert needle in errors[0]
    return errors[0]


def assert_store_empty(tmp_path: Path) -> None:
    """Never a partial store: no events, no rejects, no sources, no stray data files."""
    root = tmp_path / "store"
    if not (root / "manifest.json").exists():
        return
    store = Store.open(root)
    assert store.event_files() == [] and store.reject_files() == [] and store.sources == []
    assert not [p for p in root.rglob("*.parquet")]


def ingest_json(tmp_path: Path, *paths: Path, args: tuple[str, ...] = ()):
    result = run(tmp_path, "ingest", "--format", "json", *args, *map(str, paths))
    assert "Traceback" not in result.output
    return result


def sources(result) -> list[dict]:
    return json.loads(result.stdout)["sources"]


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    p = tmp_path / "in" / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    return p


def write_zip(path: Path, members: dict[str, bytes | str]) -> Path:
    path.parent.mkdir(exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


SLACK_MIN = {"users.json": "[]", "channels.json": "[]"}


# -- files that cannot be read at all: one line, exit 4, nothing stored ---------------------
def _big_line(path: Path) -> None:
    with open(path, "wb") as fh:
        for _ in range(BIG >> 20):
            fh.write(b"x" * (1 << 20))


ERROR_CASES = {
    "empty": (b"", ["empty"]),
    "utf16_no_bom": ((HEADER + ROW).encode("utf-16-le"), ["line 1", "UTF-16", "UTF-8"]),
    # Latin-1 text is read as Windows-1252 with a warning now: tests/test_dialects.py
    "binary": (bytes(range(256)) * 40, ["binary file"]),
    "unknown_format": (b"hello world\nthis is not an export\n", ["not a known export format"]),
    "missing_columns": (b"when,who,what\n2024-03-01,jane,view\n", ["line 1", "--map"]),
    "csv_header_only_two_columns": (b"a,b\n1,2\n", ["not a known export format"]),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_unreadable_file_is_one_line_error(tmp_path, case):
    data, needles = ERROR_CASES[case]
    f = write(tmp_path, f"{case}.csv", data)
    result = run(tmp_path, "ingest", str(f))
    msg = assert_one_line_error(result, ExitCode.BAD_INPUT, str(f), *needles)
    assert "--" in msg or ";" in msg  # a next step follows the problem
    assert_store_empty(tmp_path)


def test_100mb_line_without_newline_is_unknown_format(tmp_path):
    f = tmp_path / "in" / "oneline.txt"
    f.parent.mkdir()
    _big_line(f)
    result = run(tmp_path, "ingest", str(f))
    assert_one_line_error(result, ExitCode.BAD_INPUT, "not a known export format")
    assert_store_empty(tmp_path)


def test_missing_path(tmp_path):
    result = run(tmp_path, "ingest", str(tmp_path / "nope.csv"))
    assert_one_line_error(result, ExitCode.BAD_INPUT, "no such file")


def test_unknown_input_format(tmp_path):
    f = write(tmp_path, "a.csv", HEADER + ROW)
    result = run(tmp_path, "ingest", "--input-format", "excel", str(f))
    assert_one_line_error(result, ExitCode.BAD_INPUT, "unknown --input-format", "generic")


# -- zips ------------------------------------------------------------------------------------
def test_zip_member_escaping_the_archive(tmp_path):
    z = write_zip(tmp_path / "in" / "x.zip", {**SLACK_MIN, "../evil/2024-01-01.json": "[]"})
    result = run(tmp_path, "ingest", str(z))
    assert_one_line_error(result, ExitCode.BAD_INPUT, "outside the archive")
    assert not (tmp_path / "evil").exists()
    assert_store_empty(tmp_path)


def test_zip_absolute_member_name(tmp_path):
    z = write_zip(tmp_path / "in" / "x.zip", {**SLACK_MIN, "/etc/2024-01-01.json": "[]"})
    result = run(tmp_path, "ingest", str(z))
    assert_one_line_error(result, ExitCode.BAD_INPUT, "outside the archive")


def test_zip_that_is_not_an_export(tmp_path):
    z = write_zip(tmp_path / "in" / "csvs.zip", {"a.csv": HEADER + ROW, "../b.csv": ROW})
    result = run(tmp_path, "ingest", str(z))
    assert_one_line_error(result, ExitCode.BAD_INPUT, "not a Slack or Engage export", "unzip")
    assert_store_empty(tmp_path)


def test_nested_zip_is_refused_with_a_next_step(tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        for name, text in SLACK_MIN.items():
            zf.writestr(name, text)
    z = write_zip(tmp_path / "in" / "outer.zip", {"inner.zip": inner.getvalue()})
    result = run(tmp_path, "ingest", str(z))
    assert_one_line_error(result, ExitCode.BAD_INPUT, "zips inside zips", "unzip")


def test_zip_bomb_by_ratio(tmp_path):
    day = "[" + " " * (30 << 20) + "]"  # 30 MB of blanks compress > 1000:1
    z = write_zip(tmp_path / "in" / "bomb.zip", {**SLACK_MIN, "general/2024-01-01.json": day})
    assert z.stat().st_size < 100_000
    result = run(tmp_path, "ingest", str(z))
    assert_one_line_error(result, ExitCode.BAD_INPUT, "zip bomb")
    assert_store_empty(tmp_path)


@pytest.mark.parametrize(("limit", "size"), [("MAX_MEMBER_BYTES", 1200), ("MAX_TOTAL_BYTES", 600)])
def test_zip_bomb_by_size(tmp_path, monkeypatch, limit, size):
    monkeypatch.setattr(container, limit, 1000)
    msg = json.dumps([{"type": "message", "user": "U1", "text": "x" * size, "ts": "1709287200.0"}])
    members = {**SLACK_MIN, "general/2024-03-01.json": msg, "general/2024-03-02.json": msg}
    z = write_zip(tmp_path / "in" / "big.zip", members)
    result = run(tmp_path, "ingest", str(z))
    assert_one_line_error(result, ExitCode.BAD_INPUT, "safety limit")
    assert_store_empty(tmp_path)


def test_damaged_zip(tmp_path):
    z = write_zip(tmp_path / "in" / "x.zip", {**SLACK_MIN, "general/2024-03-01.json": "[]"})
    data = bytearray(z.read_bytes())
    data[40:60] = b"\xff" * 20  # corrupt the first member's data
    z.write_bytes(bytes(data))
    result = run(tmp_path, "ingest", str(z))
    assert_one_line_error(result, ExitCode.BAD_INPUT, "damaged")
    assert_store_empty(tmp_path)


# -- one bad file among good ones: all or nothing, unless --skip-bad -------------------------
def test_bad_file_in_folder_stores_nothing(tmp_path):
    write(tmp_path, "a.csv", HEADER + ROW)
    # Recognised (a generic CSV) but damaged: no user column.
    write(tmp_path, "b.csv", HEADER.replace("user", "who") + "2024-03-01T10:00:00Z,j,like,/a\n")
    result = run(tmp_path, "ingest", str(tmp_path / "in"))
    assert_one_line_error(result, ExitCode.BAD_INPUT, "b.csv line 1")
    assert_store_empty(tmp_path)


def test_skip_bad_stores_the_good_files(tmp_path):
    write(tmp_path, "a.csv", HEADER + ROW)
    write(tmp_path, "b.csv", HEADER.replace("user", "who") + "2024-03-01T10:00:00Z,j,like,/a\n")
    result = ingest_json(tmp_path, tmp_path / "in", args=("--skip-bad",))
    assert result.exit_code == ExitCode.BAD_INPUT
    status = {Path(s["path"]).name: s["status"] for s in sources(result)}
    assert status == {"a.csv": "ingested", "b.csv": "failed"}
    assert sum(f["rows"] for f in Store.open(tmp_path / "store").manifest["files"]) == 1


# -- rows that cannot be read: rejected with a reason, the rest is stored --------------------
LIKE = ",jane@x.com,like,/a\n"
REJECT_CASES = {
    # name: (content, events, rejected, reason fragment)
    "truncated_last_line": (HEADER + ROW + "2024-03-01T11:00:00Z,bob@con", 1, 1, "2 values"),
    "unclosed_quote": (
        HEADER + ROW + '2024-03-01T12:00:00Z,"bob,like,/a\n' + ROW2,
        1,
        1,
        "unclosed quote",
    ),
    "timestamp_not_parsing": (HEADER + "yesterday,jane@x.com,like,/a\n" + ROW, 1, 1, "ISO 8601"),
    "timestamp_in_future": (HEADER + "2099-01-01T00:00:00Z" + LIKE + ROW, 1, 1, "future"),
    "timestamp_before_1990": (HEADER + "1989-12-31T00:00:00Z" + LIKE + ROW, 1, 1, "1990"),
    "unknown_activity": (HEADER + "2024-03-01T10:00:00Z,j@x.com,lurk,/a\n" + ROW, 1, 1, "activity"),
    "empty_user": (HEADER + "2024-03-01T10:00:00Z,,like,/a\n" + ROW, 1, 1, "empty user"),
    "jsonl_not_json": (
        '{"timestamp":"2024-03-01T10:00:00Z","user":"a@x.com","activity":"like"}\n{broken\n[1]\n',
        1,
        2,
        "not a JSON object",
    ),
    "iis_fields_disagree": (
        IIS_FIELDS + IIS_ROW + IIS_ROW.replace("200\n", "200 x y\n") + "2024-03-01 10:00:00 GET\n",
        1,
        2,
        "#Fields",
    ),
    "audit_data_not_json": (
        "CreationDate,UserIds,Operations,AuditData\n2024-03-01,jane@x.com,PageViewed,{not json}\n",
        0,
        1,
        "AuditData is not JSON",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(REJECT_CASES))
def test_bad_rows_are_rejected_with_reasons(tmp_path, case):
    text, events, rejected, reason = REJECT_CASES[case]
    f = write(tmp_path, f"{case}.txt", text)
    result = ingest_json(tmp_path, f)
    assert result.exit_code == 0, result.output
    (s,) = sources(result)
    assert (s["events"], s["rejected"]) == (events, rejected)
    assert s["rows"] == s["events"] + s["excluded"] + s["other"] + s["rejected"]
    reasons = rejects(Store.open(tmp_path / "store")).column("reason").to_pylist()
    assert len(reasons) == rejected and any(reason in r for r in reasons), reasons
    assert "rejected; see 'intranet-metrics rejects'" in result.stderr


GOOD_CASES = {
    "header_only": (HEADER.encode(), 0),
    "utf8_bom": (codecs.BOM_UTF8 + (HEADER + ROW).encode(), 1),
    "utf16_with_bom": ((HEADER + ROW + ROW2).encode("utf-16"), 2),
    "mixed_line_endings": (
        (
            HEADER.replace("\n", "\r\n")
            + ROW.replace("\n", "\r")
            + ROW2
            + ROW.replace("10:", "11:")
        ).encode(),
        3,
    ),
    "blank_lines": ((HEADER + "\n" + ROW + "\n\n" + ROW2).encode(), 2),
    "quoted_newline": ((HEADER + '2024-03-01T10:00:00Z,jane@x.com,like,"/a\nb"\n').encode(), 1),
}


@pytest.mark.parametrize("case", sorted(GOOD_CASES))
def test_awkward_but_valid_files(tmp_path, case):
    data, events = GOOD_CASES[case]
    f = write(tmp_path, f"{case}.csv", data)
    result = ingest_json(tmp_path, f)
    assert result.exit_code == 0, result.output
    (s,) = sources(result)
    assert (s["events"], s["rejected"], s["status"]) == (events, 0, "ingested")


def test_header_line_numbers_survive_blank_and_multiline_rows(tmp_path):
    text = HEADER + "\n" + '2024-03-01T10:00:00Z,a@x.com,like,"/a\nb"\n' + "bad,a@x.com,like,/a\n"
    result = ingest_json(tmp_path, write(tmp_path, "a.csv", text))
    assert result.exit_code == 0
    assert rejects(Store.open(tmp_path / "store")).column("source_line").to_pylist() == [5]


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_100mb_line_is_rejected_in_bounded_memory(tmp_path, suffix):
    f = tmp_path / "in" / f"big.{suffix}"
    f.parent.mkdir()
    with open(f, "w") as fh:
        if suffix == "csv":
            fh.write(HEADER + ROW + "2024-03-01T10:00:00Z,")
            fh.writelines("x" * (1 << 20) for _ in range(BIG >> 20))
            fh.write(",like,/a\n" + ROW2)
        else:
            rec = '{"timestamp":"2024-03-0%dT10:00:00Z","user":"a@x.com","activity":"like"}\n'
            fh.write(rec % 1 + '{"user":"')
            fh.writelines("x" * (1 << 20) for _ in range(BIG >> 20))
            fh.write('"}\n' + rec % 2)
    result = ingest_json(tmp_path, f)
    assert result.exit_code == 0, result.output
    (s,) = sources(result)
    assert (s["events"], s["rejected"]) == (2, 1)
    (reason,) = rejects(Store.open(tmp_path / "store")).column("reason").to_pylist()
    assert "longer than" in reason


# -- folders ---------------------------------------------------------------------------------
def test_symlink_and_hidden_file_in_folder_are_reported_not_read(tmp_path):
    write(tmp_path, "a.csv", HEADER + ROW)
    write(tmp_path, ".hidden.csv", HEADER + ROW2)
    secret = write(tmp_path / "outside", "secret.csv", HEADER + ROW2)
    os.symlink(secret, tmp_path / "in" / "link.csv")
    result = ingest_json(tmp_path, tmp_path / "in")
    assert result.exit_code == 0, result.output
    got = {Path(s["path"]).name: (s["status"], s["message"]) for s in sources(result)}
    assert got["a.csv"] == ("ingested", None)
    assert got["link.csv"][0] == "skipped" and "symbolic link" in got["link.csv"][1]
    assert got[".hidden.csv"][0] == "skipped" and "hidden" in got[".hidden.csv"][1]
    assert "symbolic link" in result.stderr  # the printed table shows the reason


def test_symlinked_folder_is_not_followed(tmp_path):
    write(tmp_path, "a.csv", HEADER + ROW)
    other = tmp_path / "other"
    other.mkdir()
    (other / "b.csv").write_text(HEADER + ROW2)
    os.symlink(other, tmp_path / "in" / "sub", target_is_directory=True)
    result = ingest_json(tmp_path, tmp_path / "in")
    got = {Path(s["path"]).name: s["status"] for s in sources(result)}
    assert got == {"a.csv": "ingested", "sub": "skipped"}


def test_hidden_folder_and_fifo_in_folder_are_reported(tmp_path):
    write(tmp_path, "a.csv", HEADER + ROW)
    write(tmp_path, ".git/config.csv", HEADER + ROW2)
    os.mkfifo(tmp_path / "in" / "pipe.csv")  # reading it would block forever
    result = ingest_json(tmp_path, tmp_path / "in")
    got = {Path(s["path"]).name: (s["status"], s["message"]) for s in sources(result)}
    assert got == {
        "a.csv": ("ingested", None),
        ".git": ("skipped", "hidden folder: not read"),
        "pipe.csv": ("skipped", "not a regular file"),
    }


@pytest.mark.slow
def test_folder_of_10000_small_files_is_fast(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(10_000):
        (folder / f"f{i:05d}.csv").write_text(
            HEADER + f"2024-03-01T10:00:00Z,u{i}@contoso.com,page_view,/a\n"
        )
    t0 = time.perf_counter()
    result = ingest_json(tmp_path, folder)
    took = time.perf_counter() - t0
    assert result.exit_code == 0
    store = Store.open(tmp_path / "store")
    assert sum(f["rows"] for f in store.manifest["files"]) == 10_000
    # Not one file per source: one data file, with its derived file and messages file.
    assert len(list((tmp_path / "store" / "events").rglob("*.parquet"))) == 1
    assert len(list((tmp_path / "store").rglob("*.parquet"))) <= 3
    assert took < 90, f"{took:.1f} s for 10,000 files"


# -- accounting ------------------------------------------------------------------------------
def test_accounting_is_stored_in_the_manifest_and_printed(tmp_path):
    text = HEADER + ROW + ROW2 + "2024-03-01T10:00:00Z,SHAREPOINT\\system,like,/a\n"
    text += "2024-03-01T10:00:00Z,jane@x.com,edit,/a\nbad,jane@x.com,like,/a\n"
    f = write(tmp_path, "a.csv", text)
    result = run(tmp_path, "ingest", str(f))
    assert result.exit_code == 0
    (s,) = Store.open(tmp_path / "store").sources
    assert (s["rows"], s["events"], s["excluded"], s["other"], s["rejected"]) == (5, 3, 1, 0, 1)
    assert s["rows"] == s["events"] + s["excluded"] + s["other"] + s["rejected"]
    row = next(line for line in result.stdout.splitlines() if "a.csv" in line)
    assert [c.strip() for c in row.split("│")[3:8]] == ["5", "3", "1", "0", "1"]


# -- config, roster and goals files: exit 6 --------------------------------------------------
@pytest.fixture
def stocked(tmp_path) -> Path:
    f = write(tmp_path, "a.csv", HEADER + ROW + ROW2)
    assert run(tmp_path, "ingest", str(f)).exit_code == 0
    return tmp_path


ROSTERS = {
    "duplicate_ids": ("user_id,email\nE1,jane@contoso.com\nE1,bob@contoso.com\n", "line 3"),
    "end_before_start": (
        "user_id,start_date,end_date\nE1,2024-05-01,2024-01-01\n",
        "before start_date",
    ),
    "bad_date": ("user_id,start_date\nE1,01/05/2024\n", "not an ISO date"),
    "no_user_id": ("id,email\nE1,jane@contoso.com\n", "no user_id column"),
    "shared_alias": ("user_id,email\nE1,jane@contoso.com\nE2,JANE@contoso.com\n", "alias"),
    "ragged": ("user_id,email\nE1,jane@contoso.com,extra\n", "3 values"),
}


@pytest.mark.parametrize("case", sorted(ROSTERS))
def test_bad_roster(stocked, case):
    text, needle = ROSTERS[case]
    roster = write(stocked, "roster.csv", text)
    args = ["baseline", "--from", "2024-03-01", "--to", "2024-03-31", "--roster", str(roster)]
    assert_one_line_error(run(stocked, *args), ExitCode.CONFIG, "roster.csv", needle)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[goals]\nreadr = 50\n", "did you mean 'reader'"),
        ("[goals]\nreader = 150\n", "0 to 100"),
        ("[goals\nreader = 50\n", "not valid TOML"),
    ],
)
def test_bad_goals_file(tmp_path, text, needle):
    goals = write(tmp_path, "goals.toml", text)
    result = run(tmp_path, "goals", "--goals", str(goals))
    assert_one_line_error(result, ExitCode.CONFIG, "goals.toml", needle)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("timezon = 'UTC'\n", "did you mean 'timezone'"),
        ("min_group_size = 2\n", "at least 3"),
        ("timezone = 'Mars/Olympus'\n", "IANA"),
    ],
)
def test_bad_config_file(tmp_path, text, needle):
    cfg = write(tmp_path, "im.toml", text)
    result = CliRunner().invoke(cli, ["--config", str(cfg), "formats"])
    assert_one_line_error(result, ExitCode.CONFIG, needle)


# -- regressions found by tests/test_fuzz.py -------------------------------------------------
def test_bom_only_file_is_empty(tmp_path):
    f = write(tmp_path, "bom.csv", codecs.BOM_UTF8)
    assert_one_line_error(run(tmp_path, "ingest", str(f)), ExitCode.BAD_INPUT, "empty")


def test_damaged_engage_zip_found_while_sniffing(tmp_path):
    members = {p.name: p.read_bytes() for p in (DATA / "engage").glob("*.csv")}
    z = write_zip(tmp_path / "in" / "engage.zip", members)
    raw = bytearray(z.read_bytes())
    start = raw.index(b"Messages.csv") + len("Messages.csv")
    raw[start + 2 : start + 40] = b"\xff" * 38  # damage the compressed data, not the names
    z.write_bytes(bytes(raw))
    result = run(tmp_path, "ingest", str(z))
    assert_one_line_error(result, ExitCode.BAD_INPUT, "damaged")


def test_encrypted_zip_member(tmp_path):
    z = write_zip(tmp_path / "in" / "x.zip", {**SLACK_MIN, "general/2024-03-01.json": "[]"})
    raw = bytearray(z.read_bytes())
    for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # set the "encrypted" bit
        i = raw.find(sig)
        while i != -1:
            raw[i + flag_at] |= 1
            i = raw.find(sig, i + 4)
    z.write_bytes(bytes(raw))
    result = run(tmp_path, "ingest", str(z))
    assert_one_line_error(result, ExitCode.BAD_INPUT, "encrypted")
