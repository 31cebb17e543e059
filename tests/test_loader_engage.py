from __future__ import annotations

import shutil
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from intranet_metrics.errors import InputError
from intranet_metrics.loaders import engage, slack
from intranet_metrics.loaders.base import read_source
from intranet_metrics.loaders.detect import detect, expand

HEADER = (
    "id,replied_to_id,thread_id,group_id,group_name,sender_id,sender_type,sender_email,"
    "body,created_at,deleted_at\n"
)


def zip_folder(folder: Path, dest: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, prefix + f.relative_to(folder).as_posix())
    return dest


def one_file(tmp_path: Path, rows: str, header: str = HEADER) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Messages.csv").write_text(header + rows, encoding="utf-8")
    return folder


@pytest.fixture
def export(data: Path) -> Path:
    return data / "engage"


@pytest.fixture
def frame(export: Path):
    return read_source(engage, export).events.to_pandas().set_index("item")


# -- sniffing ----------------------------------------------------------------------------------
def test_sniffs_folder_with_other_files(export: Path) -> None:
    assert (export / "Files" / "readme.txt").exists() and (export / "Groups.csv").exists()
    assert engage.sniff(export, b"") and not slack.sniff(export, b"")
    assert detect(export) is engage


@pytest.mark.parametrize("prefix", ["", "network-1234567890/"])
def test_sniffs_zip_by_members(export: Path, tmp_path: Path, prefix: str) -> None:
    z = zip_folder(export, tmp_path / "download.dat", prefix)
    assert engage.sniff(z, b"PK") and detect(z) is engage


@pytest.mark.parametrize(
    "members",
    [
        {"a.txt": "x", "b/c.csv": "id,name\n1,a\n"},
        {"Messages.csv": "from,to,subject\na,b,hi\n"},  # someone else's Messages.csv
    ],
)
def test_unrelated_zip_is_not_engage(tmp_path: Path, members: dict[str, str]) -> None:
    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    assert not engage.sniff(z, b"PK")


def test_export_in_a_subfolder_is_found_by_the_walk(export: Path, tmp_path: Path) -> None:
    shutil.copytree(export, tmp_path / "exports" / "engage-2024")
    (tmp_path / "exports" / "empty").mkdir()
    assert not engage.sniff(tmp_path / "exports", b"")
    found = [(p.name, m.NAME) for p, m in expand([tmp_path / "exports"]) if m is engage]
    assert found == [("engage-2024", "engage-export")]


# -- classification ----------------------------------------------------------------------------
def test_counts_of_hand_written_export(export: Path) -> None:
    c = read_source(engage, export).counts
    assert (c.rows, c.events, c.other, c.rejected) == (5, 3, 0, 0)
    assert dict(c.excluded) == {"bot": 1, "not_a_user": 1}


@pytest.mark.parametrize(
    ("item", "activity", "actor", "excluded"),
    [
        ("2000000000000000001", "thread_start", "alice@example.com", None),  # sender_email
        ("2000000000000000002", "reply", "bob@example.com", None),  # email from Users.csv
        ("2000000000000000003", "reply", "engage:3000", None),  # unknown id; deleted still counts
        ("2000000000000000004", "thread_start", "engage:4000", "not_a_user"),  # sender_type system
        ("2000000000000000005", "thread_start", "engage:4001", "bot"),
    ],
)
def test_message_classification(frame, item, activity, actor, excluded) -> None:
    row = frame.loc[item]
    assert (row.activity, row.actor) == (activity, actor)
    assert (row.excluded if isinstance(row.excluded, str) else None) == excluded


def test_64_bit_ids_stay_exact(frame) -> None:
    # ...788 and ...789 are the same float; as strings they are two people.
    assert float("1234567890123456788") == float("1234567890123456789")
    row = frame.loc["2000000000000000002"]
    assert (row.parent, row.thread, row.actor) == (
        "2000000000000000001",
        "2000000000000000001",
        "bob@example.com",
    )


def test_multiline_body_keeps_record_numbers(frame) -> None:
    # Record 1 spans three physical lines; line is the record's index in the member.
    assert frame.loc["2000000000000000002"].source_line == 2
    assert frame.loc["2000000000000000002"].source_file.endswith("engage!Messages.csv")


