"""Metrics as ibis expressions over the store, executed on DuckDB (embedded) by default.

Every definition here is an ibis expression: no SQL strings and no pandas loops, so the
same code can run on another ibis backend (Spark) later. The shape of the computation:

    events -> counted events in a period -> actor matched to a person -> per-person flags
    population (roster overlap, fixed N, or observed) left-joined with the flags
    -> tier counts per period and segment

"Events" here are the rows of the store's derived activity files (activity.py: distinct
local day or month, actor and activity with their number) wherever they give the same
answer, and the raw events elsewhere (files without a sound derived file in the config's
time zone, usage-report aggregates, a ``config.events`` URI): both become rows of
(period, actor, class, n) before the roster is joined, once per distinct actor. The
science figures take each person's classes and the lifecycle's active people and days
from the same rows (science_frames, lifecycle_inputs), and read raw only the events they
need one by one (contributions, thread messages and responses: items, threads, times),
which threads.py turns into per-person and per-thread-start rows in the backend;
custom aggregate metrics and the identity diagnostic read raw events (formats, one row per
event). With Store.read_activity false every figure reads every raw event (the reference).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa

from . import activity, science, threads
from .backends import connect, drop_temp, read_events, read_uri, spill_failed, temp_table
from .config import Config
from .errors import ConfigError, StoreError
from .metrics import CLASSES, DEFAULT, Registry
from .roster import Roster
from .schema import EVENT_SCHEMA
from .science import RESPONSE_ACTIVITIES, START_ACTIVITIES
from .store import REPAIR_HINT, Store, _file_problem

# The tiers of the default registry (the metrics are defined in metrics.py).
TIERS = DEFAULT.tiers
# The exclusive ladder: each person on one step, by the most they did (SPEC section 3).
LADDER = ("inactive", "reader_only", "reactor_only", "contributor")
_CONCEALED_RE = "^[0-9a-f]{32}$"
# How an actor is written. Without a roster nothing links two styles of one person, so
# each style present is a possible second count of the same people (SPEC section 2).
STYLES = ("email", "domain_account", "chat_id", "concealed", "pseudonymised", "other")
# The styles one person may be written in at once (concealed and keyed names say nothing).
PERSON_STYLES = ("email", "domain_account", "chat_id", "other")
# Formats whose rows are aggregates over a report window. Such a row is stored under the
# month its window starts, which may lie months before a window it reaches into.
AGGREGATE_FORMATS = ("m365-usage",)


@dataclass(frozen=True)
class Period:
    """A closed range of local calendar dates, labelled."""

    label: str
    start: date
    end: date

    def utc_bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        lo = datetime.combine(self.start, time(0), tz).astimezone(timezone.utc)
        hi = datetime.combine(self.end + timedelta(days=1), time(0), tz).astimezone(timezone.utc)
        return lo, hi


@dataclass(frozen=True)
class Population:
    """Who the denominator is: a roster, a fixed headcount, or every actor observed."""

    roster: Roster | None = None
    size: int | None = None

    @property
    def basis(self) -> str:
        if self.roster is not None:
            return "roster"
        return "fixed" if self.size is not None else "observed"


@dataclass(frozen=True)
class GroupCounts:
    """Tier and ladder counts of one period (and one segment value)."""

    period: str
    population: int
    users: dict[str, int]  # tier metric name -> people in the tier
    inactive: int
    reader_only: int
    reactor_only: int
    contributor: int  # the ladder's top step: contributed
    value: str | None = None


@dataclass(frozen=True)
class PeriodIdentity:
    counted_events: int
    matched_events: int
    unmatched_actors: int
    concealed_actors: int
    partial_aggregates: int
    # Distinct actors with counted events, per STYLES entry (all zero when there are none).
    styles: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STYLES, 0))


@dataclass(frozen=True)
class EngineResult:
    totals: dict[str, GroupCounts]
    segments: dict[str, list[GroupCounts]]  # dimension -> rows (period, value)
    identity: dict[str, PeriodIdentity]
    # Per-person tiers of the first period (roster populations only): the pairs of a
    # paired before/after test. Columns person_key and one per tier metric.
    person_tiers: pa.Table | None = None
    # Aggregate metrics (metrics.py): period -> metric name -> value.
    aggregates: dict[str, dict[str, float | None]] = field(default_factory=dict)
    # With compute(presence=True): the distinct (person, cls) of the first period's counted
    # events, its people only (pandas), for the science figures (science_frames).
    presence: Any | None = None


_PARQUET_PATH = re.compile(r"[^\s\"'\[]+\.parquet")


@contextmanager
def reading(store: Store) -> Iterator[None]:
    """A store file that DuckDB or Arrow cannot decode (damaged inside, its size unchanged)
    is a damaged store (exit 5) that points to repair, never an internal error."""
    import duckdb

    try:
        yield
    except (duckdb.OutOfMemoryException, duckdb.InterruptException):
        raise
    except (duckdb.Error, pa.ArrowException) as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, duckdb.IOException) and spill_failed(text):
            # Not the store's data: the disk under the spill folder (full, or removed).
            raise StoreError(
                f"{store.root / 'tmp'}: the measurement could not write its spill files "
                f"({text}); free disk space there, or raise memory_limit in the config"
            ) from exc
        found = _PARQUET_PATH.search(str(exc))
        where = found.group() if found else f"a data file of the store {store.root}"
        raise StoreError(
            f"{where}: cannot be read ({text}); the store is damaged: {REPAIR_HINT}, or "
            "forget the sources of that month and ingest them again"
        ) from exc
    except Exception as exc:
        if not type(exc).__module__.startswith(("pyspark", "py4j")):
            raise
        # --engine spark: a path, URI or table Spark cannot read (the JVM's message is long).
        text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise StoreError(
            f"Spark could not read the events ({text}); check the store, or the config's "
            "events = URI or table"
        ) from exc


def _months(periods: Sequence[Period], tz: ZoneInfo) -> list[str]:
    lo = min(p.utc_bounds(tz)[0] for p in periods)
    hi = max(p.utc_bounds(tz)[1] for p in periods) - timedelta(microseconds=1)
    months, y, m = [], lo.year, lo.month
    while (y, m) <= (hi.year, hi.month):
        months.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


class Engine:
    """Runs the metric expressions for one store on one ibis backend."""

    def __init__(
        self,
        store: Store,
        config: Config,
        backend: ibis.BaseBackend | None = None,
        registry: Registry = DEFAULT,
    ):
        self.store = store
        self.config = config
        # Bounded memory, spilling into the store (issue 12); or Spark (backends.py).
        self.con = (
            backend
            if backend is not None
            else connect(config.engine, store.root, config.memory_limit)
        )
        self.registry = registry
        # Data files read through their derived activity file, raw, or raw for their usage
        # report aggregates only (activity.py): which path the measurements took.
        self.read_paths: dict[str, int] = {"activity": 0, "raw": 0, "aggregates": 0, "messages": 0}

    # -- inputs ----------------------------------------------------------------------------
    def _events(self, months: list[str] | None) -> ir.Table:
        if self.config.events:  # a lakehouse table instead of the store's files
            return read_uri(self.con, self.config.events, months)
        files = self.store.event_files(months)
        if not files:
            return ibis.memtable(EVENT_SCHEMA.empty_table())
        return read_events(self.con, files)

    def _aggregate_months(self, months: list[str]) -> list[str]:
        """Months before ``months`` that hold usage-report aggregates (by the sources'
        spans): their rows may reach into the window, wholly or partly."""
        first, out = months[0], set()
        for s in self.store.sources:
            if s.get("format") not in AGGREGATE_FORMATS or not s.get("min_time"):
                continue
            lo, hi = str(s["min_time"])[:7], str(s["max_time"])[:7]
            y, m = int(lo[:4]), int(lo[5:7])
            while f"{y:04d}-{m:02d}" < min(first, hi + "~"):
                out.add(f"{y:04d}-{m:02d}")
                y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return sorted(out)

    def _window_events(self, months: list[str], periods: Sequence[Period]) -> ir.Table:
        """The events of ``months``, and the aggregates of earlier months whose report
        window ends on or after the first day measured."""
        earlier = self._aggregate_months(months)
        if not earlier:
            return self._events(months)
        ev = self._events(earlier + months)
        lo = min(p.utc_bounds(self.config.tz)[0] for p in periods)
        first_day = min(p.start for p in periods)
        return ev.filter(
            (ev.time >= lo) | (ev.window_start.notnull() & (ev.window_end >= first_day))
        )

    def _split(
        self, months: list[str] | None, earlier: Sequence[str] = ()
    ) -> tuple[list[str], list[str], list[str]]:
        """The data files of ``months`` (all when None) and of ``earlier`` (read for their
        aggregates only) as (derived activity files, data files read raw, data files read
        for their aggregates only). A file is read raw when its derived file is missing
        (an older store, a crash or repair dropped it), damaged, or keyed on the local days
        of another time zone than the config's."""
        derived, raw, aggs = self._picked(months, earlier, self._activity_file)
        for name, files in (("activity", derived), ("raw", raw), ("aggregates", aggs)):
            self.read_paths[name] += len(files)
        return derived, raw, aggs

    def _picked(
        self,
        months: Collection[str] | None,
        earlier: Collection[str],
        pick: Callable[[dict[str, Any]], str | None],
    ) -> tuple[list[str], list[str], list[str]]:
        """The data files of ``months`` and ``earlier`` as (the derived file ``pick``
        chooses of each entry's derived files, for ``months`` only; the data files read raw,
        where it chooses none; those read for their usage-report aggregates only)."""
        derived, raw, aggs = [], [], []
        for f, before in self._listed(months, earlier):
            act = activity.entry_of(f)
            path = pick(act) if act else None
            if path is None:
                raw.append(f)
                continue
            if act["aggregates"]:
                aggs.append(f)
            if not before:
                derived.append(path)
        return derived, self.store._checked(raw), self.store._checked(aggs)

    def _activity_file(self, act: dict[str, Any]) -> str | None:
        """The derived activity file, unless damaged or keyed on another time zone's days."""
        path = self.store.root / act["path"]
        if act["tz"] != self.config.timezone or _file_problem(path, act):
            return None
        return str(path)

    def _messages_file(self, act: dict[str, Any]) -> str | None:
        """The messages file, unless missing, damaged, or without an activity the config
        counts as a contribution or a thread reads."""
        msg = act.get("messages")
        if msg is None:
            return None
        needed = {a for a, c in self.config.activities.items() if c == "contribute"}
        path = self.store.root / msg["path"]
        if (needed | set(THREAD_ACTIVITIES)) & set(msg["omits"]) or _file_problem(path, msg):
            return None
        return str(path)

    def _listed(
        self, months: Collection[str] | None, earlier: Collection[str]
    ) -> list[tuple[dict[str, Any], bool]]:
        """The data file entries of ``months`` (all when None) and ``earlier``, each with
        whether it is of ``earlier``. Each must be sound (its size), also where only its
        derived files are read: a damaged store says so (exit 5, repair) whichever path a
        measurement takes."""
        chosen = [
            (f, f["month"] in earlier)
            for f in self.store.manifest["files"]
            if months is None or f["month"] in months or f["month"] in earlier
        ]
        self.store._checked(f for f, _ in chosen)
        return chosen

    def _sources(
        self, months: list[str] | None, earlier: Sequence[str] = ()
    ) -> tuple[ir.Table | None, ir.Table]:
        """(derived activity rows or None, raw events) of ``months`` and ``earlier``: what
        the derived files hold is not in the raw events, and the reverse."""
        if self.config.events or not self.store.read_activity:
            return None, self._events(None if months is None else [*earlier, *months])
        derived, raw, aggs = self._split(months, earlier)
        ev = self._raw(raw, aggs)
        return (read_events(self.con, derived) if derived else None), ev

    def _message_sources(
        self, months: list[str], earlier: Sequence[str]
    ) -> tuple[ir.Table | None, ir.Table]:
        """(the messages files' rows or None, the raw events of the rest) of ``months``,
        with the usage-report aggregates of ``earlier`` (activity.py, the messages file):
        what the messages hold is not in the raw events, and the reverse. A file is read
        raw when its messages file is missing or damaged, or leaves out an activity the
        config counts as a contribution or a thread reads."""
        messages, raw, aggs = self._picked(months, earlier, self._messages_file)
        self.read_paths["messages"] += len(messages)
        ev = self._raw(raw, aggs)
        return (read_events(self.con, messages) if messages else None), ev

    def _raw(self, raw: list[str], aggs: list[str]) -> ir.Table:
        """The events of the data files ``raw`` and the usage-report aggregates of
        ``aggs`` (data files read for those alone)."""
        parts = [read_events(self.con, raw)] if raw else []
        if aggs:
            ev = read_events(self.con, aggs)
            parts.append(ev.filter(ev.window_start.notnull()))
        if not parts:
            return ibis.memtable(EVENT_SCHEMA.empty_table())
        return parts[0] if len(parts) == 1 else parts[0].union(parts[1])

    def _window_rows(
        self, months: list[str], periods: Sequence[Period], p: ir.Table, aggregates: bool = True
    ):
        """Counted events per (period, actor, cls) with their number ``n``, from the derived
        activity files and the raw events of the rest; and the aggregates only partly inside
        a period (those are always read raw: they count by report window). Without
        ``aggregates`` the single events only."""
        earlier = self._aggregate_months(months) if aggregates else []
        derived, ev = self._sources(months, earlier)
        if not aggregates:
            ev = ev.filter(ev.window_start.isnull())
        if earlier:
            lo = min(q.utc_bounds(self.config.tz)[0] for q in periods)
            first_day = min(q.start for q in periods)
            ev = ev.filter(
                (ev.time >= lo) | (ev.window_start.notnull() & (ev.window_end >= first_day))
            )
        counted, partial = self._in_periods(self._counted(ev), p)
        rows = counted.select(
            "period", actor=counted.actor.cast("string"), cls="cls", n=ibis.literal(1, "int64")
        )
        if derived is not None:
            d = derived.mutate(
                cls=derived.activity.substitute(self.config.activities, else_="ignore")
            )
            d = d.filter(d.cls != "ignore")
            # Whole local months from the month rows, the days at a period's edges from the
            # day rows (activity.pieces); a local day lies in a period exactly when its
            # events lie in the period's UTC bounds.
            cut = activity.pieces(periods)
            if not any(cut.column("month").to_pylist()) or all(cut.column("month").to_pylist()):
                d = d.filter(d.whole_month == cut.column("month")[0].as_py())  # row groups skipped
            cuts = ibis.memtable(cut).rename(c_period="period", c_month="month")
            j = d.join(cuts, [d.whole_month == cuts.c_month, d.day >= cuts.lo, d.day <= cuts.hi])
            rows = rows.union(
                j.select(
                    period=j.c_period,
                    actor=j.actor.cast("string"),
                    cls="cls",
                    n=j.events.cast("int64"),
                )
            )
        return rows.group_by(["period", "actor", "cls"]).aggregate(n=rows.n.sum()), partial

    def _resolve(self, rows: ir.Table, population: Population) -> ir.Table:
        """``rows`` with the person of each actor (null when unmatched)."""
        return with_people(rows, population).select("period", "actor", "cls", "n", "person")

    def _counted(self, ev: ir.Table, among: Collection[str] | None = None) -> ir.Table:
        """Events that count: not excluded, and of a class other than ignore (and, with
        ``among``, of one of those activities)."""
        # Filtered on the activity first: the class is worked out for the rows kept only,
        # not for every event read (a CASE over every row was most of a raw scan).
        counted = sorted(
            a
            for a, c in self.config.activities.items()
            if c != "ignore" and (among is None or a in among)
        )
        ev = ev.filter(ev.excluded.isnull() & ev.activity.isin(counted))
        return ev.mutate(cls=ev.activity.substitute(self.config.activities, else_="ignore"))

    def _periods(self, periods: Sequence[Period]) -> ir.Table:
        tz = self.config.tz
        bounds = [p.utc_bounds(tz) for p in periods]
        return ibis.memtable(
            pa.table(
                {
                    "period": [p.label for p in periods],
                    "from_date": pa.array([p.start for p in periods], pa.date32()),
                    "to_date": pa.array([p.end for p in periods], pa.date32()),
                    "start_utc": pa.array([b[0] for b in bounds], pa.timestamp("us", "UTC")),
                    "end_utc": pa.array([b[1] for b in bounds], pa.timestamp("us", "UTC")),
                }
            )
        )

    def _in_periods(self, ev: ir.Table, p: ir.Table) -> tuple[ir.Table, ir.Table]:
        """Counted events tagged with their period; and aggregates only partly inside one."""
        single = ev.filter(ev.window_start.isnull())
        s = single.join(p, [single.time >= p.start_utc, single.time < p.end_utc])
        s = s.select("period", "actor", "cls")
        agg = ev.filter(ev.window_start.notnull())
        a = agg.join(p, [agg.window_start >= p.from_date, agg.window_end <= p.to_date])
        a = a.select("period", "actor", "cls")
        partial = agg.join(
            p,
            [
                agg.window_start <= p.to_date,
                agg.window_end >= p.from_date,
                (agg.window_start < p.from_date) | (agg.window_end > p.to_date),
            ],
        ).select("period")
        return s.union(a), partial

    # -- the measurement -------------------------------------------------------------------
    def compute(
        self,
        periods: Sequence[Period],
        population: Population,
        by: Sequence[str] = (),
        presence: bool = False,
    ) -> EngineResult:
        """Tier counts per period (and segment), identity figures, first-period tiers (and
        with ``presence`` the first period's classes per person)."""
        with reading(self.store):
            return self._compute(periods, population, by, presence)

    def _compute(
        self, periods: Sequence[Period], population: Population, by: Sequence[str], presence: bool
    ) -> EngineResult:
        self._check_roster(population)
        months = _months(periods, self.config.tz)
        p = self._periods(periods)
        rows, partial = self._window_rows(months, periods, p)
        # Materialised once, as the person flags below: the flags and the identity figures
        # both read these rows, and resolving them reads them twice (with_people).
        names = [f"window_rows_{uuid.uuid4().hex}", f"person_flags_{uuid.uuid4().hex}"]
        m = temp_table(self.con, names[0], self._resolve(rows, population))
        try:
            flags = (
                m.filter(m.person.notnull())
                .group_by(["period", "person"])
                .aggregate(**{f"has_{c}": (m.cls == c).any() for c in CLASSES})
                .rename(f_period="period", f_person="person")
            )
            pop = self._population(population, p, months)
            pf = pop.left_join(flags, [pop.period == flags.f_period, pop.person == flags.f_person])
            # The totals and every breakdown read it.
            pf = temp_table(self.con, names[1], self._tiers(pf))
            totals = {g.period: g for g in self._group(pf, None, population)}
            segments = {dim: self._group(pf, dim, population) for dim in by}
            identity = self._identity(m, partial, periods, population)
            tiers = None
            first = pf.filter(pf.period == periods[0].label)
            if population.roster is not None:
                tiers = first.select("person_key", *self.registry.tiers).to_pyarrow()
            pairs = _pairs(first) if presence else None
        finally:
            for name in names:
                drop_temp(self.con, name)
        aggregates = self._aggregates(months, periods, p, population)
        return EngineResult(totals, segments, identity, tiers, aggregates, pairs)

    def _check_roster(self, population: Population) -> None:
        """A roster column may not take a metric's column name (other registries too)."""
        if population.roster is None:
            return
        clash = set(population.roster.dimensions) & set(self.registry.engine_columns())
        if clash:
            raise ConfigError(
                f"{population.roster.path}: roster column(s) {', '.join(sorted(clash))} "
                "have the name of a metric; rename them in the roster"
            )

    def _identity(
        self, m: ir.Table, partial: ir.Table, periods: Sequence[Period], population: Population
    ) -> dict[str, PeriodIdentity]:
        """Per period: counted and matched events, unmatched, concealed and styled actors,
        and the aggregates left out for reaching over the period's edge."""
        # One row per (period, actor) first (an actor has one person): each actor's style
        # is worked out once, not per row, and each count of actors is a plain count, not
        # a distinct count of its own (at 10 M events the count-distincts and the regular
        # expression per row were most of this query). Events are sums of the rows' counts.
        a = m.group_by(["period", "actor", "person"]).aggregate(n=m.n.sum())
        concealed = a.actor.re_search(_CONCEALED_RE) | a.actor.startswith("concealed:")
        style = _style(a.actor)
        ident = a.group_by("period").aggregate(
            counted_events=a.n.sum(),
            matched_events=a.n.sum(where=a.person.notnull()),
            unmatched_actors=a.actor.count(where=a.person.isnull()),
            concealed_actors=a.actor.count(where=concealed),
            **{f"style_{st}": a.actor.count(where=style == st) for st in STYLES},
        )
        part = partial.group_by("period").aggregate(n=partial.count()).to_pyarrow().to_pylist()
        partial_n = {r["period"]: int(r["n"]) for r in part}
        identity = {
            r["period"]: PeriodIdentity(
                counted_events=int(r["counted_events"]),
                matched_events=int(r["matched_events"] or 0),
                unmatched_actors=int(r["unmatched_actors"]) if population.roster else 0,
                concealed_actors=int(r["concealed_actors"]),
                partial_aggregates=partial_n.get(r["period"], 0),
                styles={st: int(r[f"style_{st}"] or 0) for st in STYLES},
            )
            for r in ident.to_pyarrow().to_pylist()
        }
        for per in periods:
            identity.setdefault(per.label, PeriodIdentity(0, 0, 0, 0, partial_n.get(per.label, 0)))
        return identity

    def _population(self, population: Population, p: ir.Table, months: list[str]) -> ir.Table:
        if population.roster is not None:
            people = ibis.memtable(population.roster.people)
            pop = people.cross_join(p)
            return pop.filter(
                (pop.start_date.isnull() | (pop.start_date <= pop.to_date))
                & (pop.end_date.isnull() | (pop.end_date >= pop.from_date))
            )
        # Fixed headcount: the people are those seen in the months (the size is set when
        # grouping); observed: every actor with a counted event anywhere in the store.
        derived, ev = self._sources(months if population.size is not None else None)
        # Cast: a derived file's actor is declared non-null, the events' may not be.
        ev = self._counted(ev)
        actors = ev.select(person=ev.actor.cast("string"))
        if derived is not None:
            cls = derived.activity.substitute(self.config.activities, else_="ignore")
            # The month rows alone hold every actor (and skip the day rows' row groups).
            d = derived.filter(derived.whole_month & (cls != "ignore"))
            actors = actors.union(d.select(person=d.actor.cast("string")))
        return actors.distinct().cross_join(p.select("period"))

    def _aggregates(
        self, months: list[str], periods: Sequence[Period], p: ir.Table, population: Population
    ) -> dict[str, dict[str, float | None]]:
        """Each aggregate metric's value per period, from the counted events: one row per
        event (a metric may count rows), so read raw; none in the default registry."""
        if not self.registry.aggregates:
            return {}
        counted, _ = self._in_periods(self._counted(self._window_events(months, periods)), p)
        m = _aliased(counted, population).select("period", "actor", "cls", "person")
        out: dict[str, dict[str, float | None]] = {}
        for metric in self.registry.aggregates:
            for r in metric.compute(m).to_pyarrow().to_pylist():
                out.setdefault(r["period"], {})[metric.name] = r["value"]
        return out

    def _tiers(self, pf: ir.Table) -> ir.Table:
        has = {c: pf[f"has_{c}"].fill_null(False) for c in CLASSES}
        flags = {}
        for metric in self.registry:
            if metric.kind == "tier":
                classes = metric.counts(self.config.tiers)
                flags[metric.name] = ibis.or_(*(has[c] for c in classes))
        v, r, c = has["view"], has["react"], has["contribute"]
        # The exclusive ladder always follows the cumulative tiers, so it sums to |P|.
        lr, lc = r | c, c
        return pf.mutate(
            **flags,
            l_inactive=~(v | r | c),
            l_reader_only=(v | r | c) & ~lr,
            l_reactor_only=lr & ~lc,
            l_contributor=lc,
        )

    def _group(self, pf: ir.Table, dim: str | None, population: Population) -> list[GroupCounts]:
        keys = ["period"] if dim is None else ["period", dim]
        agg = pf.group_by(keys).aggregate(
            population=pf.count(),
            **{t: pf[t].cast("int64").sum() for t in self.registry.tiers},
            **{f"l_{x}": pf[f"l_{x}"].cast("int64").sum() for x in LADDER},
        )
        rows = []
        for r in agg.to_pyarrow().to_pylist():
            n = int(r["population"])
            inactive = int(r["l_inactive"])
            if population.basis == "fixed":
                # The people are the actors seen (some inactive in this period); the
                # headcount's inactive are all but the active ones. More active people
                # than the headcount is refused by the report (a rate above 1).
                active = n - inactive
                inactive = max(population.size - active, 0)
                n = population.size
            rows.append(
                GroupCounts(
                    period=r["period"],
                    population=n,
                    users={t: int(r[t]) for t in self.registry.tiers},
                    inactive=inactive,
                    reader_only=int(r["l_reader_only"]),
                    reactor_only=int(r["l_reactor_only"]),
                    contributor=int(r["l_contributor"]),
                    value=None if dim is None else str(r[dim]),
                )
            )
        return rows


