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


def load(path: Path, builder: EventBuilder) -> Iterator[pa.RecordBatch]:
    # The hot loop: every name it touches is a local, the cheapest tests come first, and
    # lines that are not events only bump a counter handed to the builder in bulk.
    add = builder.add
    tz = builder.config.tz
    # Rows of one second share their clock and a day's rows their date: parse each once.
    day_cache: dict[str, int] = {}
    time_cache: dict[str, int] = {}
    section: _Section | None = None
    width = -1  # no #Fields yet: every data row fails the width test
    im = ist = istem = iu = itime = 0
    idate: int | None = None
    iagent: int | None = None
    problem: str | None = "unreachable: width is -1 until a #Fields line"
    local = False
    header_date: str | None = None
    pending = 0
    with open_log(path) as fh:
        try:
            for lineno, line in enumerate(fh, start=1):
                if len(line) > LINE_LIMIT:
                    # No real request is a megabyte long: never key or store such a line.
                    builder.reject(lineno, f"line longer than {LINE_LIMIT:,} characters")
                    continue
                if line[0] == "#":
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
                    raw = line.rstrip("\r\n")
                    if section is None:
                        builder.reject(lineno, "data row before any #Fields line", raw)
                    else:
                        builder.reject(lineno, f"{len(parts)} values for {width} #Fields", raw)
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
                # An event: from here on cost matters less (page and file views are few).
                day = parts[idate] if idate is not None else header_date
                key = line.rstrip("\r\n")
                if day is None:
                    builder.reject(lineno, "no date field and no #Date: line before it", key)
                    continue
                try:
                    if local:
                        when: int = to_micros(
                            datetime.combine(
                                date.fromisoformat(day), time.fromisoformat(parts[itime])
                            ).replace(tzinfo=tz)
                        )
                    else:
                        base = day_cache.get(day)
                        if base is None:
                            d = datetime.combine(date.fromisoformat(day), time(), timezone.utc)
                            base = day_cache[day] = (d - EPOCH).days * _DAY_US
                        clock = parts[itime]
                        us = time_cache.get(clock)
                        if us is None:
                            if len(time_cache) > 100_000:
                                time_cache.clear()  # bounded: sub-second clocks never repeat
                            us = time_cache[clock] = _time_us(clock)
                        when = base + us
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
