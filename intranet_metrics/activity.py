"""The derived activity table (issue 12 item 1): what a measurement needs of the raw events.

A measurement only asks, per period, which actor did which activity and how often. So
beside every committed event file the store keeps one small derived file with the
distinct (local day, actor, activity) of its counted single events and their number, and
the same summed over each local month (``whole_month`` true, ``day`` the month's first day)::

    <store>/activity/month=YYYY-MM/part-<commit>-<n>.parquet   (day, actor, activity, events,
                                                                whole_month)

The month rows are what makes it small: a person reads a few pages a day, so the distinct
(day, actor, activity) are nearly as many as the events, while a month holds each (actor,
activity) once. A period is cut into its whole local months (month rows) and the days at
its edges (day rows); the two kinds of rows are written as separate row groups, so a
measurement of whole months never reads the day rows.

Design choices, and why:

* **One derived file per event file (1:1), listed inside that file's manifest entry.** An
  event file is never changed after it is committed (forget and compact write new files),
  so its derived file is written once, in the same commit, and goes when it goes: forget,
  compact and repair need no bookkeeping of their own, and a crash between writing the two
  leaves neither listed (the manifest replace is the commit). Per-month files would be
  fewer, but every ingest would then rewrite the month's file.
* **Keyed on the local day in a time zone recorded with the file.** Periods are whole
  local days (engine.Period.utc_bounds); a UTC day is not one. The day of an event is the
  last day whose local midnight, computed exactly as Period.utc_bounds does (zoneinfo,
  fold 0), is at or before it: so "day in [start, end]" holds exactly when the event lies
  in the period's UTC bounds, DST days and midnight transitions included. A file made in
  another time zone than the measurement's is read raw instead (``compact`` with the
  config's zone rebuilds it).
* **Keyed on the activity, not its class.** The class comes from ``config.activities`` at
  measurement time, so a changed mapping stays exact with no fingerprint. Excluded rows
  depend on ingest only and are left out here.
* **Single events only.** Usage-report aggregates (``window_start`` set) count by their
  report window, not their time: the engine reads them from the raw file (the entry says
  how many a file holds, so files without any are never opened).

Beside it, a messages file (see VIEWS below) with the rows the science figures read one by
one, so that they need not scan the raw events; listed in the same entry.

A store written before this module has no derived files: the engine reads those files raw
(never a wrong number) until ``compact`` or ``Store.rebuild_activity`` builds them.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import arrowutil as au

# Bump when the derived file's meaning changes: entries of another version are read raw.
# 2: the rows carry ``days``, the local days of the month active as bits.
VERSION = 2
FOLDER = "activity"
SCHEMA = pa.schema(
    [
        pa.field("day", pa.date32(), nullable=False),
        pa.field("actor", pa.string(), nullable=False),
        pa.field("activity", pa.string(), nullable=False),
        pa.field("events", pa.int64(), nullable=False),
        # Day d of the local month is bit d - 1: a day row's own day, a month row's days
        # active (the OR of its day rows), so that the lifecycle's distinct active days
        # per span come from the month rows (engine.lifecycle_inputs).
        pa.field("days", pa.int64(), nullable=False),
        pa.field("whole_month", pa.bool_(), nullable=False),
    ]
)
# The messages file beside each derived file: the counted single events a measurement's
# thread and contribution figures read one by one (engine._science_events), so that they
# need not scan the raw events. That is every counted single event except the plain views
# (these activities with neither parent nor thread): SPEC section 1's view activities. Which
# activities count, and as what, is the config's; a config that makes one of these a
# contribution reads the raw events instead (the entry lists them as ``omits``).
VIEWS = ("file_view", "message_read", "page_view")
MESSAGE_COLUMNS = [
    "time",
    "actor",
    "activity",
    "item",
    "parent",
    "thread",
    "channel",
    "source_format",
    "count",
]
MESSAGES_SUFFIX = ".messages.parquet"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DAY_US = 86_400_000_000


def local_midnights(tz: ZoneInfo, first: date, last: date) -> pa.Table:
    """(lo, day) for each day from ``first`` to ``last``: the UTC instant its local day
    starts, as Period.utc_bounds computes it. Where two days start at the same instant only
    the later is kept, so "the last day starting at or before t" is unique."""
    los: list[datetime] = []
    days: list[date] = []
    d = first
    while d <= last:
        lo = datetime.combine(d, time(0), tz).astimezone(timezone.utc)
        if los and lo <= los[-1]:
            los.pop()
            days.pop()
        los.append(lo)
        days.append(d)
        d += timedelta(days=1)
    # Built with arrowutil, not pa.array: commits run this, and pa.array imports pandas.
    micros = [(lo - _EPOCH) // timedelta(microseconds=1) for lo in los]
    ordinals = [(d - _EPOCH.date()).days for d in days]
    return pa.table(
        {"lo": au.fixed(micros, pa.timestamp("us", "UTC")), "day": au.fixed(ordinals, pa.date32())}
    )


def pieces(periods: Any) -> pa.Table:
    """Each period cut into the whole local months it covers (``month`` true: read the
    month rows whose first day lies in [lo, hi]) and the days at its edges (day rows with a
    day in [lo, hi]): together exactly its days, each once."""
    out: dict[str, list] = {"period": [], "month": [], "lo": [], "hi": []}

    def add(label: str, whole: bool, lo: date, hi: date) -> None:
        for k, v in zip(out, (label, whole, lo, hi), strict=True):
            out[k].append(v)

    for p in periods:
        first = p.start if p.start.day == 1 else _next_month(p.start)
        last = _next_month(p.end) - timedelta(days=1)
        last = p.end if last == p.end else p.end.replace(day=1) - timedelta(days=1)
        if first > last:  # no whole month inside
            add(p.label, False, p.start, p.end)
            continue
        add(p.label, True, first, last.replace(day=1))
        if p.start < first:
            add(p.label, False, p.start, first - timedelta(days=1))
        if last < p.end:
            add(p.label, False, last + timedelta(days=1), p.end)
    return pa.table(
        {
            "period": pa.array(out["period"], pa.string()),
            "month": pa.array(out["month"], pa.bool_()),
            "lo": pa.array(out["lo"], pa.date32()),
            "hi": pa.array(out["hi"], pa.date32()),
        }
    )


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def path_for(event_path: str) -> str:
    """The derived file's path beside ``events/month=.../name.parquet`` (store-relative)."""
    parts = event_path.split("/")
    return "/".join([FOLDER, *parts[1:]]) if parts[0] == "events" else f"{FOLDER}/{event_path}"