# -- the science inputs (issue 13) ---------------------------------------------------------
# Responses to a thread started on the window's last day count for 7 days after it.
RESPONSE_DAYS = timedelta(days=7)
# What the science figures read of each event: the messages files' columns (activity.py)
# with the person for the actor, the class and the usage-report window.
SCIENCE_COLUMNS = (
    "person",
    *(c for c in activity.MESSAGE_COLUMNS if c != "actor"),
    "cls",
    "window_start",
)


def _pairs(pf: ir.Table) -> Any:
    """The distinct (person, cls) of the person flags ``pf`` (pandas)."""
    import pandas as pd

    got = pf.select("person", *(f"has_{c}" for c in CLASSES)).to_pyarrow().to_pandas()
    pairs = [
        got.loc[got[f"has_{c}"].fillna(False).astype(bool), ["person"]].assign(cls=c)
        for c in CLASSES
    ]
    out = pd.concat(pairs, ignore_index=True)
    out["person"] = out["person"].astype("string")
    return out


def with_people(t: ir.Table, population: Population) -> ir.Table:
    """``t`` (with an ``actor`` column) with each actor's ``person`` (the roster's person
    number, null when unmatched; the actor itself without a roster). The roster's aliases
    are joined to the distinct actors of ``t``, not to every row (issue 12 item 2)."""
    if population.roster is None:
        return t.mutate(person=t.actor)
    aliases = ibis.memtable(population.roster.aliases)
    actors = t.select(a_actor=t.actor).distinct()
    who = actors.left_join(aliases, actors.a_actor == aliases.identifier)
    who = who.select("a_actor", "person")
    return t.left_join(who, t.actor == who.a_actor).drop("a_actor")


