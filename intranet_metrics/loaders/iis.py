"""iis-w3c: IIS W3C extended logs from SharePoint Server front ends (SPEC section 6).

A log is a stream of ``#`` directives and space-separated data rows. ``#Fields:`` names
the columns of the rows after it and may change mid-file (IIS writes a new header block
whenever logging settings change or the worker restarts). Only authenticated ``GET``
requests for ``.aspx`` pages or Office/PDF documents outside the ``_layouts``-style
system folders are events; the other 80-90 % of lines (scripts, images, API calls) are
only counted.

Choices the SPEC leaves open:
- ``date-local``/``time-local`` (IIS Advanced Logging) are read in the config time zone
  when there is no ``date``/``time`` field.
- Values in double quotes (Advanced Logging quotes fields that hold spaces) are one
  value; ``""`` inside them is a quote.
- Bytes that are not UTF-8 (URLs logged in the server's ANSI code page) are replaced,
  not fatal: one odd byte must not lose a day of logs.
- A ``#Fields`` list without ``cs-method``, ``cs-uri-stem``, ``sc-status``,
  ``cs-username`` or ``time`` cannot classify a row: its rows are rejected with that reason.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import re
from collections.abc import Iterator
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from . import textfile
from .base import (
    EPOCH,
    LINE_LIMIT,
    LONG_LINE,
    EventBuilder,
    Memo,
    decode_head,
    is_utf8,
    line_blocks,
    read_ahead,
    to_micros,
)
from .rules import LINE, PathRule, Reject, WebBatch, WebRules, apply_web

NAME = "iis-w3c"
DESCRIPTION = "IIS W3C extended logs from SharePoint Server front ends (page and file views)"
CAN: tuple[str, ...] = ("view",)
CANNOT = (
    "Tells only who opened which page or document: likes, comments and posts are API "
    "calls the log cannot tell apart, and anonymous requests have no user."
)
CONTAINER = False
PRIORITY = 50  # detection order (loaders/__init__.py)

# Authenticated GETs with an OK status of a page or an Office/PDF document are events;
# anything under a ``_``-prefixed system folder (``_layouts``, ``_api``, ``_vti_bin``) is not.
RULES = WebRules(
    paths=(
        PathRule(None, r"^_|/_"),
        PathRule("page_view", r"\.aspx$"),
        PathRule("file_view", r"\.(?:pdf|docx?|xlsx?|pptx?)$"),
    ),
)
_REQUIRED = ("cs-method", "cs-uri-stem", "sc-status", "cs-username")
_SOFTWARE = (
    "#software: microsoft internet information services",
    "#software: microsoft http server api",
    "#software: iis ",
)
# A value in double quotes may hold spaces; any other value is a run of non-spaces.
_TOKEN = re.compile(r'"(?:[^"]|"")*"|\S+')
_DAY_US = 86_400_000_000


def sniff(path: Path, head: bytes) -> bool:
    lines = [ln.strip() for ln in decode_head(head).splitlines()[:64]]
    lines = [ln for ln in lines if ln]
    if not lines:
        return False
    if lines[0].lower().startswith(_SOFTWARE):
        return True
    return lines[0].startswith("#") and any(ln.startswith("#Fields:") for ln in lines)


def open_log(path: Path) -> IO[str]:
    """Open a web log as text: UTF-16 with a BOM, else UTF-8 with bad bytes replaced.

    Lines end only at ``\\n`` and keep their ``\\r``, so the event key (the line minus
    CR/LF) is the same whether the file went through a CRLF-converting copy or not.
    """
    return textfile.open_text(path, "\n", errors="replace")


class _Section:
    """Column indexes of one ``#Fields:`` list, computed once, used for every row."""

    def __init__(self, names: list[str], line: int) -> None:
        index = {n.lower(): i for i, n in enumerate(names)}
        self.width = len(names)
        self.line = line
        missing = [f for f in _REQUIRED if f not in index]
        self.local = "time" not in index and "time-local" in index
        t = index.get("time-local" if self.local else "time")
        if t is None:
            missing.append("time")
        self.problem = (
            f"#Fields (line {line}) has no {', '.join(missing)} field; the row cannot be classified"
            if missing
            else None
        )
        self.method = index.get("cs-method", 0)
        self.stem = index.get("cs-uri-stem", 0)
        self.status = index.get("sc-status", 0)
        self.user = index.get("cs-username", 0)
        self.time = t or 0
        self.date = index.get("date-local" if self.local else "date")
        self.agent = index.get("cs(user-agent)")


