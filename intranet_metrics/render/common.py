"""Formatting helpers shared by the human formats."""

from __future__ import annotations

from typing import Any

TIERS = ("reader", "reactor", "contributor")
LADDER = ("inactive", "reader_only", "reactor_only", "contributor")
STATUS_TEXT = {
    "met_with_confidence": "met (95% sure)",
    "met": "met",
    "not_met": "not met",
    "no_data": "no data",
}


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
    return "p: two-proportion z test (unpaired: people could not be linked to the baseline)"