def _aliased(t: ir.Table, population: Population) -> ir.Table:
    """``t`` with each row's ``person``, the roster's aliases joined to the rows directly
    (null when unmatched; the actor itself without a roster): for rows read once, where
    ``with_people``'s join to the distinct actors would read them twice."""
    if population.roster is None:
        return t.mutate(person=t.actor)
    aliases = ibis.memtable(population.roster.aliases)
    return t.left_join(aliases, t.actor == aliases.identifier).drop("identifier")


def _resolved(engine: Engine, ev: ir.Table, population: Population) -> ir.Table:
    """Counted events with their person; unmatched actors are dropped here as everywhere
    (SPEC section 2). The aliases are joined to the rows directly: the rows are few (the
    views never come here) and a join to their distinct actors would read them twice."""
    ev = _aliased(ev, population)
    ev = ev.filter(ev.person.notnull()).mutate(person=ev.person.cast("string"))
    return ev.select(*SCIENCE_COLUMNS)


# The activities whose events the thread figures need one by one (science.thread_events).
THREAD_ACTIVITIES = sorted(START_ACTIVITIES | RESPONSE_ACTIVITIES)


@dataclass(frozen=True)
class ScienceInputs:
    """What the science figures of one period read (figures.py), each small: one row per
    person, per (person, class) or per thread start of the period.

    ``people``: the population (person and roster columns). ``presence``: the distinct
    (person, cls) of the period's single events and of its usage-report aggregates (the
    ladder); ``timely``: the same with the aggregates whose time lies in the period
    (leadership's tiers). ``contributions``: per person, contributions after the message
    dedupe over the period's single events and aggregates (``window``) and over the rows
    whose time lies in it (``timely``). ``starts``: the threads started in the period
    (person, time, first response by another person, ``manager`` with managers).
    ``team`` and ``managers``: what ``groups`` made of the people; ``team_replies``: the
    team's replies in threads started outside it (None without a team)."""

    people: Any
    presence: Any
    timely: Any
    contributions: Any
    starts: Any
    team: set | None
    managers: set | None
    team_replies: int | None


