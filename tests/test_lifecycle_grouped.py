"""The lifecycle counted per period in the database (engine.lifecycle_inputs, one grouped
query over the derived day rows) equals science.lifecycle, the pandas oracle over every
counted event, on organisations with joiners, leavers, gaps and resurrections over 14
months, and at 20,000 people."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone

import numpy as np
import pyarrow as pa
import pytest

from intranet_metrics import api, figures, science
from intranet_metrics.config import Config
from intranet_metrics.engine import Engine, lifecycle_inputs, store_events
from intranet_metrics.report import periods_between
from intranet_metrics.schema import EVENT_SCHEMA
from intranet_metrics.store import SourceSummary, Store

ACTS = np.array(["page_view", "like", "comment", "post", "edit"])  # edit: ignored
MONTHS = 14  # 2025-01 .. 2026-02


def _org(people: int, seed: int) -> tuple[str, pa.Table]:
    """A roster and its events: each person joins in some month, may leave, skips months
    (gaps) and comes back (resurrections); a few actors are not in the roster."""
    rng = np.random.default_rng(seed)
    join = np.where(rng.random(people) < 0.3, rng.integers(1, MONTHS, people), 0)
    leave = np.where(rng.random(people) < 0.2, rng.integers(2, MONTHS + 1, people), MONTHS)
    per_month = rng.poisson(1.5, (people, MONTHS))
    month = np.arange(MONTHS)
    alive = (
        (month >= join[:, None]) & (month < leave[:, None]) & (rng.random(per_month.shape) > 0.35)
    )
    counts = np.where(alive, per_month, 0)
    who = np.repeat(np.arange(people).repeat(MONTHS), counts.ravel())
    m = np.repeat(np.tile(month, people), counts.ravel())
    starts = np.array([_month_start(k) for k in range(MONTHS + 1)])
    t = starts[m] + rng.random(len(m)) * (starts[m + 1] - starts[m])
    actors = np.char.add(np.char.add("p", who.astype(str)), "@x.nl")
    actors[rng.random(len(actors)) < 0.01] = "stranger@x.nl"
    roster = "user_id,email\n" + "".join(f"E{i},p{i}@x.nl\n" for i in range(people))
    times = pa.array((t * 1e6).astype(np.int64), pa.timestamp("us", "UTC"))
    acts = ACTS[rng.choice(len(ACTS), len(t), p=[0.7, 0.1, 0.08, 0.07, 0.05])]
    return roster, _events(times, pa.array(actors), pa.array(acts))


def _month_start(k: int) -> float:
    return datetime(2025 + k // 12, k % 12 + 1, 1, tzinfo=timezone.utc).timestamp()


def _events(times: pa.Array, actors: pa.Array, acts: pa.Array) -> pa.Table:
    n = len(times)
    sha = hashlib.sha256(str(n).encode()).hexdigest()
    cols = {
        "time": times,
        "actor": actors,
        "activity": acts,
        "count": pa.array(np.ones(n, np.int64)),
        "source_format": pa.array(["generic"] * n),
        "source_file": pa.array([f"{sha[:8]}.csv"] * n),
        "source_sha256": pa.array([sha] * n),
        "source_line": pa.array(np.arange(n, dtype=np.int64)),
        "event_key": pa.array(np.char.add(f"{sha[:8]}-", np.arange(n).astype(str))),
    }
    return pa.table([cols.get(f.name, pa.nulls(n, f.type)) for f in EVENT_SCHEMA], EVENT_SCHEMA)


def _store(tmp_path, people: int, seed: int, tz: str) -> tuple[Store, object, Config]:
    roster, events = _org(people, seed)
    store = Store.open(tmp_path / "s", create=True)
    sha = events.column("source_sha256")[0].as_py()
    with store.staging(api.pseudonymiser(Config())) as stage:
        stage.write_source(events.to_batches(max_chunksize=100_000))
        store.commit(
            stage, [SourceSummary(path=f"{sha[:8]}.csv", sha256=sha, format="generic")], None, tz=tz
        )
    (tmp_path / "roster.csv").write_text(roster)
    config = Config(timezone=tz)
    return store, api.population(config, roster=tmp_path / "roster.csv"), config


def _both(
    store: Store, pop, config: Config, first: date, last: date, kind: str = "month"
) -> tuple[list, list]:
    """(the grouped counts' rows, the pandas oracle's rows) for the periods first..last."""
    periods = periods_between(kind, first, last)
    engine = Engine(store, config)
    got = lifecycle_inputs(engine, periods, pop)
    assert got is not None  # the grouped path was taken
    spans = science.lifecycle_spans([(p.label, *p.utc_bounds(config.tz)) for p in periods])
    want = science.lifecycle(store_events(engine, pop), spans[1:], tz=str(config.tz))
    return science.lifecycle_counted(spans, got.by_span), want


@pytest.mark.parametrize(
    ("tz", "first"),
    [
        ("Europe/Amsterdam", date(2025, 3, 1)),
        ("UTC", date(2025, 1, 1)),
        ("Asia/Kolkata", date(2025, 2, 1)),
    ],
)
def test_grouped_lifecycle_equals_the_pandas_oracle(tmp_path, tz, first):
    store, pop, config = _store(tmp_path, 300, 7, tz)
    got, want = _both(store, pop, config, first, date(2026, 2, 28))
    assert got == want
    assert all(sum(getattr(r, k) for r in got) > 0 for k in ("new", "resurrecting", "dormant"))


@pytest.mark.parametrize("kind", ["week", "quarter", "year"])
def test_spans_of_more_than_64_days_take_several_words(tmp_path, kind):
    """A day is a bit of a 64-bit word; a quarter's 90-92 days and a year's 365 are several
    words, a week's 7 one."""
    store, pop, config = _store(tmp_path, 300, 5, "Europe/Amsterdam")
    got, want = _both(store, pop, config, date(2025, 4, 1), date(2026, 2, 28), kind)
    assert got == want
    assert sum(r.active for r in got) > 0


def test_grouped_lifecycle_equals_the_pandas_oracle_at_20000_people(tmp_path):
    store, pop, config = _store(tmp_path, 20_000, 3, "Europe/Amsterdam")
    got, want = _both(store, pop, config, date(2025, 2, 1), date(2026, 2, 28))
    assert got == want


def test_the_trend_reads_the_grouped_counts(tmp_path):
    """figures.trend_lifecycle on the derived files equals it on the raw reference path."""
    store, pop, config = _store(tmp_path, 200, 11, "Europe/Amsterdam")
    periods = periods_between("month", date(2025, 6, 1), date(2026, 2, 28))
    derived = figures.trend_lifecycle(Engine(store, config), periods, pop)
    store.read_activity = False
    assert figures.trend_lifecycle(Engine(store, config), periods, pop) == derived
