"""Classification rules as data, and the one function that applies them to Arrow columns.

A web log format (IIS, Apache, Confluence) declares a ``WebRules`` table: which methods
and statuses can be events, which user values are no person, and an ordered list of path
rules (first match wins) naming the activity. A web loader reads a file into batches of
raw named fields (``WEB_FIELDS``); ``apply_web`` classifies them with
``WebRules.classify`` (each distinct method, status and path looked up once: paths
repeat all day) and hands events and rejects to the builder, for every web format.

Formats whose records are named fields (Engage, Slack, the Microsoft 365 audit log) declare
a ``FieldRules`` table instead, applied by ``apply_fields``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import arrowutil as au
from ..identity import actor_exclusion, normalise_actor
from .base import EventBuilder, Memo

# Distinct paths held per table; a log has far fewer distinct pages than this.
_MEMO_LIMIT = 100_000


@dataclass(frozen=True)
class PathRule:
    """``activity`` for a request whose method is in ``methods``, whose lower-cased path
    matches ``pattern`` (``re.search``) and whose status is in ``statuses`` (None: the
    table's ``ok_status``). ``activity`` None: the request is no event (a system folder,
    a static file), whatever a later row says."""

    activity: str | None
    pattern: str
    methods: frozenset[str] = frozenset({"GET"})
    statuses: frozenset[str] | None = None


@dataclass(frozen=True)
class WebRules:
    """A web log's classification: a request by a person (user not in ``anonymous``) is
    an event when the first ``paths`` row matching its method and path names an activity
    and its status is that row's (``default`` for an OK GET no row matches)."""

    paths: tuple[PathRule, ...]
    ok_status: frozenset[str] = frozenset({"200", "304"})
    anonymous: frozenset[str] = frozenset({"-"})
    default: str | None = None
    # Compiled patterns, one per row (``field`` keeps them out of eq/hash/repr).
    _compiled: tuple = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        compiled = tuple((r, re.compile(r.pattern)) for r in self.paths)
        object.__setattr__(self, "_compiled", compiled)

    @cached_property
    def methods(self) -> frozenset[str]:
        """Every method some row can make an event of (the default: GET)."""
        found = frozenset().union(*(r.methods for r in self.paths if r.activity is not None))
        return found | ({"GET"} if self.default is not None else frozenset())

    @cached_property
    def statuses(self) -> frozenset[str]:
        """Every status some row can make an event of."""
        rows = (r.statuses or self.ok_status for r in self.paths if r.activity is not None)
        return self.ok_status.union(*rows)

    def activity(self, method: str, status: str, path: str) -> str | None:
        """The activity of a request by a person, or None (no event)."""
        low = path.lower()
        for rule, pattern in self._compiled:
            if method in rule.methods and pattern.search(low):
                ok = status in (rule.statuses or self.ok_status)
                return rule.activity if ok else None
        ok = method == "GET" and status in self.ok_status
        return self.default if ok else None

    def memo(self) -> Memo:
        """``activity`` of each ``(method, status, path)``, computed once (a loader keeps
        one per file)."""
        return Memo(lambda key: self.activity(*key), limit=_MEMO_LIMIT)

    def classify(
        self, memo: Memo, method: pa.Array, status: pa.Array, user: pa.Array, path: pa.Array
    ) -> tuple[pa.Array, pa.Array]:
        """``(rows, activity)``: the indices of the requests that are events and their
        activities, a column at a time (each distinct method, status and path looked up
        once)."""
        ok = pc.and_(
            pc.and_(
                pc.is_in(status, pa.array(sorted(self.statuses), pa.string())),
                pc.invert(pc.is_in(user, pa.array(sorted(self.anonymous), pa.string()))),
            ),
            pc.is_in(method, pa.array(sorted(self.methods), pa.string())),
        )
        rows = pc.indices_nonzero(ok)
        if not len(rows):
            return rows, pa.array([], pa.string())
        # Methods and statuses hold no space and paths no newline: the key splits back.
        keys = pc.binary_join_element_wise(
            method.take(rows), status.take(rows), path.take(rows), "\n"
        )
        coded = pc.dictionary_encode(keys)
        acts = [memo[tuple(k.split("\n", 2))] for k in coded.dictionary.to_pylist()]
        activity = pa.array(acts, pa.string()).take(coded.indices)
        keep = pc.is_valid(activity)
        return rows.filter(keep), activity.filter(keep)


