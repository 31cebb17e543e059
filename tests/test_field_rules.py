"""Field tables (loaders/rules.py ``FieldRules``): the conditions, the shared function that
applies a table, each converted format's table, and that the table is the only place a
rule lives (a row added to it reaches the store; the loaders hold no classification)."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intranet_metrics.config import Config
from intranet_metrics.loaders import engage, rules, slack
from intranet_metrics.loaders.base import EventBuilder, SourceInfo, read_source
from intranet_metrics.loaders.rules import (
    LINE,
    blank,
    differs,
    filled,
    first_match,
    is_,
    not_,
    row,
)

TABLE = pa.table(
    {
        "a": pa.array(["x", "X", "", None, "y"], pa.string()),
        "b": pa.array(["x", "y", "", "z", None], pa.string()),
        "flag": pa.array([True, False, None, True, False], pa.bool_()),
    }
)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (is_("a", "x"), [True, False, False, False, False]),
        (is_("a", "x", fold=True), [True, True, False, False, False]),
        (is_("a", None), [False, False, False, True, False]),  # None: null only, not ""
        (is_("a", None, "y"), [False, False, False, True, True]),
        (not_("a", None, "x", fold=True), [False, False, True, False, True]),
        (filled("a"), [True, True, False, False, True]),
        (blank("a"), [False, False, True, True, False]),
        (differs("a", "b"), [False, True, False, False, False]),
        (is_("flag", True), [True, False, False, True, False]),
        (is_("missing", None), [True] * 5),  # a field the export lacks is null
        (filled("missing"), [False] * 5),
    ],
)
def test_conditions(condition, expected: list[bool]) -> None:
    assert condition.mask(TABLE).to_pylist() == expected


def test_first_matching_row_wins_else_default() -> None:
    table_rows = (row("one", is_("a", "x")), row("two", filled("a")), row("three"))
    assert first_match(table_rows, TABLE, None).to_pylist() == [
        "one",
        "two",
        "three",
        "three",
        "two",
    ]
    assert first_match((), TABLE, "other").to_pylist() == ["other"] * 5


def _apply(field_rules: rules.FieldRules, records: list[dict], users=None):
    """Events and rejects of raw records applied by ``apply_fields`` (one builder)."""
    builder = EventBuilder(SourceInfo("x", "0" * 64, "test"), Config())
    names = sorted({k for r in records for k in r} | {LINE})
    columns = {n: [r.get(n) for r in records] for n in names if n != LINE}
    table = pa.table({**columns, LINE: list(range(1, len(records) + 1))})
    rules.apply_fields(field_rules, table, builder, users=users)
    events = builder.flush()
    return (events.to_pylist() if events else []), builder.take_rejects()


# -- engage-export -----------------------------------------------------------------------------
ENGAGE = {
    "id": "11",
    "sender_id": "7",
    "created_at": "2024-01-02T09:00:00Z",
    "replied_to_id": "",
    "thread_id": "11",
    "group_name": "All Company",
}


@pytest.mark.parametrize(
    ("fields", "activity", "excluded"),
    [
        ({}, "thread_start", None),
        ({"replied_to_id": "10"}, "reply", None),
        ({"sender_type": "user"}, "thread_start", None),
        ({"sender_type": "User"}, "thread_start", None),
        ({"sender_type": "Bot"}, "thread_start", "bot"),
        ({"sender_type": "system"}, "thread_start", "not_a_user"),
        ({"sender_type": "", "replied_to_id": "10"}, "reply", None),
    ],
)
def test_engage_table(fields: dict, activity: str, excluded: str | None) -> None:
    (event,), _ = _apply(engage.RULES, [{**ENGAGE, **fields}])
    assert (event["activity"], event["excluded"]) == (activity, excluded)


@pytest.mark.parametrize(
    ("fields", "actor"),
    [
        ({"sender_email": "a@x.com"}, "a@x.com"),
        ({}, "b@x.com"),  # the export's Users.csv
        ({"sender_id": "8"}, "engage:8"),
        ({"sender_id": ""}, ""),
    ],
)
def test_engage_actor(fields: dict, actor: str) -> None:
    (event,), _ = _apply(engage.RULES, [{**ENGAGE, **fields}], {"7": ("b@x.com", False)})
    assert event["actor"] == actor


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"id": ""}, "empty message id"),
        ({"created_at": "yesterday"}, "created_at is not ISO 8601"),
        ({"id": "", "created_at": "yesterday"}, "empty message id"),  # the first row wins
    ],
)
def test_engage_rejects(fields: dict, reason: str) -> None:
    events, rejects = _apply(engage.RULES, [{**ENGAGE, **fields}])
    assert not events and rejects.column("reason")[0].as_py().startswith(reason)


# -- slack-export ------------------------------------------------------------------------------
TS = "1704189600.000100"
MESSAGE = {"kind": "message", "ts": TS, "user": "U1", "key": f"c/{TS}", "channel": "c"}
USERS = {"U1": ("u1@x.com", False), "UBOT": (None, True)}


@pytest.mark.parametrize(
    ("fields", "activity", "excluded"),
    [
        ({}, "post", None),
        ({"thread_ts": TS}, "post", None),  # a thread's first message
        ({"thread_ts": "1704189500.000001"}, "reply", None),
        ({"subtype": "thread_broadcast"}, "reply", None),
        ({"subtype": "file_share"}, "post", None),
        ({"subtype": "me_message"}, "post", None),
        ({"subtype": "channel_join"}, "other", None),
        ({"subtype": "bot_message", "bot_id": "B1"}, "other", None),  # other, not excluded
        ({"bot_id": "B1"}, "post", "bot"),
        ({"user": "UBOT"}, "post", "bot"),
        ({"user": "USLACKBOT"}, "post", "bot"),
        ({"kind": "reaction", "reaction": "+1"}, "reaction", None),
        ({"kind": "reaction", "user": "UBOT"}, "reaction", "bot"),
    ],
)
def test_slack_table(fields: dict, activity: str, excluded: str | None) -> None:
    (event,), _ = _apply(slack.RULES, [{**MESSAGE, **fields}], USERS)
    assert (event["activity"], event["excluded"]) == (activity, excluded)


def test_slack_parent_only_for_replies() -> None:
    events, _ = _apply(
        slack.RULES,
        [{**MESSAGE, "thread_ts": TS}, {**MESSAGE, "thread_ts": "1704189500.000001"}],
        USERS,
    )
    assert [(e["activity"], e["parent"]) for e in events] == [
        ("post", None),
        ("reply", "1704189500.000001"),
    ]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"ts": "abc"}, "message has no valid ts (epoch seconds)"),
        ({"user": None}, "message has no user"),
        ({"user": None, "ts": None}, "message has no valid ts (epoch seconds)"),
    ],
)
def test_slack_rejects(fields: dict, reason: str) -> None:
    events, rejects = _apply(slack.RULES, [{**MESSAGE, **fields}], USERS)
    assert not events and rejects.column("reason").to_pylist() == [reason]


def test_rejects_come_in_line_order_whoever_found_them() -> None:
    records = [
        {**MESSAGE, "user": None},  # the table's reject
        {**MESSAGE, rules.PROBLEM: "message is not a JSON object"},  # the reader's
        {**MESSAGE, "ts": "x"},
    ]
    _, rejects = _apply(slack.RULES, records, USERS)
    assert rejects.column("source_line").to_pylist() == [1, 2, 3]


# -- a rule lives in its table only ------------------------------------------------------------
def _slack_export(tmp_path: Path, messages: list[dict]) -> Path:
    folder = tmp_path / "slack"
    (folder / "general").mkdir(parents=True)
    users = [{"id": "U1", "profile": {"email": "u1@x.com"}}]
    (folder / "users.json").write_text(json.dumps(users))
    (folder / "channels.json").write_text("[]")
    (folder / "general" / "2024-01-02.json").write_text(json.dumps(messages))
    return folder


def test_a_row_added_to_the_slack_table_reaches_the_store(tmp_path: Path, monkeypatch) -> None:
    # SPEC: the legacy subtype file_comment is a comment by its human author. One row
    # in the table makes it so; no loader code changes.
    msg = {"type": "message", "subtype": "file_comment", "ts": TS, "comment": {"user": "U1"}}
    export = _slack_export(tmp_path, [msg])
    assert read_source(slack, export).events.column("activity").to_pylist() == ["other"]
    comment = row("comment", is_("subtype", "file_comment"))
    table = dataclasses.replace(slack.RULES, activities=(comment, *slack.RULES.activities))
    monkeypatch.setattr(slack, "RULES", table)
    events = read_source(slack, export).events.to_pylist()
    assert [(e["activity"], e["actor"]) for e in events] == [("comment", "u1@x.com")]


def test_a_row_added_to_the_engage_table_reaches_the_store(data: Path, monkeypatch) -> None:
    before = read_source(engage, data / "engage").counts
    ignore = row("not_a_user", is_("group_name", "All Company"))
    table = dataclasses.replace(engage.RULES, exclusions=(ignore, *engage.RULES.exclusions))
    monkeypatch.setattr(engage, "RULES", table)
    after = read_source(engage, data / "engage").counts
    assert after.excluded["not_a_user"] > before.excluded["not_a_user"]
    assert after.rows == before.rows  # moved from events to excluded, nothing lost


@pytest.mark.parametrize("module", [engage, slack])
def test_loaders_hold_no_classification(module) -> None:
    """A field-table loader never hands the builder a record itself (it only flushes):
    every record goes through ``apply_fields`` and the module's ``RULES``."""
    tree = ast.parse(inspect.getsource(module))
    calls = [n.func for n in ast.walk(tree) if isinstance(n, ast.Call)]
    on_builder = {
        f.attr
        for f in calls
        if isinstance(f, ast.Attribute)
        and isinstance(f.value, ast.Name)
        and f.value.id == "builder"
    }
    assert on_builder == {"flush"}
    assert "apply_fields" in {f.id for f in calls if isinstance(f, ast.Name)}


