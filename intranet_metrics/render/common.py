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


def pct(rate: float | None, digits: int = 1) -> str:
    return "–" if rate is None else f"{100 * rate:.{digits}f}%"


def ci(interval: list[float] | None) -> str:
    if not interval:
        return "–"
    return f"{100 * interval[0]:.1f}–{100 * interval[1]:.1f}%"


def pp(delta: float | None) -> str:
    return "–" if delta is None else f"{delta:+.1f} pp"


def pvalue(p: float | None) -> str:
    if p is None:
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def num(n: int | None) -> str:
    return "–" if n is None else f"{n:,}"


def goal_targets(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["metric"]: g for g in result.get("goals", [])}


def population_line(m: dict[str, Any]) -> str:
    p = m["population"]
    parts = [f"population {num(p['size'])} ({p['basis']})"]
    if p["basis"] == "roster":
        parts.append(f"identity coverage {pct(p['identity_coverage'])}")
        parts.append(f"unmatched actors {num(p['unmatched_actors'])}")
    return ", ".join(parts)


def window_text(m: dict[str, Any]) -> str:
    w = m["window"]
    return f"{w['from']} .. {w['to']} ({w['timezone']})"


def test_note(c: dict[str, Any]) -> str:
    """One sentence on how the change was tested, and who was compared."""
    test = next(iter(c["changes"].values()))["test"]
    pc = c.get("population_change")
    if test == "mcnemar-midp" and pc:
        return (
            f"p: McNemar mid-p over the {pc['stayers']:,} people in both populations "
            f"({pc['joiners']:,} joined, {pc['leavers']:,} left since the baseline)"
        )
    if test == "two-proportion-z-different-bases":
        return "p: two-proportion z test over populations of different bases (not comparable)"
    return "p: two-proportion z test (unpaired: people could not be linked to the baseline)"


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


def change_cell(pair: tuple[float | None, float | None] | None) -> str:
    if pair is None:
        return "–"
    b, c = pair
    if b is None or c is None:
        return f"{pct(b)} → {pct(c)}"
    return f"{pct(b)} → {pct(c)} ({100 * (c - b):+.1f})"


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


def figure(value: float | None, kind: str) -> str:
    """One science figure as text: a share in %, hours and ratios with their decimals."""
    if value is None:
        return "–"
    if kind == "pct":
        return pct(value)
    if kind == "hours":
        return f"{value:.1f} h"
    return f"{value:.2f}"


def figures_of(m: dict[str, Any]) -> dict[str, Any]:
    """A measurement's (or segment's) inequality and interaction figures in one mapping;
    empty for a document written before issue 13."""
    out: dict[str, Any] = {}
    for group in ("inequality", "interaction"):
        for key, value in (m.get(group) or {}).items():
            if key in FIGURES:
                out[key] = value
    return out


def interval_pp(iv: list[float] | None) -> str:
    return "–" if not iv else f"{iv[0]:+.1f} to {iv[1]:+.1f} pp"