def _agent_text(value: str | None, plus_is_space: bool) -> str | None:
    """A user agent as stored: ``-`` or empty is none; IIS writes spaces as ``+``."""
    if value is None or value in ("", "-"):
        return None
    return value.replace("+", " ") if plus_is_space else value


def agents(values: pa.Array, plus_is_space: bool = False) -> pa.Array:
    """User agents as stored, each distinct value converted once (a log has a few)."""
    coded = pc.dictionary_encode(values)
    texts = [_agent_text(a, plus_is_space) for a in coded.dictionary.to_pylist()]
    return pa.array(texts, pa.string()).take(coded.indices)


# -- web logs: raw fields -> events ------------------------------------------------------
# A web loader's batch: these string columns (``agent`` may be absent) and ``_line``.
WEB_FIELDS = ("method", "status", "user", "path", "agent")
# The times of a batch's event rows (a batch of the same columns): microseconds since
# the epoch (null: unreadable) and the reason such a row is rejected.
Times = Callable[[pa.RecordBatch], tuple[pa.Array, str]]
# The keys (lines as written, str or bytes) of a batch's rows at these indices.
Keys = Callable[[np.ndarray], list]
# (line, reason, raw text or None): a line the reader could not cut into fields.
Reject = tuple[int, str, "str | None"]


@dataclass(frozen=True)
class WebBatch:
    """One block of a web log as the reader cut it: the rows' raw fields (``WEB_FIELDS``
    and ``LINE``, plus whatever ``times`` reads), how to get their times and keys, the
    lines it rejected, and whether ``+`` in a user agent is a space (IIS)."""

    rows: pa.RecordBatch
    times: Times
    keys: Keys
    rejects: list[Reject] = field(default_factory=list)
    plus_is_space: bool = False


def apply_web(
    rules: WebRules, memo: Memo, batch: WebBatch, builder: EventBuilder
) -> Iterator[pa.RecordBatch]:
    """Classify a web log's batch by ``rules`` and hand it to the builder: each row is
    counted as other, rejected (unreadable time) or added as an event; the reader's and
    these rejects reach the builder in line order, among the ones it makes itself. Yields
    the builder's batches, each of its batch size (the last one aside)."""
    rows = batch.rows
    col = rows.column
    index, activity = rules.classify(memo, col("method"), col("status"), col("user"), col("path"))
    builder.other(rows.num_rows - len(index))
    rejects = list(batch.rejects)
    fields: dict = {}
    if len(index):
        events = rows.take(index)
        us, why = batch.times(events)
        at = index.to_numpy()
        if us.null_count:
            bad = pc.is_null(us).to_numpy(zero_copy_only=False)
            lines = events.column(LINE).to_numpy()[bad]
            keys = batch.keys(at[bad])
            rejects += [(int(n), why, _text(k)) for n, k in zip(lines, keys, strict=True)]
            keep = pa.array(~bad)
            events, us, activity, at = (
                events.filter(keep),
                us.filter(keep),
                activity.filter(keep),
                at[~bad],
            )
        fields = _web_fields(events, us, activity, batch, at)
    yield from _hand_over(builder, sorted(rejects, key=lambda r: r[0]), fields)


def _text(key: str | bytes) -> str:
    return key if isinstance(key, str) else key.decode("utf-8", "replace")


def _web_fields(
    events: pa.RecordBatch, us: pa.Array, activity: pa.Array, batch: WebBatch, at: np.ndarray
) -> dict:
    """The ``add_many`` columns of a batch's readable events."""
    if not events.num_rows:
        return {}
    names = events.schema.names
    agent = events.column("agent") if "agent" in names else None
    return {
        "time": us,
        "actor": events.column("user"),
        "activity": activity,
        "item": events.column("path"),
        "user_agent": None if agent is None else agents(agent, batch.plus_is_space),
        "line": events.column(LINE),
        "key": batch.keys(at),
    }


