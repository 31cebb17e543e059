"""Small-group suppression: of segment breakdowns, and of whole measurements."""

from __future__ import annotations

from typing import Any


def suppress(rows: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """Mark groups smaller than ``k`` suppressed, plus complementary groups.

    A suppressed group could be recovered as the total minus the other groups when it is
    the only one suppressed, or when the suppressed groups together hold fewer than ``k``
    people; so the smallest remaining groups are suppressed too until neither holds.
    Suppressed rows lose their population and metrics (null).
    """
    hidden = {i for i, r in enumerate(rows) if r["population"] < k}
    if hidden:
        order = sorted(
            (i for i in range(len(rows)) if i not in hidden), key=lambda i: rows[i]["population"]
        )
        while order and (len(hidden) < 2 or sum(rows[i]["population"] for i in hidden) < k):
            hidden.add(order.pop(0))
    out = []
    for i, r in enumerate(rows):
        if i in hidden:
            out.append(
                {
                    "value": r["value"],
                    "population": None,
                    "suppressed": True,
                    "metrics": null_metrics(r["metrics"]),
                }
            )
        else:
            out.append({**r, "suppressed": False})
    return out


def null_metrics(tiers: Any) -> dict[str, dict[str, None]]:
    """Metrics with every count, rate and interval withheld (null)."""
    return {t: {"users": None, "rate": None, "ci95": None} for t in tiers}


def null_ladder(steps: Any) -> dict[str, None]:
    return dict.fromkeys(steps)


def too_small(population: int | None, k: int) -> bool:
    """A population of 1 .. k-1 people is published as a whole only as its size.

    An empty population has nothing to hide (its rates are null anyway)."""
    return population is not None and 0 < population < k
