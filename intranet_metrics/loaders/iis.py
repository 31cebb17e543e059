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
import io
import re
from collections.abc import Iterator
from datetime import date, datetime, time, timezone
from itertools import compress, count
from pathlib import Path
from typing import IO

import pyarrow as pa

from .base import EPOCH, LINE_LIMIT, EventBuilder, decode_head, to_micros

NAME = "iis-w3c"
DESCRIPTION = "IIS W3C extended logs from SharePoint Server front ends (page and file views)"
CAN: tuple[str, ...] = ("view",)
CANNOT = (
    "Tells only who opened which page or document: likes, comments and posts are API "
    "calls the log cannot tell apart, and anonymous requests have no user."
)
CONTAINER = False

PAGE_SUFFIX = ".aspx"
FILE_SUFFIXES = (".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx")
_OK_STATUS = frozenset({"200", "304"})
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
    raw = open(path, "rb")  # noqa: SIM115 - handed to the wrapper, closed with it
    bom = raw.read(2)
    raw.seek(0)
    utf16 = bom in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    return io.TextIOWrapper(
        raw,
        encoding="utf-16" if utf16 else "utf-8-sig",
        errors="replace",
        newline="\n",
    )


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


class _Clock:
    """Event times: rows of one second share their clock and a day's rows their date, so
    each is parsed once."""

    def __init__(self, tz) -> None:
        self.tz = tz
        self.days: dict[str, int] = {}
        self.times: dict[str, int] = {}

    def micros(self, day: str, clock: str, local: bool) -> int:
        """Microseconds since the epoch; ValueError if ``day`` or ``clock`` is unreadable."""
        if local:
            return to_micros(
                datetime.combine(date.fromisoformat(day), time.fromisoformat(clock)).replace(
                    tzinfo=self.tz
                )
            )
        base = self.days.get(day)
        if base is None:
            d = datetime.combine(date.fromisoformat(day), time(), timezone.utc)
            base = self.days[day] = (d - EPOCH).days * _DAY_US
        us = self.times.get(clock)
        if us is None:
            if len(self.times) > 100_000:
                self.times.clear()  # bounded: sub-second clocks never repeat
            us = self.times[clock] = _time_us(clock)
        return base + us


# Blocks of this many bytes (or characters) are read at once; lines are cut from them.
_CHUNK = 1 << 18
# Bytes on which ``str.split()`` splits but ``bytes.split()`` does not (the ASCII ones).
_STR_ONLY_SPACES = (b"\x1c", b"\x1d", b"\x1e", b"\x1f")
_GET = b"GET"
_OK_STATUS_B = frozenset(s.encode() for s in _OK_STATUS)
_PAGE_SUFFIX_B = PAGE_SUFFIX.encode()
_FILE_SUFFIXES_B = tuple(s.encode() for s in FILE_SUFFIXES)


def _stem_activity(stem: bytes) -> str | None:
    """The activity of a request for ``stem`` (GET, status OK, with a user), or None when
    the path is not an event: not a page or document, or in a ``_``-prefixed system folder."""
    low = stem.lower()
    if low.endswith(_PAGE_SUFFIX_B):
        activity = "page_view"
    elif low.endswith(_FILE_SUFFIXES_B):
        activity = "file_view"
    else:
        return None
    if stem.find(b"/_") >= 0 or stem.startswith(b"_"):
        return None
    return activity


class _Kinds(dict):
    """``_stem_activity`` of each path, computed once: paths repeat (the same scripts and
    pages all day)."""

    def __missing__(self, stem: bytes) -> str | None:
        if len(self) > 100_000:
            self.clear()  # bounded: one entry per distinct path
        activity = self[stem] = _stem_activity(stem)
        return activity


def _blocks(fh) -> Iterator[tuple[bytes | str, bool]]:
    """``(block, complete)``: runs of whole lines each ending in ``\\n`` (complete), then
    the last line if the file does not end in ``\\n``. Works on binary and text files."""
    tail: list = []
    while chunk := fh.read(_CHUNK):
        cut = chunk.rfind("\n" if isinstance(chunk, str) else b"\n") + 1
        if not cut:
            tail.append(chunk)  # a line longer than a chunk: read whole, rejected later
            continue
        if tail:
            tail.append(chunk[:cut])
            yield chunk[:0].join(tail), True
            tail = []
        else:
            yield (chunk if cut == len(chunk) else chunk[:cut]), True
        if cut < len(chunk):
            tail.append(chunk[cut:])
    if tail:
        yield tail[0][:0].join(tail), False


