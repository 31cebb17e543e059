"""The store's own commands drawn for people: ingest, rejects, sources, repair,
identities and formats. Each takes the JSON document the command's ``--format json``
prints (so the table and the JSON cannot disagree) and returns lines or rich tables."""

from __future__ import annotations

import csv
import io
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .common import printable
from .csv import safe_cell

# Past this many sources the ingest summary lists only the files that need a look.
SUMMARY_ROWS = 50
_COUNTS = ("rows", "events", "excluded", "other", "rejected", "new_events")
_INGEST_COLUMNS = ("File", "Format", "Rows", "Events", "Excluded", "Other", "Rejected", "New")


def _text(value: Any) -> Text:
    """A table cell shown exactly as written: rich markup and control characters escaped."""
    return Text(printable("" if value is None else value))


def _needs_a_look(s: dict[str, Any]) -> bool:
    return s["status"] in ("failed", "skipped") or bool(s["rejected"] or s["settings_changed"])


def _ingest_totals(t: Table, sources: list[dict[str, Any]]) -> None:
    """Totals per format and status (a summary of many sources)."""
    groups: dict[tuple[str, str], list[int]] = {}
    for s in sources:
        tot = groups.setdefault((s["format"] or "-", s["status"]), [0] * (len(_COUNTS) + 1))
        tot[0] += 1
        for i, k in enumerate(_COUNTS, start=1):
            tot[i] += s[k]
    for (fmt, status), tot in sorted(groups.items()):
        t.add_row(f"{tot[0]:,} files", _text(fmt), *(f"{v:,}" for v in tot[1:]), _text(status))
    t.add_section()


def _ingest_notes(sources: list[dict[str, Any]], many: bool) -> list[Text]:
    notes = []
    for s in sources:
        if s["status"] == "ingested" and s["message"]:  # e.g. an assumed encoding
            notes.append(_text(f"  {s['path']}: {s['message']}"))
        if s["excluded_by_reason"] and not many:
            reasons = ", ".join(f"{k} {v:,}" for k, v in s["excluded_by_reason"].items())
            notes.append(_text(f"  {s['path']}: excluded {reasons}"))
        if s["rejected"]:
            notes.append(
                _text(f"  {s['path']}: {s['rejected']:,} row(s) rejected; see 'intranet-metrics "
                      "rejects'")
            )  # fmt: skip
        if s["settings_changed"] and s["status"] == "ingested":
            notes.append(_text(f"  {s['path']}: {s['message']}"))
    return notes


def ingest_table(result: dict[str, Any]) -> RenderableType:
    """The ingest summary: one row per source (or totals and the sources to look at)."""
    t = Table(title="Ingested")
    for col in (*_INGEST_COLUMNS, "Status"):
        t.add_column(col, justify="left" if col in ("File", "Format", "Status") else "right")
    sources = result["sources"]
    many = len(sources) > SUMMARY_ROWS
    if many:
        _ingest_totals(t, sources)
        sources = [s for s in sources if _needs_a_look(s)]
    for s in sources:
        status = s["status"] if not s["message"] or s["status"] == "ingested" else s["message"]
        t.add_row(
            _text(s["path"]), _text(s["format"]), *(f"{s[k]:,}" for k in _COUNTS), _text(status)
        )
    notes = _ingest_notes(sources if many else result["sources"], many)
    return Group(t, *notes)


def rejects_table(result: dict[str, Any]) -> RenderableType:
    rows = result["rows"]
    t = Table(title=f"Rejected rows ({len(rows)} shown)")
    for col in ("File", "Line", "Reason", "Raw"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            _text(r["source_file"]), str(r["source_line"]), _text(r["reason"]), _text(r["raw"])
        )
    return t


def rejects_csv(result: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(result["columns"])
    for r in result["rows"]:
        w.writerow([safe_cell(r[c]) for c in result["columns"]])
    return buf.getvalue()


def sources_table(result: dict[str, Any]) -> RenderableType:
    rows = result["sources"]
    t = Table(title=f"Sources in {result['store']} ({len(rows)})")
    for col in ("SHA-256", "File", "Format", "Events", "First", "Last", "Ingested"):
        # A deep export folder's path wraps onto more lines rather than losing its end
        # (the file's name) to an ellipsis; the other columns keep their width.
        t.add_column(
            col,
            justify="right" if col == "Events" else "left",
            overflow="fold" if col == "File" else "ellipsis",
            no_wrap=col != "File",
        )
    for r in rows:
        t.add_row(
            r["sha256"][:12],
            _text(r["path"]),
            _text(r["format"]),
            f"{r.get('new_events', 0):,}",
            (r.get("min_time") or "-")[:10],
            (r.get("max_time") or "-")[:10],
            (r.get("ingested_at") or "-")[:19],
        )
    return t


def repair_lines(result: dict[str, Any], store: str, repaired: bool) -> list[str]:
    if not repaired:
        return [f"{store}: the store is consistent; nothing to repair"]
    lines = [f"fixed: {p}" for p in result["problems"]]
    lines += [f"removed: {p}" for p in result["removed"]]
    if result["ingest_again"]:
        lines.append("ingest these again (their events were lost or are no longer listed):")
        lines += [
            f"  {s['path']}  ({s['format']}, {s['sha256'][:12]})" for s in result["ingest_again"]
        ]
    return lines


def identities_table(result: dict[str, Any], top: int) -> RenderableType:
    t = Table(title="Identity coverage per source format (counted events)")
    for col in ("Format", "Events", "Matched", "Coverage", "Actors", "Unmatched actors"):
        t.add_column(col, justify="left" if col == "Format" else "right")
    for r in result["by_format"]:
        cov = "–" if r["coverage"] is None else f"{100 * r['coverage']:.1f}%"
        t.add_row(
            _text(r["format"]),
            f"{r['events']:,}",
            f"{r['matched_events']:,}",
            cov,
            f"{r['actors']:,}",
            f"{r['unmatched_actors']:,}",
        )
    u = Table(title=f"Most frequent unmatched actors (top {top})")
    for col in ("Actor (normalised)", "Events", "Formats"):
        u.add_column(col, justify="right" if col == "Events" else "left")
    for r in result["top_unmatched"]:
        u.add_row(_text(r["actor"]), f"{r['events']:,}", _text(", ".join(r["formats"])))
    return Group(t, u)


def formats_table(formats: list[dict[str, Any]]) -> RenderableType:
    t = Table(title="Export formats (detected by content)")
    for col in ("Format", "What it is", "Tells", "Cannot tell"):
        t.add_column(col)
    for m in formats:
        cells = (m["name"], m["description"], ", ".join(m["can"]) or "–", m["cannot"])
        t.add_row(*map(_text, cells))
    return t
