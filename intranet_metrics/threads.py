"""The science figures' heavy work as ibis expressions in the engine's backend (issue 12).

science.py defines the figures over events in pandas (the oracle the tests hold these
queries to); here the same steps run where the events are: the message dedupe and the
contributions per person, the thread starts and the root of every response
(science.thread_events, its message ids followed through the messages seen), and each
thread start's first response by someone else. pandas then receives one row per person
and per thread start of the window, not one per event.

Where science.py keeps the first of duplicate rows (one message id seen twice with
different threads or times), these queries keep the least (the earliest time, the
smallest id): such data has no one right answer, and this one does not hang on the
order the rows arrive in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from .backends import drop_temp, temp_table
from .science import REPLY_ACTIVITIES, START_ACTIVITIES

RESPONSE_ACTIVITIES = ("reply", "comment", "like", "reaction")
REACTIONS = ("like", "reaction")
# science._known_roots follows parents of parents this many levels.
ROOT_LEVELS = 8
NO_ID = ibis.null("string")


def _qualified(ns: ir.StringValue, col: ir.StringValue) -> ir.StringValue:
    """A message id in its namespace (science._namespace); null without an id."""
    return col.isnull().ifelse(NO_ID, ns + col.cast("string"))


def with_ids(ev: ir.Table) -> ir.Table:
    """``ev`` with its message ids in their namespace (``i``, ``p``, ``t``) and whether a
    row starts a thread or responds in one (science.thread_events)."""
    fmt = ev.source_format.cast("string")
    chan = ev.channel.cast("string").fill_null("")
    ns = (fmt == "slack-export").fill_null(False).ifelse("slack/" + chan + "/", "msg/")
    starts = ev.activity.isin(sorted(START_ACTIVITIES))
    return ev.mutate(
        i=_qualified(ns, ev.item),
        p=_qualified(ns, ev.parent),
        t=_qualified(ns, ev.thread),
        is_start=starts & ev.parent.isnull() & ev.item.notnull(),
        is_resp=ev.activity.isin(RESPONSE_ACTIVITIES) | (starts & ev.parent.notnull()),
    )


@dataclass
class Threads:
    """The thread starts (root, person, time) and the responses (root, person, time,
    activity) of the events, deduplicated as in science.thread_events (but the reactions:
    see _responses); ``names``: the backend's temporary tables behind them (dropped by
    :meth:`close`)."""

    starts: ir.Table
    responses: ir.Table
    con: ibis.BaseBackend
    names: list[str]

    def close(self) -> None:
        for name in self.names:
            drop_temp(self.con, name)


def threads(con: ibis.BaseBackend, ev: ir.Table) -> Threads:
    """science.thread_events of ``ev`` (resolved events with person, time, activity and
    the message id columns) in the backend."""
    ev = with_ids(ev)
    start_ids = ev.filter(ev.is_start).select(s_id=ev.i).distinct()
    # The thread column is trusted when it names a thread start seen.
    j = ev.left_join(start_ids, ev.t == start_ids.s_id)
    j = j.mutate(root_of=j.is_start.ifelse(j.i, ibis.coalesce(j.s_id, j.p, j.t)))
    names: list[str] = []
    rows = _temp(con, names, j.filter(j.is_start | j.is_resp | j.i.notnull()))
    known = _known_roots(con, names, rows)
    starts = _starts(rows)
    return Threads(starts, _responses(rows, known), con, names)


def _temp(con: ibis.BaseBackend, names: list[str], expr: ir.Table) -> ir.Table:
    name = f"science_{uuid.uuid4().hex}"
    names.append(name)
    return temp_table(con, name, expr)


def _known_roots(con: ibis.BaseBackend, names: list[str], rows: ir.Table) -> ir.Table:
    """(k: message id, r: its root thread start) of every message seen: science._known_roots,
    a message's root followed through the roots of the messages seen."""
    seen = rows.filter(rows.i.notnull() & rows.root_of.notnull())
    known = _temp(con, names, seen.group_by(k=seen.i).aggregate(r=seen.root_of.min()))
    for _ in range(ROOT_LEVELS):
        up = known.view().rename(u_k="k", u_r="r")
        j = known.left_join(up, known.r == up.u_k)
        nxt = j.select(k=j.k, r=ibis.coalesce(j.u_r, j.r), moved=j.u_r.notnull() & (j.u_r != j.r))
        nxt = _temp(con, names, nxt)
        moved = bool(nxt.moved.any().to_pyarrow().as_py())
        known = nxt.select("k", "r")
        if not moved:
            break
    return known


def _starts(rows: ir.Table) -> ir.Table:
    """One start per thread: its earliest row (the least person of a tie)."""
    s = rows.filter(rows.is_start).select(root=rows.i, person=rows.person, time=rows.time)
    first = s.group_by(f_root=s.root).aggregate(f_time=s.time.min())
    j = s.join(first, [s.root == first.f_root, s.time == first.f_time])
    return j.group_by(root=j.root).aggregate(person=j.person.min(), time=j.time.min())