def _plain_lines(block: bytes) -> list[bytes] | None:
    """The lines (without ``\n``) of a block of whole lines if reading them as bytes gives
    the same result as reading them as text, else None. That needs ASCII (bytes and
    characters are one), no byte that only ``str.split`` splits on, no quoted value, no
    line over the limit, and no directive: every line starts above ``#`` (so lines that
    are blank or start with a space go to the text loop too)."""
    if (
        len(block) > LINE_LIMIT
        or not block.isascii()
        or b'"' in block
        or any(c in block for c in _STR_ONLY_SPACES)
    ):
        return None
    lines = block.split(b"\n")
    del lines[-1]
    # min() compares in C and the lines share long prefixes: far cheaper than a search
    # for "\n#" (which crawls through every line) or a test of each line in Python.
    return lines if min(lines)[:1] > b"#" else None


def _decode(values: list[bytes]) -> list[str]:
    """ASCII byte strings (without newlines) as str, decoded in one call."""
    return b"\n".join(values).decode().split("\n")


def load(path: Path, builder: EventBuilder) -> Iterator[pa.RecordBatch]:
    # Plain blocks (ASCII, no directive, quote or odd line; nearly all of a log) are read
    # as bytes and classified a column at a time: one split per block, paths classified
    # once (``_Kinds``), and only rows whose path is a page or document reach Python code.
    # Lines that are not events only bump a counter handed to the builder in bulk. Every
    # other block, and UTF-16 files, go through the text loop, which reads plain lines the
    # same way; decoding to str happens only for events and rejects.
    add = builder.add
    clock = _Clock(builder.config.tz)
    section: _Section | None = None
    width = -1  # no #Fields yet: every data row fails the width test
    im = ist = istem = iu = itime = 0
    idate: int | None = None
    iagent: int | None = None
    problem: str | None = "unreachable: width is -1 until a #Fields line"
    local = False
    header_date: str | None = None
    pending = 0
    lineno = 0
    get, ok_b = _GET, _OK_STATUS_B
    kinds = _Kinds()
    with open(path, "rb") as raw:
        bom = raw.read(3)
        fh: IO = raw
        if bom[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            raw.seek(0)
            fh = io.TextIOWrapper(raw, encoding="utf-16", errors="replace", newline="\n")
        elif bom != codecs.BOM_UTF8:
            raw.seek(0)
        try:
            for block, complete in _blocks(fh):
                plain = (
                    _plain_lines(block)
                    if complete and problem is None and isinstance(block, bytes)
                    else None
                )
                tokens = None
                if plain is not None:
                    # Every value of the block in one split, a NUL after each line's: if
                    # each line has ``width`` values, row k's are tokens[k * stride:][:width]
                    # and a column is a slice, classified without a Python loop per line.
                    lines = plain
                    stride = width + 1
                    if b"\0" not in block:
                        tokens = block.replace(b"\n", b" \0 ").split()
                        if len(tokens) != len(lines) * stride or tokens[width::stride].count(
                            b"\0"
                        ) != len(lines):
                            tokens = None  # a row of another width: the text loop rejects it
                if tokens is not None:
                    first = lineno + 1
                    lineno += len(lines)
                    done = 0
                    # The block's events, as columns for one builder.add_many.
                    times: list[int] = []
                    numbers: list[int] = []
                    stems: list[bytes] = []
                    users: list[bytes] = []
                    agents: list[bytes] = []
                    for i in compress(count(), map(kinds.__getitem__, tokens[istem::stride])):
                        parts = tokens[i * stride : i * stride + width]
                        if parts[im] != get or parts[ist] not in ok_b or parts[iu] == b"-":
                            continue
                        pending += i - done
                        done = i + 1
                        day = parts[idate].decode() if idate is not None else header_date
                        if day is None:
                            key = lines[i].rstrip(b"\r").decode()
                            builder.reject(
                                first + i, "no date field and no #Date: line before it", key
                            )
                            continue
                        value = parts[itime].decode()
                        try:
                            when = clock.micros(day, value, local)
                        except ValueError:
                            key = lines[i].rstrip(b"\r").decode()
                            builder.reject(
                                first + i, f"unreadable date/time {day!r} {value[:20]!r}", key
                            )
                            continue
                        times.append(when)
                        numbers.append(i)
                        stems.append(parts[istem])
                        users.append(parts[iu])
                        if iagent is not None:
                            agents.append(parts[iagent])
                    pending += len(lines) - done
                    if numbers:
                        # The block is ASCII: decode each column in one go, not value by value.
                        keys = b"\n".join([lines[i].rstrip(b"\r") for i in numbers])
                        ua = (
                            [None if a == "-" else a for a in _decode(agents)]
                            if iagent is not None
                            else None
                        )
                        builder.add_many(
                            time=times,
                            actor=_decode(users),
                            activity=[kinds[s] for s in stems],
                            line=[first + i for i in numbers],
                            key=keys.decode().split("\n"),
                            item=_decode(stems),
                            user_agent=None
                            if ua is None
                            else [a if a is None else a.replace("+", " ") for a in ua],
                        )
                        if builder.full:
                            builder.other(pending)
                            pending = 0
                            yield builder.flush()
                    continue
                text = block if isinstance(block, str) else block.decode("utf-8", "replace")
                lines = text.split("\n")
                if complete:
                    del lines[-1]
                    nl = 1  # each line had a "\n", which counts towards the limit
                else:
                    nl = 0
                for line in lines:
                    lineno += 1
                    if len(line) + nl > LINE_LIMIT:
                        # No real request is a megabyte long: never key or store such a line.
                        builder.reject(lineno, f"line longer than {LINE_LIMIT:,} characters")
                        continue
                    if line[:1] == "#":
                        head = line[:8].lower()
                        if head == "#fields:":
                            section = _Section(line[8:].split(), lineno)
                            width, problem, local = section.width, section.problem, section.local
                            im, ist, istem = section.method, section.status, section.stem
                            iu, itime, idate, iagent = (
                                section.user,
                                section.time,
                                section.date,
                                section.agent,
                            )
                        elif head.startswith("#date:"):
                            words = line[6:].split()
                            header_date = words[0] if words else None
                        continue
                    parts = _split_quoted(line) if '"' in line else line.split()
                    if len(parts) != width:
                        if not parts:
                            continue  # blank line
                        raw_line = line.rstrip("\r\n")
                        if section is None:
                            builder.reject(lineno, "data row before any #Fields line", raw_line)
                        else:
                            builder.reject(
                                lineno, f"{len(parts)} values for {width} #Fields", raw_line
                            )
                        continue
                    if problem is not None:
                        builder.reject(lineno, problem, line.rstrip("\r\n"))
                        continue
                    if parts[im] != "GET" or parts[ist] not in _OK_STATUS:
                        pending += 1
                        continue
                    stem = parts[istem]
                    low = stem.lower()
                    if low.endswith(PAGE_SUFFIX):
                        activity = "page_view"
                    elif low.endswith(FILE_SUFFIXES):
                        activity = "file_view"
                    else:
                        pending += 1
                        continue
                    user = parts[iu]
                    if user == "-" or "/_" in stem or stem.startswith("_"):
                        pending += 1
                        continue
                    day = parts[idate] if idate is not None else header_date
                    key = line.rstrip("\r\n")
                    if day is None:
                        builder.reject(lineno, "no date field and no #Date: line before it", key)
                        continue
                    try:
                        when = clock.micros(day, parts[itime], local)
                    except ValueError:
                        builder.reject(
                            lineno, f"unreadable date/time {day!r} {parts[itime][:20]!r}", key
                        )
                        continue
                    agent = parts[iagent] if iagent is not None else "-"
                    add(
                        time=when,
                        actor=user,
                        activity=activity,
                        line=lineno,
                        key=key,
                        item=stem,
                        user_agent=None if agent == "-" else agent.replace("+", " "),
                    )
                    if builder.full:
                        builder.other(pending)
                        pending = 0
                        yield builder.flush()
        finally:
            builder.other(pending)
