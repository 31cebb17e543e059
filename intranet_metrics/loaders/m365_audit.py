"""m365-audit: the Microsoft 365 / Purview unified audit log (CSV exports or JSON Lines).

Three CSV layouts are seen in the wild (portal, PowerShell ``Export-Csv``, new Purview);
all carry an ``AuditData`` column holding the record as JSON, and that JSON is the only
thing read: the other columns (``CreationDate`` in particular) are culture-formatted
duplicates. JSON Lines files hold one AuditData object per line (Management Activity API).

The reader only turns records into Arrow tables of raw named fields: orjson parses each
line (or CSV AuditData), the fields the rules need are read as text (``FIELDS``; numbers
as their digits), the nested Teams ``Messages`` entries flattened to one column and
``UserType`` read as Microsoft's enum number. Classification (SPEC section 6) is the
``FieldRules`` table below, applied by ``rules.apply_fields``: rejects, then exclusions
before the activity, so a system account's Exchange cmdlet is excluded (with its reason),
never counted as other: the builder's generic actor exclusions first (``system_account``,
``guest``, ...), then ``user_type`` (UserType other than 0 Regular / 2 Admin), then
``not_a_user`` (no ``@``). A record without a UserType is not excluded on that ground: the
type is unknown, not wrong.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError
from . import textfile
from .base import (
    EPOCH,
    LONG_LINE,
    EventBuilder,
    bounded_lines,
    csv_records,
    decode_head,
    line_blocks,
    open_text,
    read_head,
)
from .rules import (
    ACTOR,
    ACTOR_REASON,
    LINE,
    PROBLEM,
    TIME,
    Actor,
    FieldRule,
    FieldRules,
    Filled,
    apply_fields,
    blank,
    differs,
    filled,
    is_,
    lacks,
    matches,
    not_,
    row,
    same,
)

# orjson parses AuditData about 2.5x faster than the standard library (same errors: a
# ValueError subclass).
_loads = orjson.loads

NAME = "m365-audit"
DESCRIPTION = "Microsoft 365 / Purview unified audit log (CSV with AuditData, or JSON Lines)"
CAN: tuple[str, ...] = ("view", "react", "contribute")
CANNOT = (
    "Only what the tenant audited: page views need auditing of SharePoint views; Teams "
    "tells reactions, and posts and replies only where Microsoft logs them (MessageSent: "
    "Graph API calls, Audit Premium; the Teams usage report counts them all), never "
    "reads; OneDrive or Exchange activity is not intranet use."
)
CONTAINER = False
PRIORITY = 40  # detection order (loaders/__init__.py)

# Pretty-printed AuditData of a big admin cmdlet can be long; 100 MB in one record is
# not: a longer record (or line) is rejected and skipped without being held whole. The
# limit is this reader's own (textfile.csv_rows), never the csv module's global one.
FIELD_LIMIT = 16 << 20

WORKLOADS = frozenset({"sharepoint", "yammer", "microsoftteams"})
# Microsoft's UserType enum (Office 365 Management Activity API schema).
USER_TYPES: dict[str, int] = {
    "regular": 0,
    "reserved": 1,
    "admin": 2,
    "dcadmin": 3,
    "system": 4,
    "application": 5,
    "serviceprincipal": 6,
    "custompolicy": 7,
    "systempolicy": 8,
    "partnertechnician": 9,
    "guest": 10,
}
PEOPLE_TYPES = (0, 2)
_MICRO = timedelta(microseconds=1)
# CreationTime has no offset and is UTC: subtracting a naive epoch skips a replace() per row.
_NAIVE_EPOCH = datetime(1970, 1, 1)

# -- the raw fields ----------------------------------------------------------------------------
# AuditData fields read as text (a number as its digits, null or absent as null).
FIELDS = (
    "Id",
    "Workload",
    "Operation",
    "RecordType",
    "UserId",
    "ObjectId",
    "MessageId",
    "ParentMessageId",
    "ThreadId",
    "SiteUrl",
    "GroupName",
    "ChannelName",
)
# CreationTime only as text (any other value is no time); UserType as its enum number.
CREATED, USER_TYPE = "CreationTime", "UserType"
# Microsoft's Teams schema (Office 365 Management Activity API) puts ``ParentMessageId`` in
# the ``Messages`` entries; SPEC and our samples have it at the top level: both are read.
# Microsoft's other Teams message data (Defender ``MessageEvents``) sets it to the entry's
# own id for a message that is no reply, so this column holds the first entry's parent that
# is not the entry itself.
ENTRY_PARENT = "Messages.ParentMessageId"

# -- the rules (SPEC section 6) as data: the first row a record meets decides ------------------
_YAMMER = ("yammer",)
_TEAMS = ("microsoftteams",)
# SPEC names the SharePoint operations without a workload: Teams records with them count too.
_SHAREPOINT = ("sharepoint", "microsoftteams")
# RecordType 37; -Formatted exports print the enum name instead of the number.
_ANY_SHAREPOINT = is_("Workload", *_SHAREPOINT, fold=True)
_COMMENT = matches("RecordType", r"^\s*(37|sharepointcommentoperation)\s*$")


def _on(workloads: tuple[str, ...], *operations: str) -> tuple:
    """Conditions: a record of one of ``workloads`` whose Operation is one of ``operations``
    (both compared case-insensitively)."""
    return is_("Workload", *workloads, fold=True), is_("Operation", *operations, fold=True)


def _replies_to(parent: str) -> tuple[FieldRule, FieldRule]:
    """A Teams MessageSent naming a ``parent`` other than itself is a reply."""
    sent = _on(_TEAMS, "MessageSent")
    return (
        row("reply", *sent, filled(parent), blank("MessageId")),
        row("reply", *sent, differs(parent, "MessageId")),
    )


ACTIVITIES: tuple[FieldRule, ...] = (
    # A Yammer message starts a thread when it names none or names itself.
    row("thread_start", *_on(_YAMMER, "MessageCreated"), blank("ThreadId")),
    row("thread_start", *_on(_YAMMER, "MessageCreated"), same("ThreadId", "MessageId")),
    row("reply", *_on(_YAMMER, "MessageCreated")),
    row("message_read", *_on(_YAMMER, "MessageViewed")),
    row("upload", *_on(_YAMMER, "FileCreated")),
    row(
        "other", is_("Workload", *_SHAREPOINT, fold=True), _COMMENT, matches("Operation", "delete")
    ),
    row("comment", is_("Workload", *_SHAREPOINT, fold=True), _COMMENT),
    # Teams (docs/formats.md, "Teams in the audit log", has the sources): MessageSent is
    # Microsoft's "Posted a new message" ("A new message was posted to a chat or channel",
    # Teams activities table, MicrosoftDocs/OfficeDocs-SkypeForBusiness
    # Teams/audit-log-events.md); a message naming a parent other than itself is a reply,
    # any other a new post. ReactedToMessage (reaction records since August 2022) is not
    # in the copies of Microsoft's table found, only in field reports: see the doc.
    # MessageCreatedHasLink / MessageEditedHasLink describe the same messages again (a
    # link in them): counting them would count one message twice, so they stay other.
    *_replies_to("ParentMessageId"),
    *_replies_to(ENTRY_PARENT),
    row("post", *_on(_TEAMS, "MessageSent")),
    row("reaction", *_on(_TEAMS, "ReactedToMessage")),
    # A page in a pages library is a new page; other list items are not.
    row("page_create", *_on(_SHAREPOINT, "ListItemCreated"), matches("ObjectId", "/(site)?pages/")),
    row("other", *_on(_SHAREPOINT, "ListItemCreated")),
    row("page_view", *_on(_SHAREPOINT, "PageViewed", "PageViewedExtended", "ClientViewSignaled")),
    row("file_view", *_on(_SHAREPOINT, "FileAccessed", "FileAccessedExtended", "FilePreviewed")),
    row("upload", *_on(_SHAREPOINT, "FileUploaded")),
    row("edit", *_on(_SHAREPOINT, "FileModified", "ListItemUpdated")),
)

RULES = FieldRules(
    time=(CREATED, lambda values: _times(values)),
    actor=Actor(ids=("UserId",), prefix=""),
    # Event field <- the first of these AuditData fields that holds a value (SPEC section 6).
    fields={
        "key": ("Id",),
        "item": ("ObjectId", "MessageId"),
        "parent": ("ParentMessageId",),
        "thread": ("ThreadId",),
        "channel": ("SiteUrl", "GroupName", "ChannelName"),
    },
    rejects=(
        row("AuditData has no CreationTime", blank(CREATED)),
        row("AuditData has no Id", blank("Id")),
        # The text is not quoted in the reason: it may be anything, a name too (SPEC 5).
        row("CreationTime is not ISO 8601", is_(TIME, None)),
    ),
    # An actor the builder excludes keeps the builder's reason (system_account, guest, ...).
    exclusions=(
        row("user_type", blank(ACTOR_REASON), not_(USER_TYPE, None, *PEOPLE_TYPES)),
        # The person is what follows a SharePoint claims prefix (``identity.normalise_actor``).
        row("not_a_user", blank(ACTOR_REASON), lacks(ACTOR, "@[^|]*$")),
    ),
    activities=ACTIVITIES,
    parent_not_item=True,  # a Teams message naming itself as its parent names none
)


def rules_for(sites: tuple[str, ...] | list[str]) -> FieldRules:
    """``RULES``, with a SharePoint record outside the configured ``sites`` (prefixes of
    its ObjectId, compared case-insensitively) made other."""
    prefixes = [s.strip().lower().rstrip("/") for s in sites if s.strip()]
    if not prefixes:
        return RULES
    # "/sites/intranet" must not take in "/sites/intranet-archive".
    pattern = "^(?:" + "|".join(_escape(p) for p in prefixes) + ")(?:[/?#]|$)"
    outside = row("other", is_("Workload", "sharepoint", fold=True), lacks("ObjectId", pattern))
    return dataclasses.replace(RULES, activities=(outside, *RULES.activities))


def _escape(text: str) -> str:
    """``text`` as a literal in an RE2 pattern."""
    return "".join("\\" + c if c in ".^$*+?()[]{}|\\" else c for c in text)


# -- sniffing ----------------------------------------------------------------------------------
def sniff(path: Path, head: bytes) -> bool:
    text = decode_head(head).lstrip()
    if not text or "\x00" in text:
        return False
    first = text.split("\n", 1)[0].rstrip("\r")
    if first.startswith("{"):
        return _looks_like_audit_json(first)
    try:
        header = next(csv.reader([first]))
    except (csv.Error, StopIteration):
        return False
    return "AuditData" in (h.strip() for h in header)


def _looks_like_audit_json(line: str) -> bool:
    try:
        obj = _loads(line)
    except ValueError:
        # The head may cut a long first line: fall back to the key names.
        return (
            '"CreationTime"' in line
            and '"Operation"' in line
            and ('"Workload"' in line or '"RecordType"' in line)
        )
    if not isinstance(obj, dict):
        return False
    if isinstance(obj.get("AuditData"), dict):
        obj = obj["AuditData"]
    has_kind = "Workload" in obj or "RecordType" in obj
    return "CreationTime" in obj and "Operation" in obj and has_kind


# -- loading -----------------------------------------------------------------------------------
def load(path: Path, builder: EventBuilder) -> Iterator[pa.RecordBatch]:
    # The first line decides the layout; only the head is read (a forced huge file with
    # no line end costs 64 KiB here, not its size).
    first = decode_head(read_head(path)).split("\n", 1)[0]
    if not first.strip():
        raise InputError(f"{path} line 1: empty first line; expected an audit log header")
    rules = rules_for(builder.config.sites)
    workloads: Counter[str] = Counter()
    if first.lstrip().startswith("{"):
        with textfile.open_lines(path) as fh:
            for table, raw in _tables(_jsonl_lines(fh), "not a JSON object", nested=True):
                yield from _apply(rules, table, raw, builder, workloads)
    else:
        with open_text(path, newline="", builder=builder) as fh:
            texts = _csv_audit_data(path, fh, builder)
            for table, raw in _tables(texts, "AuditData is not JSON"):
                yield from _apply(rules, table, raw, builder, workloads)
    _explain_zero(builder, workloads, rules is not RULES)


def _apply(
    rules: FieldRules,
    table: pa.Table,
    raw: Callable[[int], str | None],
    builder: EventBuilder,
    workloads: Counter[str],
) -> Iterator[pa.RecordBatch]:
    apply_fields(rules, table, builder, raw=raw)
    # Records per Workload as written: an export with no intranet event says why.
    read = pc.and_(pc.is_null(table.column(PROBLEM)), Filled(CREATED).mask(table))
    read = pc.and_(read, Filled("Id").mask(table))
    for found in pc.value_counts(table.column("Workload").filter(read)).to_pylist():
        workloads[str(found["values"])] += found["counts"]
    if builder.full:
        yield builder.flush()


def _jsonl_lines(fh: IO) -> Iterator[tuple[int, bytes | str]]:
    """``(line number, text)`` of a JSON Lines file, in blocks of whole lines. A line
    longer than ``FIELD_LIMIT`` comes as ``LONG_LINE``, unread (memory stays bounded)."""
    if isinstance(fh, io.TextIOBase):  # UTF-16
        for n, text in bounded_lines(fh, FIELD_LIMIT):
            yield n, LONG_LINE if text is None else text
        return
    n = 1
    for block, _complete in line_blocks(fh, _JSON_BLOCK, FIELD_LIMIT):
        # BytesIO finds line ends with memchr: 4x faster than bytes.split(b"\n").
        lines = io.BytesIO(block).readlines()
        yield from enumerate(lines, start=n)
        n += len(lines)


# Blocks of this many bytes of whole lines are cut from a JSON Lines file.
_JSON_BLOCK = 1 << 21
# Records per table handed to ``apply_fields`` (its per-call work is paid this seldom).
_TABLE_ROWS = 32_768


def _csv_audit_data(path: Path, fh: IO[str], builder: EventBuilder) -> Iterator[tuple[int, str]]:
    """``(first line, AuditData text)`` of each record of a CSV export."""
    records = csv_records(fh, builder, FIELD_LIMIT)
    rejected = builder.counts.rejected
    first = next(records, None)
    if first is None or builder.counts.rejected != rejected:
        raise InputError(
            f"{path} line 1: no readable CSV header (longer than {FIELD_LIMIT:,} characters "
            "or malformed); export the audit log as CSV with its AuditData column"
        )
    header = [h.strip() for h in first[1]]
    if "AuditData" not in header:
        raise InputError(
            f"{path} line 1: no AuditData column; export the audit log with its AuditData "
            "column (Purview Export, or Search-UnifiedAuditLog | Export-Csv)"
        )
    col = header.index("AuditData")
    for line, values in records:
        if len(values) <= col:
            builder.reject(line, f"{len(values)} values, no AuditData", ",".join(values))
            continue
        yield line, values[col]


def _audit_data(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return _loads(value)
        except ValueError:
            return None
    return value


def _tables(
    texts: Iterator[tuple[int, bytes | str]], bad_json: str, nested: bool = False
) -> Iterator[tuple[pa.Table, Callable[[int], str | None]]]:
    """Tables of raw fields of ``(line, JSON text)`` records, ``_TABLE_ROWS`` at a time,
    each with what a reject of its i-th record shows. Blank lines are no record."""
    records = _Records()
    for line, text in texts:
        records.add(line, text, bad_json, nested)
        if records.size >= _TABLE_ROWS:
            yield records.table()
            records = _Records()
    if records.size:
        yield records.table()


# What the record loop takes from each AuditData object, in this order.
_TAKEN = (*FIELDS, CREATED, USER_TYPE, "Messages")
_NOTHING = (None,) * len(_TAKEN)
_NONE = type(None)


class _Records:
    """Records gathered as rows of their raw field values, a record at a time; ``table``
    turns them into columns. This is the loop every audit record goes through, so per
    record it only parses and takes the values (one ``map``): checking and converting
    them waits for ``table``, a column at a time."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []
        self.lines: list[int] = []
        self.problems: list[str | None] = []
        self.texts: list[bytes | str | None] = []

    @property
    def size(self) -> int:
        return len(self.lines)

    def add(self, line: int, text: bytes | str, bad_json: str, nested: bool) -> None:
        try:
            obj = _loads(text)
        except ValueError as exc:
            if text.strip():
                self._bad(line, _bad_text(text, bad_json, exc), text)
            return
        if nested and type(obj) is dict and "AuditData" in obj and "CreationTime" not in obj:
            obj = _audit_data(obj["AuditData"])  # a whole export row with AuditData inside
        if type(obj) is not dict:
            self._bad(line, "AuditData is not a JSON object", text)
            return
        self.rows.append(tuple(map(obj.get, _TAKEN)))
        self.lines.append(line)
        self.problems.append(None)
        self.texts.append(text)

    def _bad(self, line: int, problem: str | None, text: bytes | str | None) -> None:
        """A record the reader cannot take: all its fields null, the ``problem`` said."""
        self.rows.append(_NOTHING)
        self.lines.append(line)
        self.problems.append(problem)
        self.texts.append(None if text == LONG_LINE else text)

    def table(self) -> tuple[pa.Table, Callable[[int], str | None]]:
        *fields, created, kinds, messages = zip(*self.rows, strict=True)
        columns = {name: _text_column(v) for name, v in zip(FIELDS, fields, strict=True)}
        # CreationTime only as text: any other value is no time.
        texts_only = set(map(type, created)) <= {str, _NONE}
        columns[CREATED] = pa.array(
            created if texts_only else [t if type(t) is str else None for t in created],
            pa.string(),
        )
        columns[USER_TYPE] = _user_types(kinds)
        parents = [None if m is None else _entry_parent(m) for m in messages]
        columns[ENTRY_PARENT] = pa.array(parents, pa.string())
        columns[LINE] = pa.array(self.lines, pa.int64())
        columns[PROBLEM] = pa.array(self.problems, pa.string())
        texts = self.texts
        return pa.table(columns), lambda i: _shown(texts[i])