def _responses(rows: ir.Table, known: ir.Table) -> ir.Table:
    """Each response with the root of its thread, one per (message, person)
    (science._responses)."""
    r = rows.filter(rows.is_resp)
    kp = known.view().rename(kp_k="k", kp_r="r")
    ki = known.view().rename(ki_k="k", ki_r="r")
    r = r.left_join(kp, r.p == kp.kp_k).left_join(ki, r.i == ki.ki_k)
    reaction = r.activity.isin(REACTIONS)
    via_parent = ibis.coalesce(r.kp_r, r.p)
    root = reaction.ifelse(ibis.coalesce(r.ki_r, r.t, r.i), ibis.coalesce(r.s_id, via_parent, r.t))
    r = r.mutate(root=root).filter(root.notnull())
    # A reaction (or an answer without an id) is one response per root and instant; any
    # other answer one per message id. Grouped on the columns themselves, not on a key
    # written as text (formatting 10^6 timestamps was most of this query).
    # The reactions are not grouped at all: for them that would only drop rows equal in
    # all four columns, and no figure counts reactions (a first response is the least
    # time; team_replies counts replies). Most responses are likes: grouping them was
    # 3.5 of the 4 CPU-s of the first responses at 100 M events.
    cols = ["root", "person", "time", "activity"]
    reactions = r.filter(reaction).select(*cols)
    r = r.filter(~reaction)
    by_time = r.i.isnull()
    r = r.mutate(k_id=by_time.ifelse(r.root, r.i), k_time=by_time.ifelse(r.time, ibis.null()))
    answers = r.group_by(["k_id", "k_time", "activity", "person"]).aggregate(
        root=r.root.min(), time=r.time.min()
    )
    return answers.select(*cols).union(reactions, distinct=False)


def first_responses(
    th: Threads, lo: datetime, hi: datetime, managers: Iterable[str] | None = None
) -> ir.Table:
    """The threads started in ``[lo, hi)``: person, time, the first response by another
    person (``first``) and, with ``managers``, whether a manager started it or responded
    in it (``manager``)."""
    s = th.starts.filter((th.starts.time >= lo) & (th.starts.time < hi))
    r = th.responses.select(r_root="root", r_person="person", r_time="time")
    if managers is not None:
        # Joined, not IN (...): Spark takes no subquery inside an aggregate.
        s, r = _flagged(s, "person", managers), _flagged(r, "r_person", managers)
        r = r.rename(r_flag="flag")
    j = s.left_join(r, s.root == r.r_root)
    other = j.r_person.notnull() & (j.r_person != j.person)
    aggs = {"first": j.r_time.min(where=other)}
    if managers is not None:
        aggs["manager"] = j.flag.any() | j.r_flag.fill_null(False).any()
    return j.group_by(["root", "person", "time"]).aggregate(**aggs)


def _flagged(t: ir.Table, column: str, people: Iterable[str]) -> ir.Table:
    """``t`` with ``flag``: whether its ``column`` is one of ``people``."""
    m = _people(people).rename(f_m="m")
    j = t.left_join(m, t[column] == m.f_m)
    return j.mutate(flag=j.f_m.notnull()).drop("f_m")


def _people(people: Iterable[str]) -> ir.Table:
    return ibis.memtable(pa.table({"m": pa.array(sorted(map(str, people)), pa.string())}))


def team_replies(th: Threads, lo: datetime, hi: datetime, members: Iterable[str]) -> int:
    """The team's replies in ``[lo, hi)`` in threads started outside the team."""
    m = _people(members)
    s = th.starts.filter(~th.starts.person.isin(m.m)).select(o_root="root")
    r = th.responses
    r = r.filter(
        r.activity.isin(sorted(REPLY_ACTIVITIES))
        & r.person.isin(m.m)
        & (r.time >= lo)
        & (r.time < hi)
    )
    j = r.join(s, r.root == s.o_root)
    return int(j.count().to_pyarrow().as_py())


def contributions(ev: ir.Table, lo: datetime, hi: datetime) -> ir.Table:
    """Contributions per person after the message dedupe (science.contribution_counts):
    ``window`` over the single events of ``[lo, hi)`` and every aggregate row of ``ev``,
    ``timely`` over the rows whose time lies there (the team's broadcast share)."""
    ev = with_ids(ev.filter(ev.cls == "contribute"))
    timely = (ev.time >= lo) & (ev.time < hi)
    parts = [
        _deduped(ev.filter(ev.window_start.notnull() | timely), "window"),
        _deduped(ev.filter(timely), "timely"),
    ]
    u = parts[0].union(parts[1], distinct=False)
    return u.group_by(["person", "which"]).aggregate(n=u.n.sum())


def _deduped(ev: ir.Table, which: str) -> ir.Table:
    """(person, which, n) rows whose sum is each person's count, a message counted once
    per (message, person, activity) (science._message_dedupe)."""
    msg = ev.i.notnull() & ev.activity.isin(sorted(START_ACTIVITIES | REPLY_ACTIVITIES))
    rest = ev.filter(~msg).select(person=ev.person, n=ev["count"].cast("int64"))
    m = ev.filter(msg)
    once = m.group_by(["i", "person", "activity"]).aggregate(n=m["count"].min().cast("int64"))
    both = rest.union(once.select("person", "n"), distinct=False)
    return both.mutate(which=ibis.literal(which))
