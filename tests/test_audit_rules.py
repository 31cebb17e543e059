"""The audit log's classification as a FieldRules table: the new condition kinds, the
configured-sites row and a row added to the table reaching the events."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pyarrow as pa

from intranet_metrics.config import Config
from intranet_metrics.loaders import m365_audit
from intranet_metrics.loaders.base import read_source
from intranet_metrics.loaders.rules import lacks, matches, row, same

SITE = "https://contoso.sharepoint.com/sites/intranet"


def _audit(tmp_path: Path, *objs: dict) -> Path:
    base = {"CreationTime": "2025-03-04T09:00:00", "UserType": 0, "UserId": "jane@contoso.com"}
    path = tmp_path / "audit.jsonl"
    lines = (json.dumps({**base, "Id": f"id{i}", **o}) for i, o in enumerate(objs))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_same_and_matches_conditions():
    t = pa.table({"a": ["x", "x", None, "Y/Pages/z"], "b": ["x", "y", None, "q"]})
    assert same("a", "b").mask(t).to_pylist() == [True, False, False, False]
    assert matches("a", "/pages/").mask(t).to_pylist() == [False, False, False, True]
    assert lacks("a", "/pages/").mask(t).to_pylist() == [True, True, True, False]


def test_sites_row_keeps_the_boundary(tmp_path):
    path = _audit(
        tmp_path,
        {"Workload": "SharePoint", "Operation": "PageViewed", "ObjectId": f"{SITE}/A.aspx"},
        {"Workload": "SharePoint", "Operation": "PageViewed", "ObjectId": f"{SITE}-old/A.aspx"},
        {"Workload": "SharePoint", "Operation": "PageViewed", "ObjectId": SITE.upper()},
    )
    events = read_source(m365_audit, path, Config(sites=[SITE + "/"])).events.to_pylist()
    assert [e["activity"] for e in events] == ["page_view", "other", "page_view"]


def test_teams_parent_in_messages_entries_makes_a_reply(tmp_path):
    sent = {"Workload": "MicrosoftTeams", "Operation": "MessageSent", "MessageId": "m2"}
    path = _audit(
        tmp_path,
        {**sent, "Messages": [{"Id": "m2", "ParentMessageId": "m1"}]},
        {**sent, "Messages": [{"Id": "m2", "ParentMessageId": "m2"}]},
        {**sent, "ParentMessageId": "m2"},  # names itself: no parent stored either
    )
    events = read_source(m365_audit, path).events.to_pylist()
    assert [e["activity"] for e in events] == ["reply", "post", "post"]
    assert events[2]["parent"] is None


def test_a_row_added_to_the_audit_table_reaches_the_events(tmp_path, monkeypatch):
    rules = m365_audit.RULES
    added = (row("edit", *m365_audit._on(("sharepoint",), "FileRenamed")), *rules.activities)
    monkeypatch.setattr(m365_audit, "RULES", dataclasses.replace(rules, activities=added))
    path = _audit(tmp_path, {"Workload": "SharePoint", "Operation": "FileRenamed"})
    assert read_source(m365_audit, path).events.to_pylist()[0]["activity"] == "edit"


def test_a_line_over_the_limit_is_rejected_without_its_text(tmp_path, monkeypatch):
    monkeypatch.setattr(m365_audit, "FIELD_LIMIT", 10_000)
    monkeypatch.setattr(m365_audit, "_JSON_BLOCK", 4096)
    ok = {"Workload": "SharePoint", "Operation": "PageViewed", "ObjectId": "x"}
    path = _audit(tmp_path, ok, {**ok, "extra": "z" * 50_000}, ok)
    rejects = read_source(m365_audit, path).rejects.to_pylist()
    assert [(r["source_line"], r["raw"]) for r in rejects] == [(2, None)]