def build(event_file: Path, out: Path, tz_name: str, messages: Path) -> dict[str, Any]:
    """Write the derived file of one event file to ``out`` and its messages to
    ``messages``; returns its entry (without the paths): rows, bytes, tz, aggregates,
    version, and ``messages`` (rows, bytes, omits).

    Grouped with NumPy on integer codes (local day index, actor and activity dictionary
    codes packed into one int64), not with a DuckDB query: it runs at every commit, and an
    ASOF join plus a string GROUP BY cost 0.6 CPU-s per million events, a third of a
    generic ingest, against about 0.15 s this way."""
    # ParquetFile.read, not pq.read_table: the dataset API behind it imports pandas.
    source = pq.ParquetFile(event_file)
    columns = ["time", "actor", "activity", "excluded", "window_start", "parent", "thread"]
    t = source.read(columns=columns)
    aggregates = t.num_rows - t["window_start"].null_count
    counted = pc.and_(pc.is_null(t["excluded"]), pc.is_null(t["window_start"]))
    kept = _messages(source, t, counted, messages)
    if not pc.all(counted).as_py():
        t = t.filter(counted)
    days, months = _grouped(t, ZoneInfo(tz_name))
    with pq.ParquetWriter(out, SCHEMA) as writer:  # month rows first, in their own row groups
        for table, whole in ((months, True), (days, False)):
            flag = au.flags(np.full(table.num_rows, whole))
            writer.write_table(table.append_column("whole_month", flag).cast(SCHEMA))
    return {
        "rows": months.num_rows + days.num_rows,
        "bytes": out.stat().st_size,
        "tz": tz_name,
        "aggregates": int(aggregates),
        "version": VERSION,
        "messages": {"rows": kept, "bytes": messages.stat().st_size, "omits": list(VIEWS)},
    }


def _messages(source: pq.ParquetFile, t: pa.Table, counted: pa.Array, out: Path) -> int:
    """Write the messages of an event file (see MESSAGE_COLUMNS) to ``out``; returns how
    many rows it holds. The columns only they need are read for their rows alone."""
    plain_view = pc.and_(
        pc.is_in(t["activity"], value_set=au.texts(VIEWS)),
        pc.and_(pc.is_null(t["parent"]), pc.is_null(t["thread"])),
    )
    keep = pc.and_(counted, pc.invert(plain_view))
    rest = [c for c in MESSAGE_COLUMNS if c not in t.column_names]
    rows = t.select([c for c in MESSAGE_COLUMNS if c in t.column_names]).filter(keep)
    more = source.read(columns=rest).filter(keep) if rows.num_rows else None
    for name in rest:
        kind = source.schema_arrow.field(name).type
        col = more.column(name) if more is not None else pa.chunked_array([], kind)
        rows = rows.append_column(name, col)
    rows = rows.select(MESSAGE_COLUMNS)
    pq.write_table(rows, out, compression="zstd")
    return rows.num_rows