def _text_column(values: tuple) -> pa.Array:
    """JSON values as text: numbers (Yammer ids) become their digits, null stays null."""
    if set(map(type, values)) <= {str, _NONE}:
        return pa.array(values, pa.string())
    return pa.array([v if v is None or type(v) is str else str(v) for v in values], pa.string())


def _user_types(values: tuple) -> pa.Array:
    """UserType as Microsoft's enum number (null: none given; -1: no type it defines)."""
    if set(map(type, values)) <= {int, _NONE}:  # bool is no int here: type() is exact
        kinds = values
    else:
        kinds = [None if k is None or k == "" else _user_type(k) for k in values]
    # Kinds too big for an int64 are no kind Microsoft defines.
    return pa.array([k if k is None or -(1 << 62) < k < 1 << 62 else -1 for k in kinds], pa.int64())


def _shown(text: bytes | str | None) -> str | None:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else text


def _bad_text(text: bytes | str, bad_json: str, exc: ValueError) -> str:
    """Why a record's text is no JSON. Bytes that are not UTF-8 stop the file like any
    other text export (the ingest driver names the line); bad JSON is only this record."""
    if text == LONG_LINE:
        return f"line longer than {FIELD_LIMIT:,} bytes; skipped"
    if isinstance(text, bytes):
        text.decode("utf-8")
    return f"{bad_json} ({getattr(exc, 'msg', exc)})"


