"""Teams messages and reactions in the audit log, on records shaped as Microsoft documents
them (docs/formats.md, "Teams in the audit log"): the Management Activity API's Teams
schema puts ``ParentMessageId`` in the ``Messages`` entries, and Microsoft's other Teams
message data sets it to the message's own id for a message that is no reply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intranet_metrics.loaders import m365_audit
from intranet_metrics.loaders.base import read_source


def teams_record(**kw) -> dict:
    """A Teams channel message record (RecordType 25), top-level fields as documented."""
    record = {
        "CreationTime": "2025-03-04T09:00:00",
        "Id": "e0000000-0000-0000-0000-0000000000aa",
        "Operation": "MessageSent",
        "RecordType": 25,
        "UserType": 0,
        "Workload": "MicrosoftTeams",
        "UserId": "jane@contoso.com",
        "MessageId": "1700000000002",
        "ChannelGuid": "19:abc@thread.tacv2",
        "ChannelName": "General",
        "TeamName": "Intranet",
        "CommunicationType": "Channel",
    }
    record.update(kw)
    return record


def activity(tmp_path: Path, record: dict) -> str:
    path = tmp_path / "audit.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    (event,) = read_source(m365_audit, path).events.to_pylist()
    return event["activity"]


def message(**kw) -> dict:
    """One entry of ``Messages`` (the schema's Message complex type)."""
    return {"Id": "1700000000002", "ChannelName": "General", **kw}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, "post"),
        ({"ParentMessageId": "1700000000001"}, "reply"),
        # A parent equal to the message itself is no parent.
        ({"ParentMessageId": "1700000000002"}, "post"),
        ({"ParentMessageId": 1700000000002}, "post"),
        # The documented place: the Messages entries.
        ({"Messages": [message(ParentMessageId="1700000000001")]}, "reply"),
        ({"Messages": [message(ParentMessageId="1700000000002")]}, "post"),
        ({"Messages": [message()]}, "post"),
        ({"Messages": "not a list"}, "post"),
        ({"Messages": [1, None]}, "post"),
    ],
)
def test_message_sent_post_or_reply(tmp_path: Path, fields: dict, expected: str) -> None:
    assert activity(tmp_path, teams_record(**fields)) == expected


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ("MessageSent", "post"),
        ("ReactedToMessage", "reaction"),
        # The same message again (a link in it): counting it would count one message twice.
        ("MessageCreatedHasLink", "other"),
        ("MessageEditedHasLink", "other"),
        ("MessageUpdated", "other"),
        ("MessageDeleted", "other"),
        ("MessageRead", "other"),  # a Graph API read, not a person reading
    ],
)
def test_teams_operations(tmp_path: Path, operation: str, expected: str) -> None:
    assert activity(tmp_path, teams_record(Operation=operation)) == expected


def test_a_post_naming_itself_stores_no_parent(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    own = teams_record(ParentMessageId="1700000000002")
    reply = teams_record(Id="e1", MessageId="1700000000003", ParentMessageId="1700000000002")
    path.write_text(json.dumps(own) + "\n" + json.dumps(reply) + "\n", encoding="utf-8")
    events = read_source(m365_audit, path).events.to_pylist()
    assert [(e["activity"], e["parent"]) for e in events] == [
        ("post", None),
        ("reply", "1700000000002"),
    ]