def science_frames(
    engine: Engine,
    period: Period,
    population: Population,
    groups: Callable[[Any], tuple[set | None, set | None]],
    presence: Any | None = None,
) -> ScienceInputs:
    """The inputs of the science figures of ``period``: the thread joins, first responses,
    message dedupe and contributions per person run in the backend over the counted
    events of the period and 7 days after it, resolved to people; ``groups`` gives the
    (team, managers) of the population. Usage-report aggregates count when their report
    window lies inside the period, as in the tiers. ``presence``: the period's
    EngineResult.presence when the caller has it (the tiers' own flags)."""
    whole = not engine.store.read_activity
    with reading(engine.store):
        # Materialised once: the presences, the contributions and the threads read it.
        name = f"science_events_{uuid.uuid4().hex}"
        events = temp_table(engine.con, name, _science_events(engine, period, whole, population))
        try:
            return _science_inputs(engine, period, population, events, groups, presence)
        finally:
            drop_temp(engine.con, name)


def _science_inputs(
    engine: Engine,
    period: Period,
    population: Population,
    events: ir.Table,
    groups: Callable[[Any], tuple[set | None, set | None]],
    flags: Any | None,
) -> ScienceInputs:
    tz = engine.config.tz
    lo, hi = period.utc_bounds(tz)
    p = engine._periods([period])
    pop = engine._population(population, p, _months([period], tz))
    cols = [c for c in pop.columns if c not in p.columns or c == "person"]
    people = pop.select(*cols).to_pyarrow().to_pandas()
    people["person"] = people["person"].astype("string")
    team, mgrs = groups(people)
    if engine.store.read_activity:
        presence, timely = _presences(
            events, lo, hi, lambda: _presence(engine, period, p, population), flags
        )
    else:  # the raw reference path: every counted event is in ``events``
        presence, timely = _presences(events, lo, hi)
    counts = _pandas(threads.contributions(events, lo, hi))
    th = threads.threads(engine.con, events)
    try:
        starts = _pandas(threads.first_responses(th, lo, hi, mgrs))
        replies = None if team is None else threads.team_replies(th, lo, hi, team)
    finally:
        th.close()
    wide = counts.pivot_table(index="person", columns="which", values="n", aggfunc="sum")
    wide = wide.reindex(columns=["window", "timely"]).fillna(0).astype("int64")
    return ScienceInputs(people, presence, timely, wide, starts, team, mgrs, replies)