def _split_quoted(line: str) -> list[str]:
    out = _TOKEN.findall(line)
    for i, v in enumerate(out):
        if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
            out[i] = v[1:-1].replace('""', '"')
    return out


def _time_us(value: str) -> int:
    """Microseconds since midnight of ``HH:MM:SS[.fff]``; ValueError if it is not one."""
    t = time.fromisoformat(value)
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def _day_us(day: str) -> int:
    """Microseconds from the epoch to midnight UTC of ``YYYY-MM-DD`` (ValueError if it is
    not a date)."""
    d = datetime.combine(date.fromisoformat(day), time(), timezone.utc)
    return (d - EPOCH).days * _DAY_US


class _Clock:
    """Event times: rows of one second share their clock and a day's rows their date, so
    each is parsed once."""

    def __init__(self, tz) -> None:
        self.tz = tz
        self.days = Memo(_day_us)
        # Bounded: sub-second clocks never repeat.
        self.times = Memo(_time_us, limit=100_000)

    def micros(self, day: str, clock: str, local: bool) -> int:
        """Microseconds since the epoch; ValueError if ``day`` or ``clock`` is unreadable."""
        if local:
            return to_micros(
                datetime.combine(date.fromisoformat(day), time.fromisoformat(clock)).replace(
                    tzinfo=self.tz
                )
            )
        return self.days[day] + self.times[clock]

    def many(self, days: list[str], clocks: list[str], local: bool) -> list[int]:
        """``micros`` of each day and clock; ValueError if any is unreadable."""
        if local:
            return [self.micros(d, c, True) for d, c in zip(days, clocks, strict=True)]
        ds, ts = self.days, self.times
        return [ds[d] + ts[c] for d, c in zip(days, clocks, strict=True)]


# Blocks of this many bytes (or characters) are read at once; lines are cut from them.
_CHUNK = 1 << 18
# Bytes on which ``str.split()`` splits but ``bytes.split()`` does not (the ASCII ones).
_STR_ONLY_SPACES = (b"\x1c", b"\x1d", b"\x1e", b"\x1f")


def _byte_blocks(raw: IO[bytes], size: int) -> Iterator[tuple[bytearray, bool]]:
    """``base.line_blocks`` of a binary file without copying: each block is read into a new
    bytearray and cut at its last LF in place; the part after it is read again with the
    next block. A gzip stream (which seeks back only by reading again from its start) is
    cut by ``line_blocks`` instead."""
    if isinstance(raw, gzip.GzipFile):
        for block, whole in line_blocks(raw, size, LINE_LIMIT):
            yield (_long_line(), True) if block == LONG_LINE else (bytearray(block), whole)
        return
    end = os.fstat(raw.fileno()).st_size
    while True:
        buf = bytearray(min(size, max(end - raw.tell(), 1 << 16)))  # small files: small buf
        n = raw.readinto(buf)  # type: ignore[attr-defined]
        if not n:
            return
        del buf[n:]
        cut = buf.rfind(b"\n") + 1
        while not cut:  # a line longer than a block, or the last line: read it whole
            if len(buf) > LINE_LIMIT:
                yield _past_long_line(raw, size)
                break
            more = raw.read(size)
            if not more:
                yield buf, False
                return
            start = len(buf)
            buf += more
            cut = buf.rfind(b"\n", start) + 1
        if not cut:
            continue
        if cut < len(buf):
            raw.seek(cut - len(buf), io.SEEK_CUR)
            del buf[cut:]
        yield buf, True


def _long_line() -> bytearray:
    """What stands for a line longer than LINE_LIMIT once it was read past: a line just
    over the limit, which ``_Reader.tokens`` rejects by its length (memory stays bounded)."""
    return bytearray(b"-" * LINE_LIMIT + b"\n")


def _past_long_line(raw: IO[bytes], size: int) -> tuple[bytearray, bool]:
    """Read past the rest of a line longer than LINE_LIMIT (to just after its LF)."""
    while more := raw.read(size):
        at = more.find(b"\n")
        if at >= 0:
            raw.seek(at + 1 - len(more), io.SEEK_CUR)
            return _long_line(), True
    return _long_line(), True


