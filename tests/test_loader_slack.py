from __future__ import annotations

import io
import os
import shutil
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from intranet_metrics.errors import InputError
from intranet_metrics.loaders import container, engage, slack
from intranet_metrics.loaders.base import read_source
from intranet_metrics.loaders.detect import detect


def zip_folder(folder: Path, dest: Path, prefix: str = "") -> Path:
    """Zip every file of ``folder`` (relative names, optionally under ``prefix``)."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, prefix + f.relative_to(folder).as_posix())
    return dest


def write_zip(dest: Path, members: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(zipfile.ZipInfo(name), text, zipfile.ZIP_DEFLATED)
    return dest


@pytest.fixture
def export(data: Path) -> Path:
    return data / "slack"


@pytest.fixture
def frame(export: Path):
    return read_source(slack, export).events.to_pandas()


def by_ts(df, ts: str):
    return df[(df.item == ts) & (df.activity != "reaction")].iloc[0]


# -- sniffing ----------------------------------------------------------------------------------
def test_sniffs_folder_with_other_files(export: Path) -> None:
    assert (export / "notes" / "README.txt").exists()
    assert slack.sniff(export, b"") and not engage.sniff(export, b"")
    assert detect(export) is slack


@pytest.mark.parametrize("prefix", ["", "my-workspace Slack export/"])
def test_sniffs_zip_by_members_not_by_name(export: Path, tmp_path: Path, prefix: str) -> None:
    z = zip_folder(export, tmp_path / "anything.bin", prefix)
    assert slack.sniff(z, z.read_bytes()[:65536])
    assert detect(z) is slack


@pytest.mark.parametrize(
    "members",
    [
        {"a.txt": "hello", "data.json": "[]"},
        {"users.json": "[]", "readme.md": "no channel list"},
        {"deep/down/users.json": "[]", "deep/down/channels.json": "[]"},
    ],
)
def test_unrelated_zip_is_not_slack(tmp_path: Path, members: dict[str, str]) -> None:
    assert not slack.sniff(write_zip(tmp_path / "export.zip", members), b"PK")


def test_engage_folder_is_not_slack(data: Path) -> None:
    assert not slack.sniff(data / "engage", b"")


# -- classification ----------------------------------------------------------------------------
def test_counts_of_hand_written_export(export: Path) -> None:
    c = read_source(slack, export).counts
    assert (c.rows, c.events, c.other, c.rejected) == (14, 9, 2, 0)
    assert dict(c.excluded) == {"bot": 3}
    assert dict(c.by_class) == {"contribute": 5, "react": 4}


@pytest.mark.parametrize(
    ("ts", "activity", "excluded"),
    [
        ("1704189600.000100", "post", None),  # plain message
        ("1704189700.123456", "reply", None),  # thread_ts != ts
        ("1704189800.000001", "reply", None),  # thread_broadcast
        ("1704189900.000002", "other", None),  # channel_join
        ("1704190000.000003", "other", None),  # bot_message
        ("1704190100.000004", "post", "bot"),  # users.json is_bot
        ("1704190200.000005", "post", None),  # file_share
        ("1704190300.000006", "post", None),  # me_message
        ("1704190400.000007", "post", "bot"),  # bot_id on a human-type message
        ("1704190500.000008", "post", None),  # thread starter: thread_ts == ts
    ],
)
def test_message_classification(frame, ts: str, activity: str, excluded: str | None) -> None:
    row = by_ts(frame, ts)
    assert row.activity == activity
    assert (row.excluded if isinstance(row.excluded, str) else None) == excluded


def test_reactions_by_humans_count_bots_excluded(frame) -> None:
    r = frame[frame.activity == "reaction"].sort_values(["item", "actor"])
    assert list(r.actor) == ["slack:u02bob", "slack:u03bot", "alice@example.com"]
    assert [x if isinstance(x, str) else None for x in r.excluded] == [None, "bot", None]
    # A reaction on a bot's message still counts, at that message's time.
    assert r.iloc[2].time == by_ts(frame, "1704190000.000003").time


def test_actor_is_email_else_slack_id(frame) -> None:
    assert by_ts(frame, "1704189600.000100").actor == "alice@example.com"
    assert by_ts(frame, "1704189700.123456").actor == "slack:u02bob"


def test_reply_links_thread_channel_and_item(frame) -> None:
    row = by_ts(frame, "1704189700.123456")
    assert (row.thread, row.parent, row.channel) == (
        "1704189600.000100",
        "1704189600.000100",
        "general",
    )


def test_time_from_ts_not_file_name(frame) -> None:
    row = by_ts(frame, "1704238200.000009")
    assert row.source_file.endswith("!random/2024-01-03.json")
    assert row.time == datetime(2024, 1, 2, 23, 30, 0, 9, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("ts", "us"),
    [
        ("1459154014.000018", 1459154014_000018),
        ("1704189700.123456", 1704189700_123456),
        ("1704189700.5", 1704189700_500000),
        ("1704189700", 1704189700_000000),
        ("1704189700.1234567", None),
        ("abc", None),
        (1704189700.5, None),
    ],
)
def test_parse_ts_is_exact(ts, us) -> None:
    assert slack.parse_ts(ts) == us


def test_provenance_names_member_and_index(frame) -> None:
    row = by_ts(frame, "1704189800.000001")
    assert row.source_file.endswith("slack!general/2024-01-02.json")
    assert row.source_line == 3


def test_zip_and_folder_give_the_same_event_keys(export: Path, tmp_path: Path) -> None:
    folder = read_source(slack, export).events
    zipped = read_source(slack, zip_folder(export, tmp_path / "e.zip", "export/")).events
    keys = folder.column("event_key").to_pylist()
    assert len(set(keys)) == len(keys) == 14
    assert sorted(keys) == sorted(zipped.column("event_key").to_pylist())


# -- damaged input -----------------------------------------------------------------------------
def test_invalid_day_file_is_one_reject(export: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(export, tmp_path / "x")
    (copy / "random" / "2024-01-04.json").write_text('[{"ts": "1704326400.000001", "user": ')
    r = read_source(slack, copy)
    assert r.counts.rejected == 1 and r.counts.events == 9
    assert r.rejects.column("source_file")[0].as_py().endswith("!random/2024-01-04.json")
    assert "not valid JSON" in r.rejects.column("reason")[0].as_py()


def test_message_without_ts_is_rejected(tmp_path: Path) -> None:
    z = write_zip(
        tmp_path / "e.zip",
        {"users.json": "[]", "channels.json": "[]", "c/2024-01-01.json": '[{"user": "U1"}]'},
    )
    r = read_source(slack, z)
    assert r.counts.rejected == 1 and "ts" in r.rejects.column("reason")[0].as_py()


def test_symlinks_in_folder_are_skipped(export: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "2024-01-05.json").write_text('[{"user": "U02BOB", "ts": "1704412800.000001"}]')
    copy = shutil.copytree(export, tmp_path / "x")
    os.symlink(outside, copy / "linked")
    os.symlink(outside / "2024-01-05.json", copy / "general" / "2024-01-05.json")
    assert read_source(slack, copy).counts.rows == 14


@pytest.mark.parametrize("name", ["../evil/2024-01-01.json", "/abs/2024-01-01.json", "..\\x.json"])
def test_escaping_member_names_are_refused(tmp_path: Path, name: str) -> None:
    z = write_zip(tmp_path / "e.zip", {"users.json": "[]", "channels.json": "[]", name: "[]"})
    with pytest.raises(InputError, match="outside the archive"):
        read_source(slack, z)


def test_high_compression_ratio_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(container, "RATIO_FLOOR", 1000)
    day = "[" + " " * 200_000 + "]"
    z = write_zip(
        tmp_path / "e.zip", {"users.json": "[]", "channels.json": "[]", "c/2024-01-01.json": day}
    )
    with pytest.raises(InputError, match="zip bomb"):
        read_source(slack, z)


def test_member_size_limit(tmp_path: Path, monkeypatch, export: Path) -> None:
    monkeypatch.setattr(container, "MAX_MEMBER_BYTES", 500)
    with pytest.raises(InputError, match="safety limits"):
        read_source(slack, zip_folder(export, tmp_path / "e.zip"))


def test_bytes_are_counted_while_reading(tmp_path: Path, monkeypatch, export: Path) -> None:
    z = zip_folder(export, tmp_path / "e.zip")
    with container.Container(z) as box, box.open("general/2024-01-02.json") as fh:
        monkeypatch.setattr(container, "MAX_TOTAL_BYTES", 100)
        with pytest.raises(InputError, match="safety limit"):
            fh.read()


# -- streaming JSON ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "items"),
    [("[]", []), (' [1, {"a": [2]}, "x" ] ', [1, {"a": [2]}, "x"]), ("[12345]", [12345])],
)
def test_iter_json_array(text: str, items: list, monkeypatch) -> None:
    monkeypatch.setattr(container, "_CHUNK", 2)  # elements split across reads
    assert list(container.iter_json_array(io.StringIO(text))) == items


@pytest.mark.parametrize("text", ['{"a": 1}', "[1 2]", "[1,", ""])
def test_iter_json_array_errors(text: str) -> None:
    with pytest.raises(ValueError):
        list(container.iter_json_array(io.StringIO(text)))


# -- the real sample ---------------------------------------------------------------------------
def test_sample_testarchive_counts(samples: Path) -> None:
    r = read_source(slack, samples / "slack-export-viewer" / "testarchive.zip")
    df = r.events.to_pandas()
    # 49 plain human messages + 3 file_share = 52 posts; no threads in this 2016 export.
    assert df.activity.value_counts().to_dict() == {"other": 106, "post": 52, "reaction": 1}
    # other: 94 bot_message + 8 channel_join + 3 bot_add + 1 file_comment.
    assert r.counts.to_dict()["rows"] == 159
    assert (r.counts.events, r.counts.other, r.counts.excluded_total) == (53, 106, 0)
    assert r.counts.rejected == 0
    # The one reaction: a human's :botman: on a bot_message.
    assert df[df.activity == "reaction"].actor.tolist() == ["slack:u0bmyt2fl"]
