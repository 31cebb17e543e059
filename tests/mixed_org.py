"""One organisation whose activity is spread over every real export format, with a known
truth: which person did which action class, and a roster whose aliases tie them together."""

from __future__ import annotations

import csv
import json
import random
import uuid
import zipfile
from pathlib import Path

DAY = "2026-03-{:02d}"
CLASSES = ("view", "react", "contribute")


class Org:
    def __init__(self, seed: int = 3, people: int = 30) -> None:
        self.rng = random.Random(seed)
        self.n = people
        self.truth: dict[int, set[str]] = {i: set() for i in range(people)}

    # identities -------------------------------------------------------------------------
    @staticmethod
    def email(i: int) -> str:
        return f"p{i}@contoso.com"

    @staticmethod
    def engage_id(i: int) -> str:
        return str(1234567890000000000 + i)  # > 2**53: must stay a string

    @staticmethod
    def slack_id(i: int) -> str:
        return f"U{i:05d}"

    def did(self, i: int, cls: str) -> None:
        self.truth[i].add(cls)

    def some(self, share: float) -> list[int]:
        return [i for i in range(self.n) if self.rng.random() < share]

    def when(self) -> tuple[str, str]:
        day = DAY.format(self.rng.randint(2, 27))
        return day, f"{self.rng.randint(7, 18):02d}:{self.rng.randint(0, 59):02d}:00"

    # files ------------------------------------------------------------------------------
    def roster(self, path: Path) -> None:
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["user_id", "email", "aliases", "department"])
            for i in range(self.n):
                aliases = f"CONTOSO\\p{i};{self.slack_id(i)};{self.engage_id(i)}"
                w.writerow([f"E{i:03d}", self.email(i), aliases, ["Ops", "IT", "HR"][i % 3]])

    def iis(self, path: Path) -> None:
        lines = [
            "#Software: Microsoft Internet Information Services 10.0",
            "#Version: 1.0",
            "#Date: 2026-03-01 00:00:00",
            "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username "
            "c-ip cs(User-Agent) sc-status sc-substatus sc-win32-status time-taken",
        ]
        ua = "Mozilla/5.0+(Windows+NT+10.0)"
        for i in self.some(0.5):
            d, t = self.when()
            user = f"0#.w|contoso\\p{i}"
            lines.append(
                f"{d} {t} 10.0.0.1 GET /sites/intranet/SitePages/News{i}.aspx - 443 "
                f"{user} 10.1.0.{i} {ua} 200 0 0 50"
            )
            lines.append(
                f"{d} {t} 10.0.0.1 GET /_layouts/15/images/x.png - 443 {user} "
                f"10.1.0.{i} {ua} 200 0 0 2"
            )
            self.did(i, "view")
        d, t = self.when()
        lines.append(
            f"{d} {t} 10.0.0.1 GET /sites/intranet/SitePages/Home.aspx - 443 "
            "0#.w|contoso\\crawl 10.0.0.9 Mozilla/4.0+(compatible;+MS+Search+6.0+Robot)"
            " 200 0 0 9"
        )
        path.write_bytes(("\r\n".join(lines) + "\r\n").encode())

    def _audit(self, i: int | None, op: str, workload: str, user: str, **extra) -> dict:
        d, t = self.when()
        rec = {
            "CreationTime": f"{d}T{t}",
            "Id": str(uuid.UUID(int=self.rng.getrandbits(128))),
            "Operation": op,
            "RecordType": 4,
            "UserType": 0,
            "Workload": workload,
            "UserId": user,
            "ObjectId": "https://contoso.sharepoint.com/sites/intranet/SitePages/Home.aspx",
        }
        rec.update(extra)
        return rec

    def audit_portal(self, path: Path) -> list[dict]:
        recs = []
        for i in self.some(0.4):
            recs.append(self._audit(i, "PageViewed", "SharePoint", self.email(i).upper()))
            self.did(i, "view")
        for i in self.some(0.1):
            recs.append(self._audit(i, "FileUploaded", "SharePoint", self.email(i)))
            self.did(i, "contribute")
        recs.append(self._audit(None, "PageViewed", "SharePoint", "app@sharepoint", UserType=5))
        with open(path, "w", newline="", encoding="utf-8-sig") as fh:
            w = csv.writer(fh)
            w.writerow(["CreationDate", "UserIds", "Operations", "AuditData"])
            for r in recs:
                w.writerow(
                    ["3/5/2026 10:00:00 AM", r["UserId"], r["Operation"], json.dumps(r, indent=2)]
                )
        return recs

    def audit_jsonl(self, path: Path, overlap: list[dict]) -> None:
        recs = list(overlap[:3])  # stitched exports overlap: the same Ids again
        for i in self.some(0.3):
            tid = str(self.rng.getrandbits(60))
            recs.append(
                self._audit(
                    i, "MessageCreated", "Yammer", self.email(i), MessageId=tid, ThreadId=tid
                )
            )
            self.did(i, "contribute")
        for i in self.some(0.3):
            recs.append(
                self._audit(
                    i, "MessageCreated", "Yammer", self.email(i), MessageId="77", ThreadId="76"
                )
            )
            self.did(i, "react")
        path.write_text("".join(json.dumps(r) + "\n" for r in recs))

    def engage_export(self, folder: Path) -> None:
        folder.mkdir()
        with open(folder / "Users.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["id", "name", "email", "state"])
            for i in range(0, self.n, 2):  # half the people are in Users.csv
                w.writerow([self.engage_id(i), f"P {i}", self.email(i), "active"])
        with open(folder / "Messages.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(
                [
                    "id",
                    "replied_to_id",
                    "thread_id",
                    "group_id",
                    "sender_id",
                    "sender_type",
                    "sender_email",
                    "body",
                    "created_at",
                    "deleted_at",
                ]
            )
            mid = 9000000000000000000
            for i in self.some(0.3):
                mid += 1
                d, t = self.when()
                reply = self.rng.random() < 0.5
                email = self.email(i) if i % 3 == 0 else ""
                w.writerow(
                    [
                        mid,
                        "8999999999999999999" if reply else "",
                        mid,
                        "1",
                        self.engage_id(i),
                        "user",
                        email,
                        "line one\nline two",
                        f"{d.replace('-', '/')} {t} +0000",
                        "",
                    ]
                )
                self.did(i, "react" if reply else "contribute")
            d, t = self.when()
            w.writerow([mid + 1, "", mid + 1, "1", "1", "system", "", "joined", f"{d}T{t}Z", ""])

    def slack_export(self, path: Path) -> None:
        users = [
            {
                "id": self.slack_id(i),
                "name": f"p{i}",
                "is_bot": False,
                "profile": {"email": self.email(i)} if i % 2 else {},
            }
            for i in range(self.n)
        ]
        users.append({"id": "UBOT", "name": "bot", "is_bot": True, "profile": {}})
        msgs = []
        for i in self.some(0.3):
            d, t = self.when()
            ts = f"{_epoch(d, t)}.{self.rng.randint(0, 999999):06d}"
            reactors = self.some(0.1)
            msg = {"type": "message", "user": self.slack_id(i), "text": "hi", "ts": ts}
            if reactors:
                msg["reactions"] = [
                    {
                        "name": "+1",
                        "users": [self.slack_id(r) for r in reactors] + ["UBOT"],
                        "count": len(reactors) + 1,
                    }
                ]
                for r in reactors:
                    self.did(r, "react")
            msgs.append(msg)
            self.did(i, "contribute")
        d, t = self.when()
        msgs.append(
            {
                "type": "message",
                "subtype": "bot_message",
                "bot_id": "B1",
                "text": "x",
                "ts": f"{_epoch(d, t)}.000001",
            }
        )
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("users.json", json.dumps(users))
            zf.writestr("channels.json", json.dumps([{"id": "C1", "name": "general"}]))
            zf.writestr("general/2026-03-10.json", json.dumps(msgs))

    def engage_usage(self, path: Path) -> None:
        with open(path, "w", newline="", encoding="utf-8-sig") as fh:
            w = csv.writer(fh)
            w.writerow(
                [
                    "Report Refresh Date",
                    "User Principal Name",
                    "Display Name",
                    "User State",
                    "State Change Date",
                    "Last Activity Date",
                    "Posted Count",
                    "Read Count",
                    "Liked Count",
                    "Assigned Products",
                    "Report Period",
                ]
            )
            for i in self.some(0.5):
                likes = self.rng.choice([0, 0, 2])
                w.writerow(
                    [
                        "2026-03-28",
                        self.email(i),
                        f"P {i}",
                        "Active",
                        "",
                        "2026-03-27",
                        0,
                        5,
                        likes,
                        "",
                        7,
                    ]
                )
                self.did(i, "view")
                if likes:
                    self.did(i, "react")

    def write(self, root: Path) -> tuple[Path, Path]:
        exports = root / "exports"
        exports.mkdir(parents=True)
        self.roster(root / "roster.csv")
        self.iis(exports / "u_ex260301.log")
        portal = self.audit_portal(exports / "audit-portal.csv")
        self.audit_jsonl(exports / "audit.jsonl", portal)
        self.engage_export(exports / "engage-export")
        self.slack_export(exports / "slack.zip")
        self.engage_usage(exports / "YammerActivityUserDetail.csv")
        return root / "roster.csv", exports

    def expected(self) -> dict[str, int]:
        reader = sum(1 for s in self.truth.values() if s)
        reactor = sum(1 for s in self.truth.values() if s & {"react", "contribute"})
        contributor = sum(1 for s in self.truth.values() if "contribute" in s)
        return {
            "population": self.n,
            "reader": reader,
            "reactor": reactor,
            "contributor": contributor,
        }


def _epoch(d: str, t: str) -> int:
    from datetime import datetime, timezone

    return int(datetime.fromisoformat(f"{d}T{t}").replace(tzinfo=timezone.utc).timestamp())
