"""engage-export: a Viva Engage (Yammer) network data export (zip or folder).

``Messages.csv`` holds one row per message (``id, replied_to_id, thread_id, group_id,
group_name, sender_id, sender_type, sender_email, body, created_at, deleted_at, ...``);
``Users.csv`` (``id, name, email, ...``) maps sender ids to emails. A zip may hold one
network per subfolder; every ``Messages.csv`` is read with the ``Users.csv`` beside it.
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

import pyarrow as pa

from ..errors import InputError
from .base import EventBuilder, decode_head
from .container import Container, container_names, member_head
from .textfile import BadRecord, csv_rows, first_bad_line

NAME = "engage-export"
DESCRIPTION = "Viva Engage (Yammer) network data export (zip or folder): posts and replies"
CAN: tuple[str, ...] = ("contribute", "react")
CANNOT = (
    "Engage exports hold messages only, no reads and no likes: use the Viva Engage usage "
    "report or the audit log for readers."
)
CONTAINER = True
PRIORITY = 20  # detection order (loaders/__init__.py)

MESSAGES = "messages.csv"
USERS = "users.csv"
REQUIRED = ("id", "sender_id", "created_at", "replied_to_id")
# Message bodies are long but never this long: a bigger record means broken quoting
# (this reader's own limit, never the csv module's process-wide one).
FIELD_LIMIT = 1 << 20
# Yammer's own API format, seen in older exports: 2014/05/29 19:51:50 +0000.
_SLASHED = "%Y/%m/%d %H:%M:%S %z"


def _base(name: str) -> str:
    return PurePosixPath(name).name.lower()


def _messages(names: list[str]) -> list[str]:
    return sorted((n for n in names if _base(n) == MESSAGES), key=lambda n: (n.count("/"), n))


def sniff(path: Path, head: bytes) -> bool:
    # A folder is an export when Messages.csv is at its root (the folder walk finds the
    # export in a subfolder); a zip may keep one folder per network.
    found = _messages(container_names(path, max_depth=0) or [])
    if not found:
        return False
    try:
        first = decode_head(member_head(path, found[0])).splitlines()
    except (OSError, ValueError, zipfile.BadZipFile):
        return False
    if not first:
        return False
    header = {h.strip().lower() for h in next(csv.reader([first[0]]), [])}
    return {"id", "sender_id", "created_at"} <= header


def parse_time(text: str) -> datetime | None:
    """``created_at`` as an aware UTC datetime: ISO 8601 or ``YYYY/MM/DD HH:MM:SS +0000``."""
    s = text.strip()
    if not s:
        return None
    if s.endswith(" UTC"):
        s = s[:-4]
    try:
        t = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        try:
            t = datetime.strptime(s, _SLASHED)
        except ValueError:
            return None
    # The export writes UTC; a missing offset still means UTC.
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


def _sibling(names: list[str], member: str, base: str) -> str | None:
    folder = str(PurePosixPath(member).parent)
    for n in names:
        if str(PurePosixPath(n).parent) == folder and _base(n) == base:
            return n
    return None


def _read_users(box: Container, name: str | None) -> dict[str, str]:
    """Sender id -> email. Ids stay strings: they exceed 2**53 and floats would merge them."""
    emails: dict[str, str] = {}
    if name is None:
        return emails
    with box.open_text(name) as fh:
        records = csv_rows(fh, ",", FIELD_LIMIT)
        first = next(records, None)
        header = [] if first is None or isinstance(first[1], BadRecord) else first[1]
        header = [h.strip().lower() for h in header]
        if "id" not in header or "email" not in header:
            return emails
        i, e = header.index("id"), header.index("email")
        for line, row in records:
            if isinstance(row, BadRecord):
                raise InputError(
                    f"{box.path}!{name} line {line}: unreadable CSV ({row.reason}); "
                    "re-export the network data"
                )
            if len(row) > max(i, e) and row[i].strip() and row[e].strip():
                emails[row[i].strip()] = row[e].strip()
    return emails


def load(path: Path, builder: EventBuilder) -> Iterator[pa.RecordBatch]:
    with Container(path) as box:
        names = box.names()
        found = _messages(names)
        if not found:
            raise InputError(
                f"{path}: no Messages.csv inside; give the zip or folder of a Viva Engage "
                "network data export"
            )
        users = {m: _sibling(names, m, USERS) for m in found}
        box.check(found + [u for u in users.values() if u])
        for member in found:
            reading = users[member]
            try:
                emails = _read_users(box, reading)
                reading = member
                yield from _load_messages(box, member, emails, builder)
            except UnicodeDecodeError as exc:
                line = _bad_utf8_line(box, reading) if reading else None
                where = f"{path}!{reading}" + (f" line {line}" if line else "")
                raise InputError(
                    f"{where}: not UTF-8 text ({exc.reason}); re-export the network data"
                ) from None


def _bad_utf8_line(box: Container, member: str) -> int | None:
    """The line of a member's first byte that is not UTF-8 (streamed, BOM allowed)."""
    with box.open(member) as fh:
        found = first_bad_line(fh, codecs.getincrementaldecoder("utf-8-sig")())
    return None if found is None else found[0]