def _grouped(t: pa.Table, tz: ZoneInfo) -> tuple[pa.Table, pa.Table]:
    """(day rows, month rows) of counted single events: distinct (local day or the local
    month's first day, actor, activity) with their number of events."""
    if t.num_rows == 0:
        empty = au.empty(SCHEMA).drop_columns(["whole_month"])
        return empty, empty
    micros = au.numbers(t["time"].cast(pa.int64()))
    # A day either side: a local day starting before the first event holds it.
    first = (_EPOCH + timedelta(microseconds=int(micros.min()) - 2 * _DAY_US)).date()
    last = (_EPOCH + timedelta(microseconds=int(micros.max()) + 2 * _DAY_US)).date()
    bounds = local_midnights(tz, first, last)
    starts = au.numbers(bounds["lo"].cast(pa.int64()))
    day = np.searchsorted(starts, micros, side="right") - 1  # last midnight at or before
    actor = pc.dictionary_encode(t["actor"].combine_chunks())
    act = pc.dictionary_encode(t["activity"].combine_chunks())
    codes = (au.numbers(actor.indices).astype(np.int64), au.numbers(act.indices).astype(np.int64))
    na, nv = len(actor.dictionary), len(act.dictionary)
    key, events = np.unique((day * na + codes[0]) * nv + codes[1], return_counts=True)
    day_of, rest = np.divmod(key, na * nv)
    days_col = bounds["day"]
    first_of = pc.floor_temporal(days_col, unit="month").cast(pa.date32())
    bit_of = np.left_shift(1, au.numbers(pc.day(days_col)).astype(np.int64) - 1)
    # The month rows: the day rows summed over each local month (first day as its index).
    month_idx = np.unique(au.numbers(first_of), return_inverse=True)[1]
    mkey, inverse = np.unique(month_idx[day_of] * (na * nv) + rest, return_inverse=True)
    month_events = np.bincount(inverse, weights=events).astype(np.int64)
    month_first = first_of.take(au.fixed(_first_index(month_idx)))
    bits = bit_of[day_of]
    order = np.argsort(inverse, kind="stable")
    month_days = np.bitwise_or.reduceat(bits[order], _first_index(inverse[order]))

    def table(when: pa.Array, packed: np.ndarray, n: np.ndarray, d: np.ndarray) -> pa.Table:
        a, v = np.divmod(packed, nv)
        return pa.table(
            {
                "day": when,
                "actor": actor.dictionary.take(au.fixed(a)),
                "activity": act.dictionary.take(au.fixed(v)),
                "events": au.fixed(n),
                "days": au.fixed(d),
            }
        )

    m_of, m_rest = np.divmod(mkey, na * nv)
    return (
        table(days_col.take(au.fixed(day_of)), rest, events, bits),
        table(month_first.take(au.fixed(m_of)), m_rest, month_events, month_days),
    )


def _first_index(groups: np.ndarray) -> np.ndarray:
    """For each group number 0..k-1 of a sorted-by-group array, its first position."""
    return np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])


def entry_of(file_entry: dict[str, Any]) -> dict[str, Any] | None:
    """The derived file's entry of a manifest file entry when it is well formed and of this
    version; None otherwise (the file is then read raw)."""
    from .store import _safe_relative  # the store's own rule for paths in its manifest

    act = file_entry.get("activity")
    if not isinstance(act, dict) or act.get("version") != VERSION:
        return None
    fields = {"path": str, "rows": int, "bytes": int, "tz": str, "aggregates": int}
    if not _typed(act, fields) or not _safe_relative(act["path"]):
        return None
    if "messages" not in act:  # written before the messages files: read raw for them
        return act
    msg = act["messages"]
    fields = {"path": str, "rows": int, "bytes": int, "omits": list}
    if not isinstance(msg, dict) or not _typed(msg, fields) or not _safe_relative(msg["path"]):
        return None
    return act if all(isinstance(a, str) for a in msg["omits"]) else None


def _typed(entry: dict[str, Any], fields: dict[str, type]) -> bool:
    return all(
        isinstance(entry.get(name), typ) and not isinstance(entry.get(name), bool)
        for name, typ in fields.items()
    )


def paths_of(act: dict[str, Any]) -> list[str]:
    """The store-relative paths of a derived entry's files (from :func:`entry_of`)."""
    return [act["path"], *([act["messages"]["path"]] if "messages" in act else [])]


def problem(root: Path, act: dict[str, Any]) -> str | None:
    """Why a derived entry's files cannot be read as written (cheap: their sizes), or None."""
    from .store import _file_problem

    return _file_problem(root / act["path"], act) or (
        _file_problem(root / act["messages"]["path"], act["messages"])
        if "messages" in act
        else None
    )