def _science_events(
    engine: Engine, period: Period, whole: bool, population: Population
) -> ir.Table:
    """The counted events of ``period`` and 7 days after it (and its usage-report
    aggregates) resolved to people; not the plain views unless ``whole`` (the raw
    reference path, which reads every counted event as before issue 12)."""
    tz = engine.config.tz
    lo, hi = period.utc_bounds(tz)
    later = Period(period.label, period.start, period.end + RESPONSE_DAYS)
    months = _months([later], tz)
    if whole or engine.config.events:  # the raw path, or events outside the store
        messages, ev = None, engine._window_events(months, [period])
    else:
        messages, ev = engine._message_sources(months, engine._aggregate_months(months))
    parts = [
        # Usage-report aggregates count by their report window, not their time.
        engine._counted(
            ev.filter(
                ev.window_start.notnull()
                & (ev.window_start >= period.start)
                & (ev.window_end <= period.end)
            )
        )
    ]
    # Each part a conjunction the Parquet scan applies itself (the time skips the row
    # groups outside the window, a column with no value skips them all): an OR of them
    # would read and decode every row of the months.
    single = ev.filter(ev.window_start.isnull() & (ev.time >= lo) & (ev.time < hi + RESPONSE_DAYS))
    if whole:
        parts.append(engine._counted(single))
    else:
        parts += _message_rows(engine, single)
    if messages is not None:
        # Counted single events already; the same selection as the raw rows'.
        m = messages.filter((messages.time >= lo) & (messages.time < hi + RESPONSE_DAYS))
        m = m.mutate(excluded=ibis.null("string"), window_start=ibis.null("date"))
        parts += _message_rows(engine, m)
    # One schema: the files' columns may differ in whether they are declared non-null.
    cols = ["actor", *(c for c in SCIENCE_COLUMNS if c != "person")]
    schema = ibis.schema({c: parts[0][c].type().copy(nullable=True) for c in cols})
    parts = [e.select(*cols).cast(schema) for e in parts]
    return _resolved(engine, ibis.union(*parts, distinct=False), population)


