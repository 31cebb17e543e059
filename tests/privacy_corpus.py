"""A privacy test corpus: one small organisation written in every export format, with known
names planted wherever a real export carries them (actors, personal-site paths, OneDrive
URLs, Slack direct and group-direct channels, bad rows, bad roster rows). Used by
tests/test_privacy_corpus.py, which runs every command under a key and greps every byte
written for the planted names."""

from __future__ import annotations

import csv
import json
import zipfile
from datetime import datetime, timezone
from pathlib import Path

# Every spelling of the planted people a leak could take (matched case-insensitively).
PLANTED = (
    "jane.doe",
    "jane doe",
    "jane_doe",
    "jane-doe",
    "jdoe",
    "anna.jansen",
    "anna jansen",
    "anna_jansen",
    "bram.devries",
    "bram de vries",
    "U0JANEDOE",
    "U0ANNAJ",
    "U0BRAMV",
    "EMP4711",
    "EMP4712",
    "EMP4713",
)
JANE = "jane.doe@contoso.com"
ANNA = "anna.jansen@contoso.com"
BRAM = "bram.devries@contoso.com"
FILLER = [f"p{i:02d}@contoso.com" for i in range(12)]
MPDM = "mpdm-anna.jansen--bram.devries-1"
DM = "D0JANE0001"
PERSONAL = "/personal/jane_doe_contoso_com/Documents/CV-Jane-Doe.docx"
ONEDRIVE = "https://contoso-my.sharepoint.com" + PERSONAL


def _ts(day: int, hour: int = 10) -> str:
    t = datetime(2026, 3, day, hour, tzinfo=timezone.utc)
    return f"{int(t.timestamp())}.000100"


def roster(path: Path) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["user_id", "email", "upn", "aliases", "department"])
        w.writerow(["EMP4711", JANE, JANE, "CONTOSO\\jdoe;U0JANEDOE", "Comms"])
        w.writerow(["EMP4712", ANNA, "", "U0ANNAJ", "Comms"])
        w.writerow(["EMP4713", BRAM, "", "U0BRAMV", "IT"])
        for i, email in enumerate(FILLER):
            w.writerow([f"F{i:03d}", email, "", "", ["Comms", "IT"][i % 2]])


# Bad roster files and the planted value each message must not print.
BAD_ROSTERS = {
    "duplicate_user_id": "user_id,email\nEMP4711,a@x.com\nemp4711,b@x.com\n",
    "alias_clash": f"user_id,email,aliases\nE1,{JANE},\nE2,b@x.com,{JANE}\n",
    "bad_date": "user_id,start_date\nEMP4711,jane.doe\n",
    "width": f"user_id,email\nEMP4711,{JANE},extra\n",
    "no_header": f"EMP4711,{JANE},Comms\n",
}


def iis(path: Path) -> None:
    fields = (
        "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username "
        "c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken"
    )
    rows = [
        "#Software: Microsoft Internet Information Services 10.0",
        fields,
        f"2026-03-02 08:00:01 10.0.0.5 GET {PERSONAL} - 443 0#.w|contoso\\jdoe 10.1.2.3 "
        "Mozilla/5.0 - 200 0 0 120",
        "2026-03-02 08:00:02 10.0.0.5 GET /personal/jane_doe_contoso_com/SitePages/Home.aspx "
        f"- 443 i:0#.f|membership|{JANE} 10.1.2.3 Mozilla/5.0 - 200 0 0 12",
        "2026-03-17 08:00:03 10.0.0.5 GET /sites/intranet/SitePages/Home.aspx - 443 "
        f"i:0#.f|membership|{ANNA} 10.1.2.3 Mozilla/5.0 - 200 0 0 12",
        # Bad rows: a bad date and a short row, both naming Jane.
        "2026-13-02 08:00:04 10.0.0.5 GET /sites/intranet/SitePages/Home.aspx - 443 "
        "0#.w|contoso\\jdoe 10.1.2.3 Mozilla/5.0 - 200 0 0 12",
        f"2026-03-02 08:00:05 GET {PERSONAL} 0#.w|contoso\\jdoe",
    ]
    path.write_text("\n".join(rows) + "\n")


def apache(path: Path) -> None:
    rows = [
        f'10.0.0.1 - {JANE} [02/Mar/2026:10:00:00 +0000] "GET /personal/jane_doe_contoso_com/'
        'cv.html HTTP/1.1" 200 123 "-" "Mozilla/5.0"',
        f'10.0.0.1 - {BRAM} [17/Mar/2026:10:00:00 +0000] "GET /news/index.html HTTP/1.1" 200 '
        '123 "-" "Mozilla/5.0"',
        f'10.0.0.1 - {JANE} [32/Mar/2026:10:00:00 +0000] "GET /x.html HTTP/1.1" 200 1 "-" "M"',
        f"this line names {JANE} and is no log line",
    ]
    path.write_text("\n".join(rows) + "\n")