def _hand_over(
    builder: EventBuilder, rejects: list[Reject], fields: dict
) -> Iterator[pa.RecordBatch]:
    """Rejects and events to the builder in line order: the rejects first when the
    builder rejects no event (every time in range), else events cut at each reject."""
    n = len(fields["line"]) if fields else 0
    if not n or not rejects or pc.all(builder.in_range(fields["time"])).as_py():
        for reject in rejects:
            builder.reject(*reject)
        yield from _add(builder, fields, 0, n)
        return
    cuts = np.searchsorted(fields["line"].to_numpy(), [r[0] for r in rejects])
    start = 0
    for reject, cut in zip(rejects, cuts.tolist(), strict=True):
        yield from _add(builder, fields, start, cut)
        start = max(start, cut)
        builder.reject(*reject)
    yield from _add(builder, fields, start, n)


def _add(builder: EventBuilder, fields: dict, start: int, stop: int) -> Iterator[pa.RecordBatch]:
    """Events ``start:stop`` to the builder, a flush each time it is full (so each batch
    has the builder's batch size, as when records are added one at a time)."""
    while start < stop:
        end = min(stop, start + max(1, builder.batch_size - builder.pending))
        builder.add_many(**{k: _part(v, start, end) for k, v in fields.items()})
        start = end
        if builder.full:
            yield builder.flush()  # type: ignore[misc]


def _part(values, start: int, stop: int | None):
    return None if values is None else values[start:stop]


# -- field tables: formats whose records are named fields (Engage, Slack, ...) ----------------
# A loader of such a format reads its export into Arrow tables of the records' raw named
# fields (no decisions), plus three columns of its own: ``_line`` (the record's line or
# index), ``_problem`` (why the reader could not read it, else null) and ``_raw`` (the text
# kept beside a reject). ``apply_fields`` does everything after that from the format's
# ``FieldRules``: the time, rejects, activity, exclusion and event columns.
LINE, PROBLEM, RAW = "_line", "_problem", "_raw"
# A table of several container members (day files) names each record's in ``_member``.
MEMBER = "_member"
# Columns ``apply_fields`` adds before the rows are applied, so rows can name them.
TIME, ACTOR_ID, BOT = "_time", "_actor_id", "_bot"
# The record's actor text, and the builder's own reason to exclude that actor (a system
# or service account, a guest, no actor: ``identity.actor_exclusion``), else null.
ACTOR, ACTOR_REASON = "_actor", "_actor_reason"
_INDEX = "_index"  # a record's place in the table given to apply_fields


# Constants for compute functions made without pa.scalar, which imports pandas (arrowutil).
_NO_TEXT, _NULL_TEXT = au.text(""), au.text(None)
_TRUE, _FALSE = au.flags(np.ones(1, np.bool_))[0], au.flags(np.zeros(1, np.bool_))[0]


def _column(table: pa.Table, name: str) -> pa.Array:
    """A named column as one array; a field the export does not have is all null."""
    if name not in table.column_names:
        return pa.nulls(len(table), pa.string())
    column = table.column(name)
    if isinstance(column, pa.ChunkedArray):
        return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    return column


def _empty(values: pa.Array) -> pa.Array:
    """Null, or empty text: a field that says nothing."""
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return pc.fill_null(pc.or_kleene(pc.is_null(values), pc.equal(values, _NO_TEXT)), _TRUE)
    return pc.is_null(values)


@dataclass(frozen=True)
class OneOf:
    """A record's ``field`` is one of ``values`` (``None`` among them: the field is null);
    ``fold``: text compared case-insensitively; ``negate``: none of them."""

    field: str
    values: tuple
    fold: bool = False
    negate: bool = False

    def mask(self, table: pa.Table) -> pa.Array:
        values = _column(table, self.field)
        named = [v.lower() if self.fold else v for v in self.values if v is not None]
        if self.fold and pa.types.is_string(values.type):
            values = pc.utf8_lower(values)
        hit = au.flags(np.zeros(len(values), np.bool_))
        if named:
            kind = values.type
            value_set = au.texts(named) if kind == pa.string() else pa.array(named, kind)
            hit = pc.fill_null(pc.is_in(values, value_set), _FALSE)
        if None in self.values:
            hit = pc.or_(hit, pc.is_null(values))
        return pc.invert(hit) if self.negate else hit


@dataclass(frozen=True)
class Filled:
    """A record's ``field`` holds a value (not null, not empty text); ``negate``: it
    does not. ``trim``: white space alone is no value either."""

    field: str
    negate: bool = False
    trim: bool = False

    def mask(self, table: pa.Table) -> pa.Array:
        values = _column(table, self.field)
        empty = _empty(values)
        if self.trim and pa.types.is_string(values.type):
            # White space alone (what trimming would leave empty), asked without making
            # the trimmed copy of every value.
            empty = pc.or_(empty, pc.fill_null(pc.utf8_is_space(values), _FALSE))
        return empty if self.negate else pc.invert(empty)