def _message_rows(engine: Engine, single: ir.Table) -> list[ir.Table]:
    """The counted single events the science figures read one by one: contributions,
    thread messages and responses; any other event only when it links a message to its
    thread (an item with a parent or thread: the messages' roots are followed through every
    such row). No figure reads the time of a view: plain views never leave the derived
    rows. A thread row without any message id joins no thread (science.thread_events)."""
    classes = engine.config.activities
    contribute = {a for a, c in classes.items() if c == "contribute"}
    e = engine._counted(single, contribute | set(THREAD_ACTIVITIES))
    ids = e.item.notnull() | e.parent.notnull() | e.thread.notnull()
    parts = [e.filter((e.cls == "contribute") | ids)]
    other = set(classes) - contribute - set(THREAD_ACTIVITIES)
    e = engine._counted(single.filter(single.item.notnull()), other)
    parts.append(e.filter(e.parent.notnull()))
    parts.append(e.filter(e.parent.isnull() & e.thread.notnull()))
    return parts


def _pandas(expr: ir.Table) -> Any:
    return _utc_times(expr.to_pyarrow(), ("time", "first")).to_pandas()


def _presences(
    events: ir.Table,
    lo: datetime,
    hi: datetime,
    single: Callable[[], Any] | None = None,
    flags: Any | None = None,
) -> tuple[Any, Any]:
    """The distinct (person, cls) of the single events of [lo, hi) (``single()``, from the
    derived rows; else from ``events``) with those of every aggregate row of ``events``
    (the ladder), and with those of the aggregate rows whose time lies there. ``flags``:
    the first (the tiers' flags); without aggregates all three are the same."""
    import pandas as pd

    timely = (events.time >= lo) & (events.time < hi)
    wanted = events.window_start.notnull()
    rows = events.filter(wanted if single is not None else wanted | timely)
    pairs = rows.select(
        person=rows.person, cls=rows.cls, single=rows.window_start.isnull(), timely=timely
    ).distinct()
    got = pairs.to_pyarrow().to_pandas()
    got["person"] = got["person"].astype("string")
    aggs = got[~got["single"]]
    if flags is not None and aggs.empty:
        return flags, flags
    single = got.loc[got["single"], ["person", "cls"]] if single is None else single()
    both = pd.concat([single[["person", "cls"]], aggs[["person", "cls"]]], ignore_index=True)
    when = pd.concat([single[["person", "cls"]], aggs.loc[aggs["timely"], ["person", "cls"]]])
    return both.drop_duplicates(), when.drop_duplicates()


def _presence(engine: Engine, period: Period, p: ir.Table, population: Population) -> Any:
    """Distinct (person, cls) of the single events of ``period``: from the derived rows the
    tiers read (per distinct actor), one row per person and class, not per event."""
    rows, _ = engine._window_rows(_months([period], engine.config.tz), [period], p, False)
    m = engine._resolve(rows, population)
    m = m.filter(m.person.notnull())
    pairs = m.select(person=m.person.cast("string"), cls=m.cls).distinct()
    out = pairs.to_pyarrow().to_pandas()
    out["person"] = out["person"].astype("string")
    return out


def _utc_times(table: Any, names: Sequence[str] = ("time",)) -> Any:
    """``time`` (and the other ``names``) as UTC-aware timestamps: Spark hands them back
    naive (in its session time zone, UTC), DuckDB aware; science.py compares them with
    aware bounds."""
    import pyarrow as pa

    for name in names:
        i = table.schema.get_field_index(name)
        kind = table.schema.field(i).type if i >= 0 else None
        if kind is None or not pa.types.is_timestamp(kind) or kind.tz is not None:
            continue
        column = table.column(i).cast(pa.timestamp(kind.unit, tz="UTC"))
        table = table.set_column(i, name, column)
    return table


def store_events(engine: Engine, population: Population) -> Any:
    """Every counted event of the store resolved to people (person, time, window_start):
    the lifecycle's "new" means no counted event anywhere before a period."""
    with reading(engine.store):
        ev = _resolved(engine, engine._counted(engine._events(None)), population)
        chosen = ev.select("person", "time", "cls", "activity", "window_start")
        return _utc_times(chosen.to_pyarrow()).to_pandas()


@dataclass(frozen=True)
class LifecycleCounts:
    """What science.lifecycle_counted reads, per span index (0: the period before the
    first): ``active`` people, ``returning`` (also active in the span before), ``new`` (no
    counted event before the span's start; spans from 1), ``days`` (their distinct active
    local days, summed) and ``dated`` (the people with at least one such day)."""

    by_span: dict[int, dict[str, int]]


def lifecycle_inputs(
    engine: Engine, periods: Sequence[Period], population: Population
) -> LifecycleCounts | None:
    """The lifecycle's counts per span from the derived month rows' days, resolved once per
    distinct actor, and the raw rows of the files read raw (and every usage-report
    aggregate); None
    where only the raw events give the answer: the raw reference path, a ``config.events``
    URI, or a time zone whose local midnight is skipped or repeated over the store's dates
    (a derived day is then not the calendar day the lifecycle counts)."""
    if engine.config.events or not engine.store.read_activity or not periods:
        return None
    tz = engine.config.tz
    spans = science.lifecycle_spans([(p.label, *p.utc_bounds(tz)) for p in periods])
    if not _regular_midnights(engine.store, tz, periods, spans[0][1]):
        return None
    with reading(engine.store):
        derived, ev = engine._sources(None)
        resolved = _resolved(engine, engine._counted(ev), population).to_pyarrow()
        raw = _utc_times(resolved).to_pandas()
        tagged = science.tag_spans(raw, spans, str(tz))
        # The person as the derived rows carry it: the roster's number, or the actor.
        kind = pa.string() if population.roster is None else pa.int64()
        days, edge = _span_days(periods, spans, tz)
        cal = ibis.memtable(days)
        parts = [_raw_masks(_raw_rows(tagged, raw, str(tz), kind), cal)]
        if derived is not None:
            parts.append(_derived_masks(engine, derived, _month_masks(days), population))
        if edge is not None:
            parts.append(_edge_people(engine, edge, population))
        return LifecycleCounts(_span_counts(ibis.union(*parts, distinct=False), periods))