def _audit(n: int, day: int, **fields) -> dict:
    base = {
        "CreationTime": f"2026-03-{day:02d}T09:00:00",
        "Id": f"dddddddd-0000-0000-0000-{n:012d}",
        "Operation": "FileAccessed",
        "RecordType": 6,
        "UserType": 0,
        "Workload": "SharePoint",
        "UserId": JANE,
        "ObjectId": ONEDRIVE,
        "SiteUrl": "https://contoso-my.sharepoint.com/personal/jane_doe_contoso_com/",
    }
    return {**base, **fields}


def audit_records() -> list[dict]:
    return [
        _audit(1, 2),
        _audit(2, 3, Workload="OneDrive"),
        _audit(
            3,
            17,
            UserId=ANNA,
            Operation="PageViewed",
            ObjectId=("https://contoso.sharepoint.com/sites/hr/Person.aspx?accountname=" + ANNA),
            SiteUrl="https://contoso.sharepoint.com/sites/hr/",
        ),
        _audit(
            4,
            18,
            UserId=BRAM,
            Workload="MicrosoftTeams",
            Operation="MessageSent",
            ObjectId=None,
            SiteUrl=None,
            ChannelName=MPDM,
        ),
        _audit(5, 4, Workload="AzureActiveDirectory", Operation="Update user.", ObjectId=BRAM),
        _audit(6, 5, CreationTime=JANE),  # a shifted column: a name where the time goes
    ]


def audit_csv(path: Path) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["CreationDate", "UserIds", "Operations", "AuditData"])
        for r in audit_records():
            w.writerow(["3/2/2026 10:00:00 AM", r["UserId"], r["Operation"], json.dumps(r)])
        w.writerow(["3/2/2026 10:00:00 AM", JANE, "FileAccessed", '{"UserId": "' + JANE])


def audit_jsonl(path: Path) -> None:
    lines = [json.dumps({**r, "Id": r["Id"].replace("dddd", "eeee")}) for r in audit_records()]
    lines.append('{"UserId": "' + JANE + '", ')
    path.write_text("\n".join(lines) + "\n")


def usage(path: Path) -> None:
    header = (
        "Report Refresh Date,User Principal Name,Is Deleted,Deleted Date,Last Activity Date,"
        "Viewed Or Edited File Count,Synced File Count,Shared Internally File Count,"
        "Shared Externally File Count,Visited Page Count,Assigned Products,Report Period"
    )
    rows = [
        f"2026-03-14,{JANE},False,,2026-03-13,4,0,1,0,12,OFFICE 365 E3,7",
        f"2026-03-28,{ANNA},False,,2026-03-27,0,0,0,0,3,OFFICE 365 E3,7",
        f"2026-03-28,{BRAM},False,,2026-03-27,jane.doe,0,0,0,3,OFFICE 365 E3,7",
        f"{JANE},{BRAM},False,,2026-03-27,1,0,0,0,3,OFFICE 365 E3,7",
        f"2026-03-28,{BRAM},False,,2026-03-27,1,0,0,0,3,OFFICE 365 E3,{JANE}",
    ]
    path.write_text("\n".join([header, *rows]) + "\n")


def engage(folder: Path) -> None:
    folder.mkdir()
    (folder / "Users.csv").write_text(
        "id,name,email,state\n"
        f"1234567890123456789,Jane Doe,{JANE},active\n"
        f"1234567890123456788,Anna Jansen,{ANNA},active\n"
    )
    header = (
        "id,replied_to_id,thread_id,group_id,group_name,participants,in_private_group,"
        "in_private_conversation,sender_id,sender_type,sender_name,sender_email,body,created_at"
    )
    rows = [
        "2000000000000000001,,2000000000000000001,5000000000000000001,All Company,,false,"
        f"false,1234567890123456789,user,Jane Doe,{JANE},Hello,2026-03-02T10:00:00Z",
        "2000000000000000002,2000000000000000001,2000000000000000001,5000000000000000002,"
        "Jane Doe and friends,,true,false,1234567890123456788,user,Anna Jansen,,Hi,"
        "2026-03-17T10:00:00Z",
        "2000000000000000003,,2000000000000000003,5000000000000000003,Team of jane.doe@contoso"
        ".com,,false,false,1234567890123456788,user,Anna Jansen,,Hi,2026-03-18T10:00:00Z",
        "2000000000000000004,,2000000000000000004,,,1234567890123456789;1234567890123456788,"
        f"false,true,1234567890123456789,user,Jane Doe,{JANE},Secret,2026-03-19T10:00:00Z",
        "2000000000000000005,,2000000000000000005,5000000000000000001,All Company,,false,"
        f"false,1234567890123456789,user,Jane Doe,{JANE},Hello,{JANE}",
        f"2000000000000000006,,,,{JANE}",
    ]
    (folder / "Messages.csv").write_text("\n".join([header, *rows]) + "\n")


