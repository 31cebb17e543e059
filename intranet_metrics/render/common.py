"""Formatting helpers shared by the human formats."""

from __future__ import annotations

import re
from typing import Any

from ..metrics import DEFAULT

# The default tiers; a report's own tiers are tiers_of(report) (it may hold others).
TIERS = DEFAULT.tiers
LADDER = ("inactive", "reader_only", "reactor_only", "contributor")
STATUS_TEXT = {
    "met_with_confidence": "met (95% sure)",
    "met": "met",
    "not_met": "not met",
    "no_data": "no data",
}


NO_DATA = "no data"

# C0 and C1 control characters, DEL, and the Unicode characters that reorder, hide or
# break text (bidi marks, overrides and isolates; zero-width space; line and paragraph
# separators): a label holding them could move the cursor, recolour the terminal, split a
# table row or show another text than it holds.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200b\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """``text`` with every control character written as an escape (``\\x1b``), so a label
    is shown exactly as written and cannot act on the terminal."""
    s = str(text)
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), s)


def tiers_of(measurement: dict[str, Any]) -> list[str]:
    """The tier metrics a measurement (or trend row, or segment) holds, in its order;
    the registry made them, so the renderers list none themselves."""
    return [t for t, x in measurement["metrics"].items() if "rate" in x]


def label(name: str) -> str:
    """A metric's label from the registry; a metric of another registry by its name."""
    return DEFAULT.label(name)


def warnings_of(result: dict[str, Any]) -> list[str]:
    """The report's warnings (a comparison's include both windows' own warnings)."""
    return [str(w) for w in result.get("warnings", [])]


def goal_targets(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["metric"]: g for g in result.get("goals", [])}


def segment_changes(c: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per segment value, each tier's baseline and current rate (null when suppressed at
    either time), for the dimensions the current measurement was broken down by."""
    out: dict[str, list[dict[str, Any]]] = {}
    tiers = tiers_of(c["current"])
    for dim, rows in c["current"].get("segments", {}).items():
        before = {r["value"]: r for r in c["baseline"].get("segments", {}).get(dim, [])}
        table = []
        for r in rows:
            b = before.get(r["value"])
            # A value the baseline was not broken down by shows its current rate only.
            hidden = r["suppressed"] or (b is not None and b["suppressed"])
            table.append(
                {
                    "value": r["value"],
                    "suppressed": hidden,
                    "tiers": {
                        t: None
                        if hidden
                        else (
                            None if b is None else b["metrics"][t]["rate"],
                            r["metrics"][t]["rate"],
                        )
                        for t in tiers
                    },
                }
            )
        out[dim] = table
    return out


# Issue 13's figures: key -> (label, kind) with kind "pct", "hours", "ratio" or "count".
FIGURES = {
    "gini": ("Gini of contributions (0 equal, 1 one person)", "ratio"),
    "top1_share": ("Share of contributions by the top 1% of contributors", "pct"),
    "top10_share": ("Share of contributions by the top 10% of contributors", "pct"),
    "reply_coverage": ("Thread starts answered by someone else within 7 days", "pct"),
    "median_first_response_hours": ("Median hours to the first response", "hours"),
    "solo_thread_rate": ("Thread starts that never got a response", "pct"),
    "broadcast_share": ("Communication team's share of all contributions", "pct"),
    "replies_per_own_post": ("Team replies to others per post of its own", "ratio"),
}
LIFECYCLE = ("new", "returning", "resurrecting", "dormant")


def figures_of(m: dict[str, Any]) -> dict[str, Any]:
    """A measurement's (or segment's) inequality and interaction figures in one mapping;
    empty for a document written before issue 13."""
    out: dict[str, Any] = {}
    for group in ("inequality", "interaction"):
        for key, value in (m.get(group) or {}).items():
            if key in FIGURES:
                out[key] = value
    return out
