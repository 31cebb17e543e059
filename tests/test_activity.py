"""The derived activity table (issue 12 item 1): measurements read it, and the numbers are
the very ones the raw events give, whatever the time zone (DST days, midnight transitions,
half-hour zones), activity mapping, exclusions, aggregates and aliases; forget, compact,
repair, a crash and an older store without derived files never change a number."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intranet_metrics import activity, api
from intranet_metrics.config import Config
from intranet_metrics.engine import Engine, Period, Population
from intranet_metrics.schema import ACTIVITIES, EVENT_SCHEMA
from intranet_metrics.store import MANIFEST, SourceSummary, Store

ZONES = ("UTC", "Europe/Amsterdam", "America/Santiago", "Asia/Kolkata", "Australia/Lord_Howe")
# Instants near the zones' DST changes in 2026 (Santiago's autumn change is at local
# midnight: 00:00 becomes 23:00 of the day before) and a month's end.
EDGES = (
    datetime(2026, 3, 29, 1, tzinfo=timezone.utc),  # Amsterdam spring
    datetime(2026, 4, 5, 3, tzinfo=timezone.utc),  # Santiago, Lord Howe autumn
    datetime(2026, 1, 31, 23, 30, tzinfo=timezone.utc),  # a UTC month's end
)
ROSTER = (
    "user_id,email,upn,aliases,start_date,end_date,department\n"
    "E1,ann@x.nl,ann@x.nl,CORP\\ann,,,Sales\n"
    "E2,bob@x.nl,bob@x.nl,,,2026-04-01,IT\n"
    "E3,cor@x.nl,cor@x.nl,CORP\\cor,2026-03-30,,IT\n"
    "E4,dan@x.nl,dan@x.nl,,,,Sales\n"
)
ACTORS = (
    "ann@x.nl",
    "corp\\ann",
    "bob@x.nl",
    "corp\\cor",
    "dan@x.nl",
    "eve@x.nl",  # not in the roster
    "slack:u1",
    "0123456789abcdef0123456789abcdef",  # concealed
    "p:3f2a",
)
MAPPINGS = (
    {},
    {"page_view": "ignore", "edit": "contribute"},
    {"like": "view", "comment": "contribute", "view": "react"},
)


IDS = ("item", "parent", "thread")


def _table(rows: list[dict], sha: str, fmt: str) -> pa.Table:
    n = len(rows)
    cols = {
        "time": pa.array([r["time"] for r in rows], EVENT_SCHEMA.field("time").type),
        "actor": pa.array([r["actor"] for r in rows]),
        "activity": pa.array([r["activity"] for r in rows]),
        "count": pa.array([r.get("count", 1) for r in rows], pa.int64()),
        "window_start": pa.array([r.get("window_start") for r in rows], pa.date32()),
        "window_end": pa.array([r.get("window_end") for r in rows], pa.date32()),
        "excluded": pa.array([r.get("excluded") for r in rows], pa.string()),
        **{
            k: pa.array([r.get(k) for r in rows], pa.string()) for k in ("item", "parent", "thread")
        },
        "source_format": pa.array([fmt] * n),
        "source_file": pa.array([f"{sha[:8]}.csv"] * n),
        "source_sha256": pa.array([sha] * n),
        "source_line": pa.array(range(n), pa.int64()),
        "event_key": pa.array([f"{sha[:8]}-{i}" for i in range(n)]),
    }
    return pa.table([cols.get(f.name, pa.nulls(n, f.type)) for f in EVENT_SCHEMA], EVENT_SCHEMA)


def commit(store: Store, rows: list[dict], tz: str, fmt: str = "generic") -> None:
    """Rows committed the way an ingest commits them (staging, dedupe, derived files)."""
    sha = hashlib.sha256(json.dumps(rows, default=str).encode() + fmt.encode()).hexdigest()
    with store.staging(api.pseudonymiser(Config())) as stage:
        stage.write_source(_table(rows, sha, fmt).to_batches(max_chunksize=7))
        summary = SourceSummary(path=f"{sha[:8]}.csv", sha256=sha, format=fmt)
        store.commit(stage, [summary], None, tz=tz)


def _result(engine: Engine, periods: list[Period], pop: Population, by: tuple[str, ...]):
    r = engine.compute(periods, pop, by)
    tiers = None
    if r.person_tiers is not None:
        tiers = sorted(r.person_tiers.to_pylist(), key=lambda x: x["person_key"])
    segments = {k: sorted(v, key=lambda g: (g.period, g.value)) for k, v in r.segments.items()}
    return r.totals, segments, r.identity, tiers, r.aggregates


def both_paths(store: Store, config: Config, periods, pop, by=()):
    """(derived, raw) results on one store, and the files each path read."""
    derived = Engine(store, config)
    got = _result(derived, periods, pop, by)
    store.read_activity = False
    raw = Engine(store, config)
    try:
        want = _result(raw, periods, pop, by)
    finally:
        store.read_activity = True
    assert raw.read_paths["activity"] == 0
    return got, want, derived.read_paths


@pytest.fixture(scope="module")
def roster_pop(tmp_path_factory) -> Population:
    path = tmp_path_factory.mktemp("roster") / "roster.csv"
    path.write_text(ROSTER)
    return api.population(Config(), roster=path)


event = st.fixed_dictionaries(
    {
        "time": st.tuples(st.sampled_from(EDGES), st.integers(-36 * 60, 36 * 60)).map(
            lambda e: e[0] + timedelta(minutes=e[1])
        ),
        "actor": st.sampled_from(ACTORS),
        "activity": st.sampled_from([*ACTIVITIES, "unknown_thing"]),
        "excluded": st.sampled_from([None, None, None, "bot"]),
    }
)
aggregate = st.tuples(
    st.sampled_from(ACTORS),
    st.sampled_from(("page_view", "post", "like")),
    st.dates(date(2026, 1, 25), date(2026, 4, 10)),
    st.integers(0, 6),
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(st.lists(event, min_size=1, max_size=25), min_size=1, max_size=3),
    aggregates=st.lists(aggregate, max_size=4),
    ingest_tz=st.sampled_from(ZONES),
    measure_tz=st.sampled_from(ZONES),
    same_tz=st.booleans(),
    mapping=st.sampled_from(MAPPINGS),
    edge=st.sampled_from(EDGES),
    days=st.sampled_from((0, 1, 3, 40, 75)),
    whole_months=st.booleans(),
    basis=st.sampled_from(("roster", "fixed", "observed")),
)
def test_derived_and_raw_paths_agree(
    tmp_path_factory,
    roster_pop,
    batches,
    aggregates,
    ingest_tz,
    measure_tz,
    same_tz,
    mapping,
    edge,
    days,
    whole_months,
    basis,
):
    store = Store.open(tmp_path_factory.mktemp("prop") / "s", create=True)
    for rows in batches:
        commit(store, rows, ingest_tz)
    if aggregates:
        rows = [
            {
                "time": datetime.combine(start, datetime.min.time(), timezone.utc),
                "actor": actor,
                "activity": act,
                "count": 3,
                "window_start": start,
                "window_end": start + timedelta(days=span),
            }
            for actor, act, start, span in aggregates
        ]
        commit(store, rows, ingest_tz, fmt="m365-usage")
    tz = ingest_tz if same_tz else measure_tz
    config = Config(timezone=tz, activities={**Config().activities, **mapping})
    day = edge.astimezone(config.tz).date()
    periods = [
        Period("a", day - timedelta(days=days), day),
        Period("b", day + timedelta(days=1), day + timedelta(days=1 + days)),
    ]
    if whole_months:  # month rows only, or a quarter with day rows at one edge
        periods = [
            Period("jan", date(2026, 1, 1), date(2026, 1, 31)),
            Period("feb-mar", date(2026, 2, 1), date(2026, 3, 31)),
            Period("q", date(2026, 1, 1) + timedelta(days=days), date(2026, 4, 30)),
        ][: 2 + (days > 0)]
    pop = {"roster": roster_pop, "fixed": Population(size=50), "observed": Population()}[basis]
    got, want, paths = both_paths(
        store, config, periods, pop, ("department",) * (basis == "roster")
    )
    assert got == want
    if tz == ingest_tz:
        assert paths["raw"] == 0  # every file of the window was read through its derived file


def _rows(month: int, n: int, who: tuple[str, ...] = ACTORS) -> list[dict]:
    t0 = datetime(2026, month, 1, 22, tzinfo=timezone.utc)
    return [
        {
            "time": t0 + timedelta(hours=7 * i),
            "actor": who[i % len(who)],
            "activity": ("page_view", "like", "post", "edit")[i % 4],
            "excluded": "bot" if i % 11 == 0 else None,
        }
        for i in range(n)
    ]


Q = [
    Period("q", date(2026, 1, 1), date(2026, 3, 31)),
    Period("m", date(2026, 3, 1), date(2026, 3, 31)),
]
AMS = Config(timezone="Europe/Amsterdam")


def _listed(root: Path) -> tuple[set[str], set[str]]:
    """(files the manifest lists, data and derived, files on disk under the store)."""
    m = json.loads((root / MANIFEST).read_text())
    listed = {f["path"] for f in m["files"] + m["rejects"]}
    for f in m["files"]:
        listed |= set(activity.paths_of(f["activity"])) if "activity" in f else set()
    disk = {
        p.relative_to(root).as_posix()
        for sub in ("events", "rejects", "activity")
        for p in (root / sub).rglob("*")
        if p.is_file()
    }
    return listed, disk


def _store(tmp_path: Path) -> Store:
    store = Store.open(tmp_path / "s", create=True)
    commit(store, _rows(1, 40), AMS.timezone)
    commit(store, _rows(3, 30), AMS.timezone)
    commit(store, _rows(3, 25, ACTORS[:4]) + _rows(2, 5), AMS.timezone)
    return store


def test_forget_compact_and_rebuild_keep_the_derived_files_consistent(tmp_path, roster_pop):
    store = _store(tmp_path)
    got, want, paths = both_paths(store, AMS, Q, roster_pop, ("department",))
    assert got == want and paths == {"activity": 4, "raw": 0, "aggregates": 0, "messages": 0}
    before = got[2]["q"].counted_events
    store.forget([store.sources[1]["sha256"]])
    got, want, paths = both_paths(store, AMS, Q, roster_pop, ("department",))
    assert got == want and paths["raw"] == 0
    assert got[2]["q"].counted_events < before  # the forgotten source's events are gone
    store.compact(tz=AMS.timezone)
    listed, disk = _listed(store.root)
    assert listed == disk  # no derived file left behind, none missing
    got2, want2, paths = both_paths(store, AMS, Q, roster_pop, ("department",))
    assert got2 == want2 == got and paths["raw"] == 0
    # A measurement in another time zone reads raw until compact derives in that zone.
    utc = Config(timezone="UTC")
    got, want, paths = both_paths(store, utc, Q, roster_pop)
    assert got == want and paths["activity"] == 0
    assert store.rebuild_activity(tz="UTC") == len(store.manifest["files"])
    got, want, paths = both_paths(store, utc, Q, roster_pop)
    assert got == want and paths["raw"] == 0
    assert _listed(store.root)[0] == _listed(store.root)[1]


def test_a_store_without_derived_files_is_read_raw_until_compact(tmp_path, roster_pop):
    store = _store(tmp_path)
    want = both_paths(store, AMS, Q, roster_pop)[1]
    # What a store written before this change looks like: no derived files, no entries.
    m = json.loads((store.root / MANIFEST).read_text())
    for f in m["files"]:
        (store.root / f.pop("activity")["path"]).unlink()
    (store.root / MANIFEST).write_text(json.dumps(m))
    old = Store.open(store.root)
    got, _, paths = both_paths(old, AMS, Q, roster_pop)
    assert got == want and paths["activity"] == 0 and paths["raw"] == 4
    old.compact(tz=AMS.timezone)
    got, _, paths = both_paths(old, AMS, Q, roster_pop)
    assert got == want and paths["raw"] == 0


def test_derived_files_of_an_older_version_are_read_raw_until_compact(tmp_path, roster_pop):
    """A version-1 entry (no day bits) is read raw; one without its messages file still
    serves the tiers; compact builds both again, with messages, in one commit."""
    store = _store(tmp_path)
    want = both_paths(store, AMS, Q, roster_pop)[1]
    m = json.loads((store.root / MANIFEST).read_text())
    m["files"][0]["activity"]["version"] = 1
    (store.root / m["files"][1]["activity"].pop("messages")["path"]).unlink()
    (store.root / MANIFEST).write_text(json.dumps(m))
    old = Store.open(store.root)
    got, _, paths = both_paths(old, AMS, Q, roster_pop)
    assert got == want and paths["raw"] == 1 and paths["activity"] == 3
    engine = Engine(old, AMS)
    engine._message_sources(["2026-01", "2026-02", "2026-03"], [])
    assert engine.read_paths["messages"] == 2  # files 0 and 1 read raw for the figures
    old.compact(tz=AMS.timezone)
    again = Store.open(store.root)
    assert all("messages" in activity.entry_of(f) for f in again.manifest["files"])
    got, _, paths = both_paths(again, AMS, Q, roster_pop)
    assert got == want and paths["raw"] == 0
    assert _listed(again.root)[0] == _listed(again.root)[1]


def test_a_damaged_derived_file_is_read_raw_and_repair_drops_it(tmp_path, roster_pop):
    store = _store(tmp_path)
    want = both_paths(store, AMS, Q, roster_pop)[1]
    act = activity.entry_of(store.manifest["files"][0])
    path = store.root / act["path"]
    path.write_bytes(path.read_bytes()[:-9])  # truncated: a crash or a bad disk
    got, _, paths = both_paths(Store.open(store.root), AMS, Q, roster_pop)
    assert got == want and paths["raw"] == 1
    result = Store.open_for_repair(store.root).repair()
    assert result.ingest_again == [] and any("derived" in p for p in result.problems)
    fixed = Store.open(store.root)
    assert "activity" not in fixed.manifest["files"][0]
    assert fixed.rebuild_activity() == 1
    got, _, paths = both_paths(Store.open(store.root), AMS, Q, roster_pop)
    assert got == want and paths["raw"] == 0


def test_a_crash_while_deriving_leaves_the_store_as_it_was(tmp_path, roster_pop, monkeypatch):
    store = _store(tmp_path)
    want = both_paths(store, AMS, Q, roster_pop)[1]
    manifest = (store.root / MANIFEST).read_text()
    real, calls = activity.build, []

    def crash(*args, **kw):  # the event file is staged; the machine dies deriving it
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(activity, "build", crash)
    with pytest.raises(KeyboardInterrupt):
        commit(store, _rows(3, 20) + _rows(2, 20), AMS.timezone)
    monkeypatch.setattr(activity, "build", real)
    assert (store.root / MANIFEST).read_text() == manifest
    reopened = Store.open(store.root)
    got, _, paths = both_paths(reopened, AMS, Q, roster_pop)
    assert got == want and paths["raw"] == 0
    # The next writer removes what the crash left; listed and on disk agree.
    commit(reopened, _rows(4, 3), AMS.timezone)
    listed, disk = _listed(store.root)
    assert listed == disk


def test_the_local_day_of_an_event_is_the_periods_day():
    """The derived day is the last local midnight (as Period.utc_bounds computes it) at or
    before an event: Santiago's midnight DST end repeats 23:00-24:00 of the day before."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("America/Santiago")
    b = activity.local_midnights(tz, date(2026, 4, 3), date(2026, 4, 7)).to_pylist()
    for r in b:
        assert r["lo"] == Period("d", r["day"], r["day"]).utc_bounds(tz)[0]
    assert [r["day"] for r in b] == [date(2026, 4, d) for d in range(3, 8)]