def _raw_rows(tagged: Any, raw: Any, tz: str, kind: pa.DataType) -> ir.Table:
    """The raw rows as (p, person, day, first): each tagged row with its local day (none
    for aggregates), and per person a row of no span whose ``first`` is the local day of
    their first raw event (regular midnights: an event lies before a period's local
    midnight exactly when its local day lies before the period's first day)."""
    import pandas as pd

    day = tagged["d"].where(tagged["dated"]).astype("datetime64[ms]")
    first = raw["time"].groupby(raw["person"].astype("string")).min()
    first_day = pd.to_datetime(first, utc=True).dt.tz_convert(tz).dt.normalize()
    n, m = len(tagged), len(first)
    table = pa.table(
        {
            "p": pa.array([*tagged["p"].to_numpy(), *[None] * m], pa.int64()),
            "person": pa.concat_arrays(
                [
                    pa.array(tagged["person"].astype("string").to_numpy(), pa.string()),
                    pa.array(first.index.to_numpy(), pa.string()),
                ]
            ).cast(kind),
            "day": pa.concat_arrays(
                [
                    pa.array(day, pa.timestamp("ms")).cast(pa.date32()),
                    pa.nulls(m, pa.date32()),
                ]
            ),
            "first": pa.concat_arrays(
                [
                    pa.nulls(n, pa.date32()),
                    pa.array(
                        first_day.dt.tz_localize(None).astype("datetime64[ms]"), pa.timestamp("ms")
                    ).cast(pa.date32()),
                ]
            ),
        }
    )
    return ibis.memtable(table)


def _raw_masks(rows: ir.Table, cal: ir.Table) -> ir.Table:
    """The raw rows (p, person, day, first) as (p, person, w, bit, first): each day as a
    bit of its span's days (``_span_days``); none for a row without a day."""
    j = rows.left_join(cal, rows.day == cal.cal_day)
    return j.select(p=j.p, person=j.person, w=j.w, bit=j.bit, first=j.first)


def _derived_masks(
    engine: Engine, derived: ir.Table, months: pa.Table, population: Population
) -> ir.Table:
    """The derived month rows as (p, person, w, bit, first): per span, local month and
    actor the days active as bits (a month row's ``days`` within the span's days of that
    month, OR-ed: a day of several rows counts once), and per actor a row (p null) with
    its first active day; then each actor's person, once per (span, actor), not per row.
    The month rows, not the day rows: over a year of 100 M events 17 M rows, not 71 M
    (the day rows' bits took 10 of a monthly report's 17 CPU-s)."""
    cls = derived.activity.substitute(engine.config.activities, else_="ignore")
    d = derived.filter(derived.whole_month & (cls != "ignore"))
    d = d.select(actor=d.actor.cast("string"), day=d.day, days=d.days)
    m = ibis.memtable(months)
    j = d.join(m, d.day == m.m_first)
    j = j.mutate(bit=j.days & j.m_mask)
    j = j.filter(j.bit != 0)
    a = j.group_by(p=j.m_p, actor=j.actor, w=j.m_w).aggregate(bit=_bit_or(j.bit))
    a = a.mutate(first=ibis.null("date"))
    return _with_person(a.union(_first_days(d)), population).select(
        "p", "person", "w", "bit", "first"
    )


def _first_days(d: ir.Table) -> ir.Table:
    """Per actor of the month rows ``d`` (actor, day: the month's first day, days), a row
    (p, w and bit null) with the first day active: the lowest bit of its first month."""
    g = d.group_by(["actor", "day"]).aggregate(days=_bit_or(d.days))
    first = g.group_by(f_actor=g.actor).aggregate(f_day=g.day.min())
    j = g.join(first, [g.actor == first.f_actor, g.day == first.f_day])
    # The lowest bit set (x & -x), its number (the bits below it), and that day.
    k = _bit_count((j.days & -j.days) - 1)
    return j.select(
        p=ibis.null("int64"),
        actor=j.actor,
        w=ibis.null("int64"),
        bit=ibis.null("int64"),
        first=(j.day + k.as_interval("D")).cast("date"),  # DuckDB: a timestamp otherwise
    )


# Builtins of DuckDB and Spark alike (ibis compiles no BitOr for PySpark).
@ibis.udf.agg.builtin(name="bit_or")
def _bit_or(x: dt.int64) -> dt.int64:  # type: ignore[empty-body]
    """The OR of the bits of every row."""


@ibis.udf.scalar.builtin(name="bit_count")
def _bit_count(x: dt.int64) -> dt.int64:  # type: ignore[empty-body]
    """The number of bits set (DuckDB's and Spark's ``bit_count``)."""


def _span_counts(rows: ir.Table, periods: Sequence[Period]) -> dict[int, dict[str, int]]:
    """Per span: its active people, those also active in the span before, the new ones
    (no ``first`` before the span's first day) and their distinct days (the bits set of
    the rows (p, person, w, bit, first)); one grouped query, so only the counts leave the
    database."""
    by_word = rows.group_by(["p", "person", "w"]).aggregate(
        bit=_bit_or(rows.bit), f=rows.first.min()
    )
    days = ibis.coalesce(_bit_count(by_word.bit).sum(), 0)
    per = by_word.group_by(["p", "person"]).aggregate(n=days, f=by_word.f.min())
    firsts = per.group_by(f_person=per.person).aggregate(seen=per.f.min())
    cur = per.filter(per.p.notnull()).select("p", "person", "n")
    prev = cur.select(q=cur.p + 1, who=cur.person)
    starts = ibis.memtable(
        pa.table(
            {
                "s_p": pa.array(range(1, len(periods) + 1), pa.int64()),
                "start": pa.array([p.start for p in periods], pa.date32()),
            }
        )
    )
    x = cur.left_join(prev, [cur.p == prev.q, cur.person == prev.who])
    x = x.left_join(firsts, x.person == firsts.f_person)
    x = x.left_join(starts, x.p == starts.s_p)
    new = x.start.notnull() & ~(x.seen < x.start).fill_null(False)
    got = (
        x.group_by("p")
        .aggregate(
            active=x.count(),
            returning=x.who.count(),
            new=new.cast("int64").sum(),
            days=x.n.sum(),
            dated=(x.n > 0).cast("int64").sum(),
        )
        .to_pyarrow()
        .to_pylist()
    )
    return {int(r.pop("p")): {k: int(v or 0) for k, v in r.items()} for r in got}


def _with_person(t: ir.Table, population: Population) -> ir.Table:
    """``t`` with each actor's person (the roster's number, kept an integer: millions of
    day rows are grouped by it); unmatched rows dropped."""
    m = with_people(t, population)
    return m.filter(m.person.notnull())


