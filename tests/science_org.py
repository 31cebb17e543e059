"""A synthetic organisation with the truth built in, written as generic CSV (with
``parent``/``thread``) and a roster: known stayers moving each way between a baseline
(January 2026) and a current window (March 2026), leavers and joiners, a communication
team that posts without replying, managers, and a known set of unanswered threads.

Every figure in ``Truth`` comes from the design (lists of who does what), by counting,
never from the functions under test.
"""

from __future__ import annotations

import csv
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

BASELINE = (datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 2, 1, tzinfo=timezone.utc))
CURRENT = (datetime(2026, 3, 1, tzinfo=timezone.utc), datetime(2026, 4, 1, tzinfo=timezone.utc))
TIERS = ("reader", "reactor", "contributor")
RANK = {"I": 0, "R": 1, "A": 2, "C": 3}  # inactive, reader, reactor (A), contributor

COMMS = (0, 1, 2)  # department Comms
MANAGERS = (3, 23, 33, 41)  # is_manager = yes: inactive, reactor now, contributors now
LEAVERS = {49: "R", 50: "R", 51: "I", 52: "A", 53: "C"}  # tier at baseline
JOINERS = {54: "R", 55: "A", 56: "C", 57: "C", 58: "I", 59: "R"}  # tier now
# Stayers 3..48: (tier at baseline, tier now), counted moves each way.
MOVES = [
    (("I", "I"), 6),
    (("I", "R"), 3),
    (("R", "I"), 2),
    (("R", "R"), 8),
    (("R", "A"), 3),
    (("A", "R"), 2),
    (("A", "A"), 4),
    (("A", "C"), 6),
    (("C", "A"), 3),
    (("C", "C"), 4),
    (("I", "C"), 2),
    (("R", "C"), 1),
    (("C", "I"), 1),
    (("I", "A"), 1),
]
COMMS_POSTS_NOW = 4  # thread starts per comms member in March; they never reply
FEBRUARY_READERS = tuple(range(10, 30))  # active in February only by a page view


def email(i: int) -> str:
    return f"p{i}@contoso.nl"


@dataclass
class Truth:
    baseline_tier: dict[int, str] = field(default_factory=dict)
    current_tier: dict[int, str] = field(default_factory=dict)
    # paired table over the stayers per tier: a (both), b (baseline only), c (now only), d
    paired: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    contributions_now: dict[int, int] = field(default_factory=dict)  # person -> count
    thread_starts: int = 0
    unanswered: set[str] = field(default_factory=set)  # no response within 7 days
    solo: set[str] = field(default_factory=set)  # no response from anyone else, ever
    first_response_hours: dict[str, float] = field(default_factory=dict)  # answered ones
    broadcast_share: float = 0.0
    replies_per_own_post: float = 0.0
    threads_with_manager: int = 0
    active: dict[str, set[int]] = field(default_factory=dict)  # month -> people
    active_days: dict[str, dict[int, set[str]]] = field(default_factory=dict)

    @property
    def reply_coverage(self) -> float:
        return 1 - len(self.unanswered) / self.thread_starts

    @property
    def median_first_response_hours(self) -> float:
        return statistics.median(self.first_response_hours.values())


