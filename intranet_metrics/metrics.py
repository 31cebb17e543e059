"""The metric registry: every metric defined once (issue 11 item 6).

A metric is an entry here with its name, what counts (action classes), label,
description, goal direction and default goal. The engine, the goals file, the JSON
schema, the report and the renderers read the registry; none of them lists metrics.

Two kinds of metric fit:

* ``tier`` (reader, reactor, contributor today): a per-person flag, "did this person do
  any of ``classes`` in the window". Under ``tiers = "cumulative"`` (config) the flag is
  any of ``cumulative`` instead, so that reader >= reactor >= contributor. Its result is
  ``{"users", "rate", "ci95"}`` over the population, like the three tiers.
* ``aggregate`` (the door for the science work: Gini of contributions, reply coverage):
  one number per window (and segment) computed by ``compute`` from the window's counted
  events, an ibis table with the columns ``period``, ``actor``, ``cls`` and ``person``
  (null when unmatched). Its result is ``{"value": x}``. ``compute`` receives that table
  and returns an ibis expression table with the columns ``period`` and ``value``.

Adding a metric is one entry (in ``DEFAULT`` or in a registry built with ``with_metric``)
plus its tests. Nothing here imports pyarrow, ibis or DuckDB: ``--help`` and the renderers
read it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .activities import ACTION_CLASSES

KINDS = ("tier", "aggregate", "figure")
# How a figure's value and goal are written: a share (goals in percent), hours, a ratio.
UNITS = ("share", "hours", "ratio")


@dataclass(frozen=True)
class Metric:
    """One metric: what it counts, how it is shown, and which way is better."""

    name: str
    label: str
    description: str
    # Action classes that set the flag when tiers are independent (tier metrics).
    classes: tuple[str, ...] = ()
    # Action classes that set it when tiers are cumulative (default: ``classes``).
    cumulative: tuple[str, ...] = ()
    higher_is_better: bool = True
    default_goal: float | None = None
    kind: str = "tier"
    # Aggregate metrics: counted events (period, actor, cls, person) -> (period, value).
    compute: Callable[[Any], Any] | None = field(default=None, compare=False)
    # Figure metrics (issue 13): computed by figures.py from the window's events and
    # threads, shown in the measurement's ``group`` block (inequality or interaction).
    group: str = ""
    unit: str = "share"

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or not self.name.islower():
            raise ValueError(f"metric name {self.name!r}: use lower_case letters and _")
        if self.kind not in KINDS:
            raise ValueError(f"metric {self.name}: kind {self.kind!r} is not one of {KINDS}")
        if self.kind == "tier":
            unknown = set(self.classes) | set(self.cumulative)
            unknown -= set(ACTION_CLASSES) - {"ignore"}
            if unknown or not self.classes:
                raise ValueError(f"metric {self.name}: classes must be view, react, contribute")
        elif self.kind == "aggregate" and self.compute is None:
            raise ValueError(f"metric {self.name}: an aggregate metric needs compute")
        elif self.kind == "figure" and (not self.group or self.unit not in UNITS):
            raise ValueError(f"metric {self.name}: a figure needs a group and a unit {UNITS}")

    def counts(self, tiers: str) -> tuple[str, ...]:
        """The action classes that put a person in this tier under ``tiers``."""
        if tiers == "cumulative" and self.cumulative:
            return self.cumulative
        return self.classes


@dataclass(frozen=True)
class Registry:
    """An ordered set of metrics; immutable (``with_metric`` gives a new one)."""

    metrics: tuple[Metric, ...]

    def __post_init__(self) -> None:
        names = [m.name for m in self.metrics]
        if len(set(names)) != len(names):
            raise ValueError(f"metric names repeat: {names}")

    def __iter__(self) -> Iterator[Metric]:
        return iter(self.metrics)

    def __getitem__(self, name: str) -> Metric:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(m.name == name for m in self.metrics)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics)

    @property
    def tiers(self) -> tuple[str, ...]:
        """Names of the per-person tier metrics, in order."""
        return tuple(m.name for m in self.metrics if m.kind == "tier")

    @property
    def aggregates(self) -> tuple[Metric, ...]:
        return tuple(m for m in self.metrics if m.kind == "aggregate")

    @property
    def figures(self) -> tuple[Metric, ...]:
        """The science figures (inequality, interaction) a goal may name."""
        return tuple(m for m in self.metrics if m.kind == "figure")

    @property
    def default_goals(self) -> dict[str, float]:
        return {m.name: m.default_goal for m in self.metrics if m.default_goal is not None}

    def label(self, name: str) -> str:
        return self[name].label if name in self else name.replace("_", " ").capitalize()

    def with_metric(self, metric: Metric) -> Registry:
        """A new registry with ``metric`` added at the end (the default is never changed)."""
        return Registry((*self.metrics, metric))

    def engine_columns(self) -> tuple[str, ...]:
        """Column names the engine uses for these metrics (a roster column may not)."""
        return (*self.tiers, *(f"has_{c}" for c in CLASSES))


# The three action classes a person can do (the order of the ladder).
CLASSES = ("view", "react", "contribute")

# SPEC section 3. Default goals are the seed organisation's short-term targets.
DEFAULT = Registry(
    (
        Metric(
            name="reader",
            label="Reader",
            description="viewed, reacted or contributed at least once in the window",
            classes=("view",),
            cumulative=("view", "react", "contribute"),
            default_goal=0.55,
        ),
        Metric(
            name="reactor",
            label="Reactor",
            description="reacted (like, reaction, comment, reply) or contributed",
            classes=("react",),
            cumulative=("react", "contribute"),
            default_goal=0.40,
        ),
        Metric(
            name="contributor",
            label="Contributor",
            description="contributed new content (post, new thread, new page, upload)",
            classes=("contribute",),
            default_goal=0.05,
        ),
        *(
            Metric(
                name=name,
                label=label,
                description=description,
                kind="figure",
                group=group,
                unit=unit,
                higher_is_better=higher,
            )
            for name, label, description, group, unit, higher in (
                (
                    "gini",
                    "Gini of contributions",
                    "0: everyone contributes equally, 1: one person makes every contribution",
                    "inequality",
                    "ratio",
                    False,
                ),
                (
                    "top1_share",
                    "Top 1% share",
                    "share of all contributions made by the top 1% of contributors",
                    "inequality",
                    "share",
                    False,
                ),
                (
                    "top10_share",
                    "Top 10% share",
                    "share of all contributions made by the top 10% of contributors",
                    "inequality",
                    "share",
                    False,
                ),
                (
                    "reply_coverage",
                    "Reply coverage",
                    "thread starts answered by someone else within 7 days",
                    "interaction",
                    "share",
                    True,
                ),
                (
                    "median_first_response_hours",
                    "Hours to first response",
                    "median hours from a thread start to the first response (lower is better)",
                    "interaction",
                    "hours",
                    False,
                ),
                (
                    "solo_thread_rate",
                    "Solo threads",
                    "thread starts that never got a response from someone else",
                    "interaction",
                    "share",
                    False,
                ),
                (
                    "broadcast_share",
                    "Broadcast share",
                    "the communication team's share of all contributions (lower: more voices)",
                    "interaction",
                    "share",
                    False,
                ),
                (
                    "replies_per_own_post",
                    "Team replies per own post",
                    "the team's replies in others' threads per thread it started itself",
                    "interaction",
                    "ratio",
                    True,
                ),
            )
        ),
    )
)


def schema_for(schema: dict[str, Any], registry: Registry = DEFAULT) -> Any:
    """The report JSON schema with its metric parts (required names, enums, properties)
    written for ``registry``: wherever the schema lists the default tiers it lists
    ``registry``'s tier names instead."""
    base = list(DEFAULT.tiers)
    names = list(registry.tiers)

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return names if node == base else [walk(v) for v in node]
        if not isinstance(node, dict):
            return node
        if list(node) == base:  # a "properties" object keyed by the tiers
            ref = node[base[0]]
            return {n: walk(node[n]) if n in node else walk(ref) for n in names}
        return {k: walk(v) for k, v in node.items()}

    out = walk(schema)
    # An aggregate is one value per window: allowed in every metrics object, never required.
    for m in registry.aggregates:
        out["$defs"]["metrics"]["properties"][m.name] = {
            "type": "object",
            "required": ["value"],
            "properties": {"value": {"type": ["number", "null"]}},
            "additionalProperties": False,
        }
    return out
