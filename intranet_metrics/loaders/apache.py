"""apache-combined: Apache/Nginx common and combined access logs (SPEC section 6).

``%h %l %u %t "%r" %>s %b`` optionally followed by ``"%{Referer}i" "%{User-agent}i"``
(combined) and by further fields (ignored); a leading ``%v:%p`` (Apache's
``vhost_combined``) is accepted too. Only authenticated ``GET`` page requests are events;
static files, ``/api/`` calls and anonymous requests are only counted.

Choices the SPEC leaves open:
- ``item`` is the request path without its query string (query strings hold session
  tokens and cache busters, not page identity).
- A user agent whose closing quote is missing (truncated line) is still read.
- Confluence's own access log (``[time] user thread ...``) is a different format and is
  not recognised here.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from .base import EPOCH, LINE_LIMIT, EventBuilder, bounded_lines, decode_head
from .iis import open_log
from .rules import LINE, PathRule, Reject, WebBatch, WebRules, apply_web

NAME = "apache-combined"
DESCRIPTION = "Apache/Nginx common and combined access logs (page views)"
CAN: tuple[str, ...] = ("view",)
CANNOT = (
    "Tells only who requested which page: reactions and posts are API calls the log "
    "cannot tell apart, and requests without HTTP authentication have no user."
)
CONTAINER = False
PRIORITY = 60  # detection order (loaders/__init__.py)

STATIC_SUFFIXES = (
    ".css",
    ".js",
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".svg",
    ".ico",
    ".woff",
    ".woff2",
    ".map",
)
# Every authenticated GET with an OK status is a page view except static files and API calls.
RULES = WebRules(
    paths=(
        PathRule(None, "(?:" + "|".join(re.escape(x) for x in STATIC_SUFFIXES) + ")$"),
        PathRule(None, r"^/api(?:/|$)"),
    ),
    default="page_view",
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
# The request is matched lazily up to the first `" <status> <size>`, so quotes that a
# server logged unescaped inside it (attack probes do this) do not break the line. A
# fourth token before `[` is the user of a `%v:%p`-prefixed line; it cannot start with `[`,
# so ordinary lines never backtrack into it.
_LINE = re.compile(
    r"\S+ \S+ (?P<u3>\S+) (?:(?P<u4>[^\s\[]\S*) )?\[(?P<time>[^\]]*)\] "
    r'"(?P<request>.*?)" (?P<status>\d{3}) (?:\d+|-)'
)
# Referer and user agent, read only for events (most lines are not). Unrolled loops keep
# the regex engine out of per-character alternation; the closing quote may be cut off.
_AGENT = re.compile(r' "[^"\\]*(?:\\.[^"\\]*)*" "(?P<agent>[^"\\]*(?:\\.[^"\\]*)*)"?')
_DAY_US = 86_400_000_000


def sniff(path: Path, head: bytes) -> bool:
    lines = [ln for ln in decode_head(head).splitlines()[:10] if ln.strip()]
    # The last line of the head may be cut off mid-way: judge by the complete ones.
    complete = lines[:-1] if len(lines) > 1 and len(head) >= 64 * 1024 else lines
    return bool(complete) and any(_LINE.match(ln) for ln in complete)


def parse_time(value: str, cache: dict[str, int]) -> int:
    """Microseconds since the epoch, UTC, of ``10/Oct/2000:13:55:36 -0700``.

    ValueError if it is not one. ``cache`` maps the date part to its day's microseconds.
    """
    if len(value) != 26 or value[11] != ":" or value[20] != " ":
        raise ValueError(value)
    day = value[:11]
    base = cache.get(day)
    if base is None:
        d = datetime(int(value[7:11]), _MONTHS[value[3:6]], int(value[0:2]), tzinfo=timezone.utc)
        base = cache[day] = (d - EPOCH).days * _DAY_US
    h, m, s = int(value[12:14]), int(value[15:17]), int(value[18:20])
    if h > 23 or m > 59 or s > 60:
        raise ValueError(value)
    sign = value[21]
    if sign not in "+-":
        raise ValueError(value)
    offset = int(value[22:24]) * 60 + int(value[24:26])
    seconds = h * 3600 + m * 60 + s - (offset * 60 if sign == "+" else -offset * 60)
    return base + seconds * 1_000_000


# One line's fields as the web-log rules read them: method, status, user, page, the
# bracketed time and the user agent (None when the line has none).
WebFields = tuple[str, str, str, str, str, "str | None"]
# The raw fields of a batch, in ``WebFields`` order.
_NAMES = ("method", "status", "user", "path", "stamp", "agent")
# Lines read into one batch of raw fields.
_BATCH_LINES = 16_384
_BAD_STAMP = "timestamp is not [dd/Mon/yyyy:HH:MM:SS +zzzz]"


def load(path: Path, builder: EventBuilder) -> Iterator[pa.RecordBatch]:
    return read_access_log(path, builder, RULES, _fields, "a common or combined log line")


def _fields(line: str) -> WebFields | None:
    m = _LINE.match(line)
    if m is None:
        return None
    u3, u4, request, status = m.group("u3", "u4", "request", "status")
    method, _, rest = request.partition(" ")
    page = rest.split(" ", 1)[0].split("?", 1)[0].split("#", 1)[0]
    a = _AGENT.match(line, m.end())
    agent = a.group("agent") if a else None
    return method, status, u3 if u4 is None else u4, page, m.group("time"), agent


def read_access_log(
    path: Path,
    builder: EventBuilder,
    rules: WebRules,
    fields: Callable[[str], WebFields | None],
    what: str,
) -> Iterator[pa.RecordBatch]:
    """Every access log with bracketed times (Apache, Nginx, Confluence): a format gives
    its rule table and how to cut a line into ``WebFields``; batches of lines become
    raw fields for ``rules.apply_web``. The key is the line as written."""
    memo = rules.memo()
    with open_log(path) as fh:
        lines = bounded_lines(fh, LINE_LIMIT)
        while batch := _batch(lines, fields, what):
            yield from apply_web(rules, memo, batch, builder)


def _batch(
    lines: Iterator[tuple[int, str | None]], fields: Callable[[str], WebFields | None], what: str
) -> WebBatch | None:
    """The next ``_BATCH_LINES`` lines as raw fields (None at the end of the file)."""
    rows: list[WebFields] = []
    numbers: list[int] = []
    keys: list[str] = []
    rejects: list[Reject] = []
    for lineno, line in itertools.islice(lines, _BATCH_LINES):
        if line is None:  # never held whole: memory stays bounded
            rejects.append((lineno, f"line longer than {LINE_LIMIT:,} characters", None))
            continue
        f = fields(line)
        if f is None:
            if line.strip():
                rejects.append((lineno, f"not {what}", line.rstrip("\r\n")))
            continue
        rows.append(f)
        numbers.append(lineno)
        keys.append(line.rstrip("\r\n"))
    if not (rows or rejects):
        return None
    # Columns of the rows' fields (an agent may be None: null).
    columns = [pa.array([r[i] for r in rows], pa.string()) for i in range(len(_NAMES))]
    table = pa.RecordBatch.from_arrays(
        [*columns, pa.array(numbers, pa.int64())], names=[*_NAMES, LINE]
    )
    return WebBatch(table, _times, lambda at: [keys[i] for i in at.tolist()], rejects)


def _times(events: pa.RecordBatch) -> tuple[pa.Array, str]:
    """``parse_time`` of each event's stamp (null: unreadable), each distinct one once."""
    coded = pc.dictionary_encode(events.column("stamp"))
    cache: dict[str, int] = {}
    found = [_time_or_none(v, cache) for v in coded.dictionary.to_pylist()]
    return pa.array(found, pa.int64()).take(coded.indices), _BAD_STAMP


def _time_or_none(value: str, cache: dict[str, int]) -> int | None:
    try:
        return parse_time(value, cache)
    except (ValueError, KeyError):
        return None
