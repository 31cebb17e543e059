from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from intranet_metrics.config import Config
from intranet_metrics.errors import InputError
from intranet_metrics.loaders import generic, m365_audit, m365_usage
from intranet_metrics.loaders.base import read_head, read_source
from intranet_metrics.loaders.detect import detect

SITE = "https://contoso.sharepoint.com/sites/intranet"


def record(**kw) -> dict:
    """One AuditData object: a regular user's SharePoint page view unless overridden."""
    obj = {
        "CreationTime": "2025-03-04T09:00:00",
        "Id": "e0000000-0000-0000-0000-000000000001",
        "Operation": "PageViewed",
        "RecordType": 4,
        "UserType": 0,
        "Workload": "SharePoint",
        "ObjectId": f"{SITE}/SitePages/Home.aspx",
        "UserId": "jane@contoso.com",
    }
    obj.update(kw)
    return {k: v for k, v in obj.items() if v is not None}


def jsonl(tmp_path: Path, *objs: dict, name: str = "audit.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(o) + "\n" for o in objs), encoding="utf-8")
    return path


def one(tmp_path: Path, config: Config | None = None, **kw):
    """The single stored row of a one-record JSON Lines file, as a dict."""
    res = read_source(m365_audit, jsonl(tmp_path, record(**kw)), config)
    return res.events.to_pylist()[0]


# -- sniffing ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["portal.csv", "powershell.csv", "purview.csv", "audit.jsonl"])
def test_detects_every_variant(data: Path, name: str) -> None:
    path = data / "m365_audit" / name
    assert m365_audit.sniff(path, read_head(path)) and detect(path) is m365_audit


@pytest.mark.parametrize(
    "head",
    [
        b"timestamp,user,activity\n2025-01-01,a,page_view\n",
        b'{"timestamp": "2025-01-01", "user": "a", "activity": "like"}\n',
        b"Report Refresh Date,User Principal Name,Report Period\n",
        b"",
    ],
)
def test_does_not_sniff_other_files(tmp_path: Path, head: bytes) -> None:
    assert not m365_audit.sniff(tmp_path / "x", head)


def test_sniffs_json_line_cut_by_the_head(tmp_path: Path) -> None:
    line = json.dumps(record(Parameters="x" * 70_000)).encode()
    assert m365_audit.sniff(tmp_path / "x", line[: 64 * 1024])


def test_generic_would_also_sniff_so_order_matters(data: Path) -> None:
    # generic accepts any CSV header: detection must try m365-audit first.
    path = data / "m365_audit" / "purview.csv"
    assert generic.sniff(path, read_head(path)) and not m365_usage.sniff(path, read_head(path))
    assert detect(path) is m365_audit


# -- the three CSV variants and JSON Lines -----------------------------------------------------
@pytest.mark.parametrize(
    ("name", "counts"),
    [
        ("portal.csv", dict(rows=6, events=3, excluded=0, other=1, rejected=2)),
        ("powershell.csv", dict(rows=4, events=3, excluded=1, other=0, rejected=0)),
        ("purview.csv", dict(rows=4, events=2, excluded=2, other=0, rejected=0)),
        ("audit.jsonl", dict(rows=5, events=1, excluded=1, other=1, rejected=2)),
    ],
)
def test_fixture_counts(data: Path, name: str, counts: dict) -> None:
    c = read_source(m365_audit, data / "m365_audit" / name).counts.to_dict()
    assert {k: c[k] for k in counts} == counts


def test_multiline_audit_data_keeps_its_starting_line(data: Path) -> None:
    ev = read_source(m365_audit, data / "m365_audit" / "portal.csv").events.to_pylist()
    # Record 1 spans lines 2-12 (pretty-printed JSON in one quoted field, after a BOM).
    assert [e["source_line"] for e in ev] == [2, 13, 14, 15]
    assert ev[0]["activity"] == "page_view" and ev[0]["actor"] == "jane@contoso.com"


def test_time_comes_from_creation_time_not_creation_date(data: Path) -> None:
    # powershell.csv has CreationDate '02.03.2025 23:00:00' (culture-formatted): ignored.
    ev = read_source(m365_audit, data / "m365_audit" / "powershell.csv").events.to_pylist()
    assert ev[0]["time"] == datetime(2025, 3, 2, 23, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-04T09:00:00", datetime(2025, 3, 4, 9, 0, tzinfo=timezone.utc)),
        ("2025-03-04T09:00:00Z", datetime(2025, 3, 4, 9, 0, tzinfo=timezone.utc)),
        ("2025-03-04T09:00:00.1234567", datetime(2025, 3, 4, 9, 0, 0, 123456, timezone.utc)),
        ("2025-03-04T10:00:00+01:00", datetime(2025, 3, 4, 9, 0, tzinfo=timezone.utc)),
    ],
)
def test_creation_time_is_utc(tmp_path: Path, text: str, expected: datetime) -> None:
    assert one(tmp_path, CreationTime=text)["time"] == expected