class ScienceOrg:
    """Builds the events row by row and keeps the truth beside them."""

    def __init__(self) -> None:
        self.rows: list[dict[str, str]] = []
        self.truth = Truth()
        self._n = 0

    # -- building blocks -----------------------------------------------------------------
    def _add(self, who: int, t: datetime, activity: str, item: str, parent="", thread=""):
        self.rows.append(
            {
                "timestamp": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "user": email(who),
                "activity": activity,
                "item": item,
                "parent": parent,
                "thread": thread,
            }
        )
        month = t.strftime("%Y-%m")
        self.truth.active.setdefault(month, set()).add(who)
        self.truth.active_days.setdefault(month, {}).setdefault(who, set()).add(
            t.strftime("%Y-%m-%d")
        )

    def _id(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    # -- the organisation ----------------------------------------------------------------
    def build(self) -> ScienceOrg:
        tr = self.truth
        stayers: dict[int, tuple[str, str]] = {i: ("C", "C") for i in COMMS}
        i = 3
        for move, count in MOVES:
            for _ in range(count):
                stayers[i] = move
                i += 1
        assert i == 49
        tr.baseline_tier = {p: m[0] for p, m in stayers.items()} | dict(LEAVERS)
        tr.current_tier = {p: m[1] for p, m in stayers.items()} | dict(JOINERS)
        for k, tier in enumerate(TIERS, start=1):
            cells = [0, 0, 0, 0]
            for base, now in stayers.values():
                inb, inn = RANK[base] >= k, RANK[now] >= k
                cells[{(1, 1): 0, (1, 0): 1, (0, 1): 2, (0, 0): 3}[(inb, inn)]] += 1
            tr.paired[tier] = tuple(cells)
        self._window(tr.baseline_tier, BASELINE[0], posts_by_comms=1, design=None)
        for p in FEBRUARY_READERS:
            self._add(p, datetime(2026, 2, 3 + p % 20, 9, tzinfo=timezone.utc), "page_view", "/n")
        self._window(tr.current_tier, CURRENT[0], COMMS_POSTS_NOW, design=tr)
        return self

    def _window(self, tiers, t0: datetime, posts_by_comms: int, design: Truth | None) -> None:
        """Every person's events for their tier; in March the threads follow the design."""
        day = 0
        starts: list[tuple[str, int, datetime]] = []
        for p, tier in sorted(tiers.items()):
            if tier == "I":
                continue
            day = (day + 1) % 18
            self._add(p, t0 + timedelta(days=day, hours=8), "page_view", f"/page{p % 7}")
            if tier == "C":
                for n in range(posts_by_comms if p in COMMS else 1):
                    tid = self._id("t")
                    at = t0 + timedelta(days=1 + (p + 3 * n) % 18, hours=10)
                    self._add(p, at, "thread_start", tid, thread=tid)
                    starts.append((tid, p, at))
        reactors = [p for p, tier in sorted(tiers.items()) if tier == "A"]
        if design is None:
            # Baseline: every reactor likes the first thread (no thread truth is checked).
            for p in reactors:
                self._add(p, starts[0][2] + timedelta(hours=1), "like", starts[0][0])
            return
        self._threads(starts, reactors, tiers, design)

    def _threads(self, starts, reactors, tiers, tr: Truth) -> None:
        tr.thread_starts = len(starts)
        comms = [s for s in starts if s[1] in COMMS]
        staff = [s for s in starts if s[1] not in COMMS]
        # Unanswered by design: the last four comms threads and two staff threads.
        silent = comms[-4:] + staff[:2]
        self_only = staff[2]  # its starter replies to it; nobody else does
        late = staff[3]  # the only answer comes after 8 days
        chained = staff[4]  # self reply, then someone answers the self reply (no thread)
        answered = [s for s in starts if s not in (*silent, self_only, late, chained)]
        contributors = [p for p, tier in sorted(tiers.items()) if tier == "C" and p not in COMMS]
        responders = reactors + contributors  # never the comms team
        for tid, _, _ in silent:
            tr.unanswered.add(tid)
            tr.solo.add(tid)
        tid, who, at = self_only
        self._add(who, at + timedelta(hours=2), "reply", self._id("r"), parent=tid, thread=tid)
        tr.unanswered.add(tid)
        tr.solo.add(tid)
        tid, who, at = late
        other = next(p for p in responders if p != who)
        self._add(other, at + timedelta(days=8), "reply", self._id("r"), parent=tid, thread=tid)
        tr.unanswered.add(tid)
        tid, who, at = chained
        own = self._id("r")
        self._add(who, at + timedelta(hours=1), "reply", own, parent=tid, thread=tid)
        other = next(p for p in responders if p != who)
        self._add(other, at + timedelta(hours=5), "reply", self._id("r"), parent=own)
        tr.first_response_hours[tid] = 5.0
        k = 0
        for n, (tid, who, at) in enumerate(answered):
            # One or two responses; the first after 1..19 hours, by someone else.
            hours = [1 + (7 * n) % 19, 30 + n]
            for h, act in zip(hours[: 1 + n % 2], ("reply", "like"), strict=False):
                while responders[k % len(responders)] == who:
                    k += 1
                resp = responders[k % len(responders)]
                k += 1
                item = self._id("r") if act == "reply" else tid
                self._add(
                    resp,
                    at + timedelta(hours=h),
                    act,
                    item,
                    parent=tid if act == "reply" else "",
                    thread=tid,
                )
            tr.first_response_hours[tid] = float(hours[0])
        # Every reactor responded at least once, so the tiers hold.
        assert k >= len(reactors)
        counts = {p: 0 for p in tiers}
        for _, who, _ in starts:
            counts[who] += 1
        tr.contributions_now = counts
        tr.broadcast_share = len(comms) / len(starts)
        tr.replies_per_own_post = 0.0
        involved = {tid for tid, who, _ in starts if who in MANAGERS}
        for r in self.rows:
            if email_person(r["user"]) in MANAGERS and r["thread"]:
                involved.add(r["thread"])
        # The chained answer has no thread column: its thread is the chained start.
        for r in self.rows:
            if r["parent"] and not r["thread"] and email_person(r["user"]) in MANAGERS:
                involved.add(chained[0])
        tr.threads_with_manager = len(involved & {s[0] for s in starts})

    # -- files ---------------------------------------------------------------------------
    def write(self, folder: Path) -> tuple[Path, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        events, roster = folder / "events.csv", folder / "roster.csv"
        with open(events, "w", newline="") as fh:
            w = csv.DictWriter(fh, ["timestamp", "user", "activity", "item", "parent", "thread"])
            w.writeheader()
            w.writerows(self.rows)
        with open(roster, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["user_id", "email", "department", "is_manager", "start_date", "end_date"])
            for p in range(60):
                dept = "Comms" if p in COMMS else ("Ops", "IT", "HR")[p % 3]
                start = "2026-03-01" if p in JOINERS else ""
                end = "2026-01-31" if p in LEAVERS else ""
                mgr = "yes" if p in MANAGERS else "no"
                w.writerow([f"E{p:03d}", email(p), dept, mgr, start, end])
        return events, roster


def email_person(address: str) -> int:
    return int(address.split("@")[0][1:])