def _entry_parent(entries: Any) -> str | None:
    """The first ``Messages`` entry's parent that is not the entry itself, as text."""
    if type(entries) is not list:
        return None
    for entry in entries:
        if type(entry) is dict:
            parent = entry.get("ParentMessageId")
            if parent not in (None, "") and _text(parent) != _text(entry.get("Id")):
                return _text(parent)
    return None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _explain_zero(builder: EventBuilder, workloads: Counter[str], sites: bool) -> None:
    """A note on the builder when records were read but none counted as an event."""
    if builder.counts.events or not workloads:
        return
    found = ", ".join(
        f"{'(none)' if w in ('None', '') else w} ({n:,})" for w, n in workloads.most_common(6)
    )
    more = len(workloads) - 6
    found += f" and {more} more" if more > 0 else ""
    if not any(w.lower() in WORKLOADS for w in workloads):
        why = "only SharePoint, Yammer, MicrosoftTeams count"
    else:
        why = "their SharePoint, Yammer and Teams records are other operations, excluded actors" + (
            " or outside the configured sites" if sites else ""
        )
    builder.note(f"0 intranet events: workloads found {found}; {why}")


def _times(values: pa.Array) -> pa.Array:
    """Microseconds since the epoch of each CreationTime (null where unreadable).

    Arrow parses the usual naive ISO form a column at a time; a table holding anything
    else (an offset, 7-digit .NET fractions, a typo) is parsed a distinct text at a time.
    Where Arrow accepts a text, it gives the same instant as ``parse_time``.
    """
    try:
        return values.cast(pa.timestamp("us")).cast(pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        coded = pc.dictionary_encode(values)
        found = [parse_time(t) for t in coded.dictionary.to_pylist()]
        return pa.array(found, pa.int64()).take(coded.indices)


def _user_type(value: Any) -> int:
    if type(value) is int:  # bool is an int subclass and no user type: never take it
        return value
    if isinstance(value, bool):
        return -1
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    return USER_TYPES.get(text.lower(), -1)


def parse_time(text: str) -> int | None:
    """Microseconds since the epoch of an audit CreationTime (UTC when it has no offset)."""
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        # Python 3.10 reads neither 'Z' nor 7-digit fractions (.NET's default precision).
        s = text.strip()
        if s.endswith(("Z", "z")):
            s = s[:-1]
        head, dot, frac = s.partition(".")
        if dot:
            digits = "".join(c for c in frac[:7] if c.isdigit())
            s = f"{head}.{digits[:6].ljust(6, '0')}{frac[len(digits) :]}"
        try:
            t = datetime.fromisoformat(s)
        except ValueError:
            return None
    if t.tzinfo is None:
        return (t - _NAIVE_EPOCH) // _MICRO
    return (t - EPOCH) // _MICRO