@dataclass(frozen=True)
class Compare:
    """Both fields hold a value and the values differ (``equal``: are the same)."""

    field: str
    other: str
    equal: bool = False

    def mask(self, table: pa.Table) -> pa.Array:
        a, b = _column(table, self.field), _column(table, self.other)
        both = pc.invert(pc.or_(_empty(a), _empty(b)))
        test = pc.equal if self.equal else pc.not_equal
        return pc.and_(both, pc.fill_null(test(a, b), _FALSE))


@dataclass(frozen=True)
class Matches:
    """A record's text ``field`` matches the regular expression ``pattern`` (RE2, searched
    anywhere, case-insensitive); ``negate``: it does not (a null field matches nothing)."""

    field: str
    pattern: str
    negate: bool = False

    def mask(self, table: pa.Table) -> pa.Array:
        values = _column(table, self.field)
        hit = pc.match_substring_regex(values, self.pattern, ignore_case=True)
        hit = pc.fill_null(hit, _FALSE)
        return pc.invert(hit) if self.negate else hit


Condition = OneOf | Filled | Compare | Matches


def is_(field: str, *values: object, fold: bool = False) -> OneOf:
    """``field`` is one of ``values`` (None: null)."""
    return OneOf(field, values, fold)


def not_(field: str, *values: object, fold: bool = False) -> OneOf:
    """``field`` is none of ``values`` (None: null)."""
    return OneOf(field, values, fold, negate=True)


def filled(field: str) -> Filled:
    return Filled(field)


def blank(field: str, trim: bool = False) -> Filled:
    return Filled(field, negate=True, trim=trim)


def differs(field: str, other: str) -> Compare:
    return Compare(field, other)


def same(field: str, other: str) -> Compare:
    return Compare(field, other, equal=True)


def matches(field: str, pattern: str) -> Matches:
    return Matches(field, pattern)


def lacks(field: str, pattern: str) -> Matches:
    """``field`` does not match ``pattern`` (null matches nothing, so it lacks it)."""
    return Matches(field, pattern, negate=True)


@dataclass(frozen=True)
class FieldRule:
    """One row of a field table: ``outcome`` (an activity, an exclusion reason or a reject
    reason) for a record meeting every condition of ``when`` (no condition: every
    record). In a table the first matching row wins."""

    outcome: str
    when: tuple[Condition, ...] = ()

    def mask(self, table: pa.Table, seen: dict | None = None) -> pa.Array:
        """Which records meet every condition. ``seen``: masks of conditions already
        worked out on this table (rows of a table repeat conditions: the audit log's
        workload and operation are in most of its rows)."""
        if not self.when:
            return au.flags(np.ones(len(table), np.bool_))
        seen = {} if seen is None else seen
        hit = None
        for condition in self.when:
            if condition not in seen:
                seen[condition] = condition.mask(table)
            hit = seen[condition] if hit is None else pc.and_(hit, seen[condition])
        return hit


def row(outcome: str, *when: Condition) -> FieldRule:
    return FieldRule(outcome, when)


def first_match(rows: tuple[FieldRule, ...], table: pa.Table, default: str | None) -> pa.Array:
    """The outcome of the first row each record meets, else ``default``: a column."""
    if not rows:  # no row to meet: every record's is the default
        return pc.fill_null(pa.nulls(len(table), pa.string()), au.text(default))
    outcomes = au.texts([r.outcome for r in rows] + [default])
    # Which row decides, as a small integer (cheaper to choose between than text).
    choice = au.fixed(np.arange(len(rows)), pa.int32())
    out = au.fixed(np.full(len(table), len(rows), np.int32), pa.int32())
    seen: dict = {}
    for i in reversed(range(len(rows))):  # last to first: the first row has the last word
        out = pc.if_else(rows[i].mask(table, seen), choice[i], out)
    return outcomes.take(out)


