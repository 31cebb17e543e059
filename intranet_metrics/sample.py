"""A synthetic organisation in every export format: ``intranet-metrics sample DIR``.

One roster of people (seven departments, joiners and leavers) and, for a baseline quarter
(2026-01-01..03-31, before the launch), the launch quarter and a follow-up quarter
(2026-07-01..09-30, after it), their activity spread over the exports an intranet team
really gets: SharePoint Server IIS logs, the Microsoft 365 audit log (Purview CSV and
Management API JSON Lines), Viva Engage usage reports, a Viva Engage network export, a
Slack export, a reverse proxy's access log and a generic CSV from an employee app. Each
person is written the way each platform writes them (``0#.w|contoso\\sam`` in IIS, the
UPN in the audit log, the email in Engage, a Slack id), and the roster's ``email``,
``upn`` and ``aliases`` tie the spellings to one person. Around them: system accounts,
crawlers, bots, guests, OneDrive and Exchange records, a contractor and a former employee
who are not on the roster.

Who reads, reacts and contributes is drawn first (the truth), then each action is placed
on a platform that can record it. Teams records are only ever added for people who already
reached that tier elsewhere, so the headline figures do not depend on whether a loader maps
Teams operations.

Everything is drawn from ``random.Random(seed).random()``: Python guarantees that sequence
across versions and platforms (other methods, ``randrange`` and ``choices`` included, may
change), so a seed gives the same files everywhere, byte for byte.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from bisect import bisect
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any

from .goals import TEMPLATE

DEFAULT_SEED = 2026
DEFAULT_PEOPLE = 200
DOMAIN = "contoso.example"

DEPARTMENTS = [
    ("Operations", 0.30),
    ("Sales", 0.22),
    ("IT", 0.15),
    ("Finance", 0.12),
    ("HR", 0.10),
    ("Communications", 0.09),
]
# One person in fifty works in Legal: a department under the privacy threshold (k = 5) in
# a small organisation, so the sample shows suppression.
SMALL_DEPARTMENT = "Legal"
LOCATIONS = [("Amsterdam", 0.5), ("Utrecht", 0.3), ("Remote", 0.2)]
FIRST = [
    "Anna", "Bram", "Daan", "Emma", "Fleur", "Lotte", "Sanne", "Thijs", "Ruben", "Sophie",
    "Lars", "Noor", "Jesse", "Julia", "Sem", "Eva", "Milan", "Tess", "Luuk", "Iris", "Finn",
    "Lisa", "Niels", "Femke", "Koen", "Anouk", "Joris", "Maud", "Wouter", "Esther", "Mohammed",
    "Fatima", "Yusuf", "Priya", "Wei", "Sara", "Bas", "Ilse", "Gijs", "Roos", "Stijn", "Merel",
    "Jeroen", "Linda", "Hanna", "Youssef",
]  # fmt: skip
LAST = [
    "de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer",
    "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker",
    "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer", "Kok", "Jacobs",
    "Yilmaz", "El Amrani", "Janssen", "van Dijk", "Verhoeven", "Kuipers", "Postma", "Huisman",
    "Koster", "Willems", "van Wijk", "Prins", "Blom", "Kaya", "Bouali", "Nguyen",
]  # fmt: skip
QUARTERS = {
    "baseline": (date(2026, 1, 1), date(2026, 3, 31)),
    "launch": (date(2026, 4, 1), date(2026, 6, 30)),
    "followup": (date(2026, 7, 1), date(2026, 9, 30)),
}
# Chances per quarter before, during and after the launch: read; react if read; post if
# reacted.
CHANCES = {
    "baseline": (0.40, 0.45, 0.18),
    "launch": (0.60, 0.55, 0.17),
    "followup": (0.72, 0.62, 0.22),
}
# Where each action class is recorded, with weights. A platform code names the export:
# iis (SharePoint Server), spo (audit log CSV, SharePoint Online), yam (audit JSON Lines,
# Yammer), use (usage report), eng (Engage export), slk (Slack), gen (employee app CSV),
# web (reverse proxy access log).
VIEW_ON = [("iis", 35), ("spo", 15), ("yam", 5), ("use", 10), ("gen", 20), ("web", 15)]
REACT_ON = [("slk", 30), ("eng", 22), ("yam", 10), ("spo", 10), ("use", 10), ("gen", 18)]
MAKE_ON = [("eng", 30), ("slk", 25), ("spo", 20), ("yam", 5), ("use", 10), ("gen", 10)]
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Europe/Amsterdam summer time in 2026 (the proxy logs local time): last Sundays of
# March and October at 01:00 UTC. Computed here so no time zone database is needed.
CEST = (
    int((datetime(2026, 3, 29, 1, tzinfo=timezone.utc) - EPOCH).total_seconds()),
    int((datetime(2026, 10, 25, 1, tzinfo=timezone.utc) - EPOCH).total_seconds()),
)


class Draw:
    """Integers and choices from ``random()`` only (see the module docstring)."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed).random

    def below(self, n: int) -> int:
        return int(self.random() * n)

    def between(self, lo: int, hi: int) -> int:
        return lo + int(self.random() * (hi - lo + 1))

    def pick(self, seq: Sequence):
        return seq[int(self.random() * len(seq))]

    def weighted(self, choices: list[tuple[str, float]]) -> Callable[[], str]:
        values = [v for v, _ in choices]
        cum = list(accumulate(w for _, w in choices))
        total = cum[-1]
        rnd = self.random
        return lambda: values[min(bisect(cum, rnd() * total), len(values) - 1)]


