"""confluence-access: Confluence Server / Data Center access log (SPEC section 6).

``[dd/Mon/yyyy:HH:MM:SS +zzzz] user thread remote-addr METHOD URL PROTO status XXXms
bytes referer user-agent``; from Confluence 7.11 on, the client address comes first
(``[time] client user thread ...``). Both layouts occur, even in one folder: each line
is read by the one pattern that allows the extra field.

Choices the SPEC leaves open:
- ``item`` is the path without its query string, except ``pageId`` of
  ``viewpage.action`` (the page's identity lives there).
- The ``XXXms`` and bytes fields are not checked beyond being present.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from .apache import WebFields, read_access_log
from .base import EventBuilder, decode_head
from .rules import PathRule, WebRules

NAME = "confluence-access"
DESCRIPTION = "Confluence Server / Data Center access log (page views, comments, likes, new pages)"
CAN: tuple[str, ...] = ("view", "react", "contribute")
CANNOT = (
    "Tells only what the request names: edits, mentions and reactions other than likes "
    "are REST calls it cannot tell apart, and anonymous requests have no user."
)
CONTAINER = False
# Before apache-combined: a Confluence line is no Apache line, but say so by order too.
PRIORITY = 55

_POST = frozenset({"POST"})
# A form POST that worked answers with a redirect to the page (302/303); a REST one 200-204.
_POSTED = frozenset({"200", "201", "204", "302", "303"})
# SPEC "confluence-access": pages, attachments, new pages, comments, likes; anything else
# (static files, /rest/ polling) is counted as other.
RULES = WebRules(
    paths=(
        PathRule("page_view", r"^/(?:display/|pages/viewpage\.action|spaces/[^/]+/pages/|x/[^/]+)"),
        PathRule("file_view", r"^/download/attachments/"),
        PathRule(
            "page_create",
            r"^/pages/(?:docreatepage|createpage)\.action",
            _POST,
            _POSTED,
        ),
        # Classic Confluence posts comments to /pages/doaddcomment.action: "...addcomment.action".
        PathRule("comment", r"addcomment\.action", _POST, _POSTED),
        PathRule("like", r"^/rest/likes/", _POST, _POSTED),
    ),
    anonymous=frozenset({"-", "anonymous"}),
)
_METHODS = "GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH|TRACE|CONNECT"
# The optional client field is tried first; a pre-7.11 line fails it at the method and
# is read without it.
_LINE = re.compile(
    r"\[(?P<time>[^\]]*)\] (?:\S+ )?(?P<user>\S+) \S+ \S+ "
    rf"(?P<method>{_METHODS}) (?P<url>\S+) \S+ (?P<status>\d{{3}}) \S+ \S+"
    r"(?: \S+(?: (?P<agent>.*))?)?$"
)
_PAGE_ID = re.compile(r"(?:^|&)pageId=(\d+)")


def sniff(path: Path, head: bytes) -> bool:
    lines = [ln for ln in decode_head(head).splitlines()[:10] if ln.strip()]
    # The last line of the head may be cut off mid-way: judge by the complete ones.
    complete = lines[:-1] if len(lines) > 1 and len(head) >= 64 * 1024 else lines
    return bool(complete) and all(_LINE.match(ln.rstrip("\r")) for ln in complete[:3])


def item_of(url: str) -> str:
    """The page a URL names: its path, plus ``?pageId=N`` for ``viewpage.action``."""
    path, _, query = url.partition("?")
    path = path.split("#", 1)[0]
    if query and path.lower().endswith("/viewpage.action"):
        found = _PAGE_ID.search(query)
        if found:
            return f"{path}?pageId={found.group(1)}"
    return path


def load(path: Path, builder: EventBuilder) -> Iterator[pa.RecordBatch]:
    return read_access_log(path, builder, RULES, _fields, "a Confluence access log line")


def _fields(line: str) -> WebFields | None:
    m = _LINE.match(line.rstrip("\r\n"))
    if m is None:
        return None
    page = item_of(m.group("url"))
    return m.group("method"), m.group("status"), m["user"], page, m["time"], m["agent"]