@dataclass(frozen=True)
class Actor:
    """Who a record's person is: the first ``emails`` field that holds a value, else the
    first ``ids`` field's value looked up in the export's own user list (its email), else
    that id as ``prefix`` + id (``engage:123``); no value at all is the empty actor."""

    ids: tuple[str, ...]
    prefix: str
    emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldRules:
    """A format's classification as data, applied by ``apply_fields``.

    ``time``: the raw field holding the time and the function turning that column into
    microseconds since the epoch (null: unreadable). ``rejects``, ``exclusions`` and
    ``activities`` are ordered rows (first match wins) that may also name ``_time`` (the
    parsed time), ``_actor_id`` (the id ``actor`` chose) and ``_bot`` (the user list
    marks that id as a bot), ``_actor`` (the actor text) and ``_actor_reason`` (the
    builder's own reason to exclude that actor; worked out only when a row names it).
    ``fields``: event column <- the first of these raw fields that holds a value (``key``
    is required). ``parent_for``: the activities that keep a parent (None: every one);
    ``parent_not_item``: a parent equal to the record's item names none (a message naming
    itself). ``named``: a record no ``activities`` row decides gets the activity this
    function names from that raw field's text (null: empty text), instead of ``default``
    (a format whose records name their activity, e.g. generic)."""

    time: tuple[str, Callable[[pa.Array], pa.Array]]
    actor: Actor
    fields: Mapping[str, tuple[str, ...]]
    activities: tuple[FieldRule, ...]
    exclusions: tuple[FieldRule, ...] = ()
    rejects: tuple[FieldRule, ...] = ()
    default: str = "other"
    parent_for: frozenset[str] | None = None
    parent_not_item: bool = False
    named: tuple[str, Callable[[str], str]] | None = None

    @cached_property
    def judges_actor(self) -> bool:
        """Whether a row names ``_actor_reason`` (else it is not worked out)."""
        rows = (*self.rejects, *self.exclusions, *self.activities)
        named = {getattr(c, a, None) for r in rows for c in r.when for a in ("field", "other")}
        return ACTOR_REASON in named


# A user list: id -> (email or None, is a bot).
Directory = Mapping[str, tuple[str | None, bool]]


def first_filled(table: pa.Table, names: tuple[str, ...]) -> pa.Array:
    """Per record, the first of these text fields that holds a value (else null)."""
    filled = []
    for name in names:
        values = _column(table, name)
        values = values if values.type == pa.string() else values.cast(pa.string())
        # Only an empty text needs turning into null (a null stays one): one pass to ask.
        if values.null_count == len(values) or not pc.any(pc.equal(values, _NO_TEXT)).as_py():
            filled.append(values)
        else:
            filled.append(pc.if_else(_empty(values), _NULL_TEXT, values))
    return filled[0] if len(filled) == 1 else pc.coalesce(*filled)


def _actors(
    rules: FieldRules, table: pa.Table, users: Directory, service: frozenset[str]
) -> pa.Table:
    """``table`` with ``_actor_id``, ``_bot``, the actor text (``_actor``) and its
    exclusion reason (``_actor_reason``) added; the user list is looked up, and an actor
    judged, once per distinct value."""
    ids = first_filled(table, rules.actor.ids)
    if not users and not rules.actor.emails and not rules.actor.prefix:
        # No list to look ids up in and nothing to add to them: the actor is the id
        # (the general path's result, without a pass over every record's id).
        bots = au.flags(np.zeros(len(ids), np.bool_))
        table = table.append_column(ACTOR_ID, ids).append_column(BOT, bots)
        return _with_actor(rules, table, pc.fill_null(ids, _NO_TEXT), service)
    coded = pc.dictionary_encode(ids)
    distinct = coded.dictionary.to_pylist()
    known = [users.get(i, (None, False)) for i in distinct]
    prefix = rules.actor.prefix
    names = [e or f"{prefix}{i}" for i, (e, _) in zip(distinct, known, strict=True)]
    looked = pa.array(names, pa.string()).take(coded.indices)
    bots = pa.array([b for _, b in known], pa.bool_()).take(coded.indices)
    email = first_filled(table, rules.actor.emails) if rules.actor.emails else None
    actor = looked if email is None else pc.if_else(pc.is_null(email), looked, email)
    table = table.append_column(ACTOR_ID, ids).append_column(BOT, pc.fill_null(bots, _FALSE))
    return _with_actor(rules, table, pc.fill_null(actor, _NO_TEXT), service)