def slack(folder: Path) -> None:
    folder.mkdir()
    users = [
        {"id": "U0JANEDOE", "name": "jane.doe", "profile": {"real_name": "Jane Doe"}},
        {"id": "U0ANNAJ", "name": "anna.jansen", "profile": {"real_name": "Anna Jansen"}},
        {
            "id": "U0BRAMV",
            "name": "bram.devries",
            "profile": {"real_name": "Bram de Vries", "email": BRAM},
        },
    ]
    (folder / "users.json").write_text(json.dumps(users))
    (folder / "channels.json").write_text(json.dumps([{"id": "C01", "name": "general"}]))
    (folder / "dms.json").write_text(json.dumps([{"id": DM, "members": ["U0JANEDOE"]}]))
    (folder / "mpims.json").write_text(
        json.dumps([{"id": "G01", "name": MPDM, "members": ["U0ANNAJ", "U0BRAMV"]}])
    )
    days = {
        "general/2026-03-02.json": [
            {"type": "message", "user": "U0JANEDOE", "text": "hi all", "ts": _ts(2)},
        ],
        f"{DM}/2026-03-03.json": [
            {"type": "message", "user": "U0JANEDOE", "text": "note to self", "ts": _ts(3)},
        ],
        f"{MPDM}/2026-03-17.json": [
            {
                "type": "message",
                "user": "U0ANNAJ",
                "text": "hi Bram",
                "ts": _ts(17),
                "reactions": [{"name": "+1", "users": ["U0BRAMV"], "count": 1}],
            },
            {"type": "message", "user": "U0ANNAJ", "text": "bad", "ts": "jane.doe"},
            {"type": "message", "user": "U0ANNAJ", "text": "bad", "ts": _ts(18)[:3] + "x"},
        ],
    }
    for name, messages in days.items():
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_text(json.dumps(messages))
    (folder / f"{DM}/2026-03-04.json").write_text('[{"user": "U0JANEDOE", "ts": ')


def slack_zip(folder: Path, dest: Path) -> None:
    with zipfile.ZipFile(dest, "w") as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(folder).as_posix())


def generic_csv(path: Path) -> None:
    rows = [
        "timestamp,user,activity,item,parent,thread,channel",
        f"2026-03-02T10:00:00Z,{JANE},file_view,{PERSONAL},,,",
        f"2026-03-17T10:00:00Z,{ANNA},post,m1,,,{MPDM}",
        f"2026-03-18T10:00:00Z,{BRAM},reply,m2,{ONEDRIVE},m1,{DM}",
        f"2026-03-18T11:00:00Z,{BRAM},like,https://contoso.com/profile/{JANE},,,general",
        f"{JANE},{ANNA},like,/x,,,",  # the example: a name where the time goes
        f"2026-03-18T12:00:00Z,{BRAM},{JANE},/x,,,",
        f"2026-03-18T12:00:00Z,{BRAM},like",
    ]
    path.write_text("\n".join(rows) + "\n")


def generic_jsonl(path: Path) -> None:
    rows = [
        {
            "timestamp": "2026-03-03T10:00:00Z",
            "user": JANE,
            "activity": "upload",
            "item": ONEDRIVE,
            "channel": MPDM,
        },
        {
            "timestamp": "2026-03-19T10:00:00Z",
            "user": ANNA,
            "activity": "comment",
            "item": "c1",
            "parent": PERSONAL,
            "thread": f"thread of {JANE}",
        },
        {"timestamp": JANE, "user": ANNA, "activity": "like"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + f"\nnot json {JANE}\n")


def write_corpus(root: Path) -> Path:
    """Every format under ``root/exports``, the roster at ``root/roster.csv``; returns the
    exports folder."""
    ex = root / "exports"
    ex.mkdir(parents=True)
    roster(root / "roster.csv")
    iis(ex / "u_ex260302.log")
    apache(ex / "access.log")
    audit_csv(ex / "audit.csv")
    audit_jsonl(ex / "audit.jsonl")
    usage(ex / "SharePointActivityUserDetail.csv")
    engage(ex / "engage")
    slack(root / "slack")
    slack_zip(root / "slack", ex / "slack-export.zip")
    generic_csv(ex / "events.csv")
    generic_jsonl(ex / "events.jsonl")
    return ex
