"""generic: CSV or JSON Lines with timestamp, user, activity (+ item, parent, thread, channel).

Column names can be mapped (``--map timestamp=When,user=Who`` or ``[map]`` in the config).
Timestamps are ISO 8601; without an offset they are in the report time zone.

Reading: a UTF-8 file (the usual case) is parsed by Arrow in blocks of whole lines and
classified with Arrow compute (``_Blocks``). A block Arrow cannot read exactly as the
record reader would (a bad, blank or rejected row, a timestamp in an unusual form) is read
by the record reader instead, and a quote left open across a block's end hands the rest of
the file to it: rejects, line numbers and keys are the same either way (tests/test_generic_fast.py).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, tzinfo
from functools import lru_cache, partial
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson

from .. import arrowutil as au
from ..config import Config
from ..errors import InputError
from .base import (
    LINE_LIMIT,
    EventBuilder,
    bounded_lines,
    decode_head,
    require_columns,
    to_micros,
)
from .rules import LINE, PROBLEM, RAW, TIME, Actor, FieldRules, apply_fields, blank, is_, row
from .textfile import (
    BadRecord,
    choose_encoding,
    csv_rows,
    delimiter_name,
    open_binary,
    open_text,
    sniff_delimiter,
)

NAME = "generic"
DESCRIPTION = "CSV or JSON Lines with timestamp, user, activity columns (mappable)"
CAN: tuple[str, ...] = ("view", "react", "contribute")
CANNOT = "Only what the file says: activities must use the names of the metrics definitions."
CONTAINER = False
PRIORITY = 100  # detection order (loaders/__init__.py)

REQUIRED = ("timestamp", "user", "activity")
OPTIONAL = ("item", "parent", "thread", "channel")
KEY = "_key"  # the event key column handed to the rule table
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
    found = choose_encoding(path, builder.config.encoding)
    if found.note:
        builder.note(found.note)
    with open_text(path, "", found) as fh:
        first = fh.readline(LINE_LIMIT)
        fh.seek(0)
        # TextIOWrapper.seek(0) re-reads the BOM; utf-8-sig strips it again.
        jsonl = first.lstrip().startswith("{")
        delimiter = None if jsonl else sniff_delimiter(first, builder.config.delimiter)
        if found.name in ("utf-8", "utf-8-sig"):
            fast = _Blocks(path, builder, delimiter)
            if fast.start():
                yield from fast.batches()
                return
        if jsonl:
            sink = _Records(rules_for(builder.config), builder)
            yield from _load_jsonl(path, fh, sink)
        else:
            yield from _load_csv(path, fh, builder, delimiter)


# Classification as data (SPEC section 6, generic), applied by ``rules.apply_fields`` to
# the records' raw named fields (canonical names; ``_key`` is the record as written). A
# record names its own activity (snake case of its text: "Page View" is page_view); no
# alias table and no exclusion of the format's own (the builder's exclusions apply).
RULES = FieldRules(
    time=("timestamp", lambda values: _never(values)),  # per file: see ``rules_for``
    actor=Actor(ids=("user",), prefix=""),
    fields={
        "key": (KEY,),
        "item": ("item",),
        "parent": ("parent",),
        "thread": ("thread",),
        "channel": ("channel",),
    },
    rejects=(
        row("empty timestamp", blank("timestamp", trim=True)),
        row("empty user", blank("user", trim=True)),
        row("timestamp is not ISO 8601", is_(TIME, None)),
    ),
    activities=(),
    named=("activity", lambda text: _activity(text)),
)
FIELDS = (*REQUIRED, *OPTIONAL)
# Records per table the record reader hands to ``apply_fields``.
_BLOCK = 65_536


def _never(values: pa.Array) -> pa.Array:
    raise AssertionError("generic.RULES needs the report time zone: use rules_for")


def rules_for(config: Config) -> FieldRules:
    """``RULES`` reading times without an offset in the report time zone."""
    timezone, zone = config.timezone, config.tz
    return replace(RULES, time=("timestamp", partial(_micros, timezone=timezone, zone=zone)))


def _micros(values: pa.Array, timezone: str, zone: tzinfo) -> pa.Array:
    """Microseconds since the epoch of ISO 8601 text (null: none): in Arrow when the
    column allows (``_times``), else one value at a time as ``datetime.fromisoformat``."""
    fast = _times(values, timezone)
    if fast is not None:
        return fast
    return au.ints([_one_time(v, zone) for v in values.to_pylist()])


def _one_time(text: str | None, zone: tzinfo) -> int | None:
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return to_micros(t if t.tzinfo is not None else t.replace(tzinfo=zone))


def _classify(
    rules: FieldRules,
    table: pa.Table,
    builder: EventBuilder,
    raw: Callable[[int], str | None] | None = None,
) -> None:
    """A table of raw records (``FIELDS``, ``_line``, maybe ``_problem`` and ``_raw``)
    with their event keys, through the rule table."""
    n = len(table)
    if not n:
        return

    def text(name: str) -> pa.Array:
        if name not in table.column_names:
            return pa.nulls(n, pa.string()).fill_null(_EMPTY)
        values = table.column(name)
        values = values.chunk(0) if values.num_chunks == 1 else values.combine_chunks()
        return pc.fill_null(values, _EMPTY) if values.null_count else values

    # The record as written (SPEC 6): never the converted time or anything else the config
    # shapes, so another time zone or mapping cannot store one record twice.
    keys = builder.record_keys(text("timestamp"), text("user"), text("activity"), text("item"))
    apply_fields(rules, table.append_column(KEY, keys), builder, raw=raw)


class _Records:
    """The record reader's records gathered as rows of raw fields, handed to the rule
    table ``_BLOCK`` at a time."""

    def __init__(self, rules: FieldRules, builder: EventBuilder) -> None:
        self.rules, self.builder = rules, builder
        self.rows: list[tuple] = []

    def add(self, line: int, values: list[str | None], raw: str) -> None:
        self.rows.append((*values, line, None, raw))

    def bad(self, line: int, problem: str, raw: str | None = None) -> None:
        self.rows.append((*(None,) * len(FIELDS), line, problem, raw))

    def full(self) -> bool:
        return len(self.rows) >= _BLOCK

    def apply(self) -> Iterator[pa.RecordBatch]:
        """Classify the rows gathered so far; the batches the builder has made."""
        if self.rows:
            columns = list(zip(*self.rows, strict=True))
            names = (*FIELDS, LINE, PROBLEM, RAW)
            kinds = {LINE: pa.int64()}
            pairs = zip(names, columns, strict=True)
            table = pa.table({n: pa.array(c, kinds.get(n, pa.string())) for n, c in pairs})
            self.rows = []
            _classify(self.rules, table, self.builder)
        if self.builder.full:
            yield from self.builder.flush_chunks()


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
    sink = _Records(rules_for(builder.config), builder)
    yield from _csv_records(records, sink, index, len(header), delimiter)


def _csv_records(
    records: Iterator[tuple[int, list[str] | BadRecord]],
    sink: _Records,
    index: dict[str, int],
    width: int,
    delimiter: str,
) -> Iterator[pa.RecordBatch]:
    """The record reader: each CSV record read (or found unreadable) on its own."""
    for line, values in records:
        if isinstance(values, BadRecord):
            sink.bad(line, values.reason)
        elif len(values) != width:
            reason = f"{len(values)} values for {width} columns"
            if any("\n" in v or "\r" in v for v in values):
                # A quote opened and never closed swallows the following lines.
                reason += " over several lines: probably an unclosed quote"
            sink.bad(line, reason, delimiter.join(values))
        else:
            fields = [values[index[f]] if f in index else None for f in FIELDS]
            sink.add(line, fields, ",".join(values))
        if sink.full():
            yield from sink.apply()
    yield from sink.apply()


def _load_jsonl(
    path: Path, fh: IO[str], sink: _Records, start: int = 1, checked: bool = False
) -> Iterator[pa.RecordBatch]:
    """The record reader of JSON Lines: each line read (or found unreadable) on its own."""
    cols = _columns(sink.builder)
    for line, text in bounded_lines(fh, start=start):
        if text is None:
            sink.bad(line, f"line longer than {LINE_LIMIT:,} characters; skipped")
        elif text.strip():
            obj, problem = _json_object(text)
            if obj is None:
                sink.bad(line, problem, None if problem.startswith("JSON nested") else text)
                continue
            if not checked:
                _check_header(path, list(obj), cols)
                checked = True
            values = [obj.get(cols[f]) for f in FIELDS]
            sink.add(line, [None if v is None else str(v) for v in values], text)
        if sink.full():
            yield from sink.apply()
    yield from sink.apply()


def _json_object(text: str) -> tuple[dict | None, str]:
    """The line's object, or None and why it is none."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"not a JSON object ({exc.msg})"
    except RecursionError:
        return None, "JSON nested too deeply to read (over ~1,000 levels)"
    return (obj, "") if isinstance(obj, dict) else (None, "not a JSON object")


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


