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
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import orjson
import pyarrow as pa

from ..errors import InputError
from ..identity import actor_exclusion, normalise_actor
from .base import EPOCH, EventBuilder, csv_records, decode_head, open_text

# orjson parses AuditData about 2.5x faster than the standard library (same errors: a
# ValueError subclass); the audit log is the largest export people have.
_loads = orjson.loads

NAME = "m365-audit"
DESCRIPTION = "Microsoft 365 / Purview unified audit log (CSV with AuditData, or JSON Lines)"
CAN: tuple[str, ...] = ("view", "react", "contribute")
CANNOT = (
    "Only what the tenant audited: page views need auditing of SharePoint views, Teams "
    "message operations are not mapped, and OneDrive or Exchange activity is not intranet use."
)
CONTAINER = False

# Pretty-printed AuditData of a big admin cmdlet can be long; 100 MB in one field is not.
FIELD_LIMIT = 16 << 20
csv.field_size_limit(max(csv.field_size_limit(), min(sys.maxsize, FIELD_LIMIT)))

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
OPERATIONS: dict[str, str] = {
    "pageviewed": "page_view",
    "pageviewedextended": "page_view",
    "clientviewsignaled": "page_view",
    "fileaccessed": "file_view",
    "fileaccessedextended": "file_view",
    "filepreviewed": "file_view",
    "fileuploaded": "upload",
    "filemodified": "edit",
    "listitemupdated": "edit",
    "pageprefetched": "other",
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
    with open_text(path, newline="") as fh:
        first = fh.readline()
        fh.seek(0)
        # TextIOWrapper.seek(0) re-reads the BOM; utf-8-sig strips it again.
        if not first.strip():
            raise InputError(f"{path} line 1: empty first line; expected an audit log header")
        classify = _Classifier(builder)
        if first.lstrip().startswith("{"):
            yield from _load_jsonl(fh, builder, classify)
        else:
            yield from _load_csv(path, fh, builder, classify)


def _load_jsonl(
    fh: IO[str], builder: EventBuilder, classify: _Classifier
) -> Iterator[pa.RecordBatch]:
    loads = _loads
    for line, text in enumerate(fh, start=1):
        if not text.strip():
            continue
        try:
            obj = loads(text)
        except ValueError as exc:
            builder.reject(line, f"not a JSON object ({getattr(exc, 'msg', exc)})", text)
            continue
        # A line may also be a whole export row with AuditData nested inside it.
        if isinstance(obj, dict) and "AuditData" in obj and "CreationTime" not in obj:
            obj = _audit_data(obj["AuditData"])
        classify(obj, line, text)
        if builder.full:
            yield builder.flush()


def _load_csv(
    path: Path, fh: IO[str], builder: EventBuilder, classify: _Classifier
) -> Iterator[pa.RecordBatch]:
    reader = csv.reader(fh)
    header = [h.strip() for h in next(reader)]
    if "AuditData" not in header:
        raise InputError(
            f"{path} line 1: no AuditData column; export the audit log with its AuditData "
            "column (Purview Export, or Search-UnifiedAuditLog | Export-Csv)"
        )
    col = header.index("AuditData")
    for line, row in csv_records(reader, builder):
        if len(row) <= col:
            builder.reject(line, f"{len(row)} values, no AuditData", ",".join(row))
            continue
        raw = row[col]
        try:
            obj = _loads(raw)
        except ValueError as exc:
            builder.reject(line, f"AuditData is not JSON ({getattr(exc, 'msg', exc)})", raw)
            continue
        classify(obj, line, raw)
        if builder.full:
            yield builder.flush()


def _audit_data(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return _loads(value)
        except ValueError:
            return None
    return value


# -- classification ----------------------------------------------------------------------------
class _Classifier:
    """Turns one AuditData object into one builder record (or a reject)."""

    def __init__(self, builder: EventBuilder) -> None:
        self.builder = builder
        self.service = frozenset(builder.config.service_accounts)
        # Prefixes compared case-insensitively; a trailing slash is the boundary itself.
        self.sites = tuple(s.strip().lower().rstrip("/") for s in builder.config.sites if s.strip())

    def __call__(self, obj: Any, line: int, raw: str) -> None:
        b = self.builder
        if not isinstance(obj, dict):
            b.reject(line, "AuditData is not a JSON object", raw)
            return
        created, key = obj.get("CreationTime"), obj.get("Id")
        if not created or not isinstance(created, str):
            b.reject(line, "AuditData has no CreationTime", raw)
            return
        if key is None or key == "":
            b.reject(line, "AuditData has no Id", raw)
            return
        us = parse_time(created)
        if us is None:
            b.reject(line, f"CreationTime is not ISO 8601: {created[:40]!r}", raw)
            return
        actor = obj.get("UserId")
        actor = actor if isinstance(actor, str) else ("" if actor is None else str(actor))
        excluded = self._exclusion(actor, obj.get("UserType"))
        item = obj.get("ObjectId") or obj.get("MessageId")
        thread = obj.get("ThreadId")
        parent = obj.get("ParentMessageId")
        channel = obj.get("SiteUrl") or obj.get("GroupName") or obj.get("ChannelName")
        b.add(
            time=us,
            actor=actor,
            activity=self.activity(obj),
            line=line,
            key=str(key),
            item=None if item is None else str(item),
            parent=None if parent is None or parent == "" else str(parent),
            thread=None if thread is None or thread == "" else str(thread),
            channel=None if channel is None else str(channel),
            excluded=excluded,
        )

    def _exclusion(self, actor: str, user_type: Any) -> str | None:
        people = user_type is None or user_type == "" or _user_type(user_type) in PEOPLE_TYPES
        norm = normalise_actor(actor)
        if people and "@" in norm:
            return None  # the common case; the builder still applies guest/service rules
        if actor_exclusion(norm, self.service):
            return None  # the builder names the generic reason (system_account, guest, ...)
        return "not_a_user" if people else "user_type"

    def activity(self, obj: dict) -> str:
        """The SPEC activity of one AuditData object."""
        workload = str(obj.get("Workload") or "").lower()
        if workload not in WORKLOADS:
            return "other"
        op = str(obj.get("Operation") or "")
        opl = op.lower()
        if workload == "yammer":
            if opl == "messagecreated":
                thread = obj.get("ThreadId")
                if thread is None or thread == "" or str(thread) == str(obj.get("MessageId")):
                    return "thread_start"
                return "reply"
            if opl == "messageviewed":
                return "message_read"
            if opl == "filecreated":
                return "upload"
            return "other"
        object_id = str(obj.get("ObjectId") or "")
        if workload == "sharepoint" and self.sites and not self._in_sites(object_id):
            return "other"
        if str(obj.get("RecordType", "")).strip().lower() in COMMENT_RECORD_TYPES:
            return "other" if "delete" in opl else "comment"
        if opl == "listitemcreated":
            oid = object_id.lower()
            return "page_create" if "/sitepages/" in oid or "/pages/" in oid else "other"
        return OPERATIONS.get(opl, "other")

    def _in_sites(self, object_id: str) -> bool:
        oid = object_id.lower()
        for site in self.sites:
            # "/sites/intranet" must not take in "/sites/intranet-archive".
            if oid.startswith(site) and (len(oid) == len(site) or oid[len(site)] in "/?#"):
                return True
        return False


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
