from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from intranet_metrics.errors import InputError
from intranet_metrics.identity import is_concealed
from intranet_metrics.loaders import m365_audit, m365_usage
from intranet_metrics.loaders.base import read_head, read_source
from intranet_metrics.loaders.detect import detect

SP = "SharePointActivityUserDetail.csv"
ENGAGE = "YammerActivityUserDetail.csv"
TEAMS = "TeamsUserActivityUserDetail.csv"
SP_HEADER = (
    "Report Refresh Date,User Principal Name,Is Deleted,Deleted Date,Last Activity Date,"
    "Viewed Or Edited File Count,Synced File Count,Shared Internally File Count,"
    "Shared Externally File Count,Visited Page Count,Assigned Products,Report Period\n"
)


def sharepoint(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "sp.csv"
    path.write_text(SP_HEADER + "".join(r + "\n" for r in rows), encoding="utf-8-sig")
    return path


def by_activity(path: Path) -> dict[tuple[str, str], int]:
    ev = read_source(m365_usage, path).events.to_pylist()
    return {(e["actor"], e["activity"]): e["count"] for e in ev}


@pytest.fixture
def usage(data: Path) -> Path:
    return data / "m365_usage"


# -- sniffing ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [SP, ENGAGE, TEAMS])
def test_detects_reports_after_a_bom(usage: Path, name: str) -> None:
    path = usage / name
    assert read_head(path).startswith(b"\xef\xbb\xbf")
    assert m365_usage.sniff(path, read_head(path)) and detect(path) is m365_usage


def test_sniffs_quoted_header(tmp_path: Path) -> None:
    assert m365_usage.sniff(tmp_path, b'"Report Refresh Date","User Principal Name"\n')


@pytest.mark.parametrize("head", [b"CreationDate,UserIds,Operations,AuditData\n", b"", b"{}"])
def test_does_not_sniff_other_files(tmp_path: Path, head: bytes) -> None:
    assert not m365_usage.sniff(tmp_path, head)


def test_usage_report_is_not_taken_for_an_audit_log(usage: Path) -> None:
    path = usage / SP
    assert not m365_audit.sniff(path, read_head(path))


# -- the three reports -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "counts"),
    [
        # Records, not rows: jane's SharePoint row yields 2 aggregates, her Engage row 3.
        (SP, dict(rows=7, events=5, excluded=0, other=2, rejected=0)),
        (ENGAGE, dict(rows=5, events=4, excluded=0, other=1, rejected=0)),
        (TEAMS, dict(rows=3, events=2, excluded=0, other=1, rejected=0)),
    ],
)
def test_fixture_counts(usage: Path, name: str, counts: dict) -> None:
    c = read_source(m365_usage, usage / name).counts.to_dict()
    assert {k: c[k] for k in counts} == counts
    assert c["rows"] == c["events"] + c["excluded"] + c["other"] + c["rejected"]


def test_sharepoint_pages_and_files(usage: Path) -> None:
    got = by_activity(usage / SP)
    assert got[("jane@contoso.com", "page_view")] == 12
    assert got[("jane@contoso.com", "file_view")] == 4
    assert ("bob@contoso.com", "file_view") not in got  # synced files are not views


def test_engage_reads_likes_posts(usage: Path) -> None:
    got = by_activity(usage / ENGAGE)
    jane = {a: n for (u, a), n in got.items() if u == "jane@contoso.com"}
    assert jane == {"message_read": 40, "like": 5, "post": 2}


def test_teams_posts_and_replies_not_chats(usage: Path) -> None:
    got = by_activity(usage / TEAMS)
    assert got == {("jane@contoso.com", "post"): 2, ("jane@contoso.com", "reply"): 6}


