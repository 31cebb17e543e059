"""What every loader shares: the source being read, and the builder that turns rows into
canonical event batches with exclusions, pseudonymisation, event keys and accounting.

A loader module defines ``NAME``, ``DESCRIPTION``, ``CAN`` (the action classes its format
can tell), ``CANNOT`` (one sentence on what it cannot), ``CONTAINER`` (True when it reads a
folder or zip), ``sniff(path, head) -> bool`` and ``load(path, builder) -> Iterator[batch]``.
``load`` calls ``builder.add`` / ``builder.reject`` / ``builder.other`` once per record (or
``builder.add_many`` once per block of records, the fast path for big logs) and yields
``builder.flush()`` whenever ``builder.full``; the driver yields the last flush.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import partial
from itertools import repeat
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import arrowutil as au
from ..config import Config
from ..errors import InputError
from ..identity import (
    EVENT_FIELDS,
    Pseudonymiser,
    actor_exclusion,
    normalise_actor,
    user_agent_exclusion,
)
from ..schema import DEFAULT_ACTION_CLASSES, EVENT_SCHEMA, REJECT_SCHEMA, TIMESTAMP
from . import textfile

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICRO = timedelta(microseconds=1)
# Events before this are surely a parsing error (or a clock reset); so are future ones.
MIN_TIME_US = (datetime(1990, 1, 1, tzinfo=timezone.utc) - EPOCH) // _MICRO
FUTURE_SLACK = timedelta(days=2)
RAW_LIMIT = 200
HEAD_BYTES = textfile.HEAD_BYTES
# Per-builder caches of actors and user agents are cleared past this many entries.
CACHE_LIMIT = 1_000_000
# The Arrow table of items met is rebuilt for every block that brings new ones: kept small.
ITEM_TABLE = 100_000
# One record of a line-based format may hold a long text, never 100 MB: longer lines are
# rejected without ever being held in memory whole.
LINE_LIMIT = 1 << 20

# How each format makes its event keys now (formats not listed: version 1). A store keeps
# the version its sources of a format were keyed with (pipeline: an export overlapping a
# stored one must get the same keys to be deduplicated against it), so the builder makes
# every version still listed in MAKES. generic 2: the raw record instead of the converted
# time and normalised user; generic 3: the same record, but built from parts (see PART_KEYS).
KEY_VERSIONS = {"generic": 3}
MAKES = {"generic": (2, 3)}
# Formats whose loaders, from this key version on, give the builder keys in their stored
# form, made by ``EventBuilder.record_key(s)``: the record as written with each part that
# may name a person (user, item) replaced by its hash, once per distinct value
# (``Pseudonymiser.key_part``), instead of one hash per event (26% of a generic ingest).
PART_KEYS = {"generic": 3}


@dataclass(frozen=True)
class SourceInfo:
    """The file (or folder / zip) being read, as provenance."""

    path: str
    sha256: str
    format: str


@dataclass
class Counts:
    """Per-file accounting: rows = events + excluded + other + rejected."""

    rows: int = 0
    events: int = 0
    other: int = 0
    rejected: int = 0
    excluded: Counter[str] = field(default_factory=Counter)
    by_class: Counter[str] = field(default_factory=Counter)

    @property
    def excluded_total(self) -> int:
        return sum(self.excluded.values())

    def to_dict(self) -> dict:
        return {
            "rows": self.rows,
            "events": self.events,
            "excluded": self.excluded_total,
            "other": self.other,
            "rejected": self.rejected,
            "excluded_by_reason": dict(sorted(self.excluded.items())),
            "events_by_class": dict(sorted(self.by_class.items())),
        }


def to_micros(t: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (naive means UTC)."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return (t - EPOCH) // _MICRO


class Memo(dict):
    """``fn(key)`` computed once per distinct key (a dict, so a hit is one C lookup).
    Bounded: cleared past ``limit`` entries. Errors from ``fn`` propagate, nothing kept."""

    def __init__(self, fn: Callable[[Any], Any], limit: int = CACHE_LIMIT) -> None:
        super().__init__()
        self.fn, self.limit = fn, limit

    def __missing__(self, key: Any) -> Any:
        value = self.fn(key)
        if len(self) > self.limit:
            self.clear()
        self[key] = value
        return value


def _same_memory(a: pa.Array, b: pa.Array | None) -> bool:
    """Whether two arrays are views of the same memory, so hold the same values (``b`` is
    kept alive by the caller: no other live buffer can have its buffers' addresses)."""
    if a is b:
        return True
    if not isinstance(a, pa.Array) or not isinstance(b, pa.Array):
        return False
    if a.type != b.type or len(a) != len(b) or a.offset != b.offset:
        return False
    return _addresses(a) == _addresses(b)


def _addresses(values: pa.Array) -> list[tuple[int, int] | None]:
    return [None if b is None else (b.address, b.size) for b in values.buffers()]


class ArrowMemo:
    """``fn`` of each value of a text column without nulls (a tuple of ``width`` texts),
    computed in Python once per distinct value: the values met so far are kept as Arrow
    arrays, so a block of known values is one hash lookup in Arrow (a Python lookup per
    distinct value and block costs as much as hashing each event). The lookup of the last
    column is kept: the same column asked again (actors, then their key parts) costs
    nothing, also as another array object over the same memory (a table's column taken
    out twice). Bounded like ``Memo``."""

    def __init__(
        self, fn: Callable[[str], tuple[str | None, ...]], width: int, limit: int = CACHE_LIMIT
    ) -> None:
        self.fn, self.width, self.limit = fn, width, limit
        self._empty()

    def _empty(self) -> None:
        self.keys = pa.nulls(0, pa.string())
        self.values = [self.keys] * self.width
        self._last: tuple[pa.Array | None, pa.Array | None] = (None, None)

    def __call__(
        self, column: pa.Array, at: pa.Array | None = None, outputs: slice = slice(None)
    ) -> list[pa.Array]:
        """The outputs for each value (``at``: the column's ``index_in`` of ``keys``, when
        the caller has it; ``outputs``: only these of the ``width``)."""
        if _same_memory(column, self._last[0]):
            at = self._last[1]
        else:
            at = pc.index_in(column, value_set=self.keys) if at is None else at
            if at.null_count:
                at = self._learn(column, at)
            self._last = (column, at)
        return [v.take(at) for v in self.values[outputs]]

    def _learn(self, column: pa.Array, at: pa.Array) -> pa.Array:
        """Work out the values not met yet; the lookup of ``column`` with them."""
        new = pc.unique(column.filter(pc.is_null(at)))
        if len(self.keys) + len(new) > self.limit:
            self._empty()
        made = list(zip(*(self.fn(v) for v in new.to_pylist()), strict=True))
        self.keys = pa.concat_arrays([self.keys, new.cast(pa.string())])
        self.values = [
            pa.concat_arrays([v, au.texts(m)]) for v, m in zip(self.values, made, strict=True)
        ]
        return pc.index_in(column, value_set=self.keys)


class EventBuilder:
    """Collects one source's records and emits canonical Arrow batches."""

    def __init__(
        self,
        source: SourceInfo,
        config: Config,
        pseudo: Pseudonymiser | None = None,
        batch_size: int = 65_536,
        now: datetime | None = None,
        key_version: int | None = None,
    ) -> None:
        self.source = source
        self.key_version = key_version or KEY_VERSIONS.get(source.format, 1)
        # Keys made from parts are stored as given; any other key is hashed per event.
        self.part_keys = self.key_version >= PART_KEYS.get(source.format, self.key_version + 1)
        self.config = config
        self.pseudo = pseudo or Pseudonymiser(None)
        self.batch_size = batch_size
        self._counts = Counts()
        self._max_us = to_micros((now or datetime.now(timezone.utc)) + FUTURE_SLACK)
        self._service = frozenset(config.service_accounts)
        self._agents = tuple(config.exclude_user_agents)
        # One list per argument of ``add`` (see there for the order); _flush_rows turns
        # them into arrays and empties them in place, so the bound appends stay valid.
        self._cols: list[list] = [[] for _ in range(15)]
        self._append = tuple(c.append for c in self._cols)
        # Batches made by add_many (and by _flush_rows before one), in order.
        self._chunks: list[pa.RecordBatch] = []
        self._chunk_rows = 0
        # Actors and user agents repeat: normalise, exclude and hash each one once.
        self._actors = Memo(self._actor)
        # (stored, reason, key part) of each actor met, as Arrow arrays.
        self._seen = ArrowMemo(self._actor_parts, 3)
        self._agent_cache = Memo(partial(user_agent_exclusion, extra=self._agents))
        self._classes = config.activities
        self._format, self._path, self._sha = source.format, source.path, source.sha256
        self._key_hash = self.pseudo.key_hash
        self._rejects: dict[str, list] = {name: [] for name in REJECT_SCHEMA.names}
        self._prefix = f"{source.format}\x1f"
        # Under a key, values that name a person (identity.PERSONAL_VALUES) are stored as
        # keyed hashes: item, parent, thread, channel and the source file name.
        self._scrub = self.pseudo.enabled
        self._values = Memo(lambda fv: self.pseudo.value(*fv))
        self._where = Memo(self._source_file)
        self._parts = Memo(self.pseudo.key_part)
        self._constants: dict[str, pa.Array] = {}
        # Items met, as an Arrow table like the actors', kept small (see _item_parts).
        self._items = ArrowMemo(lambda v: (self._parts[v],), 1, limit=ITEM_TABLE)
        # What the reader had to assume or wants the user to know (an encoding, why no
        # event counted): shown as the source's message in the ingest summary.
        self.notes: list[str] = []

    @property
    def counts(self) -> Counts:
        """The accounting so far, records gathered by ``add`` included (they are counted
        when they become a chunk: this makes them one)."""
        self._flush_rows()
        return self._counts

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def _source_file(self, member: str | None) -> str:
        """The stored source file name of a record: ``path!member`` for a container."""
        return self.pseudo.path(self._path if member is None else f"{self._path}!{member}")

    def _stored(self, field: str, values: pa.Array) -> pa.Array:
        """A text column as stored: each value that names a person hashed (one Python call
        per distinct value, and per builder once per value)."""
        if not self._scrub or values.null_count == len(values):
            return values
        coded = pc.dictionary_encode(values)
        known = [
            None if v is None else self._values[field, v] for v in coded.dictionary.to_pylist()
        ]
        return au.texts(known).take(coded.indices)

    def _actor_parts(self, actor: str) -> tuple[str, str | None, str | None]:
        """(stored actor, exclusion reason, event key part) of a raw actor."""
        return (*self._actors[actor], self._parts[actor] if self.part_keys else None)

    def _actor(self, actor: str) -> tuple[str, str | None]:
        """(stored actor, exclusion reason) of a raw actor."""
        norm = normalise_actor(actor)
        return (self.pseudo(norm) if norm else "", actor_exclusion(norm, self._service))

    # -- event keys made from the record as written ---------------------------------------
    def record_key(self, time: str, user: str, activity: str, item: str) -> str:
        """The event key of one record given by its raw time, user, activity and item text
        (the form of ``record_keys``; hashed per event in ``_emit`` before version 3)."""
        if not self.part_keys:
            return f"{time}\x1f{user}\x1f{activity}\x1f{item}"
        # The activity comes last: the only part that may hold the separator itself.
        parts = self._parts
        return f"{time}\x1f{parts[user]}\x1f{parts[item]}\x1f{activity}"

    def record_keys(
        self, time: pa.Array, user: pa.Array, activity: pa.Array, item: pa.Array
    ) -> pa.Array:
        """``record_key`` of each record of a block of text columns (no nulls)."""
        if not self.part_keys:
            return pc.binary_join_element_wise(time, user, activity, item, _SEP)
        # The user's part comes with the actor's lookup (the same column, asked again).
        (user_part,) = (
            self._seen(user, outputs=slice(2, 3)) if not user.null_count else self._nulls(user)
        )
        return pc.binary_join_element_wise(time, user_part, self._item_parts(item), activity, _SEP)

    def _nulls(self, user: pa.Array) -> list[pa.Array]:
        return [self._item_parts(user)]

    def _item_parts(self, values: pa.Array) -> pa.Array:
        """The key part of each value. Items may each be new (a page per event): a block
        whose values are mostly new is hashed in one call over its distinct values (an
        Arrow table of all items met would grow and be rebuilt every block: 2x the CPU of a
        hash per event); the usual few thousand pages are looked up in a small Arrow table."""
        if values.null_count == 0 and len(self._items.keys):
            at = pc.index_in(values, value_set=self._items.keys)
            if 4 * at.null_count < len(values):  # mostly known: new ones are learnt
                (parts,) = self._items(values, at)
                return parts
        coded = pc.dictionary_encode(values)
        names = coded.dictionary.to_pylist()
        if 4 * len(names) > len(values) or values.null_count:
            return au.texts(self.pseudo.key_parts(names)).take(coded.indices)
        (parts,) = self._items(values)
        return parts

    # -- records -------------------------------------------------------------------------
    def add(
        self,
        *,
        time: datetime | int,
        actor: str,
        activity: str,
        line: int,
        key: str,
        item: str | None = None,
        parent: str | None = None,
        thread: str | None = None,
        channel: str | None = None,
        count: int = 1,
        window_start: date | None = None,
        window_end: date | None = None,
        excluded: str | None = None,
        user_agent: str | None = None,
        member: str | None = None,
    ) -> bool:
        """Add one record; returns False when it was rejected (bad time or activity). The
        record is only gathered here: exclusions, accounting and hashing happen per block in
        ``_emit``, the same code ``add_many`` runs, so both paths cannot disagree."""
        us = time if isinstance(time, int) else to_micros(time)
        if not MIN_TIME_US <= us <= self._max_us:
            self.reject(
                line,
                "timestamp out of range (before 1990 or more than 2 days in the future)",
                member=member,
            )
            return False
        if activity not in DEFAULT_ACTION_CLASSES:
            # The value is not quoted: a shifted column puts a name here (SPEC section 5).
            self.reject(
                line, "activity is not a known activity name (SPEC section 1)", member=member
            )
            return False
        a = self._append
        a[0](us)
        a[1](actor)
        a[2](activity)
        a[3](item)
        a[4](parent)
        a[5](thread)
        a[6](channel)
        a[7](count)
        a[8](window_start)
        a[9](window_end)
        a[10](excluded)
        a[11](user_agent)
        a[12](member)
        a[13](line)
        a[14](key)
        return True

    def add_many(
        self,
        *,
        time: Column,
        actor: Column,
        activity: Column | str,
        line: Column,
        key: Column,
        item: Column | None = None,
        parent: Column | None = None,
        thread: Column | None = None,
        channel: Column | None = None,
        excluded: Column | None = None,
        user_agent: Column | None = None,
        member: Column | str | None = None,
    ) -> None:
        """``add`` for a block of records given as columns: Arrow arrays, NumPy arrays or
        Python sequences of equal length (an optional column left out is all null; a str
        ``activity`` is every record's). The result is the same as calling ``add`` once
        per record, but only the event keys are touched one by one in Python: actors and
        user agents are worked out once per distinct value and the rest is Arrow compute.
        A block with a bad time or activity anywhere goes through ``add`` record by
        record, so each bad one is rejected on its own. ``member``: a column of them too."""
        n = len(key)
        if not n:
            return
        given = {
            "time": time,
            "actor": actor,
            "activity": activity,
            "line": line,
            "key": key,
            "item": item,
            "parent": parent,
            "thread": thread,
            "channel": channel,
            "excluded": excluded,
            "user_agent": user_agent,
        }
        if member is not None and not isinstance(member, str):
            given["member"], member = member, None  # a member per record
        if any(c is not None and not isinstance(c, str) and len(c) != n for c in given.values()):
            raise ValueError("add_many: columns of different lengths")
        times = _arrow(time, pa.int64())
        acts = _repeat(activity, n) if isinstance(activity, str) else _arrow(activity, pa.string())
        if not self._all_valid(times, acts):
            self._one_by_one(n, given, member)
            return
        self._flush_rows()  # records added one by one before this block come first
        self._emit(
            times=times,
            actors=_arrow(actor, pa.string()),
            acts=acts,
            texts=[_arrow(c, pa.string(), n) for c in (item, parent, thread, channel)],
            excluded=None if excluded is None else _arrow(excluded, pa.string()),
            agents=None if user_agent is None else _arrow(user_agent, pa.string()),
            lines=_arrow(line, pa.int64()),
            keys=key,
            where=self._where_of(given.get("member", member), n),
        )

    def in_range(self, times: pa.Array) -> pa.Array:
        """Which of these times ``add`` keeps (the others it rejects as out of range)."""
        return pc.and_(pc.greater_equal(times, MIN_TIME_US), pc.less_equal(times, self._max_us))

    def _all_valid(self, times: pa.Array, acts: pa.Array) -> bool:
        """Every time in range and every activity known (else ``add`` rejects some)."""
        low, high = pc.min_max(times).values()
        return not (
            times.null_count
            or low.as_py() < MIN_TIME_US
            or high.as_py() > self._max_us
            or acts.null_count
            or not DEFAULT_ACTION_CLASSES.keys() >= set(pc.unique(acts).to_pylist())
        )

    def _actor_columns(self, actors: pa.Array) -> tuple[pa.Array, pa.Array]:
        """(stored actor, actor's exclusion reason) of each record. The actors seen so far
        are kept as Arrow arrays, so a block of known actors is two hash lookups in Arrow;
        only new ones go through ``_actor`` (bounded like ``Memo``)."""
        if actors.null_count:
            coded = pc.dictionary_encode(actors)
            known = [self._actors[a] for a in coded.dictionary.to_pylist()]
            stored = au.texts([k[0] for k in known]).take(coded.indices)
            return stored, au.texts([k[1] for k in known]).take(coded.indices)
        stored, reasons = self._seen(actors, outputs=slice(0, 2))
        return stored, reasons

    def _exclusions(
        self, actors: pa.Array, excluded: pa.Array | None, agents: pa.Array | None
    ) -> tuple[pa.Array, pa.Array]:
        """(stored actor, exclusion reason) of each record. The one place that says which
        reason wins: the loader's own, then the actor's (a service account, no user), then
        a robot's user agent. Actors and agents are worked out once per distinct value."""
        stored, reasons = self._actor_columns(actors)
        if excluded is not None:
            reasons = pc.if_else(truthy(excluded), excluded, reasons)
        if agents is not None:  # only for records no other reason excludes
            byagent = pc.dictionary_encode(agents)
            names = byagent.dictionary.to_pylist()
            robot = au.texts([self._agent_cache[a] if a else None for a in names])
            reasons = pc.if_else(pc.is_null(reasons), robot.take(byagent.indices), reasons)
        return stored, reasons

    def _emit(
        self,
        *,
        times: pa.Array,
        actors: pa.Array,
        acts: pa.Array,
        texts: list[pa.Array],
        excluded: pa.Array | None,
        agents: pa.Array | None,
        lines: pa.Array,
        keys: Column,
        where: pa.Array,
        counts: pa.Array | None = None,
        windows: tuple[pa.Array, pa.Array] | None = None,
    ) -> None:
        """A block of valid records as one canonical batch: exclusions, accounting, stored
        values and keyed hashes. ``add`` and ``add_many`` both end here."""
        n = len(acts)
        stored, reasons = self._exclusions(actors, excluded, agents)
        self._count(reasons, acts)
        if self.part_keys:  # made from hashed parts by record_key(s): stored as given
            stored_keys = _arrow(keys, pa.string())
        else:
            # Keys from Arrow are hashed as their UTF-8 bytes: no str made and encoded again.
            if isinstance(keys, (pa.Array, pa.ChunkedArray)):
                keys = keys.cast(pa.binary()).to_pylist()
            stored_keys = au.texts(self.pseudo.key_hashes(keys, self._prefix))
        window = windows or (pa.nulls(n, pa.date32()), pa.nulls(n, pa.date32()))
        self._chunks.append(
            pa.RecordBatch.from_arrays(
                [
                    times.cast(TIMESTAMP),
                    stored,
                    acts,
                    *(self._stored(name, c) for name, c in zip(EVENT_FIELDS, texts, strict=True)),
                    counts if counts is not None else au.fixed(np.ones(n, np.int64)),
                    *window,
                    reasons,
                    self._repeat(self._format, n),
                    where,
                    self._repeat(self._sha, n),
                    lines,
                    stored_keys,
                ],
                schema=EVENT_SCHEMA,
            )
        )
        self._chunk_rows += n

    def _one_by_one(self, n: int, columns: dict[str, Any], member: str | None) -> None:
        """``add`` each record of a block of columns (the slow path of ``add_many``)."""
        values = {}
        for name, column in columns.items():
            if column is None or isinstance(column, str):
                values[name] = repeat(column, n)
            elif isinstance(column, (pa.Array, pa.ChunkedArray, np.ndarray)):
                values[name] = (
                    column.tolist() if isinstance(column, np.ndarray) else column.to_pylist()
                )
            else:
                values[name] = column
        # ``add`` takes keys as text; add_many also takes their UTF-8 bytes.
        values["key"] = [k if isinstance(k, str) else bytes(k).decode() for k in values["key"]]
        for record in zip(*values.values(), strict=True):
            self.add(**{"member": member, **dict(zip(values, record, strict=True))})

    def _count(self, reasons: pa.Array, acts: pa.Array) -> None:
        """Accounting of a block: one count per distinct (reason, activity) pair. The one
        place that sorts a record into excluded, other or events."""
        c = self._counts
        c.rows += len(acts)
        codes, pairs = distinct(reasons, acts)
        for (reason, act), k in zip(pairs, np.bincount(codes).tolist(), strict=True):
            if reason:
                c.excluded[reason] += k
            elif act == "other":
                c.other += k
            else:
                c.events += k
                c.by_class[self._classes.get(act, "ignore")] += k

    def other(self, n: int = 1) -> None:
        """Count records that are not intranet actions and are not stored (web-log assets)."""
        self._counts.rows += n
        self._counts.other += n

    def reject(
        self, line: int, reason: str, raw: str | None = None, member: str | None = None
    ) -> None:
        """Keep a record that cannot be read aside, with its reason."""
        self._counts.rows += 1
        self._counts.rejected += 1
        r = self._rejects
        r["source_file"].append(self._where[member])
        r["source_sha256"].append(self.source.sha256)
        r["source_format"].append(self.source.format)
        r["source_line"].append(line)
        r["reason"].append(reason)
        # Raw rows hold identities: never keep them when pseudonymising.
        r["raw"].append(None if self.pseudo.enabled or raw is None else raw[:RAW_LIMIT])

    # -- batches -------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        """Records added since the last flush."""
        return self._chunk_rows + len(self._cols[0])

    @property
    def full(self) -> bool:
        return self.pending >= self.batch_size

    def _flush_rows(self) -> None:
        """The records ``add`` has gathered, as a chunk after those before them."""
        cols = self._cols
        if not cols[0]:
            return
        # Timestamps from Python ints are 40x faster as int64 then cast (pyarrow 26).
        text = [pa.array(c, pa.string()) for c in cols[3:7]]
        where = self._where_of(cols[12], len(cols[12]))
        self._emit(
            times=pa.array(cols[0], pa.int64()),
            actors=pa.array(cols[1], pa.string()),
            acts=pa.array(cols[2], pa.string()),
            texts=text,
            excluded=pa.array(cols[10], pa.string()),
            agents=pa.array(cols[11], pa.string()),
            lines=pa.array(cols[13], pa.int64()),
            keys=cols[14],
            where=where,
            counts=pa.array(cols[7], pa.int64()),
            windows=(pa.array(cols[8], pa.date32()), pa.array(cols[9], pa.date32())),
        )
        for c in cols:
            c.clear()

    def _where_of(self, members: Column | str | None, n: int) -> pa.Array:
        """The stored source file of each of ``n`` records of a container member (or a
        column of them)."""
        if members is None or isinstance(members, str):
            return self._repeat(self._where[members], n)
        members = _arrow(members, pa.string())
        if members.null_count == n:
            return self._repeat(self._where[None], n)
        coded = pc.dictionary_encode(members, null_encoding="encode")
        names = [self._where[m] for m in coded.dictionary.to_pylist()]
        return au.texts(names).take(coded.indices)

    def _repeat(self, text: str, n: int) -> pa.Array:
        """``text`` n times: a slice of one array per text (no copy per batch). A short run
        is made on its own: a slice keeps its whole array alive, and the store holds the
        batches of small sources until it has gathered enough of them (10,000 files of one
        event each held 10,000 arrays of 65,536 SHA-256s: 22 GB)."""
        if 4 * n < self.batch_size:
            return _repeat(text, n)
        made = self._constants.get(text)
        if made is None or len(made) < n:
            if len(self._constants) > 16:  # a few texts per source: format, file, SHA
                self._constants.clear()
            made = self._constants[text] = _repeat(text, max(n, self.batch_size))
        return made.slice(0, n)

    def flush_chunks(self) -> list[pa.RecordBatch]:
        """The records added since the last flush, as the batches they were made in (no
        copy into one batch: the store writes each as it comes)."""
        self._flush_rows()
        chunks, self._chunks, self._chunk_rows = self._chunks, [], 0
        return chunks

    def flush(self) -> pa.RecordBatch | None:
        """The records added since the last flush, as one batch (None if there are none)."""
        self._flush_rows()
        chunks, self._chunks, self._chunk_rows = self._chunks, [], 0
        if len(chunks) <= 1:
            return chunks[0] if chunks else None
        (batch,) = pa.Table.from_batches(chunks).combine_chunks().to_batches()
        return batch

    def take_rejects(self) -> pa.Table | None:
        if not self._rejects["reason"]:
            return None
        # Built through arrowutil: Table.from_pydict imports pandas (0.2 CPU-s an ingest).
        columns = [
            au.fixed(self._rejects[f.name])
            if f.type == pa.int64()
            else au.texts(self._rejects[f.name])
            for f in REJECT_SCHEMA
        ]
        table = pa.Table.from_arrays(columns, schema=REJECT_SCHEMA)
        self._rejects = {name: [] for name in REJECT_SCHEMA.names}
        return table


# -- reading helpers shared by the text formats --------------------------------------------
# Opening (gzip, BOM, encoding) lives in textfile; these names are kept for the loaders.
read_head = textfile.read_head
decode_head = textfile.decode_head


def open_text(
    path: Path, newline: str | None = None, builder: EventBuilder | None = None
) -> IO[str]:
    """Open a text export (gzip streamed, BOM removed): the encoding is the config's
    (``--encoding``) or else found by ``textfile.choose_encoding``; an assumed one is
    noted on the builder, so the ingest summary says so."""
    forced = builder.config.encoding if builder is not None else None
    found = textfile.choose_encoding(path, forced)
    if found.note and builder is not None:
        builder.note(found.note)
    return textfile.open_text(path, newline, found)


def bounded_lines(
    fh: IO[str], limit: int = LINE_LIMIT, start: int = 1
) -> Iterator[tuple[int, str | None]]:
    """``(line number, text)`` for each line; text is None for a line longer than ``limit``
    characters, whose rest is skipped in chunks (memory stays bounded whatever the file)."""
    n = start - 1
    while True:
        text = fh.readline(limit)
        if not text:
            return
        n += 1
        if len(text) >= limit and not text.endswith(("\n", "\r")):
            while (more := fh.readline(limit)) and not more.endswith(("\n", "\r")):
                pass
            yield n, None
            continue
        yield n, text


BLOCK_BYTES = 1 << 18


# A line longer than line_blocks' ``limit`` stands in its block as this line alone: the
# reader rejects it by name (it is no JSON and no CSV a loader could take for data).
LONG_LINE = b"\x1e line too long \x1e\n"


def line_blocks(
    fh: IO, size: int = BLOCK_BYTES, limit: int | None = None
) -> Iterator[tuple[bytes | str, bool]]:
    """``(block, complete)``: runs of whole lines each ending in ``\\n`` (complete), then
    the last line if the file does not end in ``\\n``. Works on binary and text files.
    With a ``limit`` (binary files), a longer line is read past in chunks and comes as
    ``LONG_LINE``: memory stays bounded whatever the file."""
    tail: list = []
    held = 0
    while chunk := fh.read(size):
        cut = chunk.rfind("\n" if isinstance(chunk, str) else b"\n") + 1
        if not cut:
            tail.append(chunk)  # a line longer than a chunk: gathered whole, up to limit
            held += len(chunk)
            if limit is not None and held > limit:
                while (more := fh.read(size)) and (end := more.find(b"\n")) < 0:
                    pass
                tail, held = [], 0
                yield LONG_LINE, True
                if not more:
                    return
                chunk = more[end + 1 :]
                cut = chunk.rfind(b"\n") + 1
                if not cut:
                    if chunk:
                        tail.append(chunk)
                        held = len(chunk)
                    continue
            else:
                continue
        held = 0
        if tail:
            tail.append(chunk[:cut])
            yield chunk[:0].join(tail), True
            tail = []
        else:
            yield (chunk if cut == len(chunk) else chunk[:cut]), True
        if cut < len(chunk):
            tail.append(chunk[cut:])
            held = len(chunk) - cut
    if tail:
        yield tail[0][:0].join(tail), False


is_utf8 = textfile.is_utf8


_T = TypeVar("_T")
_R = TypeVar("_R")
_END = object()


def read_ahead(items: Iterator[_T], work: Callable[[_T], _R], name: str) -> Iterator[_R]:
    """``work(item)`` of each item, the next one read and worked on by a worker thread
    (named ``name``) while the caller uses this one. Worth it when ``work`` spends its
    time outside the GIL (file reads, Arrow's parsers). Closing the iterator stops the
    thread before it returns."""

    def step():
        item = next(items, _END)
        return _END if item is _END else work(item)  # type: ignore[arg-type]

    with ThreadPoolExecutor(1, thread_name_prefix=name) as pool:
        ahead = pool.submit(step)
        while (result := [ahead.result()])[0] is not _END:
            ahead = pool.submit(step)
            yield result.pop()  # the caller holds the only reference: memory is freed sooner


Column = Sequence[Any] | pa.Array | pa.ChunkedArray | np.ndarray


def _arrow(values: Column | None, type: pa.DataType, n: int = 0) -> pa.Array:
    """A column as an Arrow array of ``type`` (None: ``n`` nulls)."""
    if values is None:
        return pa.nulls(n, type)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values if values.type == type else values.cast(type)
    return pa.array(values, type)


def distinct(*columns: pa.Array) -> tuple[np.ndarray, list[tuple]]:
    """``(codes, combinations)``: the distinct combinations of the columns' values in
    order of first appearance (as tuples of Python values, null as None), and each row's
    index into them. Hash-based, a column at a time: the only per-value Python work is
    converting each distinct combination."""
    code: np.ndarray | None = None
    dictionaries = []
    for column in columns:
        coded = pc.dictionary_encode(column, null_encoding="encode")
        size = len(coded.dictionary)
        index = au.numbers(coded.indices).astype(np.int64)
        code = index if code is None else code * size + index
        dictionaries.append((coded.dictionary, size))
    if code is None:
        raise ValueError("distinct: no column")
    coded = pc.dictionary_encode(au.fixed(code))
    rest = au.numbers(coded.dictionary)
    parts = []
    for dictionary, size in reversed(dictionaries):
        rest, at = np.divmod(rest, size)
        parts.append(dictionary.take(au.fixed(at)).to_pylist())
    parts.reverse()
    return au.numbers(coded.indices), list(zip(*parts, strict=True))


def truthy(text: pa.Array) -> pa.Array:
    """Python's ``bool`` of each text: False for null and for empty text."""
    return pc.fill_null(pc.not_equal(text, _EMPTY), _FALSE)


def _repeat(text: str, n: int) -> pa.Array:
    return au.texts([text]).take(au.fixed(np.zeros(n, np.int32), pa.int32()))


_EMPTY, _SEP, _FALSE = au.text(""), au.text("\x1f"), au.flags(np.zeros(1, np.bool_))[0]


def require_columns(
    path: str, header: Iterable[str], required: Iterable[str], hint: str = ""
) -> None:
    """Raise an InputError naming the missing columns of a header."""
    have = set(header)
    missing = [c for c in required if c not in have]
    if missing:
        raise InputError(
            f"{path} line 1: missing required column(s) {', '.join(missing)}"
            f"{'; ' + hint if hint else ''}"
        )


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, or of a folder's files (relative names and contents, sorted)."""
    import hashlib
    import os

    h = hashlib.sha256()
    if path.is_dir():
        for root, dirs, files in os.walk(path, followlinks=False):
            dirs.sort()
            for name in sorted(files):
                f = Path(root) / name
                if f.is_symlink():
                    continue
                h.update(str(f.relative_to(path)).encode() + b"\0")
                h.update(bytes.fromhex(file_sha256(f)))
        return h.hexdigest()
    with open(path, "rb") as fh:  # the file as stored (a .gz: its compressed bytes)
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def read_source(module, path: Path, config: Config | None = None, pseudo: Any = None) -> Any:
    """Run one loader over one source fully in memory (tests, notebooks): the ingest's own
    driver, ``intranet_metrics.pipeline.read_source``, imported late (it sits above loaders)."""
    from ..pipeline import read_source as driver

    return driver(module, path, config, pseudo)


def csv_records(
    fh: IO[str], builder: EventBuilder, limit: int = LINE_LIMIT, delimiter: str = ","
) -> Iterator[tuple[int, list[str]]]:
    """``(first line, values)`` of each non-blank record of a CSV text stream; a record
    that cannot be read (or is longer than ``limit`` characters) is rejected with the
    reason and reading goes on after it (``textfile.csv_rows``)."""
    for line, row in textfile.csv_rows(fh, delimiter, limit):
        if isinstance(row, textfile.BadRecord):
            builder.reject(line, row.reason)
        else:
            yield line, row