def test_event_key_is_the_audit_id_across_files(tmp_path: Path, data: Path) -> None:
    # The same record in a CSV and a JSON Lines export dedupes in the store by key.
    a = read_source(m365_audit, data / "m365_audit" / "purview.csv").events.to_pylist()[0]
    b = one(tmp_path, Id="cccccccc-0000-0000-0000-000000000001", CreationTime="2025-03-03T08:00:00")
    assert a["event_key"] == b["event_key"]


def test_nested_audit_data_rows_in_json_lines(tmp_path: Path) -> None:
    row = {"RecordType": 4, "AuditData": json.dumps(record())}
    res = read_source(m365_audit, jsonl(tmp_path, row))
    assert res.events.column("activity").to_pylist() == ["page_view"]


def test_csv_without_audit_data_column_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("CreationDate,UserIds,Operations\n1/1/2025,a@b.c,PageViewed\n")
    with pytest.raises(InputError, match="AuditData"):
        read_source(m365_audit, path)


# -- operations --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kw", "activity"),
    [
        (dict(Operation="PageViewed"), "page_view"),
        (dict(Operation="PageViewedExtended"), "page_view"),
        (dict(Operation="ClientViewSignaled"), "page_view"),
        (dict(Operation="FileAccessed"), "file_view"),
        (dict(Operation="FileAccessedExtended"), "file_view"),
        (dict(Operation="FilePreviewed"), "file_view"),
        (dict(Operation="FileUploaded"), "upload"),
        (dict(Operation="FileModified"), "edit"),
        (dict(Operation="ListItemUpdated"), "edit"),
        (dict(Operation="PagePrefetched"), "other"),
        (dict(Operation="FileDeleted"), "other"),
        (dict(Operation="ListItemCreated"), "page_create"),
        (dict(Operation="ListItemCreated", ObjectId=f"{SITE}/Pages/News.aspx"), "page_create"),
        (dict(Operation="ListItemCreated", ObjectId=f"{SITE}/Lists/Tasks/1_.000"), "other"),
        (dict(Operation="CommentCreated", RecordType=37), "comment"),
        (dict(Operation="CommentUpdated", RecordType="37"), "comment"),
        (dict(Operation="CommentCreated", RecordType="SharePointCommentOperation"), "comment"),
        (dict(Operation="CommentDeleted", RecordType=37), "other"),
        (dict(Operation="PageViewed", Workload="OneDrive"), "other"),
        (dict(Operation="FileAccessed", Workload="Exchange"), "other"),
        (dict(Operation="UserLoggedIn", Workload="AzureActiveDirectory"), "other"),
    ],
)
def test_sharepoint_and_other_operations(tmp_path: Path, kw: dict, activity: str) -> None:
    assert one(tmp_path, **kw)["activity"] == activity


def teams(**kw) -> dict:
    """A Teams message record as the audit log writes it (RecordType 25, no ObjectId)."""
    base = dict(
        Workload="MicrosoftTeams",
        RecordType=25,
        ObjectId=None,
        MessageId="1700000000001",
        ChannelName="General",
        TeamName="Intranet",
        CommunicationType="Channel",
    )
    return {**base, **kw}


@pytest.mark.parametrize(
    ("kw", "activity"),
    [
        (dict(Operation="MessageSent"), "post"),
        (dict(Operation="MessageSent", ParentMessageId=""), "post"),
        (dict(Operation="MessageSent", ParentMessageId="1699999999999"), "reply"),
        (dict(Operation="MessageSent", ParentMessageId=1699999999999), "reply"),
        (dict(Operation="messagesent", Workload="microsoftteams"), "post"),
        (dict(Operation="ReactedToMessage"), "reaction"),
        (dict(Operation="MessageEditedHasLink"), "other"),
        (dict(Operation="MessageCreatedHasLink"), "other"),
        (dict(Operation="MessageDeleted"), "other"),
        (dict(Operation="MessageSent", Workload="Yammer"), "other"),
    ],
)
def test_teams_messages_and_reactions(tmp_path: Path, kw: dict, activity: str) -> None:
    ev = one(tmp_path, **teams(**kw))
    assert ev["activity"] == activity
    assert ev["item"] == "1700000000001" and ev["channel"] == "General"
    if activity == "reply":
        assert ev["parent"] == "1699999999999"


@pytest.mark.parametrize(
    ("kw", "activity"),
    [
        (dict(Operation="MessageCreated", MessageId=11, ThreadId=11), "thread_start"),
        (dict(Operation="MessageCreated", MessageId=11), "thread_start"),
        (dict(Operation="MessageCreated", MessageId=12, ThreadId=11), "reply"),
        (dict(Operation="MessageCreated", MessageId="12", ThreadId=12), "thread_start"),
        (dict(Operation="MessageViewed", MessageId=11), "message_read"),
        (dict(Operation="FileCreated"), "upload"),
        (dict(Operation="MessageLiked", MessageId=11), "other"),
    ],
)
def test_yammer_operations(tmp_path: Path, kw: dict, activity: str) -> None:
    kw = {"Workload": "Yammer", "RecordType": 22, "ObjectId": None, **kw}
    assert one(tmp_path, **kw)["activity"] == activity