def test_channel_is_group_name(frame) -> None:
    assert frame.loc["2000000000000000001"].channel == "All Company"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02T09:00:00Z", datetime(2024, 1, 2, 9, tzinfo=timezone.utc)),
        ("2024-01-02T09:00:00.250Z", datetime(2024, 1, 2, 9, 0, 0, 250000, tzinfo=timezone.utc)),
        ("2024-01-02T10:00:00+01:00", datetime(2024, 1, 2, 9, tzinfo=timezone.utc)),
        ("2024-01-02 09:00:00", datetime(2024, 1, 2, 9, tzinfo=timezone.utc)),
        ("2024/01/02 09:00:00 +0000", datetime(2024, 1, 2, 9, tzinfo=timezone.utc)),
        ("2024-01-02 09:00:00 UTC", datetime(2024, 1, 2, 9, tzinfo=timezone.utc)),
        ("02.01.2024 09:00", None),
        ("", None),
    ],
)
def test_parse_time(text: str, expected: datetime | None) -> None:
    assert engage.parse_time(text) == expected


def test_zip_with_network_folder_provenance(export: Path, tmp_path: Path) -> None:
    z = zip_folder(export, tmp_path / "export.zip", "network-42/")
    r = read_source(engage, z)
    assert r.counts.events == 3
    assert r.events.column("source_file")[0].as_py() == f"{z}!network-42/Messages.csv"
    assert r.events.column("actor").to_pylist()[1] == "bob@example.com"  # sibling Users.csv


def test_zip_and_folder_give_the_same_event_keys(export: Path, tmp_path: Path) -> None:
    a = read_source(engage, export).events.column("event_key").to_pylist()
    b = read_source(engage, zip_folder(export, tmp_path / "e.zip", "x/")).events
    assert sorted(a) == sorted(b.column("event_key").to_pylist()) and len(set(a)) == 5


# -- damaged input -----------------------------------------------------------------------------
def test_bad_rows_are_rejected_and_reading_continues(tmp_path: Path) -> None:
    rows = (
        "1,,1,,,7,user,a@x.com,hi,yesterday,\n"
        "2,,2,,,7,user,a@x.com,too,few\n"
        ",,3,,,7,user,a@x.com,no id,2024-01-02T09:00:00Z,\n"
        "4,,4,,,7,user,a@x.com,ok,2024-01-02T09:00:00Z,\n"
    )
    r = read_source(engage, one_file(tmp_path, rows))
    assert (r.counts.events, r.counts.rejected) == (1, 3)
    assert r.rejects.column("source_line").to_pylist() == [1, 2, 3]


def test_missing_columns_raise_one_line_error(tmp_path: Path) -> None:
    folder = one_file(tmp_path, "1,2\n", header="id,sender_id,created_at\n")
    with pytest.raises(InputError, match=r"Messages.csv line 1: missing .*replied_to_id"):
        read_source(engage, folder)


def test_bom_and_crlf(tmp_path: Path) -> None:
    folder = tmp_path / "e"
    folder.mkdir()
    text = HEADER + '1,,1,,,7,user,a@x.com,"two\r\nlines",2024-01-02T09:00:00Z,\n'
    (folder / "Messages.csv").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    r = read_source(engage, folder)
    assert r.counts.events == 1 and r.counts.rejected == 0


def test_escaping_member_is_refused(export: Path, tmp_path: Path) -> None:
    z = zip_folder(export, tmp_path / "e.zip")
    with zipfile.ZipFile(z, "a") as zf:
        zf.writestr("../../etc/cron.d/x", "boom")
    with pytest.raises(InputError, match=r"e\.zip: member .* outside the archive"):
        read_source(engage, z)


def test_not_utf8_is_one_line_error(tmp_path: Path) -> None:
    folder = tmp_path / "e"
    folder.mkdir()
    (folder / "Messages.csv").write_bytes(
        (HEADER + "1,,1,,,7,user,,caf\xe9,x,\n").encode("latin-1")
    )
    with pytest.raises(InputError, match="not UTF-8"):
        read_source(engage, folder)


def test_can_and_cannot() -> None:
    assert set(engage.CAN) == {"contribute", "react"} and "view" not in engage.CAN
    assert "no reads" in engage.CANNOT