def _with_actor(
    rules: FieldRules, table: pa.Table, actor: pa.Array, service: frozenset[str]
) -> pa.Table:
    """``table`` with the actor text and, when a row names it, its exclusion reason,
    judged once per distinct actor."""
    table = table.append_column(ACTOR, actor)
    if not rules.judges_actor:
        return table
    coded = pc.dictionary_encode(actor)
    reasons = [actor_exclusion(normalise_actor(a), service) for a in coded.dictionary.to_pylist()]
    return table.append_column(ACTOR_REASON, au.texts(reasons).take(coded.indices))


def apply_fields(
    rules: FieldRules,
    table: pa.Table,
    builder: EventBuilder,
    member: str | None = None,
    users: Directory | None = None,
    raw: Callable[[int], str | None] | None = None,
) -> None:
    """Classify a table of raw records by ``rules`` and hand it to the builder: each
    record becomes one reject (the reader's problem, else the first reject row it meets,
    in line order) or one record for ``builder.add_many`` (which does the accounting).
    A reject keeps the table's ``_raw`` text, else ``raw(i)`` of the table's i-th record
    (made only for the records rejected)."""
    if not len(table):
        return
    if RAW not in table.column_names and raw is not None:
        table = table.append_column(_INDEX, au.fixed(np.arange(len(table))))
    field, parse = rules.time
    table = table.append_column(TIME, parse(_column(table, field)))
    table = _actors(rules, table, users or {}, frozenset(builder.config.service_accounts))
    reasons = pc.coalesce(
        _column(table, PROBLEM).cast(pa.string()), first_match(rules.rejects, table, None)
    )
    bad = pc.is_valid(reasons)
    if pc.any(bad).as_py():
        _reject(builder, table.filter(bad), reasons.filter(bad), member, raw)
        table = table.filter(pc.invert(bad))
    if not len(table):
        return
    activity = _activity(rules, table)
    columns = {name: first_filled(table, names) for name, names in rules.fields.items()}
    if rules.parent_for is not None and "parent" in columns:
        keep = pc.is_in(activity, pa.array(sorted(rules.parent_for), pa.string()))
        columns["parent"] = pc.if_else(keep, columns["parent"], pa.scalar(None, pa.string()))
    if rules.parent_not_item and "parent" in columns and "item" in columns:
        own = pc.fill_null(pc.equal(columns["parent"], columns["item"]), False)
        columns["parent"] = pc.if_else(own, pa.scalar(None, pa.string()), columns["parent"])
    members = _column(table, MEMBER) if MEMBER in table.column_names else member
    builder.add_many(
        time=_column(table, TIME),
        actor=_column(table, ACTOR),
        activity=activity,
        line=_column(table, LINE),
        # No rows: none excluded by the table (the builder's own reasons still apply).
        excluded=first_match(rules.exclusions, table, None) if rules.exclusions else None,
        member=members,
        **columns,
    )


def _activity(rules: FieldRules, table: pa.Table) -> pa.Array:
    """The first ``activities`` row's outcome, else the named or the default activity."""
    if rules.named is None:
        return first_match(rules.activities, table, rules.default)
    field, name = rules.named
    coded = pc.dictionary_encode(pc.fill_null(_column(table, field), _NO_TEXT))
    # Each distinct text named once: a file holds a handful of activity names.
    named = au.texts([name(v) for v in coded.dictionary.to_pylist()])
    named = named.take(coded.indices)
    if not rules.activities:
        return named
    return pc.coalesce(first_match(rules.activities, table, None), named)


def _reject(
    builder: EventBuilder,
    table: pa.Table,
    reasons: pa.Array,
    member: str | None,
    raw: Callable[[int], str | None] | None,
) -> None:
    """The rejected records, in line order (the reader's and the table's alike)."""
    if _INDEX in table.column_names and raw is not None:
        raws = [raw(i) for i in _column(table, _INDEX).to_pylist()]
    else:
        raws = _column(table, RAW).to_pylist()
    lines = _column(table, LINE).to_pylist()
    members = _column(table, MEMBER).to_pylist() if MEMBER in table.column_names else None
    wheres = members if members is not None else [member] * len(lines)
    # In line order within each member, the members in the order they came.
    first: dict[str | None, int] = {}
    rank = [first.setdefault(m, len(first)) for m in wheres]
    for i in sorted(range(len(lines)), key=lambda i: (rank[i], lines[i])):
        builder.reject(lines[i], reasons[i].as_py(), raws[i], member=wheres[i])
