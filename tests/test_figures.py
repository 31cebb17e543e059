"""The science figures (issue 12): read through the derived activity files they equal, JSON
for JSON, those of the raw reference path that hands every counted event to pandas, on
random stores with threads, replies, reactions, one message in two sources, usage-report
aggregates, managers, a team, segments and any time zone."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import date, datetime, timedelta, timezone

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intranet_metrics import api, report
from intranet_metrics.config import Config
from intranet_metrics.engine import Engine, Period, Population, lifecycle_inputs
from intranet_metrics.report import Window
from intranet_metrics.schema import EVENT_SCHEMA
from intranet_metrics.store import SourceSummary, Store

ZONES = ("UTC", "Europe/Amsterdam", "America/Santiago", "Asia/Kolkata")
ROSTER = (
    "user_id,email,upn,aliases,start_date,end_date,department,manager\n"
    "E1,ann@x.nl,ann@x.nl,CORP\\ann,,,Sales,yes\n"
    "E2,bob@x.nl,bob@x.nl,,,2026-04-01,IT,\n"
    "E3,cor@x.nl,cor@x.nl,CORP\\cor,2026-02-10,,IT,ja\n"
    "E4,dan@x.nl,dan@x.nl,,,,Sales,\n"
    "E5,fay@x.nl,fay@x.nl,,,,IT,\n"
    "E6,gus@x.nl,gus@x.nl,,,,Sales,x\n"
    "E7,hal@x.nl,hal@x.nl,,,,IT,\n"
)
ACTORS = (
    "ann@x.nl",
    "corp\\ann",
    "bob@x.nl",
    "corp\\cor",
    "dan@x.nl",
    "fay@x.nl",
    "gus@x.nl",
    "hal@x.nl",
    "eve@x.nl",  # not in the roster
)
ACTS = ("view", "page_view", "post", "thread_start", "reply", "comment", "like", "reaction")
FORMATS = ("generic", "viva-engage", "m365-audit", "slack-export")
BASE = datetime(2026, 1, 20, tzinfo=timezone.utc)
IDS = (None, "m1", "m2", "m3", "m4")

event = st.fixed_dictionaries(
    {
        "time": st.integers(0, 95 * 24 * 60).map(lambda m: BASE + timedelta(minutes=m)),
        "actor": st.sampled_from(ACTORS),
        "activity": st.sampled_from(ACTS),
        "item": st.sampled_from(IDS),
        "parent": st.sampled_from(IDS),
        "thread": st.sampled_from(IDS),
        "channel": st.sampled_from((None, "c1")),
    }
)
aggregate = st.tuples(
    st.sampled_from(ACTORS),
    st.sampled_from(("page_view", "post", "like")),
    st.dates(date(2026, 1, 25), date(2026, 4, 10)),
    st.integers(0, 6),
)


def _table(rows: list[dict], sha: str, fmt: str) -> pa.Table:
    n = len(rows)
    cols = {
        f.name: pa.array([r.get(f.name) for r in rows], f.type)
        for f in EVENT_SCHEMA
        if f.name in {"time", "actor", "activity", "item", "parent", "thread", "channel"}
        or f.name in {"window_start", "window_end"}
    }
    cols |= {
        "count": pa.array([r.get("count", 1) for r in rows], pa.int64()),
        "source_format": pa.array([fmt] * n),
        "source_file": pa.array([f"{sha[:8]}.csv"] * n),
        "source_sha256": pa.array([sha] * n),
        "source_line": pa.array(range(n), pa.int64()),
        "event_key": pa.array([f"{sha[:8]}-{i}" for i in range(n)]),
    }
    return pa.table([cols.get(f.name, pa.nulls(n, f.type)) for f in EVENT_SCHEMA], EVENT_SCHEMA)


def commit(store: Store, rows: list[dict], tz: str, fmt: str) -> None:
    sha = hashlib.sha256(json.dumps(rows, default=str).encode() + fmt.encode()).hexdigest()
    with store.staging(api.pseudonymiser(Config())) as stage:
        stage.write_source(_table(rows, sha, fmt).to_batches(max_chunksize=11))
        summary = SourceSummary(path=f"{sha[:8]}.csv", sha256=sha, format=fmt)
        store.commit(stage, [summary], None, tz=tz)


def figures(store: Store, config: Config, pop, derived: bool) -> list:
    """Baseline and compare windows by department, and a monthly trend with lifecycle."""
    store.read_activity = derived
    by = ("department",) if pop.roster is not None else ()
    try:
        out = [
            report.measure_with_tiers(store, config, w, pop, by)[0]
            for w in (
                Window(date(2026, 2, 1), date(2026, 2, 28)),
                Window(date(2026, 3, 1), date(2026, 3, 31)),
            )
        ]
        trend = report.trend(
            store, config, "month", Window(date(2026, 1, 1), date(2026, 4, 30)), pop
        )
        # Everything but the time the report was made.
        # March holds a DST change: the month before it starts inside a local day.
        march = report.trend(
            store, config, "month", Window(date(2026, 3, 1), date(2026, 4, 30)), pop
        )
        weeks = report.trend(
            store, config, "week", Window(date(2026, 2, 9), date(2026, 4, 12)), pop
        )
        docs = [*out, trend, march, weeks]
        # Everything but the time the report was made.
        return [{k: v for k, v in d.items() if k != "generated_at"} for d in docs]
    finally:
        store.read_activity = True


def _roster_pop(tmp_path_factory, config: Config):
    path = tmp_path_factory.mktemp("roster") / "roster.csv"
    path.write_text(ROSTER)
    return api.population(config, roster=path)


@pytest.mark.slow
@settings(
    max_examples=int(os.environ.get("FIGURES_EXAMPLES", 12)),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    batches=st.lists(
        st.tuples(st.sampled_from(FORMATS), st.lists(event, min_size=1, max_size=40)),
        min_size=1,
        max_size=3,
    ),
    twice=st.booleans(),
    aggregates=st.lists(aggregate, max_size=4),
    ingest_tz=st.sampled_from(ZONES),
    same_tz=st.booleans(),
    measure_tz=st.sampled_from(ZONES),
    basis=st.sampled_from(("roster", "roster", "observed", "fixed")),
)
def test_derived_figures_equal_the_raw_reference(
    tmp_path_factory, batches, twice, aggregates, ingest_tz, same_tz, measure_tz, basis
):
    store = Store.open(tmp_path_factory.mktemp("fig") / "s", create=True)
    for fmt, rows in batches:
        commit(store, rows, ingest_tz, fmt)
    if twice:  # the same messages seen in a second source: counted once (message dedupe)
        commit(
            store,
            batches[0][1],
            ingest_tz,
            "m365-audit" if batches[0][0] != "m365-audit" else "viva-engage",
        )
    if aggregates:
        rows = [
            {
                "time": datetime.combine(s, datetime.min.time(), timezone.utc),
                "actor": actor,
                "activity": act,
                "count": 3,
                "window_start": s,
                "window_end": s + timedelta(days=span),
            }
            for actor, act, s, span in aggregates
        ]
        commit(store, rows, ingest_tz, "m365-usage")
    config = Config(
        timezone=ingest_tz if same_tz else measure_tz,
        min_group_size=3,
        manager_column="manager",
        team_column="department",
        team_values=("IT",),
    )
    pop = {
        "roster": lambda: _roster_pop(tmp_path_factory, config),
        "observed": lambda: Population(),
        "fixed": lambda: Population(size=30),
    }[basis]()
    got = figures(store, config, pop, True)
    want = figures(store, config, pop, False)
    assert json.loads(json.dumps(got, default=str)) == json.loads(json.dumps(want, default=str))


@pytest.mark.parametrize("derived", [True, False])
def test_figures_are_there(tmp_path_factory, derived):
    """The property above compares figures, not nulls: a store with threads gives them."""
    store = Store.open(tmp_path_factory.mktemp("fig") / "s", create=True)
    t = datetime(2026, 2, 10, 9, tzinfo=timezone.utc)
    rows = [{"time": t, "actor": a, "activity": "view", "item": "p"} for a in ACTORS[:8]] + [
        {"time": t, "actor": "ann@x.nl", "activity": "post", "item": "m1"},
        {
            "time": t + timedelta(hours=2),
            "actor": "dan@x.nl",
            "activity": "reply",
            "item": "m2",
            "parent": "m1",
        },
        {"time": t + timedelta(hours=3), "actor": "fay@x.nl", "activity": "like", "item": "m1"},
    ]
    commit(store, rows, "UTC", "viva-engage")
    config = Config(min_group_size=3, manager_column="manager")
    doc = figures(store, config, _roster_pop(tmp_path_factory, config), derived)[0]
    assert doc["interaction"]["thread_starts"] == 1
    assert doc["interaction"]["median_first_response_hours"] == 2.0
    assert doc["inequality"]["contributions"] == 1  # a reply is a reaction by default
    assert doc["inequality"]["ladder_shares"]["reader_only"] == 4 / 7
    assert doc["leadership"]["managers"]["population"] == 3


@pytest.mark.parametrize(
    ("tz", "derived"), [("Europe/Amsterdam", True), ("America/Santiago", False)]
)
def test_lifecycle_reads_the_derived_days_where_they_are_calendar_days(tmp_path, tz, derived):
    """Santiago's clocks skip local midnight on 6 September: its lifecycle is read raw."""
    store = Store.open(tmp_path / "s", create=True)
    t = datetime(2026, 8, 10, 12, tzinfo=timezone.utc)
    commit(store, [{"time": t, "actor": "ann@x.nl", "activity": "view"}], tz, "generic")
    config = Config(timezone=tz)
    periods = [
        Period("aug", date(2026, 8, 1), date(2026, 8, 31)),
        Period("sep", date(2026, 9, 1), date(2026, 9, 30)),
    ]
    got = lifecycle_inputs(Engine(store, config), periods, Population())
    assert (got is not None) == derived
    if derived:
        assert got.by_span == {1: {"active": 1, "returning": 0, "new": 1, "days": 1, "dated": 1}}


