"""A small synthetic organisation to try the tool on: ``intranet-metrics sample DIR``.

200 people in seven departments, with joiners and leavers; a generic-format export for a
baseline quarter (before the launch) and for a follow-up quarter (after it), with the
quirks real exports have: claims-encoded and DOMAIN\\sam identities matched through the
roster's aliases, a system account, a contractor who is not on the roster, ignored edits.
"""

from __future__ import annotations

import csv
import random
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from .goals import TEMPLATE

DEPARTMENTS = [
    ("Operations", 0.30),
    ("Sales", 0.22),
    ("IT", 0.15),
    ("Finance", 0.12),
    ("HR", 0.10),
    ("Communications", 0.09),
    ("Legal", 0.02),
]
LOCATIONS = [("Amsterdam", 0.5), ("Utrecht", 0.3), ("Remote", 0.2)]
BASELINE = (date(2026, 1, 1), date(2026, 3, 31))
FOLLOWUP = (date(2026, 7, 1), date(2026, 9, 30))
# Chances per quarter before and after the launch: read; react if read; post if reacted.
CHANCES = {"baseline": (0.45, 0.45, 0.10), "followup": (0.72, 0.62, 0.16)}


def _pick(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def _roster(rng: random.Random, n: int) -> list[dict[str, str]]:
    people = []
    for i in range(1, n + 1):
        first = f"user{i:03d}"
        start, end = "", ""
        r = rng.random()
        if r < 0.08:  # joiners during the year
            start = (date(2026, 4, 1) + timedelta(days=rng.randrange(150))).isoformat()
        elif r < 0.14:  # leavers
            end = (date(2026, 2, 1) + timedelta(days=rng.randrange(150))).isoformat()
        elif r < 0.5:
            start = (date(2015, 1, 1) + timedelta(days=rng.randrange(3650))).isoformat()
        people.append(
            {
                "user_id": f"E{i:04d}",
                "email": f"{first}@contoso.example",
                "upn": f"{first}@contoso.example",
                "aliases": f"CONTOSO\\{first}" + (f";U{i:06d}" if rng.random() < 0.3 else ""),
                "start_date": start,
                "end_date": end,
                "department": _pick(rng, DEPARTMENTS),
                "location": _pick(rng, LOCATIONS),
                "role": "manager" if rng.random() < 0.12 else "staff",
            }
        )
    return people


def _employed(p: dict[str, str], lo: date, hi: date) -> bool:
    s = date.fromisoformat(p["start_date"]) if p["start_date"] else None
    e = date.fromisoformat(p["end_date"]) if p["end_date"] else None
    return (s is None or s <= hi) and (e is None or e >= lo)


def _when(rng: random.Random, lo: date, hi: date) -> str:
    day = lo + timedelta(days=rng.randrange((hi - lo).days + 1))
    t = datetime(day.year, day.month, day.day, 6, tzinfo=timezone.utc) + timedelta(
        seconds=rng.randrange(11 * 3600)
    )
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _actor(rng: random.Random, p: dict[str, str]) -> str:
    name = p["email"].split("@")[0]
    r = rng.random()
    if r < 0.2:
        return f"i:0#.f|membership|{p['upn']}"
    if r < 0.35:
        return f"CONTOSO\\{name}"
    return p["email"].upper() if r < 0.4 else p["email"]


def _events(rng: random.Random, people, phase: str) -> list[list[str]]:
    lo, hi = BASELINE if phase == "baseline" else FOLLOWUP
    p_read, p_react, p_post = CHANCES[phase]
    rows: list[list[str]] = []
    for p in people:
        if not _employed(p, lo, hi):
            continue
        # Employed part of the quarter only.
        plo = max(lo, date.fromisoformat(p["start_date"])) if p["start_date"] else lo
        phi = min(hi, date.fromisoformat(p["end_date"])) if p["end_date"] else hi
        boost = 0.1 if p["department"] == "Communications" else 0.0
        if rng.random() >= p_read + boost:
            continue
        for _ in range(rng.randint(1, 12)):
            act = rng.choice(["page_view", "page_view", "file_view", "message_read"])
            rows.append(
                [_when(rng, plo, phi), _actor(rng, p), act, f"/sites/news/{rng.randrange(40)}"]
            )
        if rng.random() < p_react:
            for _ in range(rng.randint(1, 5)):
                act = rng.choice(["like", "like", "comment", "reply"])
                rows.append(
                    [_when(rng, plo, phi), _actor(rng, p), act, f"/sites/news/{rng.randrange(40)}"]
                )
            if rng.random() < p_post + boost:
                for _ in range(rng.randint(1, 3)):
                    act = rng.choice(["post", "page_create", "upload"])
                    rows.append(
                        [
                            _when(rng, plo, phi),
                            _actor(rng, p),
                            act,
                            f"/sites/news/new-{rng.randrange(999)}",
                        ]
                    )
        if rng.random() < 0.05:
            rows.append([_when(rng, plo, phi), _actor(rng, p), "edit", "/sites/news/1"])
    # Not people, or not employees: never counted.
    for _ in range(25):
        rows.append([_when(rng, lo, hi), "SHAREPOINT\\system", "page_view", "/sites/news/1"])
    for _ in range(6):
        rows.append(
            [_when(rng, lo, hi), "contractor@partner.example", "page_view", "/sites/news/2"]
        )
    rows.sort()
    return rows


def write_sample(directory: Path, seed: int = 1, people: int = 200) -> list[Path]:
    """Write roster.csv, goals.toml and exports/*.csv for a synthetic organisation."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "exports").mkdir(exist_ok=True)
    roster = _roster(rng, people)
    written = []
    path = directory / "roster.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(roster[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(roster)
    written.append(path)
    for phase, name in (("baseline", "baseline-2026-Q1.csv"), ("followup", "followup-2026-Q3.csv")):
        path = directory / "exports" / name
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["timestamp", "user", "activity", "item"])
            w.writerows(_events(rng, roster, phase))
        written.append(path)
    path = directory / "goals.toml"
    path.write_text(TEMPLATE.format(name=path.name), encoding="utf-8")
    written.append(path)
    return written