def _span_days(
    periods: Sequence[Period], spans: list, tz: ZoneInfo
) -> tuple[pa.Table, tuple[datetime, datetime] | None]:
    """Each span's whole local days (cal_day, cal_p, and the day's w and bit: see
    _derived_masks); the period before the first may start
    inside a local day (its length is the first period's in UTC): that piece of a day,
    from its start to the next local midnight, is read raw (``edge``)."""
    prev_lo = spans[0][1]
    d0 = prev_lo.astimezone(tz).date()
    edge = None
    if datetime.combine(d0, time(0), tz).astimezone(timezone.utc) != prev_lo:
        d0 += timedelta(days=1)
        edge = (prev_lo, datetime.combine(d0, time(0), tz).astimezone(timezone.utc))
    los = [d0, *(p.start for p in periods)]
    his = [periods[0].start - timedelta(days=1), *(p.end for p in periods)]
    days: list[date] = []
    ps: list[int] = []
    ks: list[int] = []  # each day's number in its span
    for i, (lo, hi) in enumerate(zip(los, his, strict=True)):
        n = max((hi - lo).days + 1, 0)
        days += [lo + timedelta(days=k) for k in range(n)]
        ps += [i] * n
        ks += range(n)
    # Each day is one bit of its local month's word w (the derived month rows' ``days``):
    # day d of the month is bit d - 1.
    table = pa.table(
        {
            "cal_day": pa.array(days, pa.date32()),
            "cal_p": pa.array(ps, pa.int64()),
            "w": pa.array([d.year * 12 + d.month - 1 for d in days], pa.int64()),
            "bit": pa.array([1 << (d.day - 1) for d in days], pa.int64()),
        }
    )
    return table, edge


def _month_masks(cal: pa.Table) -> pa.Table:
    """The days of each span in each local month, from _span_days: (m_p, m_first: the
    month's first day, m_w, m_mask: its days of the span as bits)."""
    masks: dict[tuple[int, int], int] = {}
    for p, w, bit in zip(*(cal.column(c).to_pylist() for c in ("cal_p", "w", "bit")), strict=True):
        masks[(p, w)] = masks.get((p, w), 0) | bit
    keys = sorted(masks)
    return pa.table(
        {
            "m_p": pa.array([p for p, _ in keys], pa.int64()),
            "m_first": pa.array([date(w // 12, w % 12 + 1, 1) for _, w in keys], pa.date32()),
            "m_w": pa.array([w for _, w in keys], pa.int64()),
            "m_mask": pa.array([masks[k] for k in keys], pa.int64()),
        }
    )


def _edge_people(
    engine: Engine, edge: tuple[datetime, datetime], population: Population
) -> ir.Table:
    """The people with a counted single event in ``edge`` (part of a local day), as rows
    of span 0 without a day (the previous span's days are never reported)."""
    lo, hi = edge
    months = sorted({f"{t.year:04d}-{t.month:02d}" for t in (lo, hi)})
    ev = engine._counted(engine._events(months))
    ev = ev.filter(ev.window_start.isnull() & (ev.time >= lo) & (ev.time < hi))
    who = _with_person(ev.select(actor=ev.actor.cast("string")).distinct(), population)
    return who.select(
        p=ibis.literal(0, "int64"),
        person=who.person,
        w=ibis.null().cast("int64"),
        bit=ibis.null().cast("int64"),
        first=ibis.null().cast("date"),
    ).distinct()


def _regular_midnights(
    store: Store, tz: ZoneInfo, periods: Sequence[Period], prev_lo: datetime
) -> bool:
    """Whether every local midnight over the store's and the spans' dates occurs once: a
    derived day is then exactly the calendar day of its events in ``tz``."""
    times = [
        datetime.fromisoformat(str(s[k]))
        for s in store.sources
        for k in ("min_time", "max_time")
        if s.get(k)
    ]
    days = [prev_lo.astimezone(tz).date(), *(p.end for p in periods)]
    days += [t.astimezone(tz).date() for t in times]
    d, last = min(days) - timedelta(days=2), max(days) + timedelta(days=2)
    while d <= last:
        at = datetime.combine(d, time(0), tz)
        if at.utcoffset() != at.replace(fold=1).utcoffset():
            return False
        d += timedelta(days=1)
    return True


def _style(actor: ir.StringValue) -> ir.StringValue:
    """The identity style of a normalised actor (one of STYLES)."""
    return ibis.cases(
        (actor.startswith("p:"), "pseudonymised"),
        (actor.re_search(_CONCEALED_RE) | actor.startswith("concealed:"), "concealed"),
        (actor.startswith("slack:") | actor.startswith("engage:"), "chat_id"),
        (actor.contains("\\"), "domain_account"),
        (actor.contains("@"), "email"),
        else_="other",
    )


@dataclass(frozen=True)
class IdentityReport:
    """How well actors match the roster, per source format, and who does not match."""

    by_format: list[dict]  # format, events, matched_events, coverage, actors, unmatched_actors
    top_unmatched: list[dict]  # actor, events, formats


def identity_report(
    engine: Engine, roster: Roster, period: Period | None = None, top: int = 20
) -> IdentityReport:
    """The diagnostic an admin uses to fix matching (raw actors: never in a report)."""
    with reading(engine.store):
        return _identity_report(engine, roster, period, top)


def _identity_report(
    engine: Engine, roster: Roster, period: Period | None, top: int
) -> IdentityReport:
    months = None if period is None else _months([period], engine.config.tz)
    ev = engine._counted(engine._events(months))
    if period is not None:
        lo, hi = period.utc_bounds(engine.config.tz)
        ev = ev.filter((ev.time >= lo) & (ev.time < hi))
    aliases = ibis.memtable(roster.aliases)
    m = ev.left_join(aliases, ev.actor == aliases.identifier).select(
        "source_format", "actor", "person"
    )
    per = (
        m.group_by("source_format")
        .aggregate(
            events=m.count(),
            matched_events=m.person.notnull().cast("int64").sum(),
            actors=m.actor.nunique(),
            unmatched_actors=m.actor.nunique(where=m.person.isnull()),
        )
        .order_by("source_format")
        .to_pyarrow()
        .to_pylist()
    )
    for r in per:
        r["format"] = r.pop("source_format")
        r["coverage"] = r["matched_events"] / r["events"] if r["events"] else None
    un = m.filter(m.person.isnull())
    topn = (
        un.group_by("actor")
        .aggregate(events=un.count(), formats=un.source_format.collect(distinct=True))
        .order_by([ibis.desc("events"), "actor"])
        .limit(top)
        .to_pyarrow()
        .to_pylist()
    )
    for r in topn:
        r["formats"] = sorted(r["formats"])
    return IdentityReport(per, topn)
