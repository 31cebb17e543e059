"""Any CSV dialect a spreadsheet writes (issue 10 item 2): separators, encodings, BOMs,
line ends and Dutch dates, for the roster and generic exports alike."""

from __future__ import annotations

import codecs
import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from intranet_metrics.cli import cli
from intranet_metrics.errors import ConfigError, ExitCode
from intranet_metrics.loaders import generic, textfile
from intranet_metrics.loaders.base import read_source
from intranet_metrics.loaders.detect import detect
from intranet_metrics.roster import load_roster

DEPARTMENTS = ["Financiën", "Communicatie & Marketing", "Juridische Zaken", "Personeelszaken"]
ACTIVITIES = ["page_view", "like", "comment", "post", "file_view"]


def roster_rows(n: int = 40) -> list[list[str]]:
    rows = [["user_id", "email", "department", "start_date"]]
    for i in range(n):
        start = f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}"
        rows.append([f"E{i:03d}", f"p{i}@contoso.nl", DEPARTMENTS[i % 4], start])
    return rows


def event_rows(n: int = 40) -> list[list[str]]:
    rows = [["timestamp", "user", "activity", "item"]]
    for i in range(0, n, 2):
        for j in range(1 + i % 3):
            act = ACTIVITIES[(i + j) % len(ACTIVITIES)]
            item = f"/sites/intranet/Paginas/Nieuws-{j}-café; ‘ok’"
            rows.append([f"2024-03-{1 + j:02d}T09:{i % 60:02d}:00", f"p{i}@contoso.nl", act, item])
    return rows


