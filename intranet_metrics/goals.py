"""Adoption goals: the defaults, goal files, and goal status."""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover
    pass

from .config import _suggest, read_toml
from .errors import ConfigError

METRICS = ("reader", "reactor", "contributor")
# The seed organisation's short-term targets (SPEC section 3), as fractions.
DEFAULT_GOALS: dict[str, float] = {"reader": 0.55, "reactor": 0.40, "contributor": 0.05}

TEMPLATE = """\
# intranet-metrics goals: the share of the population (in percent) each tier should reach.
# reader:      viewed, reacted or contributed at least once in the window
# reactor:     reacted (like, reaction, comment, reply) or contributed
# contributor: contributed new content (post, new thread, new page, upload)
# Use with: intranet-metrics compare ... --goals {name}

[goals]
reader = 55
reactor = 40
contributor = 5
"""


def load_goals(path: str | Path | None) -> dict[str, float]:
    """Goals as fractions: the defaults, or a TOML file of percentages."""
    if path is None:
        return dict(DEFAULT_GOALS)
    p = Path(path)
    data = read_toml(p, "goals file not found; create one with 'goals --init'")
    table = data.get("goals", data)
    if not isinstance(table, dict):
        raise ConfigError(f"{p}: expected a [goals] table of percentages")
    goals: dict[str, float] = {}
    for key, value in table.items():
        if key not in METRICS:
            raise ConfigError(
                f"{p}: unknown goal '{key}'{_suggest(key, METRICS)}; goals are "
                + ", ".join(METRICS)
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
            raise ConfigError(f"{p}: goal {key} = {value!r}: give a percentage from 0 to 100")
        goals[key] = value / 100
    return goals


def goal_status(rate: float | None, target: float, ci_low: float | None = None) -> str:
    """met_with_confidence, met, not_met, or no_data when the rate is null."""
    if rate is None:
        return "no_data"
    if ci_low is not None and ci_low >= target:
        return "met_with_confidence"
    return "met" if rate >= target else "not_met"