# -- the block reader: Arrow parses, Arrow compute classifies -------------------------------
BLOCK = 1 << 22
# The ISO 8601 forms Arrow reads exactly as datetime.fromisoformat does; other forms (a
# date alone, "+0100", 7+ digit fractions) go to fromisoformat one by one.
_ISO = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{3}|\.\d{6})?(Z|[+-]\d{2}:\d{2})?$"
_LOCAL_LENGTHS = au.fixed([19, 23, 26], pa.int32())


class _Blocks:
    """One UTF-8 file read a block of whole lines at a time (see the module docstring)."""

    def __init__(self, path: Path, builder: EventBuilder, delimiter: str | None) -> None:
        self.path, self.builder, self.delimiter = path, builder, delimiter
        self.cols = _columns(builder)
        self.sink = _Records(rules_for(builder.config), builder)
        self.raw: IO[bytes] = open_binary(path)
        self.tail = b""
        self.line = 1  # the line the next block starts at
        self.index: dict[str, int] = {}
        self.width = 0

    def start(self) -> bool:
        """Read the header (CSV) or check the first object (JSON Lines); False when the
        first line needs the record reader (blank, a quote open across lines, not JSON)."""
        try:
            ok = self._start()
        except BaseException:
            self.raw.close()
            raise
        if not ok:
            self.raw.close()
        return ok

    def _start(self) -> bool:
        first = self.raw.readline(LINE_LIMIT)
        if first.startswith(b"\xef\xbb\xbf"):
            first = first[3:]
        if not first.endswith(b"\n") or not first.strip() or first.count(b'"') % 2:
            return False
        if b"\r" in first.rstrip(b"\r\n"):  # a bare CR is a line end to the record reader
            return False
        self.tail = first
        if self.delimiter is None:
            try:
                obj = json.loads(first)
            except (ValueError, RecursionError):
                obj = None
            if not isinstance(obj, dict):
                return False
            _check_header(self.path, list(obj), self.cols)
            return True
        text = first.decode()
        row = next(csv.reader([text.rstrip("\r\n")], delimiter=self.delimiter))
        header = [h.strip() for h in row]
        # The hint names the encoding as the record reader's text stream would.
        _check_header(self.path, header, self.cols, self.delimiter, _UTF8)
        self.index = {n: header.index(c) for n, c in self.cols.items() if c in header}
        self.width = len(header)
        self.tail, self.line = b"", 2
        return True

    def _blocks(self) -> Iterator[bytes]:
        """Runs of whole lines (the last may lack its line end)."""
        while True:
            chunk = self.raw.read(BLOCK)
            data = self.tail + chunk
            if not chunk:
                self.tail = b""
                if data:
                    yield data
                return
            cut = data.rfind(b"\n") + 1
            if not cut:
                self.tail = data
                if len(data) > LINE_LIMIT:  # one very long line: the record reader's
                    self.tail = b""
                    yield data
                continue
            self.tail = data[cut:]
            yield data[:cut]

    def batches(self) -> Iterator[pa.RecordBatch]:
        with self.raw:
            for block in self._blocks():
                if self.delimiter is not None and b'"' in block and block.count(b'"') % 2:
                    # A quote open across the block's end: the rest is the record reader's.
                    yield from self._rest(block)
                    return
                ends = block.count(b"\n")  # counted once: a scan of the whole block
                if len(block) > LINE_LIMIT and ends <= 1:
                    yield from self._rest(block)
                    return
                lines = _lines(block, ends)
                if _long_line(block) or not self._fast(block, lines):
                    yield from self._slow(io.BytesIO(block))
                self.line += lines
                if self.builder.full:
                    yield from self.builder.flush_chunks()

    def _slow(self, raw: IO[bytes]) -> Iterator[pa.RecordBatch]:
        """The record reader over ``raw`` (whole records), numbering from ``self.line``."""
        fh = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        if self.delimiter is None:
            yield from _load_jsonl(self.path, fh, self.sink, self.line, checked=True)
        else:
            records = csv_rows(fh, self.delimiter, FIELD_LIMIT, self.line)
            yield from _csv_records(records, self.sink, self.index, self.width, self.delimiter)

    def _rest(self, block: bytes) -> Iterator[pa.RecordBatch]:
        yield from self._slow(_Chain(block + self.tail, self.raw))

    def _fast(self, block: bytes, lines: int) -> bool:
        """Classify a block of ``lines`` lines parsed by Arrow; False (nothing added) when
        it needs the record reader (Arrow cannot read it as that reader would)."""
        table = self._parse(block)
        if table is None or len(table) != lines:
            return False
        if self.delimiter is None and _has_blank_line(block):
            # Arrow skips a blank line and reads two objects on one line as two records:
            # with a blank line, a count that matches may still hide such a line.
            return False
        raw = _BlockText(block, self.delimiter)
        if self.delimiter is not None and _blank_line(table, raw, self.delimiter):
            return False  # no record to the record reader, a row of empty values to Arrow
        line = au.fixed(np.arange(self.line, self.line + lines, dtype=np.int64))
        _classify(self.sink.rules, table.append_column(LINE, line), self.builder, raw=raw)
        return True

    def _parse(self, block: bytes) -> pa.Table | None:
        """The mapped columns of a block as text, or None when Arrow cannot read it as the
        record reader would (a bad row, a number where text is expected)."""
        try:
            parse = self._parse_json if self.delimiter is None else self._parse_csv
            table = parse(block)
        except (pa.ArrowInvalid, _BadRow):
            return None
        return pa.table({name: table.column(name).combine_chunks() for name in table.column_names})

    def _parse_json(self, block: bytes) -> pa.Table:
        schema = pa.schema([(c, pa.string()) for c in dict.fromkeys(self.cols.values())])
        table = pajson.read_json(
            io.BytesIO(block),
            read_options=pajson.ReadOptions(use_threads=False, block_size=len(block) + 1),
            parse_options=pajson.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="ignore"
            ),
        )
        return pa.table({name: table.column(col) for name, col in self.cols.items()})

    def _parse_csv(self, block: bytes) -> pa.Table:
        names = [f"c{i}" for i in range(self.width)]

        bad: list[object] = []

        def skip(row: object) -> str:
            bad.append(row)  # a row of another width: the record reader says why
            return "skip"

        table = pacsv.read_csv(
            io.BytesIO(block),
            read_options=pacsv.ReadOptions(
                column_names=names, use_threads=False, block_size=len(block) + 1
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=self.delimiter, newlines_in_values=False, invalid_row_handler=skip
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in names},
                include_columns=[f"c{i}" for i in dict.fromkeys(self.index.values())],
            ),
        )
        if bad:
            raise _BadRow
        return pa.table({name: table.column(f"c{i}") for name, i in self.index.items()})


