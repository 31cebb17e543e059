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
from dataclasses import dataclass, field
from functools import cached_property

import pyarrow as pa
import pyarrow.compute as pc

from .base import Memo

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