def test_a_view_that_links_a_message_to_its_thread_still_counts(tmp_path):
    """A view row naming a message and its parent maps the message into the thread
    (science._known_roots): the reply to that message answers the thread on both paths."""
    store = Store.open(tmp_path / "s", create=True)
    t = datetime(2026, 2, 10, 9, tzinfo=timezone.utc)
    rows = [
        {"time": t, "actor": "ann@x.nl", "activity": "post", "item": "m2"},
        {"time": t, "actor": "bob@x.nl", "activity": "view", "item": "m1", "parent": "m2"},
        {
            "time": t + timedelta(hours=1),
            "actor": "dan@x.nl",
            "activity": "reply",
            "item": "m3",
            "parent": "m1",
        },
    ]
    commit(store, rows, "UTC", "viva-engage")
    config = Config(min_group_size=3)
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER)
    pop = api.population(config, roster=path)
    for derived in (True, False):
        assert figures(store, config, pop, derived)[0]["interaction"]["reply_coverage"] == 1.0


def test_a_response_stored_twice_changes_no_interaction_figure(tmp_path):
    """The same likes and replies in two sources (two event keys each): the thread
    figures equal those of the responses stored once on both paths (science._responses
    drops the copies; the engine's first responses and team replies need not)."""
    t = datetime(2026, 2, 10, 9, tzinfo=timezone.utc)

    def at(hours: int, actor: str, activity: str, **ids: str) -> dict:
        return {"time": t + timedelta(hours=hours), "actor": actor, "activity": activity, **ids}

    starts = [
        at(0, "ann@x.nl", "post", item="m1"),
        at(1, "bob@x.nl", "post", item="m5"),
        at(2, "gus@x.nl", "post", item="m7"),
    ]
    responses = [
        at(3, "dan@x.nl", "like", item="m1"),
        at(5, "fay@x.nl", "reply", item="m2", parent="m1"),
        at(4, "ann@x.nl", "reply", item="m6", parent="m5"),
        at(6, "ann@x.nl", "comment", parent="m7"),
        at(7, "hal@x.nl", "reaction", item="m6"),
    ]
    config = Config(min_group_size=1, team_people=("ann@x.nl", "fay@x.nl"))
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER)
    pop = api.population(config, roster=path)
    got = []
    for copies in (1, 2):
        store = Store.open(tmp_path / f"s{copies}", create=True)
        commit(store, starts + responses, "UTC", "viva-engage")
        if copies == 2:
            commit(store, responses, "UTC", "generic")
        for derived in (True, False):
            doc = figures(store, config, pop, derived)[0]
            got.append((doc["interaction"], doc["inequality"]))
    assert got[0] == got[1] == got[2] == got[3]
    assert got[0][0]["thread_starts"] == 3 and got[0][0]["reply_coverage"] == 1.0
    assert got[0][0]["replies_per_own_post"] is not None