# Constants for compute functions: a Python value there goes through pa.scalar, which
# imports pandas (see arrowutil).
_EMPTY, _NULL = au.text(""), au.text(None)
_UTF8 = io.TextIOWrapper(io.BytesIO(), encoding="utf-8-sig")


class _BadRow(Exception):
    pass


# A line as the record reader's text stream splits them (LF, CR LF, CR), with its end.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


class _BlockText:
    """What the record reader keeps beside a reject of a block's i-th record: its line
    (JSON Lines) or its CSV values joined by commas. The block is split into lines only
    when one of its records is rejected."""

    def __init__(self, block: bytes, delimiter: str | None) -> None:
        self.block, self.delimiter = block, delimiter
        self.lines: list[str] | None = None

    def line(self, i: int) -> str:
        """The i-th line, with its line end."""
        if self.lines is None:
            self.lines = _LINE.findall(self.block.decode())
        return self.lines[i]

    def __call__(self, i: int) -> str:
        text = self.line(i)
        if self.delimiter is None:
            return text
        return ",".join(next(csv.reader([text.rstrip("\r\n")], delimiter=self.delimiter)))


class _Chain(io.RawIOBase):
    """Bytes already read, then the rest of a stream (for the record reader)."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self.head, self.rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self.head[: len(buffer)] if self.head else self.rest.read(len(buffer))
        self.head = self.head[len(data) :] if self.head else b""
        buffer[: len(data)] = data
        return len(data)


def _lines(block: bytes, ends: int | None = None) -> int:
    """Line ends as the text reader counts them (LF, CR LF, CR), plus a last unended one
    (``ends``: the block's LF count, when known)."""
    n = block.count(b"\n") if ends is None else ends
    if b"\r" in block:  # rare outside Windows files: counted only when there
        n += block.count(b"\r") - block.count(b"\r\n")
    return n + (not block.endswith((b"\n", b"\r")))


# A line of nothing but white space (skipped by both readers, but see ``_fast``): the
# first line, or one after a line end. Two patterns, because one starting ``(?:\A|\n)``
# has no literal first byte: re then tries the match at every byte of the block (55 ms per
# 4 MB block, 2.6 of 10 CPU-s per 1 M events), where ``\n`` first jumps from line end to
# line end (2 ms).
_BLANK_FIRST = re.compile(rb"[ \t\r]*\n|[ \t\r]+\Z")
_BLANK_AFTER = re.compile(rb"\n[ \t\r]*\n|\n[ \t\r]+\Z")


def _has_blank_line(block: bytes) -> bool:
    """Whether a line of ``block`` is nothing but white space (an unended last one: some)."""
    return bool(_BLANK_FIRST.match(block) or _BLANK_AFTER.search(block))


def _blank_line(table: pa.Table, raw: _BlockText, delimiter: str) -> bool:
    """A row of nothing but white space and separators (``,,,``): the record reader skips
    it. Its time is blank, so only rows with a blank time have their line looked at."""
    ts = table.column("timestamp")
    blank = pc.or_(pc.equal(ts, _EMPTY), pc.utf8_is_space(ts))
    if not pc.any(blank).as_py():
        return False
    chars = " \t\r\n" + delimiter
    return any(not raw.line(i).strip(chars) for i in pc.indices_nonzero(blank).to_pylist())


def _long_line(block: bytes, limit: int = LINE_LIMIT) -> bool:
    """A line the record reader may reject as too long (bytes >= characters, so a line of
    fewer bytes than the limit is surely short enough): a run of ``limit - 4`` bytes from
    one line end (or the start) to the next (or the last byte). Found by jumping to the
    last line end within reach, a few ``rfind`` per block instead of a scan of every byte."""
    reach = limit - 4
    prev, last = -1, len(block) - 1
    while last - prev >= reach:
        end = block.rfind(b"\n", prev + 1, prev + reach)
        if end < 0:
            return True
        prev = end
    return False


def _times(ts: pa.Array, timezone: str) -> pa.Array | None:
    """Microseconds since the epoch of ISO 8601 text, as ``_add`` reads it: with its offset,
    else in ``timezone``. None when a value needs the record reader (not ISO 8601, a local
    time the clock skipped)."""
    text = ts
    if not pc.all(pc.match_substring_regex(text, _ISO)).as_py():
        # White space around a time is allowed (the record reader strips it): trimmed only
        # when there is some, the usual file has none.
        text = pc.utf8_trim_whitespace(ts)
        if not pc.all(pc.match_substring_regex(text, _ISO)).as_py():
            return None
    # Matching _ISO, a time has an offset unless it is 19, 23 or 26 characters long (no
    # fraction, milliseconds, microseconds): no second regular expression over the column.
    zoned = pc.invert(pc.is_in(pc.binary_length(text), value_set=_LOCAL_LENGTHS))
    try:
        if pc.all(zoned).as_py():  # the usual file: every time with its offset (or Z)
            return text.cast(pa.timestamp("us", "UTC")).cast(pa.int64())
        out = pc.if_else(zoned, text, _NULL).cast(pa.timestamp("us", "UTC")).cast(pa.int64())
        local = pc.if_else(zoned, _NULL, text).cast(pa.timestamp("us"))
        # fold=0 in datetime: an hour that repeats is read as its first occurrence.
        utc = pc.assume_timezone(local, timezone, ambiguous="earliest", nonexistent="raise")
        return pc.if_else(zoned, out, utc.cast(pa.int64()))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
