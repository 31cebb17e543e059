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
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from functools import partial
from pathlib import Path, PurePosixPath

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError
from .base import EventBuilder, decode_head, to_micros
from .container import Container, container_names, member_head
from .rules import (
    LINE,
    PROBLEM,
    TIME,
    Actor,
    FieldRules,
    apply_fields,
    blank,
    filled,
    is_,
    not_,
    row,
)
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


# Classification as data (SPEC section 6, engage-export), applied by ``rules.apply_fields``:
# a message naming the message it replies to is a reply, any other starts a thread; a
# ``sender_type`` other than user is no person.
RULES = FieldRules(
    time=("created_at", lambda values: _times(values)),
    actor=Actor(ids=("sender_id",), prefix="engage:", emails=("sender_email",)),
    fields={
        "key": ("id",),
        "item": ("id",),
        "parent": ("replied_to_id",),
        "thread": ("thread_id",),
        "channel": ("group_name", "group_id"),
    },
    rejects=(
        row("empty message id", blank("id")),
        row("created_at is not ISO 8601 or YYYY/MM/DD HH:MM:SS +0000", is_(TIME, None)),
    ),
    exclusions=(
        row("bot", is_("sender_type", "bot", fold=True)),
        row("not_a_user", filled("sender_type"), not_("sender_type", "user", fold=True)),
    ),
    activities=(row("reply", filled("replied_to_id")),),
    default="thread_start",
)
# The message text is never read: it says nothing about who did what, and it is the bulk.
_UNREAD = frozenset({"body"})
# Records per table handed to ``apply_fields``: the builder's batch (its per-call work, e.g.
# looking up the actors met so far, is then paid as often as the record path paid it).
_BLOCK = 65_536


# The usual form of created_at, which Arrow reads exactly as ``parse_time`` does.
_ISO = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)


def _times(values: pa.Array) -> pa.Array:
    """``parse_time`` of a column (null: unreadable): a block all in the usual ISO form is
    parsed by Arrow, any other a distinct text at a time."""
    values = values.cast(pa.string())
    if not values.null_count and pc.all(pc.match_substring_regex(values, _ISO)).as_py():
        try:
            return values.cast(pa.timestamp("us", "UTC")).cast(pa.int64())
        except pa.ArrowInvalid:  # a date that does not exist (2024-02-30)
            pass
    coded = pc.dictionary_encode(values)
    found = [parse_time(v) for v in coded.dictionary.to_pylist()]
    micros = [None if t is None else to_micros(t) for t in found]
    return pa.array(micros, pa.int64()).take(coded.indices)


def _load_messages(
    box: Container, member: str, emails: dict[str, str], builder: EventBuilder
) -> Iterator[pa.RecordBatch]:
    users = {sender: (email, False) for sender, email in emails.items()}
    for table, raw in _read_messages(box, member, builder.pseudo.enabled):
        apply_fields(RULES, table, builder, member=member, users=users, raw=raw)
        if builder.full:
            yield builder.flush()


def _read_messages(
    box: Container, member: str, private_by_id: bool
) -> Iterator[tuple[pa.Table, Callable[[int], str | None]]]:
    """Tables of the member's records as raw named fields (values stripped), ``_BLOCK``
    records at a time. A record the reader cannot take (bad CSV, wrong width) comes with
    its ``_problem``; blank lines are no record."""
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
        block = _Records(header, private_by_id)
        for _line, values in records:
            block.add(values)
            if block.size >= _BLOCK:
                yield block.table()
        if block.size:
            yield block.table()


class _Records:
    """Records gathered as rows (their values as read); ``table`` turns a block of them
    into columns. What a reject shows is made only for the records rejected (``shown``)."""

    def __init__(self, header: list[str], private_by_id: bool) -> None:
        self.header, self.width = header, len(header)
        self.read = [(h, i) for i, h in enumerate(header) if h not in _UNREAD]
        # Under a key a private group's name is not read (it may be a person's: 'Jane and
        # Bram 1:1'): the group's id stands for it, nothing for a private conversation.
        self.hide = private_by_id and {"in_private_group", "group_name"} <= set(header)
        self.blank = (None,) * self.width
        self.record = 0
        self._start()

    def _start(self) -> None:
        self.rows: list = []
        self.meta: list[tuple[int, str | None]] = []
        self.size = 0

    def add(self, values: list[str] | BadRecord) -> None:
        if isinstance(values, BadRecord):
            self._add(self.blank, values.reason)
        elif not values or (len(values) == 1 and not values[0].strip()):
            return  # a blank line is no record
        elif len(values) != self.width:
            self._add(values, f"{len(values)} values for {self.width} columns")
        else:
            self._add(values, None)

    def _add(self, values, problem: str | None) -> None:
        self.record += 1
        self.size += 1
        self.rows.append(values)
        self.meta.append((self.record, problem))

    def table(self) -> tuple[pa.Table, Callable[[int], str | None]]:
        """The block as a table of raw named fields (values stripped), and what a reject
        of each of its records shows."""
        rows, lines, problems = self.rows, *zip(*self.meta, strict=True)
        good = [self.blank if p is not None else r for r, p in zip(rows, problems, strict=True)]
        values = list(zip(*good, strict=True))
        text = pa.string()
        columns = {h: pc.utf8_trim_whitespace(pa.array(values[i], text)) for h, i in self.read}
        if self.hide:
            private = pc.equal(pc.utf8_lower(columns["in_private_group"]), "true")
            columns["group_name"] = pc.if_else(private, "", columns["group_name"])
        columns[LINE] = pa.array(lines, pa.int64())
        columns[PROBLEM] = pa.array(problems, pa.string())
        self._start()
        return pa.table(columns), partial(self.shown, rows)

    def shown(self, rows: list, i: int) -> str | None:
        """What a reject of record ``i`` of a block shows: a damaged row as read; a read
        one without its body (the bulk of a row, and no reason to reject it)."""
        values = rows[i]
        if values is self.blank:
            return None
        if len(values) != self.width:
            return ",".join(values)
        return ",".join(values[j].strip() for _, j in self.read)


def _require(label: str, header: list[str]) -> None:
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(
            f"{label} line 1: missing required column(s) {', '.join(missing)}; "
            "is this a Viva Engage network data export?"
        )
