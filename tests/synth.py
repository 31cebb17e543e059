"""A generated organisation with known truth, and a plain-pandas oracle for the metrics."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd

CLASSES = {
    "page_view": "view",
    "file_view": "view",
    "message_read": "view",
    "like": "react",
    "comment": "react",
    "reply": "react",
    "reaction": "react",
    "post": "contribute",
    "page_create": "contribute",
    "upload": "contribute",
    "thread_start": "contribute",
    "edit": "ignore",
    "other": "ignore",
}
DEPTS = ["Ops", "Sales", "IT", "HR", "Tiny"]


def make_org(seed: int, people: int = 120, events: int = 3000) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(roster, events): events carry the person's true user_id for the oracle."""
    rng = random.Random(seed)
    rows = []
    for i in range(people):
        start = end = ""
        r = rng.random()
        if r < 0.15:
            start = (date(2026, 1, 1) + timedelta(days=rng.randrange(180))).isoformat()
        elif r < 0.3:
            end = (date(2026, 1, 1) + timedelta(days=rng.randrange(180))).isoformat()
        dept = "Tiny" if i < 3 else rng.choice(DEPTS[:4])
        rows.append(
            {
                "user_id": f"u{i}",
                "email": f"p{i}@org.example",
                "aliases": f"ORG\\p{i};U{i:05d}",
                "start_date": start,
                "end_date": end,
                "department": dept,
            }
        )
    roster = pd.DataFrame(rows)
    evs = []
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for _ in range(events):
        who = rng.randrange(people + 10)  # ten actors not on the roster
        when = t0 + timedelta(seconds=rng.randrange(200 * 86400))
        act = rng.choice(list(CLASSES))
        if who >= people:
            actor, uid = f"stranger{who}@else.example", None
        else:
            uid = f"u{who}"
            actor = rng.choice(
                [
                    f"p{who}@org.example",
                    f"ORG\\p{who}",
                    f"slack:U{who:05d}",
                    f"i:0#.f|membership|P{who}@ORG.example",
                ]
            )
        evs.append(
            {
                "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "user": actor,
                "activity": act,
                "item": f"/p/{rng.randrange(50)}",
                "uid": uid,
            }
        )
    return roster, pd.DataFrame(evs, columns=["timestamp", "user", "activity", "item", "uid"])


def write_org(roster: pd.DataFrame, events: pd.DataFrame, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rp = folder / "roster.csv"
    roster.to_csv(rp, index=False)
    ep = folder / "events.csv"
    events.drop(columns=["uid"]).to_csv(ep, index=False)
    return rp, ep


def _population_and_events(
    roster: pd.DataFrame, events: pd.DataFrame, start: date, end: date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    s = roster["start_date"].replace("", None)
    e = roster["end_date"].replace("", None)
    employed = (s.isna() | (s <= end.isoformat())) & (e.isna() | (e >= start.isoformat()))
    ev = events.copy()
    day = ev["timestamp"].str[:10]
    ev = ev[(day >= start.isoformat()) & (day <= end.isoformat())]
    ev = ev.assign(cls=ev["activity"].map(CLASSES))
    return roster[employed], ev[ev["cls"] != "ignore"]


def oracle_people(
    roster: pd.DataFrame, events: pd.DataFrame, start: date, end: date
) -> dict[str, tuple[bool, bool, bool]]:
    """Each person in the population: (reader, reactor, contributor), cumulative."""
    pop, ev = _population_and_events(roster, events, start, end)
    people = {}
    for uid in pop["user_id"]:
        mine = set(ev.loc[ev["uid"] == uid, "cls"])
        people[uid] = (bool(mine), bool(mine & {"react", "contribute"}), "contribute" in mine)
    return people


def oracle(roster: pd.DataFrame, events: pd.DataFrame, start: date, end: date) -> dict:
    """Population, tiers, ladder and per-department counts, straight from the definitions."""
    pop, ev = _population_and_events(roster, events, start, end)
    people = oracle_people(roster, events, start, end)

    def counts(uids) -> dict:
        flags = [people[u] for u in uids]
        return {
            "population": len(flags),
            "reader": sum(f[0] for f in flags),
            "reactor": sum(f[1] for f in flags),
            "contributor": sum(f[2] for f in flags),
        }

    total = counts(pop["user_id"])
    total["ladder"] = {
        "inactive": total["population"] - total["reader"],
        "reader_only": total["reader"] - total["reactor"],
        "reactor_only": total["reactor"] - total["contributor"],
        "contributor": total["contributor"],
    }
    total["departments"] = {d: counts(g["user_id"]) for d, g in pop.groupby("department")}
    matched = ev["uid"].notna()
    total["unmatched_actors"] = ev.loc[~matched, "user"].str.lower().nunique()
    total["identity_coverage"] = matched.mean() if len(ev) else None
    return total