def test_yammer_item_thread_and_64_bit_ids(tmp_path: Path) -> None:
    ev = one(
        tmp_path,
        Workload="Yammer",
        Operation="MessageCreated",
        ObjectId=None,
        MessageId=1234567890123456790,
        ThreadId=1234567890123456789,
    )
    assert (ev["item"], ev["thread"]) == ("1234567890123456790", "1234567890123456789")


# -- sites -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("object_id", "activity"),
    [
        (f"{SITE}/SitePages/Home.aspx", "page_view"),
        (f"{SITE.upper()}/SITEPAGES/HOME.ASPX", "page_view"),
        (f"{SITE}", "page_view"),
        (f"{SITE}-archive/SitePages/Home.aspx", "other"),
        ("https://contoso.sharepoint.com/sites/hr/SitePages/Home.aspx", "other"),
    ],
)
def test_sites_narrow_sharepoint_by_object_id(
    tmp_path: Path, object_id: str, activity: str
) -> None:
    cfg = Config(sites=(SITE + "/",))
    assert one(tmp_path, cfg, ObjectId=object_id)["activity"] == activity


def test_sites_do_not_narrow_yammer(tmp_path: Path) -> None:
    cfg = Config(sites=(SITE,))
    ev = one(tmp_path, cfg, Workload="Yammer", Operation="MessageViewed", ObjectId=None)
    assert ev["activity"] == "message_read"


# -- exclusions --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("user_type", "reason"),
    [
        (0, None),
        (2, None),
        ("0", None),
        ("Regular", None),
        ("admin", None),
        (None, None),
        (3, "user_type"),
        ("DcAdmin", "user_type"),
        ("Application", "user_type"),
        ("5", "user_type"),
        ("ServicePrincipal", "user_type"),
        ("SomethingNew", "user_type"),
    ],
)
def test_user_type(tmp_path: Path, user_type, reason: str | None) -> None:
    assert one(tmp_path, UserType=user_type)["excluded"] == reason


@pytest.mark.parametrize(
    ("user", "user_type", "reason"),
    [
        ("S-1-5-21-1004", 0, "not_a_user"),
        ("SHAREPOINT\\system", 0, "system_account"),
        ("app@sharepoint", 5, "system_account"),
        ("NT AUTHORITY\\SYSTEM (Microsoft.Exchange.Servicehost)", 3, "system_account"),
        ("guest_fabrikam.com#EXT#@contoso.onmicrosoft.com", 0, "guest"),
    ],
)
def test_actor_exclusions_come_first(tmp_path: Path, user: str, user_type, reason: str) -> None:
    ev = one(tmp_path, UserId=user, UserType=user_type, Workload="Exchange")
    # Excluded, not merely 'other': the reason is what the ingest summary shows.
    assert ev["excluded"] == reason


# -- rejects -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "not a JSON object"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps(record(CreationTime=None)), "no CreationTime"),
        (json.dumps(record(Id=None)), "no Id"),
        (json.dumps(record(CreationTime="yesterday")), "not ISO 8601"),
        (json.dumps(record(CreationTime="1980-01-01T00:00:00")), "out of range"),
    ],
)
def test_bad_records_are_rejected_and_reading_continues(
    tmp_path: Path, line: str, reason: str
) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(record()) + "\n" + line + "\n" + json.dumps(record()) + "\n")
    res = read_source(m365_audit, path)
    assert res.counts.rejected == 1 and res.counts.events == 2
    assert reason in res.rejects.column("reason")[0].as_py()
    assert res.rejects.column("source_line").to_pylist() == [2]


# -- real samples ------------------------------------------------------------------------------
def test_sample_powershell_export_has_only_system_rows(samples: Path) -> None:
    path = samples / "ual-csv-search-unifiedauditlog" / "TestFormated.csv"
    assert detect(path) is m365_audit
    res = read_source(m365_audit, path)
    c = res.counts.to_dict()
    assert (c["rows"], c["events"], c["other"], c["rejected"]) == (4, 0, 0, 0)
    assert c["excluded_by_reason"] == {"system_account": 4}
    # 49-line pretty-printed AuditData per record.
    assert res.events.column("source_line").to_pylist() == [2, 51, 100, 149]


def test_sample_jsonl_system_cmdlets_and_a_login(samples: Path) -> None:
    path = samples / "ual-jsonl-plaso" / "microsoft_audit_log.jsonl"
    assert detect(path) is m365_audit
    c = read_source(m365_audit, path).counts.to_dict()
    assert (c["rows"], c["events"], c["other"], c["rejected"]) == (4, 0, 1, 0)
    assert c["excluded_by_reason"] == {"system_account": 3}
