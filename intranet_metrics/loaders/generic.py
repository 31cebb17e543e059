"""generic: CSV or JSON Lines with timestamp, user, activity (+ item, parent, thread, channel).

Column names can be mapped (``--map timestamp=When,user=Who`` or ``[map]`` in the config).
Timestamps are ISO 8601; without an offset they are in the report time zone.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import IO

import pyarrow as pa

from ..errors import InputError
from .base import (
    LINE_LIMIT,
    EventBuilder,
    bounded_lines,
    decode_head,
    open_text,
    require_columns,
    to_micros,
)
from .textfile import BadRecord, csv_rows, delimiter_name, sniff_delimiter

NAME = "generic"
DESCRIPTION = "CSV or JSON Lines with timestamp, user, activity columns (mappable)"
CAN: tuple[str, ...] = ("view", "react", "contribute")
CANNOT = "Only what the file says: activities must use the names of the metrics definitions."
CONTAINER = False
PRIORITY = 100  # detection order (loaders/__init__.py)

REQUIRED = ("timestamp", "user", "activity")
OPTIONAL = ("item", "parent", "thread", "channel")
_SNAKE = re.compile(r"[^a-z0-9]+")
# A record may legitimately hold a long text, never 100 MB: longer ones are rejected
# (a limit of this reader's own, never the csv module's process-wide one).
FIELD_LIMIT = LINE_LIMIT


def sniff(path: Path, head: bytes) -> bool:
    text = decode_head(head).lstrip()
    if not text or "\x00" in text:
        return False
    first = text.splitlines()[0]
    if first.startswith("{"):
        return True
    try:
        header = next(csv.reader([first], delimiter=sniff_delimiter(first)))
    except csv.Error:
        return False
    return len(header) >= 3 and all(h.strip() for h in header)


@lru_cache(maxsize=4096)
def _activity(value: str) -> str:
    return _SNAKE.sub("_", value.strip().lower()).strip("_")


def _columns(builder: EventBuilder) -> dict[str, str]:
    """Canonical name -> the file's column name."""
    mapping = {c: c for c in (*REQUIRED, *OPTIONAL)}
    mapping.update(builder.config.column_map)
    return mapping


def load(path: Path, builder: EventBuilder) -> Iterator[pa.RecordBatch]:
    with open_text(path, newline="", builder=builder) as fh:
        first = fh.readline(LINE_LIMIT)
        fh.seek(0)
        # TextIOWrapper.seek(0) re-reads the BOM; utf-8-sig strips it again.
        if first.lstrip().startswith("{"):
            yield from _load_jsonl(path, fh, builder)
        else:
            delimiter = sniff_delimiter(first, builder.config.delimiter)
            yield from _load_csv(path, fh, builder, delimiter)


def _load_csv(
    path: Path, fh: IO[str], builder: EventBuilder, delimiter: str
) -> Iterator[pa.RecordBatch]:
    cols = _columns(builder)
    records = csv_rows(fh, delimiter, FIELD_LIMIT)
    first = next(records, None)
    if first is None:
        raise InputError(f"{path}: the file is empty; nothing to ingest")
    if isinstance(first[1], BadRecord):
        raise InputError(
            f"{path} line 1: the header cannot be read ({first[1].reason}); check the "
            "file is a CSV export"
        )
    header = [h.strip() for h in first[1]]
    _check_header(path, header, cols, delimiter, fh)
    index = {name: header.index(col) for name, col in cols.items() if col in header}
    width = len(header)
    for line, row in records:
        if isinstance(row, BadRecord):
            builder.reject(line, row.reason)
            continue
        if len(row) != width:
            reason = f"{len(row)} values for {width} columns"
            if any("\n" in v or "\r" in v for v in row):
                # A quote opened and never closed swallows the following lines.
                reason += " over several lines: probably an unclosed quote"
            builder.reject(line, reason, delimiter.join(row))
            continue
        _add(builder, line, {k: row[i] for k, i in index.items()}, row)
        if builder.full:
            yield builder.flush()


def _load_jsonl(path: Path, fh, builder: EventBuilder) -> Iterator[pa.RecordBatch]:
    cols = _columns(builder)
    checked = False
    for line, text in bounded_lines(fh):
        if text is None:
            builder.reject(line, f"line longer than {LINE_LIMIT:,} characters; skipped")
            continue
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            builder.reject(line, f"not a JSON object ({exc.msg})", text)
            continue
        except RecursionError:
            builder.reject(line, "JSON nested too deeply to read (over ~1,000 levels)")
            continue
        if not isinstance(obj, dict):
            builder.reject(line, "not a JSON object", text)
            continue
        if not checked:
            _check_header(path, list(obj), cols)
            checked = True
        values = {name: obj.get(col) for name, col in cols.items()}
        _add(builder, line, {k: None if v is None else str(v) for k, v in values.items()}, text)
        if builder.full:
            yield builder.flush()


def _check_header(
    path: Path,
    header: list[str],
    cols: dict[str, str],
    delimiter: str | None = None,
    fh: IO[str] | None = None,
) -> None:
    hint = "map your column names with --map timestamp=COL,user=COL,activity=COL"
    if delimiter is not None:
        # Say how the header was read: a wrong separator is the usual cause.
        enc = getattr(fh, "encoding", None)
        hint += (
            f" (read with separator {delimiter_name(delimiter)!s}"
            f"{', encoding ' + enc if enc else ''}; force them with --delimiter, --encoding)"
        )
    require_columns(str(path), header, [cols[c] for c in REQUIRED], hint=hint)


def _add(
    builder: EventBuilder, line: int, row: dict[str, str | None], raw: str | list[str]
) -> None:
    """One record; ``raw`` (the line, or its CSV values) is only joined for a reject."""
    ts, user, act = row.get("timestamp"), row.get("user"), row.get("activity")
    if not ts or not ts.strip():
        builder.reject(line, "empty timestamp", _raw(raw))
        return
    if not user or not user.strip():
        builder.reject(line, "empty user", _raw(raw))
        return
    try:
        t = datetime.fromisoformat(ts.strip().replace("Z", "+00:00"))
    except ValueError:
        builder.reject(line, "timestamp is not ISO 8601", _raw(raw))
        return
    if t.tzinfo is None:
        t = t.replace(tzinfo=builder.config.tz)
    us = to_micros(t)
    activity = _activity(act or "")
    item = row.get("item") or None
    builder.add(
        time=us,
        actor=user,
        activity=activity,
        line=line,
        # The record as written (SPEC 6): never the converted time or anything else the
        # config shapes, so another time zone or mapping cannot store one record twice.
        key=f"{ts}\x1f{user}\x1f{act}\x1f{item or ''}",
        item=item,
        parent=row.get("parent") or None,
        thread=row.get("thread") or None,
        channel=row.get("channel") or None,
    )


def _raw(raw: str | list[str]) -> str:
    return raw if isinstance(raw, str) else ",".join(raw)
