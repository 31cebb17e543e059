"""The m365-audit loader against a plain per-record reading of SPEC section 6.

The loader classifies in blocks with caches (rules per Workload/Operation/RecordType,
exclusions per UserId/UserType) and parses CreationTime with Arrow; the oracle below does
none of that: one record at a time, straight from the rules. Hypothesis makes files of
awkward records (enum names, numbers as strings, claims, guests, bad times, lists where
names belong, Yammer ids as numbers) and every event, reject and count must agree.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intranet_metrics.config import Config
from intranet_metrics.identity import actor_exclusion, normalise_actor
from intranet_metrics.loaders import m365_audit
from intranet_metrics.loaders.base import read_source

SITE = "https://contoso.sharepoint.com/sites/intranet"
USER_TYPES = {"regular": 0, "admin": 2, "application": 5, "system": 4, "guest": 10}


def oracle_activity(obj: dict, sites: tuple[str, ...]) -> str:
    workload = str(obj.get("Workload") or "").lower()
    op = str(obj.get("Operation") or "").lower()
    if workload == "yammer":
        if op == "messagecreated":
            thread = obj.get("ThreadId")
            if thread in (None, "") or str(thread) == str(obj.get("MessageId")):
                return "thread_start"
            return "reply"
        return {"messageviewed": "message_read", "filecreated": "upload"}.get(op, "other")
    if workload not in ("sharepoint", "microsoftteams"):
        return "other"
    oid = str(obj.get("ObjectId") or "").lower()
    if workload == "sharepoint" and sites:
        inside = any(
            oid.startswith(s) and (len(oid) == len(s) or oid[len(s)] in "/?#") for s in sites
        )
        if not inside:
            return "other"
    if str(obj.get("RecordType", "")).strip().lower() in ("37", "sharepointcommentoperation"):
        return "other" if "delete" in op else "comment"
    if workload == "microsoftteams" and op == "messagesent":
        parent = obj.get("ParentMessageId")  # a parent equal to the message itself is none
        return (
            "post" if parent in (None, "") or str(parent) == str(obj.get("MessageId")) else "reply"
        )
    if workload == "microsoftteams" and op == "reactedtomessage":
        return "reaction"
    if op == "listitemcreated":
        return "page_create" if "/sitepages/" in oid or "/pages/" in oid else "other"
    return OPERATIONS.get(op, "other")


# SPEC section 6, written out here apart from the loader's rule table.
OPERATIONS = {
    "pageviewed": "page_view", "pageviewedextended": "page_view",
    "clientviewsignaled": "page_view", "fileaccessed": "file_view",
    "fileaccessedextended": "file_view", "filepreviewed": "file_view",
    "fileuploaded": "upload", "filemodified": "edit", "listitemupdated": "edit",
}  # fmt: skip


def oracle_user_type(value) -> int:
    if isinstance(value, bool):
        return -1
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    return USER_TYPES.get(text.lower(), m365_audit.USER_TYPES.get(text.lower(), -1))


def oracle_excluded(obj: dict) -> str | None:
    raw = obj.get("UserId")
    actor = raw if isinstance(raw, str) else ("" if raw is None else str(raw))
    norm = normalise_actor(actor)
    generic = actor_exclusion(norm)
    if generic:
        return generic
    ut = obj.get("UserType")
    people = ut is None or ut == "" or oracle_user_type(ut) in (0, 2)
    if people and "@" in norm:
        return None
    return "not_a_user" if people else "user_type"


def oracle_time(text: str) -> int | None:
    s = text.strip()
    if s[-1:] in ("Z", "z"):
        s = s[:-1] + "+00:00"
    head, dot, frac = s.partition(".")
    if dot:
        digits = "".join(c for c in frac[:7] if c.isdigit())
        s = f"{head}.{digits[:6].ljust(6, '0')}{frac[len(digits) :]}"
    try:
        t = datetime.fromisoformat(s)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return (t - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1)


def oracle(objs: list, sites: tuple[str, ...]) -> tuple[list[tuple], list[tuple[int, str]]]:
    """(line, activity, excluded, time us, item, thread) per stored record; (line, reason)
    per reject."""
    events, rejects = [], []
    for line, obj in enumerate(objs, start=1):
        if not isinstance(obj, dict):
            rejects.append((line, "AuditData is not a JSON object"))
            continue
        created = obj.get("CreationTime")
        if not created or not isinstance(created, str):
            rejects.append((line, "AuditData has no CreationTime"))
            continue
        if obj.get("Id") in (None, ""):
            rejects.append((line, "AuditData has no Id"))
            continue
        us = oracle_time(created)
        if us is None:
            rejects.append((line, "CreationTime is not ISO 8601"))
            continue
        item = obj.get("ObjectId") or obj.get("MessageId")
        thread = obj.get("ThreadId")
        events.append(
            (
                line,
                oracle_activity(obj, sites),
                oracle_excluded(obj),
                us,
                None if item is None else str(item),
                None if thread in (None, "") else str(thread),
            )
        )
    return events, rejects


FIRST = {"CreationTime": "2025-03-01T09:00:00", "Id": "first", "Workload": "SharePoint",
         "Operation": "PageViewed", "UserId": "ann@contoso.com", "UserType": 0,
         "ObjectId": f"{SITE}/SitePages/Home.aspx"}  # fmt: skip
names = st.sampled_from
odd = st.one_of(
    st.none(), st.integers(-3, 40), st.text(max_size=4), st.lists(st.integers(), max_size=1)
)
# (Workload, Operation) pairs a tenant's log holds, and some it should not.
PAIRS = [
    ("SharePoint", "PageViewed"), ("sharepoint", "FileAccessed"), ("SharePoint", "FileModified"),
    ("SharePoint", "ListItemCreated"), ("SharePoint", "CommentCreated"),
    ("SharePoint", "CommentDeleted"), ("SharePoint", "PagePrefetched"),
    ("Yammer", "MessageCreated"), ("yammer", "MessageCreated"), ("Yammer", "MessageViewed"),
    ("Yammer", "FileCreated"), ("MicrosoftTeams", "MessageSent"),
    ("MicrosoftTeams", "ReactedToMessage"), ("microsoftteams", "MessageSent"),
    ("MicrosoftTeams", "FileAccessed"), ("MicrosoftTeams", "MessageEditedHasLink"),
    ("Exchange", "Set-Mailbox"), ("OneDrive", "FileAccessed"), (None, "PageViewed"),
]  # fmt: skip
TIMES = [
    "2025-03-01T10:00:00", "2025-03-01T10:00:00Z", "2025-03-01T10:00:00.1234567Z",
    "2025-03-01T10:00:00+02:00", "2025-03-01 10:00:00", "2025-02-30T10:00:00",
    "03/01/2025 10:00:00", "2025-03-01T10:00:00.5", "",
]  # fmt: skip
USERS = [
    "ann@contoso.com", "i:0#.f|membership|Bob@Contoso.com", "app@sharepoint",
    "SHAREPOINT\\system", "NT AUTHORITY\\SYSTEM", "guest_x.com#EXT#@contoso.onmicrosoft.com",
    "S-1-5-18", "", None,
]  # fmt: skip
OBJECTS = [
    f"{SITE}/SitePages/News.aspx", f"{SITE}-archive/SitePages/Old.aspx",
    f"{SITE}/Lists/Tasks/1_.000", "https://contoso-my.sharepoint.com/x.docx", None, "",
]  # fmt: skip
RECORD_TYPES = [4, 6, 36, 37, "37", " 37 ", "SharePointCommentOperation", 22]
USER_TYPE_VALUES = [0, 0, 2, 4, 5, "0", "Regular", "Admin", "Application", "", None, True]
pair = st.one_of(names(PAIRS), names(PAIRS), names(PAIRS), st.tuples(odd, odd))
record = st.builds(
    lambda wo, rest: {"Workload": wo[0], "Operation": wo[1], **rest},
    pair,
    st.fixed_dictionaries(
        {
            "CreationTime": st.one_of(names(TIMES), names(TIMES), st.integers(0, 5)),
            "Id": st.one_of(st.uuids().map(str), st.uuids().map(str), names(["", None, 7])),
            "RecordType": st.one_of(names(RECORD_TYPES), odd),
            "UserId": st.one_of(names(USERS), names(USERS), st.integers(0, 3)),
            "UserType": st.one_of(names(USER_TYPE_VALUES), names(USER_TYPE_VALUES), odd),
            "ObjectId": names(OBJECTS),
            "MessageId": st.one_of(st.none(), st.integers(1, 3), names(["1", "2"])),
            "ThreadId": st.one_of(st.none(), st.integers(1, 3), names(["1", "", "3"])),
            "ParentMessageId": st.one_of(st.none(), names(["", "1617", 1617, "1", 2])),
        }
    ),
).map(lambda d: {k: v for k, v in d.items() if v is not None or k in ("UserType", "ThreadId")})
records = st.lists(
    st.one_of(record, record, record, st.just([1, 2]), st.just("text")), min_size=1, max_size=60
)


def check(path: Path, objs: list, sites: tuple, csv_export: bool) -> None:
    """Write ``objs`` as a JSON Lines file or a portal CSV export, load it, and compare."""
    if csv_export:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["CreationDate", "UserIds", "Operations", "AuditData"])
            w.writerows(["x", "y", "z", json.dumps(o)] for o in objs)
        offset = 1  # the header is line 1
    else:
        path.write_text("".join(json.dumps(o) + "\n" for o in objs), encoding="utf-8")
        offset = 0
    want_events, want_rejects = oracle(objs, sites)
    want_events = sorted((line + offset, *rest) for line, *rest in want_events)
    want_rejects = sorted((line + offset, why) for line, why in want_rejects)
    got_events, got_rejects, counts = stored(path, sites)
    assert got_events == want_events
    assert got_rejects == want_rejects
    assert counts["rows"] == len(objs)
    accounted = counts["events"] + counts["excluded"] + counts["other"] + counts["rejected"]
    assert counts["rows"] == accounted


def stored(path: Path, sites: tuple[str, ...]) -> tuple[list[tuple], list[tuple[int, str]], dict]:
    res = read_source(m365_audit, path, Config(sites=sites))
    got = sorted(
        (
            r["source_line"],
            r["activity"],
            r["excluded"],
            int(r["time"].timestamp() * 1_000_000) if r["time"] else None,
            r["item"],
            r["thread"],
        )
        for r in res.events.to_pylist()
    )
    rejected = sorted(
        (r["source_line"], r["reason"].split(":")[0]) for r in res.rejects.to_pylist()
    )
    return got, rejected, res.counts.to_dict()


@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(objs=records, sites=names([(), (SITE.lower(),)]), csv_export=st.booleans())
def test_loader_agrees_with_the_oracle(tmp_path: Path, objs: list, sites: tuple, csv_export: bool):
    path = tmp_path / ("audit.csv" if csv_export else "audit.jsonl")
    # A JSON Lines file is one whose first line is an object (else it is read as CSV).
    check(path, [FIRST, *objs], sites, csv_export)


@pytest.mark.parametrize("sites", [(), (SITE.lower(),)])
def test_every_combination_agrees_with_the_oracle(tmp_path: Path, sites: tuple) -> None:
    """Every listed workload/operation, record type, object, thread and user type, in one
    file: the rule cache must give each combination what the rules give it."""
    threads = [(None, None, None), (5, 5, ""), (5, 6, "5"), ("5", 5, None), ("", 5, 5)]
    objs = [
        {"CreationTime": TIMES[i % 3], "Id": f"id{i}", "Workload": w, "Operation": o,
         "RecordType": rt, "ObjectId": obj, "ThreadId": th, "MessageId": msg, "ParentMessageId": pm,
         "UserId": USERS[i % len(USERS)], "UserType": USER_TYPE_VALUES[i % len(USER_TYPE_VALUES)]}
        for i, ((w, o), rt, obj, (th, msg, pm)) in enumerate(
            itertools.product(PAIRS, RECORD_TYPES, OBJECTS, threads)
        )
    ]  # fmt: skip
    check(tmp_path / "all.jsonl", objs, sites, csv_export=False)