@pytest.mark.parametrize("bad_time", [False, True])  # True: add_many's record-by-record path
def test_add_many_takes_a_member_per_record(bad_time: bool) -> None:
    builder = EventBuilder(SourceInfo("export.zip", "0" * 64, "test"), Config())
    times = [1_704_189_600_000_000, 0 if bad_time else 1_704_189_600_000_001, 1_704_189_600_000_002]
    builder.add_many(
        time=times,
        actor=["a@x.com"] * 3,
        activity="post",
        line=[1, 1, 2],
        key=["k1", "k2", "k3"],
        member=["a/2024-01-01.json", "b/2024-01-01.json", "a/2024-01-01.json"],
    )
    a, b = "export.zip!a/2024-01-01.json", "export.zip!b/2024-01-01.json"
    stored = builder.flush().column("source_file").to_pylist()
    rejects = builder.take_rejects()
    if bad_time:
        assert stored == [a, a] and rejects.column("source_file").to_pylist() == [b]
    else:
        assert stored == [a, b, a] and rejects is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.none() | st.text(alphabet=" \t\n\r\x0b\x0c\x85\xa0\u2003\u3000x", max_size=4)))
def test_blank_with_trim_is_empty_once_trimmed(values: list[str | None]) -> None:
    # Asked with utf8_is_space (no trimmed copy of the column): what trimming would leave
    # null or empty.
    table = pa.table({"a": pa.array(values, pa.string())})
    trimmed = pc.utf8_trim_whitespace(table.column("a")).to_pylist()
    assert blank("a", trim=True).mask(table).to_pylist() == [not v for v in trimmed]
