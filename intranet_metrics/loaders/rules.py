"""Classification rules as data, and the one function that applies them to Arrow columns.

A web log format (IIS, Apache, Confluence) declares a ``WebRules`` table: which methods
and statuses can be events, which user values are no person, and an ordered list of path
rules (first match wins) naming the activity. ``WebRules.classify`` applies the table to
whole Arrow columns; a loader's row-at-a-time path (odd lines, UTF-16 files) calls
``WebRules.event`` on the same table, so no rule is ever written twice. Both look each
distinct (method, path) up once: paths repeat all day (the same pages and scripts).

The audit log's table (operation/workload/record type -> activity, with a condition on
the record) is ``AuditRule`` rows, read by ``m365_audit``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import arrowutil as au
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

    def event(self, memo: Memo, method: str, status: str, user: str, path: str) -> str | None:
        """The activity of one request, or None when it is no event (row-at-a-time path)."""
        if status not in self.statuses or user in self.anonymous or method not in self.methods:
            return None
        return memo[(method, status, path)]

    def classify(
        self, memo: Memo, method: pa.Array, status: pa.Array, user: pa.Array, path: pa.Array
    ) -> tuple[pa.Array, pa.Array]:
        """``(rows, activity)``: the indices of the requests that are events and their
        activities, a column at a time (the same table as ``event``, each distinct
        method, status and path looked up once)."""
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


def agent_text(value: str | None, plus_is_space: bool = False) -> str | None:
    """A user agent as stored: ``-`` or empty is none; IIS writes spaces as ``+``."""
    if value is None or value in ("", "-"):
        return None
    return value.replace("+", " ") if plus_is_space else value


def agents(values: pa.Array, plus_is_space: bool = False) -> pa.Array:
    """``agent_text`` of a column, each distinct value converted once (a log has a few)."""
    coded = pc.dictionary_encode(values)
    texts = [agent_text(a, plus_is_space) for a in coded.dictionary.to_pylist()]
    return pa.array(texts, pa.string()).take(coded.indices)


@dataclass(frozen=True)
class AuditRule:
    """One row of the audit log's table: a record of one of ``workloads`` (lower case)
    whose operation is in ``operations`` (lower case) or whose record type is in
    ``record_types`` gets ``activity``; an operation containing ``unless_word`` gets
    ``otherwise``. ``when`` names a condition on the record's own fields (see
    ``m365_audit.CONDITIONS``): ``activity`` when it holds, else ``otherwise``."""

    workloads: frozenset[str]
    activity: str
    operations: frozenset[str] = frozenset()
    record_types: frozenset[str] = frozenset()
    when: str | None = None
    otherwise: str = "other"
    unless_word: str | None = None

    def matches(self, workload: str, operation: str, record_type: str) -> bool:
        return workload in self.workloads and (
            operation in self.operations or record_type in self.record_types
        )


def audit_rule(
    table: tuple[AuditRule, ...], workload: str, operation: str, record_type: str
) -> AuditRule | None:
    """The first row of ``table`` for these (lower-cased) fields, or None."""
    for rule in table:
        if rule.matches(workload, operation, record_type):
            return rule
    return None


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
        if self.trim and pa.types.is_string(values.type):
            values = pc.utf8_trim_whitespace(values)
        empty = _empty(values)
        return empty if self.negate else pc.invert(empty)


@dataclass(frozen=True)
class Differs:
    """Both fields hold a value and the values differ."""

    field: str
    other: str

    def mask(self, table: pa.Table) -> pa.Array:
        a, b = _column(table, self.field), _column(table, self.other)
        both = pc.invert(pc.or_(_empty(a), _empty(b)))
        return pc.and_(both, pc.fill_null(pc.not_equal(a, b), _FALSE))


Condition = OneOf | Filled | Differs


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


def differs(field: str, other: str) -> Differs:
    return Differs(field, other)


@dataclass(frozen=True)
class FieldRule:
    """One row of a field table: ``outcome`` (an activity, an exclusion reason or a reject
    reason) for a record meeting every condition of ``when`` (no condition: every
    record). In a table the first matching row wins."""

    outcome: str
    when: tuple[Condition, ...] = ()

    def mask(self, table: pa.Table) -> pa.Array:
        if not self.when:
            return au.flags(np.ones(len(table), np.bool_))
        hit = self.when[0].mask(table)
        for condition in self.when[1:]:
            hit = pc.and_(hit, condition.mask(table))
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
    for i in reversed(range(len(rows))):  # last to first: the first row has the last word
        out = pc.if_else(rows[i].mask(table), choice[i], out)
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
    marks that id as a bot). ``fields``: event column <- the first of these raw fields
    that holds a value (``key`` is required). ``parent_for``: the activities that keep
    a parent (None: every one). ``named``: a record no ``activities`` row decides gets
    the activity this function names from that raw field's text (null: empty text),
    instead of ``default`` (a format whose records name their activity, e.g. generic)."""

    time: tuple[str, Callable[[pa.Array], pa.Array]]
    actor: Actor
    fields: Mapping[str, tuple[str, ...]]
    activities: tuple[FieldRule, ...]
    exclusions: tuple[FieldRule, ...] = ()
    rejects: tuple[FieldRule, ...] = ()
    default: str = "other"
    parent_for: frozenset[str] | None = None
    named: tuple[str, Callable[[str], str]] | None = None


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


def _actors(rules: FieldRules, table: pa.Table, users: Directory) -> pa.Table:
    """``table`` with ``_actor_id``, ``_bot`` and the actor text (``_actor``) added; the
    user list is looked up once per distinct id."""
    ids = first_filled(table, rules.actor.ids)
    if not users and not rules.actor.emails and not rules.actor.prefix:
        # No list to look ids up in and nothing to add to them: the actor is the id
        # (the general path's result, without a pass over every record's id).
        bots = au.flags(np.zeros(len(ids), np.bool_))
        table = table.append_column(ACTOR_ID, ids).append_column(BOT, bots)
        return table.append_column("_actor", pc.fill_null(ids, _NO_TEXT))
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
    return table.append_column("_actor", pc.fill_null(actor, ""))


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
    table = _actors(rules, table, users or {})
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
    members = _column(table, MEMBER) if MEMBER in table.column_names else member
    builder.add_many(
        time=_column(table, TIME),
        actor=_column(table, "_actor"),
        activity=activity,
        line=_column(table, LINE),
        excluded=first_match(rules.exclusions, table, None),
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
