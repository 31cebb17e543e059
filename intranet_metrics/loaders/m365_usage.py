"""m365-usage: Microsoft 365 usage reports, "activity user detail" CSV (admin center or Graph).

Three reports carry intranet activity (column names as Microsoft Graph documents them):

- Viva Engage (Yammer) activity user detail, ``getYammerActivityUserDetail``:
  ``Read Count`` -> message_read, ``Liked Count`` -> like, ``Posted Count`` -> post;
- SharePoint activity user detail, ``getSharePointActivityUserDetail``:
  ``Visited Page Count`` -> page_view, ``Viewed Or Edited File Count`` -> file_view;
- Teams user activity user detail, ``getTeamsUserActivityUserDetail``:
  ``Reply Messages`` -> reply, ``Post Messages`` -> post (chats, calls and meetings are
  not intranet activity).

Each row holds one user's totals over ``Report Period`` days ending at ``Report Refresh
Date``; every count above zero becomes one stored aggregate with ``count``, ``window_start``
= refresh - period + 1, ``window_end`` = refresh and ``time`` = window_start at 00:00 UTC.

Accounting counts records, not rows: a row with three non-zero counts adds three records;
a row whose counts are all zero or empty adds one ``other`` record (not stored), so
rows = events + excluded + other + rejected holds whatever the report holds.
Deleted users (``Is Deleted`` True, Engage ``User State`` Deleted) keep their rows: the
activity happened, and the roster decides whether they belong to a population.
A ``User Principal Name`` of 32 hex characters is a name concealed by the tenant's privacy
setting: it is kept as the actor, countable but never joinable to a roster.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa

from ..errors import InputError
from ..identity import normalise_actor
from .base import EventBuilder, csv_records, decode_head, open_text, require_columns
from .textfile import sniff_delimiter

NAME = "m365-usage"
DESCRIPTION = "Microsoft 365 usage reports: Engage, SharePoint, Teams activity user detail CSV"
CAN: tuple[str, ...] = ("view", "react", "contribute")
CANNOT = (
    "Only per-user totals over the report period: no single events, no items, and a window "
    "that must lie inside the measurement window to count."
)
CONTAINER = False
PRIORITY = 30  # detection order (loaders/__init__.py)

# Longer records are rejected (this reader's limit, not the csv module's global one).
FIELD_LIMIT = 1 << 20

REFRESH, PERIOD, UPN = "Report Refresh Date", "Report Period", "User Principal Name"
# Report kind -> (column that identifies it, activity per count column).
REPORTS: dict[str, tuple[str, dict[str, str]]] = {
    "engage": (
        "Liked Count",
        {"Read Count": "message_read", "Liked Count": "like", "Posted Count": "post"},
    ),
    # OneDrive's report also has "Viewed Or Edited File Count" but no "Visited Page Count".
    "sharepoint": (
        "Visited Page Count",
        {"Visited Page Count": "page_view", "Viewed Or Edited File Count": "file_view"},
    ),
    "teams": ("Reply Messages", {"Reply Messages": "reply", "Post Messages": "post"}),
}
_MIDNIGHT = datetime.min.time()


def sniff(path: Path, head: bytes) -> bool:
    text = decode_head(head).lstrip()
    return text.lstrip('"').startswith(REFRESH)


def report_kind(header: list[str]) -> str | None:
    """Which activity user detail report a header belongs to, if any."""
    for kind, (marker, counts) in REPORTS.items():
        if marker in header and all(c in header for c in counts):
            return kind
    return None


def load(path: Path, builder: EventBuilder) -> Iterator[pa.RecordBatch]:
    with open_text(path, newline="", builder=builder) as fh:
        first = fh.readline(FIELD_LIMIT)
        fh.seek(0)
        delimiter = sniff_delimiter(first, builder.config.delimiter)
        records = csv_records(fh, builder, FIELD_LIMIT, delimiter)
        head = next(records, None)
        if head is None:
            raise InputError(f"{path}: the file is empty or its header cannot be read")
        header = [h.strip() for h in head[1]]
        kind = report_kind(header)
        if kind is None:
            raise InputError(
                f"{path} line 1: a usage report without intranet activity columns; use the "
                "Viva Engage, SharePoint or Teams user activity 'user detail' report"
            )
        require_columns(str(path), header, (REFRESH, PERIOD, UPN))
        counts = [(header.index(c), c, a) for c, a in REPORTS[kind][1].items()]
        i_refresh, i_period, i_upn = (header.index(c) for c in (REFRESH, PERIOD, UPN))
        width = len(header)
        for line, row in records:
            if len(row) != width:
                builder.reject(line, f"{len(row)} values for {width} columns", ",".join(row))
                continue
            _row(builder, kind, line, row, row[i_refresh], row[i_period], row[i_upn], counts)
            if builder.full:
                yield builder.flush()


def _row(
    builder: EventBuilder,
    kind: str,
    line: int,
    row: list[str],
    refresh_text: str,
    period_text: str,
    upn: str,
    counts: list[tuple[int, str, str]],
) -> None:
    raw = ",".join(row)
    refresh = parse_date(refresh_text)
    if refresh is None:
        builder.reject(line, f"{REFRESH} is not a date", raw)
        return
    try:
        period = int(period_text.strip())
    except ValueError:
        period = 0
    if period < 1:
        builder.reject(line, f"{PERIOD} is not a number of days", raw)
        return
    if not upn.strip():
        builder.reject(line, f"empty {UPN}", raw)
        return
    values: list[tuple[str, str, int]] = []
    for i, column, activity in counts:
        text = row[i].strip()
        if not text:
            continue  # an empty count is no activity, not an error
        try:
            n = int(float(text)) if "." in text else int(text)
        except ValueError:
            builder.reject(line, f"{column} is not a count", raw)
            return
        if n < 0:
            builder.reject(line, f"{column} is negative", raw)
            return
        if n:
            values.append((column, activity, n))
    if not values:
        builder.other()
        return
    start = refresh - timedelta(days=period - 1)
    when = datetime.combine(start, _MIDNIGHT, tzinfo=timezone.utc)
    actor = normalise_actor(upn)
    for _column, activity, n in values:
        builder.add(
            time=when,
            actor=upn,
            activity=activity,
            line=line,
            key=f"{kind}\x1f{actor}\x1f{refresh.isoformat()}\x1f{period}\x1f{activity}",
            count=n,
            window_start=start,
            window_end=refresh,
        )


def parse_date(text: str) -> date | None:
    """A report date: ISO ``YYYY-MM-DD`` (Graph and the admin center), time part ignored."""
    s = text.strip()[:10]
    try:
        return date.fromisoformat(s)
    except ValueError:
        return None