def _load_messages(
    box: Container, member: str, emails: dict[str, str], builder: EventBuilder
) -> Iterator[pa.RecordBatch]:
    with box.open_text(member) as fh:
        records = csv_rows(fh, ",", FIELD_LIMIT)
        first = next(records, None)
        if first is not None and isinstance(first[1], BadRecord):
            raise InputError(
                f"{box.path}!{member} line 1: the header cannot be read ({first[1].reason}); "
                "re-export the network data"
            )
        header = [] if first is None else [h.strip().lower() for h in first[1]]
        if not header:
            return
        _require(f"{box.path}!{member}", header)
        col = {h: i for i, h in enumerate(header)}
        width = len(header)
        record = 0
        for _line, row in records:
            if isinstance(row, BadRecord):
                record += 1
                builder.reject(record, row.reason, member=member)
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            record += 1
            if len(row) != width:
                builder.reject(
                    record, f"{len(row)} values for {width} columns", ",".join(row), member=member
                )
                continue
            _add(builder, member, record, {h: row[i].strip() for h, i in col.items()}, emails)
            if builder.full:
                yield builder.flush()


def _require(label: str, header: list[str]) -> None:
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(
            f"{label} line 1: missing required column(s) {', '.join(missing)}; "
            "is this a Viva Engage network data export?"
        )


def _add(
    builder: EventBuilder, member: str, record: int, row: dict[str, str], emails: dict[str, str]
) -> None:
    mid, sender = row["id"], row["sender_id"]
    if not mid:
        builder.reject(record, "empty message id", _raw(row), member=member)
        return
    t = parse_time(row["created_at"])
    if t is None:
        builder.reject(
            record,
            "created_at is not ISO 8601 or YYYY/MM/DD HH:MM:SS +0000",
            _raw(row),
            member=member,
        )
        return
    actor = row.get("sender_email") or emails.get(sender) or (f"engage:{sender}" if sender else "")
    sender_type = row.get("sender_type", "").lower()
    excluded = None
    if sender_type and sender_type != "user":
        excluded = "bot" if sender_type == "bot" else "not_a_user"
    parent = row["replied_to_id"] or None
    builder.add(
        time=t,
        actor=actor,
        activity="reply" if parent else "thread_start",
        line=record,
        key=mid,
        item=mid,
        parent=parent,
        thread=row.get("thread_id") or None,
        channel=_channel(builder, row),
        excluded=excluded,
        member=member,
    )


def _channel(builder: EventBuilder, row: dict[str, str]) -> str | None:
    """The group's name; under a key a private group's id instead (its name may be a
    person's: 'Jane and Bram 1:1'), and nothing for a private conversation."""
    private = row.get("in_private_group", "").lower() == "true"
    if private and builder.pseudo.enabled:
        return row.get("group_id") or None
    return row.get("group_name") or row.get("group_id") or None


def _raw(row: dict[str, str]) -> str:
    # The body is the bulk of a row and says nothing about why it was rejected.
    return ",".join(v for k, v in row.items() if k != "body")