@pytest.mark.parametrize("zone", ["Europe/Amsterdam", "America/Santiago", "Asia/Kathmandu"])
def test_a_derived_file_holds_the_distinct_days_and_months_by_hand(tmp_path, zone):
    """activity.build against a plain Python count of the same rows: day rows per (local
    day, actor, activity), month rows summed per local month, excluded rows and aggregates
    left out (the aggregate counted in the entry); the messages file holds the other rows
    but the plain views, as they were."""
    from zoneinfo import ZoneInfo

    tz, t0 = ZoneInfo(zone), datetime(2026, 1, 30, 20, 0, tzinfo=timezone.utc)
    rows = [
        {"time": t0 + timedelta(hours=7 * i), "actor": ACTORS[i % 3], "activity": ACTIVITIES[i % 4]}
        for i in range(40)
    ]
    rows[3]["excluded"] = "service_account"
    rows[5] |= {"window_start": date(2026, 1, 1), "window_end": date(2026, 1, 31)}
    for i, link in ((8, "parent"), (12, "thread"), (16, "item")):
        rows[i] |= {"activity": "page_view", link: f"m{i}"}  # a view linked to a thread
    src, out, msg = tmp_path / "e.parquet", tmp_path / "a.parquet", tmp_path / "m.parquet"
    import pyarrow.parquet as pq

    pq.write_table(_table(rows, "f" * 64, "generic"), src)
    entry = activity.build(src, out, zone, msg)
    plain = set(activity.VIEWS)
    want = [
        (r["time"], r["actor"], r["activity"], r.get("item"), r.get("parent"), r.get("thread"))
        for i, r in enumerate(rows)
        if i not in (3, 5) and (r["activity"] not in plain or r.get("parent") or r.get("thread"))
    ]
    kept = pq.read_table(msg)
    assert kept.column_names == activity.MESSAGE_COLUMNS
    cols = ("time", "actor", "activity", "item", "parent", "thread")
    assert list(zip(*(kept.column(c).to_pylist() for c in cols), strict=True)) == want
    linked = [t for t, _, a, *_ in want if a == "page_view"]
    assert linked == [rows[8]["time"], rows[12]["time"]]  # not the view with an item only
    assert entry["messages"] == {
        "rows": len(want),
        "bytes": msg.stat().st_size,
        "omits": sorted(plain),
    }
    assert 0 < len(want) < len(rows) - 3
    days: dict[tuple, int] = {}
    for i, r in enumerate(rows):
        if i in (3, 5):
            continue
        key = (r["time"].astimezone(tz).date(), r["actor"], r["activity"])
        days[key] = days.get(key, 0) + 1
    months: dict[tuple, int] = {}
    bits: dict[tuple, int] = {}  # the days of each month row: day d is bit d - 1
    for (d, a, v), n in days.items():
        months[(d.replace(day=1), a, v)] = months.get((d.replace(day=1), a, v), 0) + n
        bits[(d.replace(day=1), a, v)] = bits.get((d.replace(day=1), a, v), 0) | 1 << d.day - 1
    got = pq.read_table(out).to_pylist()
    by = {True: {}, False: {}}
    mask = {True: {}, False: {}}
    for r in got:
        by[r["whole_month"]][(r["day"], r["actor"], r["activity"])] = r["events"]
        mask[r["whole_month"]][(r["day"], r["actor"], r["activity"])] = r["days"]
    assert by[False] == days and by[True] == months
    assert mask[False] == {k: 1 << k[0].day - 1 for k in days} and mask[True] == bits
    assert len({bin(b).count("1") for b in bits.values()}) > 1  # months of several days
    assert entry["rows"] == len(got) and entry["aggregates"] == 1


def test_a_derived_file_of_no_counted_event_is_empty(tmp_path):
    import pyarrow.parquet as pq

    rows = [{"time": datetime(2026, 1, 5, tzinfo=timezone.utc), "actor": "a", "activity": "edit"}]
    rows[0]["excluded"] = "service_account"
    pq.write_table(_table(rows, "e" * 64, "generic"), tmp_path / "e.parquet")
    entry = activity.build(
        tmp_path / "e.parquet", tmp_path / "a.parquet", "UTC", tmp_path / "m.parquet"
    )
    assert entry["rows"] == 0 and pq.read_table(tmp_path / "a.parquet").num_rows == 0
    assert entry["messages"]["rows"] == 0 and pq.read_table(tmp_path / "m.parquet").num_rows == 0
