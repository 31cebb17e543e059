"""m365-audit: the Microsoft 365 / Purview unified audit log (CSV exports or JSON Lines).

Three CSV layouts are seen in the wild (portal, PowerShell ``Export-Csv``, new Purview);
all carry an ``AuditData`` column holding the record as JSON, and that JSON is the only
thing read: the other columns (``CreationDate`` in particular) are culture-formatted
duplicates. JSON Lines files hold one AuditData object per line (Management Activity API).

Classification follows SPEC section 6. Exclusions are checked before the activity, so a
system account's Exchange cmdlet is excluded (with its reason), never counted as other:
the builder's generic actor exclusions first (``system_account``, ``guest``, ...), then
``user_type`` (UserType other than 0 Regular / 2 Admin), then ``not_a_user`` (no ``@``).
A record without a UserType is not excluded on that ground: the type is unknown, not wrong.

One path reads every record: orjson parses each line (or CSV AuditData) in the record
loop (``_Classifier.run``), and the builder gets the records a block at a time, as
columns. An Arrow JSON reader path was measured against it (benchmarks/bench_audit.py):
0.97x the loop's CPU, no gain, so it is gone.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from itertools import compress, islice
from pathlib import Path
from typing import IO, Any

import orjson
import pyarrow as pa

from ..errors import InputError
from ..identity import actor_exclusion, normalise_actor
from . import textfile
from .base import (
    EPOCH,
    LONG_LINE,
    EventBuilder,
    Memo,
    bounded_lines,
    csv_records,
    decode_head,
    line_blocks,
    open_text,
    read_head,
)
from .rules import AuditRule, audit_rule

# orjson parses AuditData about 2.5x faster than the standard library (same errors: a
# ValueError subclass) in the record loop.
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
PEOPLE_TYPES = frozenset({0, 2})
_MICRO = timedelta(microseconds=1)
# CreationTime has no offset and is UTC: subtracting a naive epoch skips a replace() per row.
_NAIVE_EPOCH = datetime(1970, 1, 1)
# RecordType 37; -Formatted exports print the enum name instead of the number.
COMMENT_RECORD_TYPES = frozenset({"37", "sharepointcommentoperation"})
_YAMMER = frozenset({"yammer"})
_TEAMS = frozenset({"microsoftteams"})
# SPEC names the SharePoint operations without a workload: Teams records with them count too.
_SHAREPOINT = frozenset({"sharepoint", "microsoftteams"})
# SPEC section 6, as data: the first row matching (Workload, Operation, RecordType) decides;
# no row: ``other``. A ``when`` row looks at the record's own fields (``CONDITIONS``).
RULES: tuple[AuditRule, ...] = (
    AuditRule(
        _YAMMER,
        "thread_start",
        frozenset({"messagecreated"}),
        when="thread_start",
        otherwise="reply",
    ),
    AuditRule(_YAMMER, "message_read", frozenset({"messageviewed"})),
    AuditRule(_YAMMER, "upload", frozenset({"filecreated"})),
    AuditRule(_SHAREPOINT, "comment", record_types=COMMENT_RECORD_TYPES, unless_word="delete"),
    # Teams (docs/formats.md, "Teams in the audit log", has the sources): MessageSent is
    # Microsoft's "Posted a new message" ("A new message was posted to a chat or channel",
    # Teams activities table, MicrosoftDocs/OfficeDocs-SkypeForBusiness
    # Teams/audit-log-events.md); a message naming a parent other than itself is a reply,
    # any other a new post. ReactedToMessage (reaction records since August 2022) is not
    # in the copies of Microsoft's table found, only in field reports: see the doc.
    # MessageCreatedHasLink / MessageEditedHasLink describe the same messages again (a
    # link in them): counting them would count one message twice, so they stay other.
    AuditRule(_TEAMS, "reply", frozenset({"messagesent"}), when="has_parent", otherwise="post"),
    AuditRule(_TEAMS, "reaction", frozenset({"reactedtomessage"})),
    AuditRule(_SHAREPOINT, "page_create", frozenset({"listitemcreated"}), when="pages_library"),
    AuditRule(
        _SHAREPOINT,
        "page_view",
        frozenset({"pageviewed", "pageviewedextended", "clientviewsignaled"}),
    ),
    AuditRule(
        _SHAREPOINT,
        "file_view",
        frozenset({"fileaccessed", "fileaccessedextended", "filepreviewed"}),
    ),
    AuditRule(_SHAREPOINT, "upload", frozenset({"fileuploaded"})),
    AuditRule(_SHAREPOINT, "edit", frozenset({"filemodified", "listitemupdated"})),
    AuditRule(_SHAREPOINT, "other", frozenset({"pageprefetched"})),
)


# Event field <- the first of these AuditData fields that holds a value (SPEC section 6).
FIELD_MAP: dict[str, tuple[str, ...]] = {
    "item": ("ObjectId", "MessageId"),
    "parent": ("ParentMessageId",),
    "thread": ("ThreadId",),
    "channel": ("SiteUrl", "GroupName", "ChannelName"),
}


def _first(get: Callable[[str], Any], names: tuple[str, ...]) -> Any:
    """``get(a) or get(b) or ...``: the first value that is set, else the last one."""
    value = None
    for name in names:
        value = get(name)
        if value:
            return value
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _is_thread_start(obj: dict) -> bool:
    thread = obj.get("ThreadId")
    return thread is None or thread == "" or str(thread) == str(obj.get("MessageId"))


def _has_parent(obj: dict) -> bool:
    """A Teams message names a parent message other than itself. Microsoft's Teams schema
    (Office 365 Management Activity API) puts ``ParentMessageId`` in the ``Messages``
    entries; SPEC and our samples have it at the top level: both are read. Microsoft's
    other Teams message data (Defender ``MessageEvents``) sets it to the message's own id
    for a message that is no reply, so a parent equal to the message itself is none."""
    own = _text(obj.get("MessageId"))
    entries = obj.get("Messages")
    found = [(obj.get("ParentMessageId"), own)]
    if isinstance(entries, list):
        found += [
            (m.get("ParentMessageId"), _text(m.get("Id"))) for m in entries if type(m) is dict
        ]
    return any(p not in (None, "") and _text(p) not in (own, mid) for p, mid in found)


def _in_pages_library(obj: dict) -> bool:
    # A page in a pages library is a new page; other list items are not.
    object_id = _text(obj.get("ObjectId") or "").lower()
    return "/sitepages/" in object_id or "/pages/" in object_id


def _is_dict(value: Any) -> bool:
    return type(value) is dict


# The conditions a rule row may name, on the record's own fields.
CONDITIONS: dict[str, Callable[[dict], bool]] = {
    "thread_start": _is_thread_start,
    "has_parent": _has_parent,
    "pages_library": _in_pages_library,
}


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
    classify = _Classifier(builder)
    if first.lstrip().startswith("{"):
        yield from _load_jsonl(path, classify)
    else:
        with open_text(path, newline="", builder=builder) as fh:
            yield from classify.run(_csv_audit_data(path, fh, builder), "AuditData is not JSON")
    classify.explain_zero()


def _load_jsonl(path: Path, classify: _Classifier) -> Iterator[pa.RecordBatch]:
    """A JSON Lines file, in blocks of whole lines, through the record loop. A line longer
    than ``FIELD_LIMIT`` is rejected unread (memory stays bounded)."""
    with textfile.open_lines(path) as fh:
        if isinstance(fh, io.TextIOBase):  # UTF-16
            lines = ((n, LONG_LINE if t is None else t) for n, t in bounded_lines(fh, FIELD_LIMIT))
            yield from classify.run(lines, "not a JSON object", nested=True)
            return
        n = 1
        for block, _complete in line_blocks(fh, _JSON_BLOCK, FIELD_LIMIT):
            # BytesIO finds line ends with memchr: 4x faster than bytes.split(b"\n").
            lines = io.BytesIO(block).readlines()
            yield from classify.run(enumerate(lines, start=n), "not a JSON object", nested=True)
            n += len(lines)


# Blocks of this many bytes of whole lines are cut from a JSON Lines file.
_JSON_BLOCK = 1 << 21


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
    for line, row in records:
        if len(row) <= col:
            builder.reject(line, f"{len(row)} values, no AuditData", ",".join(row))
            continue
        yield line, row[col]


def _audit_data(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return _loads(value)
        except ValueError:
            return None
    return value


# -- classification ----------------------------------------------------------------------------
# The activity of most records follows from (Workload, Operation, RecordType) alone, so it
# is worked out once per distinct triple; this marks the triples whose records' own fields
# (ObjectId, ThreadId) decide.
_BY_RECORD = "by record"
_CACHE_LIMIT = 100_000
_BLOCK = 4096


def _reject_unreadable_times(
    builder: EventBuilder, lines: list[int], created: list[str], times: list[int | None]
) -> list[bool]:
    """Reject the records whose CreationTime did not parse (``times`` None); returns
    which records to keep."""
    keep = [t is not None for t in times]
    # The text is not quoted in the reason: it may be anything, a name too (SPEC 5).
    for line, ok in zip(lines, keep, strict=True):
        if not ok:
            builder.reject(line, "CreationTime is not ISO 8601")
    return keep


class _Block:
    """The columns of up to ``_BLOCK`` classified records, before conversion."""

    NAMES = (
        "lines",
        "created",
        "actors",
        "activities",
        "keys",
        "items",
        "parents",
        "threads",
        "channels",
        "excluded",
    )

    def __init__(self) -> None:
        self.columns: list[list[Any]] = [[] for _ in self.NAMES]
        self.appends = tuple(c.append for c in self.columns)
        for name, column in zip(self.NAMES, self.columns, strict=True):
            setattr(self, name, column)

    def drop_unreadable_times(self, times: list[int | None], builder: EventBuilder) -> None:
        """Reject the records whose CreationTime did not parse; keep the others."""
        keep = _reject_unreadable_times(builder, self.lines, self.created, times)
        times[:] = compress(times, keep)
        for column in self.columns:
            column[:] = compress(column, keep)


class _Classifier:
    """Turns AuditData objects into columns of builder records (or rejects).

    Records are gathered a block at a time and handed to ``builder.add_many`` by ``drain``:
    the per-record work is reading a dozen fields and two cache lookups; conversions and
    the CreationTime parse happen a column at a time.
    """

    def __init__(self, builder: EventBuilder) -> None:
        self.builder = builder
        self.service = frozenset(builder.config.service_accounts)
        # Prefixes compared case-insensitively; a trailing slash is the boundary itself.
        self.sites = tuple(s.strip().lower().rstrip("/") for s in builder.config.sites if s.strip())
        self._rules = Memo(lambda triple: self._rule(*triple), limit=_CACHE_LIMIT)
        self._people = Memo(lambda who: self._person(*who), limit=_CACHE_LIMIT)
        # Records per Workload as written: an export with no intranet event says why.
        self.workloads: Counter[str] = Counter()

    def explain_zero(self) -> None:
        """A note on the builder when records were read but none counted as an event."""
        counts = self.builder.counts
        if counts.events or not self.workloads:
            return
        found = ", ".join(
            f"{'(none)' if w in ('None', '') else w} ({n:,})"
            for w, n in self.workloads.most_common(6)
        )
        more = len(self.workloads) - 6
        found += f" and {more} more" if more > 0 else ""
        if not any(w.lower() in WORKLOADS for w in self.workloads):
            why = "only SharePoint, Yammer, MicrosoftTeams count"
        else:
            why = (
                "their SharePoint, Yammer and Teams records are other operations, excluded "
                "actors" + (" or outside the configured sites" if self.sites else "")
            )
        self.builder.note(f"0 intranet events: workloads found {found}; {why}")

    def run(
        self, records: Iterator[tuple[int, bytes | str]], bad_json: str, nested: bool = False
    ) -> Iterator[pa.RecordBatch]:
        """Parse and classify ``(line, JSON text)`` records; yields full builder batches.

        This is the loop every audit record goes through, so it is written for speed:
        the fields are read while the freshly parsed object is in the CPU cache, the
        appends are bound once per block, and everything else waits for ``_drain``.
        """
        parse, classify = self._parse, self._classify
        more = True
        while more:
            more = False
            block = _Block()
            (a_line, a_created, a_actor, a_activity, a_key) = block.appends[:5]
            mapped = list(zip(block.appends[5:9], FIELD_MAP.values(), strict=True))
            a_excluded = block.appends[9]
            for line, text in islice(records, _BLOCK):
                more = True
                obj = parse(line, text, bad_json, nested)
                if obj is None:
                    continue
                get = obj.get
                activity, actor, excluded = classify(obj)
                a_line(line)
                a_created(get("CreationTime"))
                a_actor(actor)
                a_activity(activity)
                a_key(get("Id"))
                for append, names in mapped:
                    append(_first(get, names))
                a_excluded(excluded)
            self._drain(block)
            if self.builder.full:
                yield self.builder.flush()

    def _parse(self, line: int, text: bytes | str, bad_json: str, nested: bool) -> dict | None:
        """The AuditData object of a record with a CreationTime and an Id, or None after
        rejecting it (or skipping a blank line)."""
        try:
            obj = _loads(text)
        except ValueError as exc:
            if not text.strip():
                return None
            if text == LONG_LINE:
                self.builder.reject(line, f"line longer than {FIELD_LIMIT:,} bytes; skipped")
                return None
            # Bytes that are not UTF-8 stop the file like any other text export (the
            # ingest driver names the line); bad JSON is only this record.
            if isinstance(text, bytes):
                text = text.decode("utf-8")
            self.builder.reject(line, f"{bad_json} ({getattr(exc, 'msg', exc)})", text)
            return None
        if (
            nested
            and type(obj) is dict
            and "AuditData" in obj
            and "CreationTime" not in obj
            and obj.get("CreationTime") is None
        ):
            obj = _audit_data(obj["AuditData"])  # a whole export row with AuditData inside
        if type(obj) is not dict:
            self._reject(line, "AuditData is not a JSON object", text)
            return None
        created, key = obj.get("CreationTime"), obj.get("Id")
        if not created or type(created) is not str:
            self._reject(line, "AuditData has no CreationTime", text)
            return None
        if key is None or key == "":
            self._reject(line, "AuditData has no Id", text)
            return None
        return obj

    def _classify(self, obj: dict) -> tuple[str, str, str | None]:
        """``(activity, actor, exclusion)`` of a record, by the rule and person caches."""
        get = obj.get
        triple = (get("Workload"), get("Operation"), get("RecordType"))
        self.workloads[triple[0] if type(triple[0]) is str else str(triple[0])] += 1
        try:
            activity = self._rules[triple]
        except TypeError:  # a list or object where a name belongs: not cacheable
            activity = self._rule(*triple)
        if activity is _BY_RECORD:
            activity = self._by_record(obj, *triple)
        who = (get("UserId"), get("UserType"))
        try:
            actor, excluded = self._people[who]
        except TypeError:
            actor, excluded = self._person(*who)
        return activity, actor, excluded

    def _reject(self, line: int, reason: str, raw: str | bytes) -> None:
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        self.builder.reject(line, reason, raw)

    def _drain(self, block: _Block) -> None:
        """Hand a block of classified records to the builder, a column at a time."""
        if not block.lines:
            return
        times = _times(block.created)
        if None in times:
            block.drop_unreadable_times(times, self.builder)
        items, parents = _texts(block.items), _texts(block.parents, empty_is_null=True)
        self.builder.add_many(
            time=times,
            actor=block.actors,
            activity=block.activities,
            line=block.lines,
            key=[k if type(k) is str else str(k) for k in block.keys],
            item=items,
            # A Teams message naming itself as its parent names none (``_has_parent``).
            parent=[None if p == i else p for p, i in zip(parents, items, strict=True)],
            thread=_texts(block.threads, empty_is_null=True),
            channel=_texts(block.channels),
            excluded=block.excluded,
        )

    def _person(self, user_id: Any, user_type: Any) -> tuple[str, str | None]:
        actor = user_id if isinstance(user_id, str) else ("" if user_id is None else str(user_id))
        return actor, self._exclusion(actor, user_type)

    def _exclusion(self, actor: str, user_type: Any) -> str | None:
        people = user_type is None or user_type == "" or _user_type(user_type) in PEOPLE_TYPES
        norm = normalise_actor(actor)
        if people and "@" in norm:
            return None  # the common case; the builder still applies guest/service rules
        if actor_exclusion(norm, self.service):
            return None  # the builder names the generic reason (system_account, guest, ...)
        return "not_a_user" if people else "user_type"

    def _rule(self, workload: Any, operation: Any, record_type: Any, sites: bool = True) -> str:
        """The activity of every record with these three fields, or ``_BY_RECORD``."""
        wl = str(workload or "").lower()
        if wl not in WORKLOADS:
            return "other"
        if sites and wl == "sharepoint" and self.sites:
            return _BY_RECORD  # ObjectId must lie under a configured site
        op = str(operation or "").lower()
        rule = audit_rule(RULES, wl, op, _text(record_type).strip().lower())
        if rule is None:
            return "other"
        if rule.unless_word is not None and rule.unless_word in op:
            return rule.otherwise
        return _BY_RECORD if rule.when is not None else rule.activity

    def _by_record(self, obj: dict, workload: Any, operation: Any, record_type: Any) -> str:
        wl = str(workload or "").lower()
        object_id = _text(obj.get("ObjectId") or "").lower()
        if self.sites and wl == "sharepoint" and not self._in_sites(object_id):
            return "other"
        activity = self._rule(workload, operation, record_type, sites=False)
        if activity is not _BY_RECORD:
            return activity
        op = str(operation or "").lower()
        rule = audit_rule(RULES, wl, op, _text(record_type).strip().lower())
        assert rule is not None and rule.when is not None  # _rule said _BY_RECORD
        return rule.activity if CONDITIONS[rule.when](obj) else rule.otherwise

    def _in_sites(self, object_id: str) -> bool:
        for site in self.sites:
            # "/sites/intranet" must not take in "/sites/intranet-archive".
            if object_id.startswith(site) and (
                len(object_id) == len(site) or object_id[len(site)] in "/?#"
            ):
                return True
        return False


def _texts(values: list[Any], empty_is_null: bool = False) -> list[str | None]:
    """JSON values as stored text: numbers (Yammer ids) become strings, null stays null."""
    if empty_is_null:
        return [None if v is None or v == "" else v if type(v) is str else str(v) for v in values]
    return [v if v is None or type(v) is str else str(v) for v in values]


def _times(created: list[str]) -> list[int | None]:
    """Microseconds since the epoch of each CreationTime (None where unreadable).

    Arrow parses the usual naive ISO form a column at a time; a block holding anything
    else (an offset, 7-digit .NET fractions, a typo) is parsed record by record. Where
    Arrow accepts a text, it gives the same instant as ``parse_time``.
    """
    try:
        arr = pa.array(created, type=pa.string()).cast(pa.timestamp("us"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return [parse_time(t) for t in created]
    return arr.cast(pa.int64()).to_pylist()


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