def test_window_and_time(usage: Path) -> None:
    ev = read_source(m365_usage, usage / ENGAGE).events.to_pylist()[0]
    # Report Period 7 ending 2025-03-30: 24..30 March, both inclusive.
    assert (ev["window_start"], ev["window_end"]) == (date(2025, 3, 24), date(2025, 3, 30))
    assert ev["time"] == datetime(2025, 3, 24, tzinfo=timezone.utc)


@pytest.mark.parametrize(("name", "user"), [(SP, "old@contoso.com"), (ENGAGE, "bob@contoso.com")])
def test_deleted_users_still_count(usage: Path, name: str, user: str) -> None:
    ev = [e for e in read_source(m365_usage, usage / name).events.to_pylist() if e["actor"] == user]
    assert ev and all(e["excluded"] is None for e in ev)


def test_concealed_name_is_kept_as_the_actor(usage: Path) -> None:
    ev = read_source(m365_usage, usage / SP).events.to_pylist()
    concealed = [e for e in ev if is_concealed(e["actor"])]
    assert [(c["actor"], c["activity"], c["excluded"]) for c in concealed] == [
        ("0123456789abcdef0123456789abcdef", "file_view", None)
    ]


# -- rows --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "row",
    [
        "2025-03-30,idle@contoso.com,False,,,0,0,0,0,0,E3,30",
        "2025-03-30,idle@contoso.com,False,,,,,,,,E3,30",
        "2025-03-30,idle@contoso.com,False,,,0,5,3,1,0,E3,30",
    ],
)
def test_row_without_intranet_activity_is_one_other(tmp_path: Path, row: str) -> None:
    res = read_source(m365_usage, sharepoint(tmp_path, row))
    assert (res.counts.rows, res.counts.other, res.events.num_rows) == (1, 1, 0)


def test_event_key_is_stable_across_exports_and_differs_by_window(tmp_path: Path) -> None:
    row = "2025-03-30,Jane@Contoso.com,False,,,0,0,0,0,3,E3,{}"
    a = read_source(m365_usage, sharepoint(tmp_path, row.format(30))).events
    b = read_source(m365_usage, sharepoint(tmp_path, row.format(30).lower())).events
    c = read_source(m365_usage, sharepoint(tmp_path, row.format(7))).events
    assert a.column("event_key").equals(b.column("event_key"))
    assert not a.column("event_key").equals(c.column("event_key"))


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("30/03/2025,a@contoso.com,False,,,0,0,0,0,3,E3,30", "Report Refresh Date is not a date"),
        ("2025-03-30,a@contoso.com,False,,,0,0,0,0,3,E3,", "Report Period is not"),
        ("2025-03-30,a@contoso.com,False,,,0,0,0,0,3,E3,0", "Report Period is not"),
        ("2025-03-30,,False,,,0,0,0,0,3,E3,30", "empty User Principal Name"),
        ("2025-03-30,a@contoso.com,False,,,x,0,0,0,3,E3,30", "is not a count"),
        ("2025-03-30,a@contoso.com,False,,,-1,0,0,0,3,E3,30", "is negative"),
        ("2025-03-30,a@contoso.com,False,,,0,0,0,0,3,30", "11 values for 12 columns"),
    ],
)
def test_bad_rows_are_rejected_and_reading_continues(tmp_path: Path, row: str, reason: str) -> None:
    good = "2025-03-30,b@contoso.com,False,,,0,0,0,0,3,E3,30"
    res = read_source(m365_usage, sharepoint(tmp_path, row, good))
    assert (res.counts.rejected, res.counts.events) == (1, 1)
    assert reason in res.rejects.column("reason")[0].as_py()


def test_onedrive_report_is_not_sharepoint(tmp_path: Path) -> None:
    path = tmp_path / "od.csv"
    path.write_text(
        "Report Refresh Date,Owner Principal Name,Viewed Or Edited File Count,Report Period\n"
        "2025-03-30,a@contoso.com,3,7\n"
    )
    with pytest.raises(InputError, match="user detail"):
        read_source(m365_usage, path)