def write_csv(path: Path, rows: list[list[str]], sep: str, encoding: str, crlf: bool) -> Path:
    buf = io.StringIO(newline="")
    csv.writer(buf, delimiter=sep, lineterminator="\r\n" if crlf else "\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def dutch_dates(rows: list[list[str]]) -> list[list[str]]:
    out = [rows[0]]
    for r in rows[1:]:
        y, m, d = r[3].split("-")
        out.append([*r[:3], f"{d}-{m}-{y}"])
    return out


def baseline(tmp_path: Path, roster: Path, export: Path, config: str = "") -> dict:
    cfg = tmp_path / "intranet-metrics.toml"
    cfg.write_text(config)
    args = ["--store", str(tmp_path / "store"), "--config", str(cfg), "baseline"]
    args += ["--from", "2024-03-01", "--to", "2024-03-31", "--roster", str(roster)]
    args += ["--by", "department", "--format", "json", str(export)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    # The warnings differ on purpose: the Windows-1252 roster is noted (coded, in details).
    skip = ("inputs", "generated_at", "label", "tool", "warnings", "warning_details")
    for key in (*skip, "measurement_id"):
        report.pop(key, None)
    return report


def test_dutch_excel_files_give_the_figures_of_their_utf8_twins(tmp_path: Path) -> None:
    utf8 = tmp_path / "utf8"
    nl = tmp_path / "nl"
    utf8.mkdir()
    nl.mkdir()
    plain = baseline(
        utf8,
        write_csv(utf8 / "roster.csv", roster_rows(), ",", "utf-8", False),
        write_csv(utf8 / "events.csv", event_rows(), ",", "utf-8", False),
    )
    dutch = baseline(
        nl,
        write_csv(nl / "roster.csv", dutch_dates(roster_rows()), ";", "cp1252", True),
        write_csv(nl / "events.csv", event_rows(), ";", "cp1252", True),
        'date_format = "%d-%m-%Y"\n',
    )
    assert plain["metrics"]["reader"]["users"] > 0
    assert [s["value"] for s in dutch["segments"]["department"]] == sorted(DEPARTMENTS)
    assert dutch == plain


def test_windows_1252_is_read_with_a_warning_naming_the_line(tmp_path: Path) -> None:
    rows = [["timestamp", "user", "activity", "item"]]
    rows += [["2024-03-01T10:00:00Z", "a@x.nl", "like", "/a"]]
    rows += [["2024-03-01T11:00:00Z", "b@x.nl", "like", "/Financiën"]]
    path = write_csv(tmp_path / "e.csv", rows, ",", "cp1252", False)
    result = read_source(generic, path)
    assert result.counts.events == 2 and result.counts.rejected == 0
    assert result.events.column("item").to_pylist()[1] == "/Financiën"
    result = CliRunner().invoke(
        cli, ["--store", str(tmp_path / "s"), "ingest", "--format", "json", str(path)]
    )
    assert result.exit_code == 0, result.output
    (source,) = json.loads(result.stdout)["sources"]
    assert "line 3" in source["message"] and "Windows-1252" in source["message"]


def test_forced_encoding_that_does_not_fit_names_the_real_line(tmp_path: Path) -> None:
    rows = [["timestamp", "user", "activity", "item"]]
    rows += [["2024-03-01T10:00:00Z", "a@x", "like", "/a"]]
    rows += [["2024-03-01T11:00:00Z", "b@x", "like", "/Financiën"]]
    path = write_csv(tmp_path / "e.csv", rows, ",", "cp1252", False)
    args = ["--store", str(tmp_path / "s"), "ingest", "--encoding", "utf-8", str(path)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "line 3" in result.stderr and "utf-8" in result.stderr


@pytest.mark.parametrize(
    ("sep", "encoding", "crlf"),
    [
        (",", "utf-8", False),
        (";", "utf-8-sig", True),
        ("\t", "utf-16", True),
        ("|", "cp1252", False),
        (";", "utf-16", False),
    ],
)
def test_roster_in_any_dialect_reads_the_same(
    tmp_path: Path, sep: str, encoding: str, crlf: bool
) -> None:
    want = load_roster(write_csv(tmp_path / "a.csv", roster_rows(), ",", "utf-8", False))
    got = load_roster(write_csv(tmp_path / "b.csv", roster_rows(), sep, encoding, crlf))
    assert got.people.equals(want.people) and got.aliases.equals(want.aliases)
    assert got.dimensions == want.dimensions


def test_roster_notes_an_assumed_encoding(tmp_path: Path) -> None:
    roster = load_roster(write_csv(tmp_path / "r.csv", roster_rows(), ";", "cp1252", True))
    (note,) = roster.notes
    assert "Windows-1252" in note and "line 2" in note


def test_roster_encoding_error_names_the_real_line(tmp_path: Path) -> None:
    rows = roster_rows(3)
    path = write_csv(tmp_path / "r.csv", rows, ",", "cp1252", False)
    with pytest.raises(ConfigError, match="line 2"):
        load_roster(path, encoding="utf-8")
    rows[3][2] = "Financiën"
    rows[1][2] = rows[2][2] = "Juridisch"
    path = write_csv(tmp_path / "r.csv", rows, ",", "cp1252", False)
    with pytest.raises(ConfigError, match="line 4"):
        load_roster(path, encoding="utf-8")


def test_roster_header_error_says_what_was_tried(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("employee;email\nE1;a@x\n")
    with pytest.raises(ConfigError, match="semicolon-separated utf-8") as err:
        load_roster(path)
    assert "--delimiter" in str(err.value)


def test_forced_delimiter_wins(tmp_path: Path) -> None:
    # A header of one column holds no separator to find: --delimiter says it.
    path = tmp_path / "r.csv"
    path.write_text("user_id\nE1\nE2\n")
    assert load_roster(path, delimiter=";").size == 2
    path.write_text("user_id|note,with,commas\nE1|a,b,c\n")
    assert load_roster(path, delimiter="|").dimensions == ("note,with,commas",)


@pytest.mark.parametrize(
    ("value", "fmt", "ok"),
    [("2024-03-01", None, True), ("01-03-2024", "%d-%m-%Y", True), ("01-03-2024", None, False)],
)
def test_roster_dates_iso_or_date_format(tmp_path: Path, value: str, fmt, ok: bool) -> None:
    path = tmp_path / "r.csv"
    path.write_text(f"user_id,start_date\nE1,{value}\n")
    if ok:
        assert str(load_roster(path, date_format=fmt).people["start_date"][0]) == "2024-03-01"
    else:
        with pytest.raises(ConfigError, match="date_format"):
            load_roster(path, date_format=fmt)


def test_dutch_generic_export_is_detected_and_read(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "e.csv", event_rows(), ";", "cp1252", True)
    assert detect(path) is generic
    plain = read_source(generic, write_csv(tmp_path / "u.csv", event_rows(), ",", "utf-8", False))
    dutch = read_source(generic, path)
    assert dutch.counts == plain.counts
    assert dutch.events.column("event_key").equals(plain.events.column("event_key"))


@pytest.mark.parametrize(
    ("header", "sep"),
    [
        ("timestamp,user,activity", ","),
        ("timestamp;user;activity;item", ";"),
        ("timestamp\tuser\tactivity", "\t"),
        ("timestamp|user|activity", "|"),
        ('"When; local",user,activity', ","),
        ("user_id", ","),
    ],
)
def test_sniff_delimiter(header: str, sep: str) -> None:
    from intranet_metrics.loaders.textfile import sniff_delimiter

    assert sniff_delimiter(header) == sep


def _written(row: list[str], sep: str) -> str:
    buf = io.StringIO(newline="")
    csv.writer(buf, delimiter=sep, lineterminator="\r\n").writerow(row)
    return buf.getvalue()


text = st.text(alphabet=st.sampled_from('ab é,;|\t"\r\n'), max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.lists(text, min_size=2, max_size=4), min_size=1, max_size=6),
    sep=st.sampled_from([",", ";", "\t", "|"]),
    limit=st.sampled_from([30, 1 << 20]),
)
def test_csv_rows_reads_what_csv_writer_wrote(rows, sep: str, limit: int) -> None:
    from intranet_metrics.loaders.textfile import csv_rows

    buf = io.StringIO(newline="")
    csv.writer(buf, delimiter=sep, lineterminator="\r\n").writerows(rows)
    got = list(csv_rows(io.StringIO(buf.getvalue(), newline=""), sep, limit))
    # A record of nothing but blanks and separators is a blank line: skipped.
    blank = {i for i, r in enumerate(rows) if not _written(r, sep).strip(" \t\r\n" + sep)}
    want = [r for i, r in enumerate(rows) if i not in blank]
    read = [r for _, r in got if isinstance(r, list)]
    bad = [r for _, r in got if not isinstance(r, list)]
    if limit > 1000:
        assert read == want and not bad
    else:  # every record is either read exactly or rejected as too long; none is lost
        assert len(read) + len(bad) == len(want)
        assert all(r in want for r in read)


def test_dutch_excel_files_at_a_real_organisations_size(tmp_path: Path) -> None:
    # 20,000 people and 1,000,000 events, as Dutch Excel saves them (';', Windows-1252,
    # CRLF): every record read, none rejected, the accented text intact.
    from intranet_metrics.config import Config
    from intranet_metrics.loaders.base import EventBuilder, SourceInfo

    people = 20_000
    rows = [["user_id", "email", "department", "start_date"]]
    rows += [[f"E{i}", f"p{i}@contoso.nl", DEPARTMENTS[i % 4], "01-02-2023"] for i in range(people)]
    roster = load_roster(
        write_csv(tmp_path / "roster.csv", rows, ";", "cp1252", True), date_format="%d-%m-%Y"
    )
    assert roster.size == people and roster.notes
    path = tmp_path / "events.csv"
    with open(path, "w", encoding="cp1252", newline="") as fh:
        fh.write("timestamp;user;activity;item\r\n")
        fh.writelines(
            f"2024-03-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00;p{i % people}@contoso.nl;"
            f"{ACTIVITIES[i % 5]};/sites/Financiën/p{i % 977}\r\n"
            for i in range(1_000_000)
        )
    builder = EventBuilder(SourceInfo(str(path), "-", "generic"), Config())
    actors: set[str] = set()
    for batch in [*generic.load(path, builder), builder.flush()]:
        if batch is not None:
            actors.update(batch.column("actor").unique().to_pylist())
            last = batch
    assert (builder.counts.events, builder.counts.rejected) == (1_000_000, 0)
    assert len(actors) == people
    assert last.column("item")[0].as_py().startswith("/sites/Financiën/")
    assert any("Windows-1252" in n for n in builder.notes)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from([b"a,b\n", b"caf\xc3\xa9\n", b"\xe2\x82\xac", b"\n", b"\xff", b"x" * 9])
    ),
    st.sampled_from([4, 7, 16]),
)
def test_the_first_bad_utf8_byte_and_its_line_at_any_scan_size(tmp_path_factory, parts, scan):
    # ASCII blocks are checked as read and the lines before a bad block counted only then:
    # the same place as decoding the whole file.
    path = tmp_path_factory.mktemp("u") / "f.csv"
    path.write_bytes(b"".join(parts))
    with path.open("rb") as fh:
        expected = textfile.first_bad_line(fh, codecs.getincrementaldecoder("utf-8")())
    with pytest.MonkeyPatch.context() as m:
        m.setattr(textfile, "_SCAN", scan)
        assert textfile._utf8_bad_line(path) == expected