def _cut(block: bytes, size: int) -> list[bytes]:
    """A block of whole lines as runs of whole lines of about ``size`` bytes (a longer
    line is a run of its own)."""
    out = []
    start, end = 0, len(block)
    while start < end:
        stop = block.rfind(b"\n", start, start + size) + 1
        if stop <= start:
            stop = block.find(b"\n", start + size) + 1 or end
        out.append(block[start:stop])
        start = stop
    return out


def _split_at_directive(block: bytes) -> tuple[bytes, bytes, bytes] | None:
    """``(before, directives, after)`` around the first run of lines that start with
    ``#`` in a block of lines, or None if no line does."""
    if block[:1] == b"#":
        start = 0
    else:
        start = block.find(b"\n#") + 1
        if not start:
            return None
    end = start
    while block[end : end + 1] == b"#":
        end = block.find(b"\n", end) + 1 or len(block)
    return block[:start], block[start:end], block[end:]


# Files are read this many bytes at a time and plain lines parsed by Arrow's CSV reader:
# ~150 us a call whatever the size, and memory grows with it (2 MiB: ~8,000 lines).
_COLUMNAR_CHUNK = 1 << 21
# Arrow's reader cuts its input into blocks of this many bytes (one batch each).
_CSV_BLOCK = 1 << 24
# Read and parse the next block on a worker thread (files over one block).
_READ_AHEAD = True
# Fewer bytes than this go to the token path: a columnar read has a fixed cost.
_COLUMNAR_MIN = 1 << 16
# Bytes on which ``str.split()`` splits but a split on " " does not; a quote starts a
# quoted value.
_NOT_COLUMNAR = (b"\t", b"\x0b", b"\x0c", b'"', *_STR_ONLY_SPACES)


# The characters above ASCII that ``str.split()`` splits on, in UTF-8, by lead byte:
# ``[chr(c).encode() for c in range(0x80, 0x110000) if chr(c).isspace()]``.
_UNICODE_SPACES: dict[int, tuple[bytes, ...]] = {
    0xC2: (b"\x85", b"\xa0"),
    0xE1: (b"\x9a\x80",),
    0xE2: tuple(bytes([0x80, c]) for c in [*range(0x80, 0x8B), 0xA8, 0xA9, 0xAF]) + (b"\x81\x9f",),
    0xE3: (b"\x80\x80",),
}


def _plain_utf8(block: bytes) -> bool:
    """Whether a block that is not ASCII reads as ``_Reader.tokens`` reads it: UTF-8 (it
    replaces other bytes), no character ``str.split`` splits on (the ASCII ones are
    tested apart), and no BOM at its start (Arrow's reader would drop it)."""
    if block[:3] == codecs.BOM_UTF8:
        return False
    if not is_utf8(block):
        return False
    data = None
    for lead, tails in _UNICODE_SPACES.items():
        if bytes([lead]) not in block:
            continue
        if data is None:
            data = np.frombuffer(block, np.uint8)
        at = np.flatnonzero(data == lead)  # UTF-8: its continuation bytes follow in block
        for tail in tails:
            hit = np.ones(len(at), bool)
            for k, byte in enumerate(tail, 1):
                hit &= data[at + k] == byte
            if hit.any():
                return False
    return True


class _Rows:
    """Arrow CSV options for rows of ``width`` values split on single spaces, each value
    a string (names are positions: a #Fields list may repeat a name)."""

    def __init__(self, width: int) -> None:
        names = [f"f{i}" for i in range(width)]
        self.width = width
        # One thread: the parallelism is the read-ahead thread's.
        self.read = pacsv.ReadOptions(column_names=names, use_threads=False, block_size=_CSV_BLOCK)
        self.parse = pacsv.ParseOptions(
            delimiter=" ",
            quote_char=False,
            double_quote=False,
            escape_char=False,
            newlines_in_values=False,
            ignore_empty_lines=False,
        )
        self.convert = pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            check_utf8=False,  # checked before, for the whole block
            # No value is null or a boolean (an empty list also saves ~100 us a call).
            null_values=[],
            true_values=[],
            false_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )


def _columnar(
    block: bytes, rows: _Rows
) -> tuple[list[pa.RecordBatch], np.ndarray, np.ndarray] | None:
    """``(batches, starts, sizes)``: the rows of a block of whole lines as Arrow string
    columns, and where each line starts in the block and how long it is without its CR/LF.
    None unless each row is exactly what ``str.split()`` makes of its line: UTF-8 (as the
    token path reads it) without a character ``str.split`` splits on but the space, no
    quote, no empty value (so no run of spaces, no space at either end, no blank line),
    ``width`` values in each row (else Arrow raises), no lone CR (Arrow ends a row there),
    no directive and no line over the limit (in bytes, at least its length in characters).
    Then each line is its values joined by single spaces, then CR LF or LF."""
    if (
        len(block) > 4 * _COLUMNAR_CHUNK
        or any(c in block for c in _NOT_COLUMNAR)
        or not (block.isascii() or _plain_utf8(block))
    ):
        return None
    try:
        table = pacsv.read_csv(pa.BufferReader(block), rows.read, rows.parse, rows.convert)
    except pa.ArrowInvalid:
        return None
    n = table.num_rows
    batches = [b for b in table.to_batches() if b.num_rows]
    if not n:
        return None
    totals = []
    for batch in batches:
        offsets = np.stack(
            [
                np.frombuffer(col.buffers()[1], np.int32, len(col) + 1, col.offset * 4)
                for col in batch.columns
            ]
        )
        lengths = np.diff(offsets, axis=1)
        if not lengths.all():
            return None  # an empty value: two spaces, a space at an end, a blank line
        totals.append(lengths.sum(axis=0, dtype=np.int64))
        if pc.any(pc.starts_with(batch.column(0), "#")).as_py():
            return None  # a directive
    sizes = totals[0] if len(totals) == 1 else np.concatenate(totals)
    sizes += rows.width - 1
    if int(sizes.max()) + 2 > LINE_LIMIT:
        return None  # a line might be over the limit (with a CR and the LF)
    # Row ends are CRLF, LF or a lone CR (1 or 2 bytes): 2 bytes a row means all are CRLF,
    # 1 without any CR all are LF. Otherwise each LF must end a row of its own.
    ends = len(block) - int(sizes.sum())
    starts = np.zeros(n, np.int64)
    if ends == 2 * n or (ends == n and b"\r" not in block):
        np.cumsum(sizes[:-1] + ends // n, out=starts[1:])
    elif block.count(b"\n") == n:
        starts[1:] = np.flatnonzero(np.frombuffer(block, np.uint8) == 10)[:-1] + 1
    else:
        return None
    return batches, starts, sizes


def _cut_lines(
    block: bytes, starts: np.ndarray, sizes: np.ndarray, text: bool = True
) -> list[str] | list[bytes]:
    """``block[start:start + size]`` of each start and size, as text (UTF-8, checked) or
    as bytes (``text=False``: event keys, hashed as bytes)."""
    begin = starts.tolist()
    end = (starts + sizes).tolist()
    if not text:
        return [block[a:b] for a, b in zip(begin, end, strict=True)]
    return [block[a:b].decode() for a, b in zip(begin, end, strict=True)]


def _clock_us(clocks: pa.Array) -> np.ndarray | None:
    """``_time_us`` of each value, computed all at once, when every value is exactly
    ``HH:MM:SS`` (two ASCII digits each, in range); else None."""
    n = len(clocks)
    ends = np.frombuffer(clocks.buffers()[1], np.int32, n + 1, clocks.offset * 4)
    if not (np.diff(ends) == 8).all():
        return None
    text = np.frombuffer(clocks.buffers()[2], np.uint8, 8 * n, int(ends[0])).reshape(n, 8)
    digits = text[:, [0, 1, 3, 4, 6, 7]] - np.uint8(48)  # wraps below "0": then > 9
    if not ((digits <= 9).all() and (text[:, 2] == 58).all() and (text[:, 5] == 58).all()):
        return None
    d = digits.astype(np.int64)
    hour, minute, second = d[:, 0] * 10 + d[:, 1], d[:, 2] * 10 + d[:, 3], d[:, 4] * 10 + d[:, 5]
    if n and (hour.max() > 23 or minute.max() > 59 or second.max() > 59):
        return None
    return ((hour * 60 + minute) * 60 + second) * 1_000_000


def _fast_times(
    clock: _Clock, clocks: pa.Array, days: pa.Array | None, header_date: str | None, local: bool
) -> np.ndarray | None:
    """``clock.micros`` of each row's day (from ``days`` or ``header_date``) and clock, a
    column at a time, when every clock is ``HH:MM:SS`` in UTC and every day readable;
    else None (then each row is read on its own, and bad ones rejected)."""
    if local:
        return None
    us = _clock_us(clocks)
    if us is None:
        return None
    try:
        if days is None:
            if header_date is None:
                return None
            return us + clock.days[header_date]
        coded = pc.dictionary_encode(days)
        base = np.array([clock.days[d] for d in coded.dictionary.to_pylist()], np.int64)
    except ValueError:
        return None
    return base[coded.indices.to_numpy()] + us


Parsed = tuple[list[pa.RecordBatch], np.ndarray, np.ndarray]
# A piece of a block for load: (lines, complete, columnar, parsed, shape). ``columnar``:
# worth a columnar read; ``parsed``: ``_columnar`` of it with ``shape`` (False: not
# columnar; None: not tried).
Piece = tuple[bytes | bytearray | str, bool, bool, Parsed | bool | None, "_Rows | None"]


class _Planner:
    """Cuts blocks of bytes into pieces around directive lines and reads the plain ones
    with Arrow, for the #Fields width last seen in the file: a guess made ahead of load
    (on the reader thread), which load checks against the width it reads itself."""

    def __init__(self) -> None:
        self.shape: _Rows | None = None

    def _parse(self, piece: bytes) -> Parsed | bool | None:
        if self.shape is None or len(piece) < _COLUMNAR_MIN:
            return None
        return _columnar(piece, self.shape) or False

    def _pieces(self, piece: bytes, parsed: Parsed | bool | None) -> list[Piece]:
        if parsed is False and len(piece) > 2 * _CHUNK:
            # Not columnar as a whole (an odd row, a tab, a byte that is not UTF-8): try
            # smaller pieces, so that an odd line costs a piece, not the block.
            return [(p, True, True, self._parse(p), self.shape) for p in _cut(piece, _CHUNK)]
        return [(piece, True, True, parsed, self.shape)]

    def plan(self, block: bytearray, complete: bool) -> list[Piece]:
        """The pieces of a block, in order."""
        if not complete:
            return [(block, False, True, None, None)]
        out: list[Piece] = []
        rest = block
        while rest:
            parsed = self._parse(rest)
            # Small pieces go to load whole: the token path reads them as well.
            parts = None if parsed or len(rest) < _COLUMNAR_MIN else _split_at_directive(rest)
            if parts is None:
                out += self._pieces(rest, parsed)
                break
            before, directives, rest = parts
            if before:
                out += self._pieces(before, self._parse(before))
            out.append((directives, True, False, None, None))
            for line in directives.split(b"\n"):
                if line[:8].lower() == b"#fields:":
                    width = len(line[8:].split())
                    if self.shape is None or self.shape.width != width:
                        self.shape = _Rows(width)
        return out


def load(path: Path, builder: EventBuilder) -> Iterator[pa.RecordBatch]:
    # A file is read in blocks of ~2 MiB of whole lines, cut around directive runs
    # (``_Planner``); UTF-16 comes from the opener as text, and is read as UTF-8 bytes.
    # Plain pieces (nearly all of a log) are parsed by Arrow's CSV reader, on a worker
    # thread one block ahead (``base.read_ahead``); the other pieces (directives, quoted
    # values, odd rows) are cut by ``_Reader.tokens``. Either way a piece becomes batches
    # of raw fields, which ``rules.apply_web`` classifies by the rule table and hands to
    # the builder. ``_columnar`` hands over a piece only when Arrow's rows are exactly
    # what ``tokens`` makes of its lines.
    reader = _Reader(builder)
    with textfile.open_lines(path, errors="replace", newline="\n") as fh:
        plans = _plans(fh)
        try:
            for todo in plans:
                todo.reverse()  # pieces still to read, last first (each freed once read)
                while todo:
                    yield from reader.piece(todo.pop(), todo)
        finally:
            close = getattr(plans, "close", None)
            if close is not None:
                close()  # stop the reader thread before the file closes


def _plans(fh: IO) -> Iterator[list[Piece]]:
    """The pieces of a file, block by block, planned (and read ahead) for Arrow; UTF-16
    (decoded by the opener) re-encoded as UTF-8 so that it is read the same way."""
    planner = _Planner()
    if isinstance(fh, io.TextIOBase):
        return (planner.plan(bytearray(b.encode()), whole) for b, whole in line_blocks(fh, _CHUNK))
    blocks = _byte_blocks(fh, _COLUMNAR_CHUNK)
    if _READ_AHEAD and os.fstat(fh.fileno()).st_size > _COLUMNAR_CHUNK:
        return read_ahead(blocks, lambda item: planner.plan(*item), "iis-read")
    return (planner.plan(b, whole) for b, whole in blocks)


_NO_DATE = "no date field and no #Date: line before it"
_BAD_TIME = "date or time is not YYYY-MM-DD hh:mm:ss"


class _Gathered:
    """The rows ``_Reader.tokens`` cut from lines since the last directive."""

    def __init__(self) -> None:
        self.rows: list[list[str]] = []
        self.numbers: list[int] = []
        self.keys: list[str] = []
        self.rejects: list[Reject] = []


class _Reader:
    """One file's read: the ``#Fields`` section and ``#Date`` in force and the line number."""

    def __init__(self, builder: EventBuilder) -> None:
        self.builder = builder
        self.clock = _Clock(builder.config.tz)
        self.memo = RULES.memo()
        self.section: _Section | None = None
        self.width = -1  # no #Fields yet: every data row fails the width test
        self.problem: str | None = "no #Fields line yet"
        self.header_date: str | None = None
        self.lineno = 0
        self.shape: _Rows | None = None

    def piece(self, piece: Piece, todo: list[Piece]) -> Iterator[pa.RecordBatch]:
        """Read one piece; pieces to read next (a piece split up) go onto ``todo``."""
        block, complete, columnar, found, used = piece
        if not block:
            return
        if columnar and complete and len(block) >= _COLUMNAR_MIN:
            parsed = self._parsed(block, found, used)  # type: ignore[arg-type]
            if parsed:
                yield from self._columns(block, *parsed)  # type: ignore[arg-type]
            else:
                _requeue(block, todo)  # type: ignore[arg-type]
            return
        if complete and len(block) > _CHUNK:
            pieces = _cut(block, _CHUNK)  # type: ignore[arg-type]
            if len(pieces) > 1:  # one piece: a line longer than _CHUNK
                todo += [(p, True, False, None, None) for p in reversed(pieces)]
                return
        yield from self.tokens(block, complete)  # type: ignore[arg-type]

    def _parsed(
        self, block: bytes, found: Parsed | bool | None, used: _Rows | None
    ) -> Parsed | None:
        """Arrow's reading of a block for the section in force, or None."""
        if self.problem is not None:
            return None
        if found is None or used is None or used.width != self.width:
            # Not read yet, or for another width than this section's.
            if self.shape is None or self.shape.width != self.width:
                self.shape = _Rows(self.width)
            found = _columnar(block, self.shape)
        return found or None

    def _apply(self, batch: WebBatch) -> Iterator[pa.RecordBatch]:
        yield from apply_web(RULES, self.memo, batch, self.builder)

    def _columns(
        self, block: bytes, batches: list[pa.RecordBatch], starts: np.ndarray, sizes: np.ndarray
    ) -> Iterator[pa.RecordBatch]:
        """Arrow's batches of a block as raw fields."""
        row0 = 0  # the batch's first row in the block
        for batch in batches:
            n, at = batch.num_rows, row0
            numbers = np.arange(self.lineno + 1, self.lineno + n + 1, dtype=np.int64)
            self.lineno += n
            row0 += n

            def keys(rows: np.ndarray, at: int = at) -> list:
                return _cut_lines(block, starts[rows + at], sizes[rows + at], text=False)

            rows = self._raw_fields(batch.column, numbers)
            yield from self._apply(WebBatch(rows, self._times, keys, plus_is_space=True))

    def _raw_fields(self, column, numbers: np.ndarray | list[int]) -> pa.RecordBatch:
        """The section's fields of a block's rows, by name (``column(i)``: the i-th field)."""
        s = self.section
        assert s is not None  # rows are only cut for a section without problem
        named = {
            "method": s.method,
            "status": s.status,
            "user": s.user,
            "path": s.stem,
            "agent": s.agent,
            "time": s.time,
            "date": s.date,
        }
        names = [k for k, i in named.items() if i is not None]
        arrays = [column(named[k]) for k in names]
        return pa.RecordBatch.from_arrays(
            [*arrays, pa.array(numbers, pa.int64())], names=[*names, LINE]
        )

    def _times(self, events: pa.RecordBatch) -> tuple[pa.Array, str]:
        """The time of each event row (null: unreadable) and why such a row is rejected."""
        s = self.section
        assert s is not None
        names = events.schema.names
        days = events.column("date") if "date" in names else None
        clocks = events.column("time")
        fast = _fast_times(self.clock, clocks, days, self.header_date, s.local)
        if fast is not None:
            return pa.array(fast, pa.int64()), _BAD_TIME
        if days is None and self.header_date is None:
            return pa.nulls(events.num_rows, pa.int64()), _NO_DATE
        day_list = [self.header_date] * len(clocks) if days is None else days.to_pylist()
        found = [
            self._micros(d, c, s.local) for d, c in zip(day_list, clocks.to_pylist(), strict=True)
        ]
        return pa.array(found, pa.int64()), _BAD_TIME

    def _micros(self, day: str, clock: str, local: bool) -> int | None:
        try:
            return self.clock.micros(day, clock, local)
        except ValueError:
            return None

    def tokens(self, block: bytes | bytearray, complete: bool) -> Iterator[pa.RecordBatch]:
        """Every line of a block on its own: directives, and rows Arrow cannot read as
        ``str.split`` cuts them (quoted values, other spaces, odd widths, bad bytes)."""
        lines = block.decode("utf-8", "replace").split("\n")
        if complete:
            del lines[-1]
        nl = 1 if complete else 0  # each line had a "\n", which counts towards the limit
        got = _Gathered()
        for line in lines:
            self.lineno += 1
            if len(line) + nl > LINE_LIMIT:
                # No real request is a megabyte long: never key or store such a line.
                got.rejects.append(
                    (self.lineno, f"line longer than {LINE_LIMIT:,} characters", None)
                )
            elif line[:1] == "#":
                yield from self._gathered(got)
                got = _Gathered()
                self._directive(line)
            else:
                self._row(line, got)
        yield from self._gathered(got)

    def _gathered(self, got: _Gathered) -> Iterator[pa.RecordBatch]:
        """The rows and rejects gathered by ``tokens`` to ``apply_web``."""
        if not (got.rows or got.rejects):
            return
        if got.rows:
            rows = got.rows
            fields = self._raw_fields(
                lambda i: pa.array([r[i] for r in rows], pa.string()), got.numbers
            )
        else:  # only rejects: no section may be in force
            empty = pa.array([], pa.string())
            fields = pa.RecordBatch.from_arrays(
                [empty] * 4 + [pa.array([], pa.int64())],
                names=["method", "status", "user", "path", LINE],
            )
        keys = got.keys

        def key_of(at: np.ndarray) -> list:
            return [keys[i] for i in at.tolist()]

        yield from self._apply(WebBatch(fields, self._times, key_of, got.rejects, True))

    def _directive(self, line: str) -> None:
        head = line[:8].lower()
        if head == "#fields:":
            self.section = _Section(line[8:].split(), self.lineno)
            self.width, self.problem = self.section.width, self.section.problem
        elif head.startswith("#date:"):
            words = line[6:].split()
            self.header_date = words[0] if words else None

    def _row(self, line: str, got: _Gathered) -> None:
        """One data row cut into values, or a reject."""
        parts = _split_quoted(line) if '"' in line else line.split()
        key = line.rstrip("\r\n")
        if len(parts) != self.width:
            if parts:  # a blank line is nothing
                why = (
                    "data row before any #Fields line"
                    if self.section is None
                    else f"{len(parts)} values for {self.width} #Fields"
                )
                got.rejects.append((self.lineno, why, key))
            return
        if self.problem is not None:
            got.rejects.append((self.lineno, self.problem, key))
            return
        got.rows.append(parts)
        got.numbers.append(self.lineno)
        got.keys.append(key)


def _requeue(block: bytes, todo: list[Piece]) -> None:
    """A piece Arrow cannot read as the token path would: its directive run goes to the
    token path and the lines on either side are tried again; without one, the token path
    reads the piece line by line."""
    parts = _split_at_directive(block)
    if parts is None:
        todo.append((block, True, False, None, None))
        return
    before, directives, after = parts
    todo.append((after, True, True, None, None))
    todo.append((directives, True, False, None, None))
    todo.append((before, True, True, None, None))