@dataclass
class Person:
    user_id: str
    first: str
    last: str
    email: str
    upn: str
    sam: str
    slack: str
    engage: str
    start: date | None
    end: date | None
    department: str
    location: str
    role: str
    slack_hides_email: bool = False
    engage_unlisted: bool = False
    ip: str = ""


@dataclass
class Quarter:
    """One quarter's actions: (epoch seconds, person index, activity) per platform."""

    phase: str
    lo: date
    hi: date
    events: dict[str, list[tuple[int, int, str]]] = field(default_factory=lambda: defaultdict(list))
    # Usage report totals per person: [read, liked, posted].
    usage: dict[int, list[int]] = field(default_factory=dict)
    teams: list[tuple[int, int, str]] = field(default_factory=list)


def _compact(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _roster(d: Draw, n: int) -> list[Person]:
    people: list[Person] = []
    emails: set[str] = set()
    sams: set[str] = set()
    department = d.weighted(DEPARTMENTS)
    location = d.weighted(LOCATIONS)
    for i in range(1, n + 1):
        first, last = d.pick(FIRST), d.pick(LAST)
        local = f"{first.lower()}.{_compact(last)}"
        email, k = local, 1
        while email in emails:  # a second Anna de Vries becomes anna.devries2
            k += 1
            email = f"{local}{k}"
        emails.add(email)
        sam, k = (first[0].lower() + _compact(last))[:18], 1
        base_sam = sam
        while sam in sams:
            k += 1
            sam = f"{base_sam}{k}"
        sams.add(sam)
        start = end = None
        r = d.random()
        if r < 0.08:  # joiners during the year
            start = date(2026, 4, 1) + timedelta(days=d.below(150))
        elif r < 0.14:  # leavers
            end = date(2026, 2, 1) + timedelta(days=d.below(150))
        elif r < 0.5:
            start = date(2015, 1, 1) + timedelta(days=d.below(3650))
        # Older accounts sign in with sam@domain, the mailbox is first.last@domain.
        upn = f"{sam}@{DOMAIN}" if d.random() < 0.15 else f"{email}@{DOMAIN}"
        people.append(
            Person(
                user_id=f"E{i:05d}" if n >= 10000 else f"E{i:04d}",
                first=first,
                last=last,
                email=f"{email}@{DOMAIN}",
                upn=upn,
                sam=sam,
                slack=f"U0{_base36(7_000_000 + i * 7919, 8)}",
                engage=str(1_700_000_000_000_000_000 + i * 104_729),
                start=start,
                end=end,
                department=SMALL_DEPARTMENT if i % 50 == 7 else department(),
                location=location(),
                role="manager" if d.random() < 0.12 else "staff",
                slack_hides_email=d.random() < 0.2,
                engage_unlisted=d.random() < 0.1,
                ip=f"10.{20 + i // 65025}.{i // 255 % 255}.{i % 255 + 1}",
            )
        )
    return people


def _base36(n: int, width: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out.rjust(width, "0")


def _aliases(p: Person) -> str:
    """What the roster must add so every spelling matches: the Windows account always, and
    chat ids where the platform does not give an email."""
    out = [f"CONTOSO\\{p.sam}"]
    if p.slack_hides_email:
        out.append(p.slack if p.user_id[-1] in "02468" else f"slack:{p.slack}")
    if p.engage_unlisted:
        out.append(p.engage)
    return ";".join(out)


def _employed(p: Person, lo: date, hi: date) -> bool:
    return (p.start is None or p.start <= hi) and (p.end is None or p.end >= lo)


def _seconds(day: date) -> int:
    return (day - date(1970, 1, 1)).days * 86400


def _quarter(d: Draw, people: list[Person], phase: str) -> Quarter:
    lo, hi = QUARTERS[phase]
    q = Quarter(phase, lo, hi)
    places = tuple(d.weighted(w) for w in (VIEW_ON, REACT_ON, MAKE_ON))
    for idx, p in enumerate(people):
        if _employed(p, lo, hi):
            _person_quarter(d, q, p, idx, CHANCES[phase], places)
    for events in q.events.values():
        events.sort()
    q.teams.sort()
    return q


_VIEWS = ["page_view", "page_view", "page_view", "file_view"]


def _person_quarter(
    d: Draw,
    q: Quarter,
    p: Person,
    idx: int,
    chances: tuple[float, float, float],
    places: tuple[Callable[[], str], ...],
) -> None:
    """One person's quarter: whether they read, react and contribute, and where."""
    p_read, p_react, p_make = chances
    view_on, react_on, make_on = places
    plo = max(q.lo, p.start) if p.start else q.lo
    phi = min(q.hi, p.end) if p.end else q.hi
    day0, days = _seconds(plo), (phi - plo).days + 1

    def when() -> int:
        return day0 + d.below(days) * 86400 + 6 * 3600 + d.below(11 * 3600)

    boost = 0.1 if p.department == "Communications" else 0.0
    if d.random() >= p_read + boost:
        return
    # Readers view one page to a hundred per quarter (26 on average).
    for _ in range(1 + d.below(11) * d.below(11)):
        _place(q, view_on(), when(), idx, d.pick(_VIEWS))
    if d.random() < p_react:
        for _ in range(d.between(1, 6)):
            _place(q, react_on(), when(), idx, "react")
        if d.random() < 0.3:  # also busy in Teams
            q.teams.append((when(), idx, "reaction" if d.random() < 0.7 else "reply"))
        if d.random() < p_make + boost:
            for _ in range(d.between(1, 3)):
                _place(q, make_on(), when(), idx, "make")
            if d.random() < 0.3:
                q.teams.append((when(), idx, "post"))
    if d.random() < 0.08:  # edits are stored but never counted
        q.events["gen"].append((when(), idx, "edit"))


def _place(q: Quarter, platform: str, t: int, idx: int, what: str) -> None:
    if platform == "use":
        row = q.usage.setdefault(idx, [0, 0, 0])
        row[{"page_view": 0, "file_view": 0, "react": 1, "make": 2}[what]] += 1
    else:
        q.events[platform].append((t, idx, what))


def _hms(t: int) -> str:
    s = t % 86400
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def _day(t: int) -> str:
    return _day_text(t // 86400)


@lru_cache(maxsize=1024)
def _day_text(days: int) -> str:
    """A day number as ``YYYY-MM-DD``; a few hundred distinct days, millions of calls."""
    return (date(1970, 1, 1) + timedelta(days=days)).isoformat()


def _iso(t: int) -> str:
    return f"{_day(t)}T{_hms(t)}"


def _uuid(*parts: object) -> str:
    h = hashlib.md5("/".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


PAGES = [
    "Home", "News", "Nieuws-CAO-2026", "Townhall-Q1", "IT-Servicedesk", "Verlof-aanvragen",
    "Onboarding", "Declaraties", "Organisatie", "Strategie-2030", "Wie-is-wie", "Kantine-menu",
    "Thuiswerken", "Veiligheid", "Duurzaamheid", "Vacatures", "Agenda", "Privacy-beleid",
]  # fmt: skip
FILES = ["Personeelsgids.pdf", "Jaarplan.docx", "Organogram.pptx", "Verlofkalender.xlsx"]
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
BROWSER += "Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0"
CRAWLER = "Mozilla/4.0 (compatible; MSIE 4.01; Windows NT; MS Search 6.0 Robot)"
IIS_FIELDS = (
    "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
    "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken"
)


def _iis(d: Draw, people: list[Person], quarters: list[Quarter], folder: Path) -> list[Path]:
    """One log a month (``u_exYYMM.log``), as SharePoint Server front ends write them: a
    401 challenge before many requests, page assets, the search crawler, the system account."""
    ua = BROWSER.replace(" ", "+")
    crawl_ua = CRAWLER.replace(" ", "+")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for q in quarters:
        # One quarter's lines at a time: memory stays that of a quarter at any size.
        by_month: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for t, idx, act in q.events["iis"]:
            p = people[idx]
            # Claims sign-in on the modern web application, the account as typed (any
            # case) on the classic one.
            user = f"0#.w|contoso\\{p.sam}" if idx % 5 else f"CONTOSO\\{p.sam.upper()}"
            if act == "file_view":
                stem = f"/sites/intranet/Shared%20Documents/{d.pick(FILES)}"
            else:
                stem = f"/sites/intranet/SitePages/{d.pick(PAGES)}.aspx"
            tail = f"{p.ip} {ua} https://intranet.contoso.example/"
            if d.random() < 0.2:  # NTLM challenge first: no user yet
                by_month[_day(t)[:7]].append(
                    (t, f"GET {stem} - 443 - {tail} 401 2 5 {d.between(0, 3)}")
                )
            by_month[_day(t)[:7]].append(
                (t, f"GET {stem} - 443 {user} {tail} 200 0 0 {d.between(15, 900)}")
            )
            if d.random() < 0.3:
                asset = f"/_layouts/15/images/{d.pick(['logo.png', 'spcommon.png'])}"
                by_month[_day(t)[:7]].append(
                    (t + 1, f"GET {asset} - 443 {user} {tail} 304 0 0 {d.between(0, 9)}")
                )
        lo = _seconds(q.lo)
        for k in range(max(8, len(people) // 10)):
            t = lo + d.below((q.hi - q.lo).days + 1) * 86400 + d.below(86400)
            stem = f"/sites/intranet/SitePages/{d.pick(PAGES)}.aspx"
            if k % 3 == 0:
                line = f"GET {stem} - 443 0#.w|sharepoint\\system 10.0.0.5 {ua} - 200 0 0 31"
            else:
                crawler = "0#.w|contoso\\svc-spcrawl 10.0.0.9"
                line = f"GET {stem} - 443 {crawler} {crawl_ua} - 200 0 0 12"
            by_month[_day(t)[:7]].append((t, line))
        written += _iis_months(by_month, folder)
    return written


def _iis_months(by_month: dict[str, list[tuple[int, str]]], folder: Path) -> list[Path]:
    written = []
    for month, rows in sorted(by_month.items()):
        rows.sort()
        out = [
            "#Software: Microsoft Internet Information Services 10.0",
            "#Version: 1.0",
            f"#Date: {month}-01 00:00:00",
            IIS_FIELDS,
        ]
        restart = len(rows) // 2
        for n, (t, rest) in enumerate(rows):
            if n == restart:  # an application pool recycle writes the header again
                out += [
                    "#Software: Microsoft Internet Information Services 10.0",
                    "#Version: 1.0",
                    f"#Date: {_day(t)} {_hms(t)}",
                    IIS_FIELDS,
                ]
            out.append(f"{_day(t)} {_hms(t)} 10.0.0.21 {rest}")
        path = folder / f"u_ex{month[2:4]}{month[5:7]}.log"
        path.write_bytes(("\r\n".join(out) + "\r\n").encode())
        written.append(path)
    return written


def _audit_record(t: int, n: int, seed: int, **fields) -> dict:
    rec = {
        "CreationTime": _iso(t),
        "Id": _uuid(seed, "audit", n),
        "Operation": fields.pop("Operation"),
        "OrganizationId": "8f3c2a10-1d2e-4b6a-9c11-0a1b2c3d4e5f",
        "RecordType": fields.pop("RecordType", 4),
        "UserKey": fields.pop("UserKey", "i:0h.f|membership|100320012345abcd@live.com"),
        "UserType": fields.pop("UserType", 0),
        "Version": 1,
        "Workload": fields.pop("Workload", "SharePoint"),
        "UserId": fields.pop("UserId"),
    }
    rec.update(fields)
    return rec


def _sp_record(d: Draw, t: int, n: int, seed: int, upn: str, act: str, ip: str) -> dict:
    site = "https://contoso.sharepoint.com/sites/intranet"
    page = f"{site}/SitePages/{d.pick(PAGES)}.aspx"
    common = {"UserId": upn, "ClientIP": ip, "UserAgent": BROWSER, "EventSource": "SharePoint"}
    if act in ("page_view", "file_view"):
        if act == "file_view":
            obj = f"{site}/Shared Documents/{d.pick(FILES)}"
            return _audit_record(
                t, n, seed, Operation="FileAccessed", RecordType=6, ObjectId=obj,
                ItemType="File", **common,
            )  # fmt: skip
        return _audit_record(
            t, n, seed, Operation="PageViewed", ObjectId=page, ItemType="Page", **common
        )
    if act == "react":
        return _audit_record(
            t, n, seed, Operation="CommentCreated", RecordType=37, ObjectId=page,
            ItemType="Page", **common,
        )  # fmt: skip
    if d.random() < 0.5:
        obj = f"{site}/SitePages/Nieuws-{d.between(100, 999)}.aspx"
        return _audit_record(
            t, n, seed, Operation="ListItemCreated", RecordType=36, ObjectId=obj,
            ItemType="ListItem", **common,
        )  # fmt: skip
    obj = f"{site}/Shared Documents/Presentatie-{d.between(100, 999)}.pptx"
    return _audit_record(
        t, n, seed, Operation="FileUploaded", RecordType=6, ObjectId=obj, ItemType="File",
        **common,
    )  # fmt: skip


_HOME = "https://contoso.sharepoint.com/sites/intranet/SitePages/Home.aspx"


def _audit_csv(
    d: Draw, seed: int, people: list[Person], q: Quarter, path: Path, counter: list[int]
) -> list[dict]:
    """The new Purview portal's CSV: SharePoint Online (counted), OneDrive, Exchange and
    Entra sign-ins (never counted), guests and the app account (excluded)."""
    recs = []
    for t, idx, act in q.events["spo"]:
        p = people[idx]
        counter[0] += 1
        recs.append(_sp_record(d, t, counter[0], seed, p.upn, act, p.ip))
    lo, span = _seconds(q.lo), ((q.hi - q.lo).days + 1) * 86400
    active = [idx for idx, p in enumerate(people) if _employed(p, q.lo, q.hi)]
    for k in range(max(10, len(people) // 4)):
        t = lo + d.below(span)
        p = people[d.pick(active)]
        counter[0] += 1
        recs.append(_audit_record(t, counter[0], seed, **_not_counted(d, k % 5, p)))
    # A former employee whose account still shows up (not on the roster: unmatched).
    counter[0] += 1
    recs.append(
        _sp_record(d, lo + span // 2, counter[0], seed, f"k.dijkman@{DOMAIN}", "page_view", "")
    )
    recs.sort(key=lambda r: r["CreationTime"])
    _write_portal_csv(recs, path)
    return recs


def _not_counted(d: Draw, kind: int, p: Person) -> dict[str, Any]:
    """The fields of an audit record that must never count, of one of five kinds."""
    if kind == 0:  # personal storage, not the intranet
        owner = p.upn.replace(".", "_").replace("@", "_")
        site = f"https://contoso-my.sharepoint.com/personal/{owner}"
        return dict(
            Operation="FileAccessed", RecordType=6, Workload="OneDrive", UserId=p.upn,
            ObjectId=f"{site}/Documents/Notities.docx",
        )  # fmt: skip
    if kind == 1:
        return dict(
            Operation="MailItemsAccessed", RecordType=50, Workload="Exchange", UserId=p.upn,
            ClientIPAddress=p.ip,
        )  # fmt: skip
    if kind == 2:
        return dict(
            Operation="UserLoggedIn", RecordType=15, Workload="AzureActiveDirectory",
            UserId=p.upn, ObjectId="Office 365",
        )  # fmt: skip
    if kind == 3:  # a guest from a partner
        who = d.pick(["m.peeters_partner.example#ext#@contoso.onmicrosoft.com"])
        return dict(Operation="PageViewed", UserId=who, UserType=0, ObjectId=_HOME)
    # SharePoint's own app account
    return dict(Operation="PagePrefetched", UserId="app@sharepoint", UserType=5, ObjectId=_HOME)


_PORTAL_HEADER = [
    "RecordId",
    "CreationDate",
    "RecordType",
    "Operation",
    "UserId",
    "AuditData",
    "AssociatedAdminUnits",
    "AssociatedAdminUnitsNames",
]


def _write_portal_csv(recs: list[dict], path: Path) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(_PORTAL_HEADER)
    for r in recs:
        created = datetime.fromisoformat(r["CreationTime"])
        # The portal writes the date in the browser's culture (en-US here) and the loader
        # never reads it; AM/PM spelled out because strftime's %p follows the locale.
        hour12, half = (created.hour - 1) % 12 + 1, "AM" if created.hour < 12 else "PM"
        shown = (
            f"{created.month}/{created.day}/{created.year} "
            f"{hour12:02d}:{created.minute:02d}:{created.second:02d} {half}"
        )
        w.writerow(
            [r["Id"], shown, r["RecordType"], r["Operation"], r["UserId"], json.dumps(r), "", ""]
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode())


def _audit_jsonl(
    d: Draw, seed: int, people: list[Person], quarters: list[Quarter], path: Path, counter
) -> None:
    """Management Activity API records, one per line: Yammer (Viva Engage) and Teams."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        for q in quarters:
            # Quarters do not overlap: written one after the other, the file stays sorted.
            recs = _audit_quarter(d, seed, people, q, counter)
            recs.sort(key=lambda r: r["CreationTime"])
            fh.writelines(json.dumps(r) + "\n" for r in recs)


def _audit_quarter(d: Draw, seed: int, people: list[Person], q: Quarter, counter) -> list[dict]:
    recs = []
    threads: list[str] = []
    for t, idx, act in q.events["yam"]:
        p = people[idx]
        counter[0] += 1
        common = {"UserId": p.upn, "RecordType": 22, "Workload": "Yammer"}
        if act in ("page_view", "file_view"):
            recs.append(_audit_record(t, counter[0], seed, Operation="MessageViewed", **common))
            continue
        mid = str(1_900_000_000_000_000_000 + counter[0])
        if act == "make" or not threads:
            tid = mid if act == "make" else str(1_899_999_999_999_000_000 + counter[0])
            if act == "make":
                threads.append(mid)
        else:
            tid = d.pick(threads)
        recs.append(
            _audit_record(
                t, counter[0], seed, Operation="MessageCreated", MessageId=mid,
                ThreadId=tid, GroupName="Iedereen", **common,
            )
        )  # fmt: skip
    for t, idx, act in q.teams:
        p = people[idx]
        counter[0] += 1
        extra = {"MessageId": str(1_700_000_000_000 + counter[0])}
        if act == "reply":
            extra["ParentMessageId"] = str(1_700_000_000_000 + counter[0] - 1)
        op = "ReactedToMessage" if act == "reaction" else "MessageSent"
        if act == "reaction":
            extra["MessageReactionType"] = d.pick(["like", "heart", "laugh"])
        recs.append(
            _audit_record(
                t, counter[0], seed, Operation=op, RecordType=25, Workload="MicrosoftTeams",
                UserId=p.upn, ChannelName="Algemeen", TeamName="Contoso Nieuws", **extra,
            )
        )  # fmt: skip
    for _ in range(max(5, len(people) // 20)):  # Exchange admin noise in the same feed
        counter[0] += 1
        t = _seconds(q.lo) + d.below(86400 * 90)
        recs.append(
            _audit_record(
                t, counter[0], seed, Operation="Set-Mailbox", RecordType=1,
                Workload="Exchange", UserType=3,
                UserId="NT AUTHORITY\\SYSTEM (Microsoft.Exchange.Servicehost)",
            )
        )  # fmt: skip
    return recs


USAGE_HEADER = [
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


def _usage(d: Draw, people: list[Person], q: Quarter, path: Path) -> None:
    """Viva Engage activity user detail over the last 90 days of the quarter, one row per
    licensed employee (zeros included), as the admin center downloads it."""
    refresh = q.hi
    rows = []
    for idx, p in enumerate(people):
        if not _employed(p, q.lo, q.hi):
            continue
        read, liked, posted = q.usage.get(idx, (0, 0, 0))
        last = (refresh - timedelta(days=d.below(20))).isoformat()
        rows.append(
            [
                refresh.isoformat(),
                p.upn,
                f"{p.first} {p.last}",
                "Active",
                "",
                last if read + liked + posted else "",
                posted,
                read,
                liked,
                "MICROSOFT 365 E3",
                90,
            ]
        )
    # Two users whose names the tenant conceals: countable, never joinable to a roster.
    for k in range(2):
        h = hashlib.md5(f"{q.phase}{k}".encode(), usedforsecurity=False).hexdigest().upper()
        rows.append([refresh.isoformat(), h, "", "Active", "", "", 0, 3 + k, 0, "", 90])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(USAGE_HEADER)
    w.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode())


ENGAGE_HEADER = [
    "id",
    "replied_to_id",
    "thread_id",
    "conversation_id",
    "group_id",
    "group_name",
    "sender_id",
    "sender_type",
    "sender_name",
    "sender_email",
    "body",
    "attachments",
    "created_at",
    "deleted_at",
]
ENGAGE_GROUPS = [("118030000001", "Iedereen"), ("118030000002", "Nieuw intranet")]


def _engage(d: Draw, people: list[Person], quarters: list[Quarter], folder: Path) -> None:
    """A network data export: Messages.csv (posts and replies) and Users.csv. Most
    messages carry the sender's email; others only the id, which Users.csv maps (or, for
    people missing from it, the roster's aliases)."""
    rows = []
    mid = 2_100_000_000_000_000_000
    for q in quarters:
        threads: list[tuple[str, str]] = []
        for t, idx, act in q.events["eng"]:
            p = people[idx]
            mid += d.between(1, 5000)
            gid, gname = d.pick(ENGAGE_GROUPS)
            if act == "make" or not threads:
                parent, thread = "", str(mid)
                body = "Nieuw bericht:\nwie komt er ook naar de townhall?"
                if act == "react":  # a reply to a thread older than the export
                    parent = thread = str(2_000_000_000_000_000_000 + mid % 1000)
                else:
                    threads.append((str(mid), gid))
            else:
                parent, gid = d.pick(threads)
                thread, body = parent, "Goed idee, ik kom ook!"
            email = "" if d.random() < 0.25 else p.email
            stamp = f"{_day(t)} {_hms(t)} UTC"
            rows.append(
                [mid, parent, thread, thread, gid, gname, p.engage, "user",
                 f"{p.first} {p.last}", email, body, "", stamp, ""]
            )  # fmt: skip
        t = _seconds(q.lo) + 8 * 3600
        mid += 1
        rows.append(
            [mid, "", mid, mid, ENGAGE_GROUPS[0][0], ENGAGE_GROUPS[0][1], "1", "system",
             "Viva Engage", "", "Welkom bij de community", "", f"{_day(t)} {_hms(t)} UTC", ""]
        )  # fmt: skip
    rows.sort(key=lambda r: r[12])
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(ENGAGE_HEADER)
    w.writerows(rows)
    (folder / "Messages.csv").write_bytes(buf.getvalue().encode())
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["id", "name", "email", "job_title", "state"])
    for p in people:
        if not p.engage_unlisted:
            w.writerow([p.engage, f"{p.first} {p.last}", p.email, "", "active"])
    (folder / "Users.csv").write_bytes(buf.getvalue().encode())


SLACK_CHANNELS = [("C04GENERAL1", "general"), ("C04NIEUWS22", "intranet-nieuws")]


class _SlackDays:
    """Messages per (channel, day) and the export's unique message timestamps."""

    def __init__(self) -> None:
        self.days: dict[tuple[str, str], list[dict]] = defaultdict(list)
        self.seq = 0

    def ts(self, t: int) -> str:
        self.seq += 1
        return f"{t}.{self.seq % 1_000_000:06d}"

    def add(self, channel: str, msg: dict) -> None:
        self.days[(channel, _day(int(msg["ts"].split(".")[0])))].append(msg)


def _slack(d: Draw, people: list[Person], quarters: list[Quarter], folder: Path) -> None:
    """A workspace export: posts and thread replies by people, reactions on people's and
    on the news bot's messages, joins, and users.json mapping ids to emails (hidden for
    some, whom the roster's aliases then match)."""
    sd = _SlackDays()
    for q in quarters:
        messages = _slack_news(q, sd)
        posts: list[tuple[dict, str]] = []
        for t, idx, act in q.events["slk"]:
            _slack_action(d, sd, people[idx], t, act, posts, messages)
        for idx in range(0, len(people), max(1, len(people) // 6)):
            t = _seconds(q.lo) + 9 * 3600 + idx
            sd.add(
                "general",
                {"type": "message", "subtype": "channel_join", "user": people[idx].slack,
                 "text": "has joined the channel", "ts": sd.ts(t)},
            )  # fmt: skip
    _slack_write(people, sd.days, folder)


def _slack_news(q: Quarter, sd: _SlackDays) -> list[dict]:
    """The news bot posts every working day: messages people react to."""
    messages: list[dict] = []
    day = q.lo
    while day <= q.hi:
        if day.weekday() < 5:
            msg = {
                "type": "message",
                "subtype": "bot_message",
                "bot_id": "B04NEWSBOT1",
                "username": "Intranet Nieuws",
                "text": "Nieuw op het intranet",
                "ts": sd.ts(_seconds(day) + 7 * 3600),
            }
            sd.days[("intranet-nieuws", day.isoformat())].append(msg)
            messages.append(msg)
        day += timedelta(days=1)
    return messages


def _slack_action(
    d: Draw,
    sd: _SlackDays,
    p: Person,
    t: int,
    act: str,
    posts: list[tuple[dict, str]],
    messages: list[dict],
) -> None:
    """One person's Slack action: a post, a thread reply, or a reaction."""
    if act == "make":
        msg = {"type": "message", "user": p.slack, "text": "Wie helpt er mee?", "ts": sd.ts(t)}
        channel = d.pick(SLACK_CHANNELS)[1]
        sd.days[(channel, _day(t))].append(msg)
        posts.append((msg, channel))
        messages.append(msg)
    elif d.random() < 0.3 and posts:
        parent, channel = d.pick(posts)
        msg = {
            "type": "message",
            "user": p.slack,
            "text": "Ik!",
            "ts": sd.ts(max(t, int(parent["ts"].split(".")[0]) + 60)),
            "thread_ts": parent["ts"],
        }
        sd.add(channel, msg)
    else:
        _slack_react(d.pick(messages), d.pick(["+1", "tada", "heart"]), p.slack)


def _slack_react(target: dict, emoji: str, user: str) -> None:
    reactions = target.setdefault("reactions", [])
    entry = next((r for r in reactions if r["name"] == emoji), None)
    if entry is None:
        entry = {"name": emoji, "users": [], "count": 0}
        reactions.append(entry)
    if user not in entry["users"]:
        entry["users"].append(user)
        entry["count"] += 1


def _slack_write(people: list[Person], days: dict[tuple[str, str], list[dict]], folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    users = []
    for p in people:
        profile = {"real_name": f"{p.first} {p.last}", "display_name": p.first}
        if not p.slack_hides_email:
            profile["email"] = p.email
        users.append(
            {"id": p.slack, "name": p.email.split("@")[0], "deleted": False, "is_bot": False,
             "profile": profile}
        )  # fmt: skip
    users.append(
        {"id": "U04NEWSBOT1", "name": "intranet-nieuws", "is_bot": True,
         "profile": {"real_name": "Intranet Nieuws", "bot_id": "B04NEWSBOT1"}}
    )  # fmt: skip
    _json(folder / "users.json", users)
    _json(
        folder / "channels.json",
        [{"id": cid, "name": name, "created": 1672531200, "is_general": name == "general"}
         for cid, name in SLACK_CHANNELS],
    )  # fmt: skip
    for (channel, day_text), msgs in sorted(days.items()):
        msgs.sort(key=lambda m: (int(m["ts"].split(".")[0]), m["ts"]))
        _json(folder / channel / f"{day_text}.json", msgs)


def _json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8", newline=""
    )


def _local(t: int) -> str:
    """Apache's ``%t`` in Amsterdam time."""
    off = 2 if CEST[0] <= t < CEST[1] else 1
    lt = t + off * 3600
    return f"{_apache_day(lt // 86400)}:{_hms(lt)} +0{off}00"


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@lru_cache(maxsize=1024)
def _apache_day(days: int) -> str:
    # Month names spelled out here: strftime's %b follows the machine's locale.
    day = date(1970, 1, 1) + timedelta(days=days)
    return f"{day.day:02d}/{MONTHS[day.month - 1]}/{day.year}"


def _web(d: Draw, people: list[Person], quarters: list[Quarter], path: Path) -> None:
    """The people directory behind an Apache reverse proxy with single sign-on: ``%u`` is
    the UPN; assets, API calls and anonymous health checks are not page views."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        for q in quarters:  # quarters do not overlap: the file stays sorted
            lines = []
            for t, idx, _act in q.events["web"]:
                p = people[idx]
                page = f"/wie-is-wie/profiel/{d.between(1, 9999)}"
                agent = f'"https://intranet.contoso.example/" "{BROWSER}"'
                lines.append(
                    (t, f'{p.ip} - {p.upn} [{_local(t)}] "GET {page} HTTP/1.1" 200 '
                        f"{d.between(2000, 40000)} {agent}")
                )  # fmt: skip
                if d.random() < 0.5:
                    lines.append(
                        (t + 1, f'{p.ip} - {p.upn} [{_local(t + 1)}] "GET /api/profiel/foto '
                            f'HTTP/1.1" 200 {d.between(900, 9000)} {agent}')
                    )  # fmt: skip
            for k in range(0, 90, 3):
                t = _seconds(q.lo) + k * 86400 + 3 * 3600
                lines.append(
                    (t, f'10.0.0.2 - - [{_local(t)}] "GET /health HTTP/1.1" 200 2 "-" "kube-probe"')
                )  # fmt: skip
            lines.sort()
            fh.writelines(line + "\n" for _, line in lines)


WIKI_SPACES = ("HR", "IT", "FIN", "COMMS", "FAC")
WIKI_CSS = "/s/nl_NL/9012/_/styles/colors.css"
POLL = "/rest/quickreload/latest/1?since=1"


def _confluence(d: Draw, people: list[Person], quarters: list[Quarter], path: Path) -> None:
    """The team wiki's Confluence access log, in Amsterdam time: each person who read the
    intranet in a quarter (IIS or the people directory) opens a wiki page once, at the
    same second (so no rate changes), with its assets and polling around it, plus an
    anonymous visitor a day. Confluence was upgraded in the launch quarter: from then on
    lines carry the client address first (the 7.11 layout)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        for q in quarters:
            first: dict[int, int] = {}
            for t, idx, _act in q.events["iis"] + q.events["web"]:
                first[idx] = min(t, first.get(idx, t))
            new = q.phase != "baseline"
            lines = []
            for idx, t in first.items():
                p = people[idx]
                client = f"{p.ip} " if new else ""
                head = f"[{_local(t)}] {client}{p.upn} http-nio-8090-exec-{idx % 25 + 1} {p.ip}"
                page = (
                    f"/display/{d.pick(WIKI_SPACES)}/Werkafspraken+{d.between(1, 40)}"
                    if d.random() < 0.6
                    else f"/pages/viewpage.action?pageId={d.between(10000, 99999)}"
                )
                took, size = d.between(20, 400), d.between(4000, 60000)
                for url, rest in (
                    (page, f"{took}ms {size}"),
                    (WIKI_CSS, "3ms 900"),
                    (POLL, "9ms 152"),
                ):
                    lines.append((t, f"{head} GET {url} HTTP/1.1 200 {rest} - {BROWSER}"))
            for k in range(0, 90, 7):
                t = _seconds(q.lo) + k * 86400 + 10 * 3600
                who = "10.0.0.7 anonymous" if new else "anonymous"
                head = f"[{_local(t)}] {who} http-nio-8090-exec-1 10.0.0.7"
                lines.append(
                    (t, f"{head} GET /display/PUB/Welkom HTTP/1.1 200 15ms 4000 - {BROWSER}")
                )
            lines.sort()
            fh.writelines(line + "\n" for _, line in lines)


def _generic(d: Draw, people: list[Person], quarters: list[Quarter], path: Path) -> None:
    """The employee app's export: timestamp, user (the email, as typed at sign-in), the
    activity and the item."""
    react = ["like", "like", "comment"]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["timestamp", "user", "activity", "item"])
        for q in quarters:  # quarters do not overlap: the file stays sorted
            rows = []
            for t, idx, act in q.events["gen"]:
                p = people[idx]
                user = p.email.upper() if d.random() < 0.1 else p.email
                if act in ("page_view", "file_view"):
                    activity, item = "page_view", f"/app/nieuws/{d.between(1, 400)}"
                elif act == "react":
                    activity, item = d.pick(react), f"/app/nieuws/{d.between(1, 400)}"
                elif act == "make":
                    activity, item = "post", f"/app/tijdlijn/{d.between(1000, 9999)}"
                else:
                    activity, item = act, f"/app/nieuws/{d.between(1, 400)}"
                rows.append((t, user, activity, item))
            lo, span = _seconds(q.lo), ((q.hi - q.lo).days + 1) * 86400
            for _ in range(6):  # a contractor with an app account but not on the roster
                rows.append((lo + d.below(span), "contractor@partner.example", "page_view", "/app"))
            rows.sort()
            w.writerows((f"{_iso(t)}Z", u, a, i) for t, u, a, i in rows)


ROSTER_COLUMNS = [
    "user_id",
    "email",
    "upn",
    "aliases",
    "start_date",
    "end_date",
    "department",
    "location",
    "role",
]


def _write_roster(people: list[Person], path: Path) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(ROSTER_COLUMNS)
    for p in people:
        w.writerow(
            [p.user_id, p.email, p.upn, _aliases(p),
             p.start.isoformat() if p.start else "", p.end.isoformat() if p.end else "",
             p.department, p.location, p.role]
        )  # fmt: skip
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")


def write_sample(
    directory: Path, seed: int = DEFAULT_SEED, people: int = DEFAULT_PEOPLE
) -> list[Path]:
    """Write roster.csv, goals.toml and exports/ (every supported format) to ``directory``.

    The same seed and size give the same bytes. Returns the files written, sorted."""
    if people < 1:
        raise ValueError("people must be at least 1")
    directory = Path(directory)
    d = Draw(seed)
    staff = _roster(d, people)
    # The launch quarter is drawn last: adding it left the two measured quarters as they were.
    drawn = {phase: _quarter(d, staff, phase) for phase in ("baseline", "followup", "launch")}
    quarters = [drawn[phase] for phase in QUARTERS]
    ex = directory / "exports"
    ex.mkdir(parents=True, exist_ok=True)
    _write_roster(staff, directory / "roster.csv")
    (directory / "goals.toml").write_text(
        TEMPLATE.format(name="goals.toml"), encoding="utf-8", newline=""
    )
    _iis(d, staff, quarters, ex / "sharepoint-server")
    counter = [0]
    for q in quarters:
        name = f"Audit_{q.lo.year}-Q{(q.lo.month + 2) // 3}.csv"
        _audit_csv(d, seed, staff, q, ex / "m365-audit" / name, counter)
    _audit_jsonl(d, seed, staff, quarters, ex / "m365-audit" / "engage-teams-2026.jsonl", counter)
    for q in quarters:
        name = f"VivaEngageActivityUserDetail_{q.hi.isoformat()}_90d.csv"
        _usage(d, staff, q, ex / "usage-reports" / name)
    _engage(d, staff, quarters, ex / "viva-engage-network")
    _slack(d, staff, quarters, ex / "slack-workspace")
    _web(d, staff, quarters, ex / "people-directory" / "access.log")
    _generic(d, staff, quarters, ex / "employee-app" / "events-2026.csv")
    # Drawn last: the files above are as they were before the wiki was added.
    _confluence(d, staff, quarters, ex / "team-wiki" / "atlassian-confluence-access.log")
    exports = sorted(p for p in ex.rglob("*") if p.is_file())
    return [directory / "roster.csv", directory / "goals.toml", *exports]
