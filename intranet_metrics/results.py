"""Typed results: a measurement, a comparison and a trend as frozen dataclasses.

``to_dict()`` gives exactly the JSON of SPEC section 7 (key order included), so the CLI,
the renderers and a notebook read the same thing; ``from_dict()`` reads it back (a saved
baseline). ``to_frame()`` is a tidy pandas DataFrame, one row per segment and metric.
A result also reads like its JSON document (``m["metrics"]["reader"]["rate"]``), read
only, so code written against the dicts of 0.1 keeps working.

Nothing here imports pandas or pyarrow at import time (``import intranet_metrics`` stays
light); ``to_frame`` imports pandas when called.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, ClassVar

Json = dict[str, Any]


def _json(v: Any) -> Any:
    if is_dataclass(v) and not isinstance(v, type):
        return v.to_dict()  # type: ignore[attr-defined]
    if isinstance(v, (list, tuple)):
        return [_json(x) for x in v]
    if isinstance(v, dict):
        return {k: _json(x) for k, x in v.items()}
    return v


class _Part:
    """The JSON mapping shared by every result and part: field order is key order, a
    trailing underscore is dropped (``from_``), optional keys are left out when None."""

    _optional: ClassVar[tuple[str, ...]] = ()
    # field -> how to read its JSON value (default: as is)
    _read: ClassVar[dict[str, Callable[[Any], Any]]] = {}

    def to_dict(self) -> Json:
        out: Json = {}
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if v is None and f.name in self._optional:
                continue
            out[f.name.rstrip("_")] = _json(v)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Any:
        kwargs = {}
        for f in fields(cls):  # type: ignore[arg-type]
            key = f.name.rstrip("_")
            if key not in data:
                if f.name in cls._optional:
                    continue
                raise KeyError(f"{cls.__name__}: the JSON has no '{key}'")
            read = cls._read.get(f.name)
            kwargs[f.name] = read(data[key]) if read else data[key]
        return cls(**kwargs)

    # Read-only document access, as the JSON reads.
    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.to_dict().get(key, default)

    def keys(self) -> Any:
        return self.to_dict().keys()

    def __contains__(self, key: object) -> bool:
        return key in self.to_dict()

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())


def _tuple(read: Callable[[Any], Any]) -> Callable[[Any], tuple[Any, ...]]:
    return lambda xs: tuple(read(x) for x in xs)


def _dict(read: Callable[[Any], Any]) -> Callable[[Any], dict[str, Any]]:
    return lambda d: {k: read(x) for k, x in d.items()}


def _pair(v: Any) -> tuple[float, float] | None:
    return None if v is None else (v[0], v[1])


@dataclass(frozen=True)
class MetricValue(_Part):
    """A tier: people in it, its share of the population, the Wilson 95% interval."""

    users: int | None
    rate: float | None
    ci95: tuple[float, float] | None
    _read: ClassVar = {"ci95": _pair}


@dataclass(frozen=True)
class AggregateValue(_Part):
    """An aggregate metric (metrics.py): one number for the window."""

    value: float | None


def _metric(d: Mapping[str, Any]) -> MetricValue | AggregateValue:
    return AggregateValue.from_dict(d) if "rate" not in d else MetricValue.from_dict(d)


_metrics = _dict(_metric)


@dataclass(frozen=True)
class WindowPart(_Part):
    from_: str
    to: str
    timezone: str


@dataclass(frozen=True)
class PopulationPart(_Part):
    """Who the denominator is and how well actors matched it."""

    basis: str
    size: int | None
    unmatched_actors: int
    identity_coverage: float | None
    concealed_actors: int
    actor_styles: dict[str, int] | None = None
    _optional: ClassVar = ("actor_styles",)


@dataclass(frozen=True)
class Segment(_Part):
    value: str
    population: int | None
    suppressed: bool
    metrics: dict[str, MetricValue | AggregateValue]
    # Issue 13's figures (absent from documents written before it).
    inequality: dict[str, Any] | None = None
    interaction: dict[str, Any] | None = None
    _optional: ClassVar = ("inequality", "interaction")
    _read: ClassVar = {"metrics": _metrics}


_segments = _dict(_tuple(Segment.from_dict))


@dataclass(frozen=True)
class Goal(_Part):
    metric: str
    target: float
    actual: float | None
    status: str
    # Issue 13 (absent from documents written before it).
    gap: float | None = None
    met_with_confidence: bool | None = None
    _optional: ClassVar = ("gap", "met_with_confidence")


@dataclass(frozen=True)
class ComparisonGoal(_Part):
    metric: str
    target: float
    baseline: float | None
    current: float | None
    status: str
    # Issue 13: {actual, gap, status, met_with_confidence} at each measurement.
    baseline_goal: dict[str, Any] | None = None
    current_goal: dict[str, Any] | None = None
    _optional: ClassVar = ("baseline_goal", "current_goal")


def _frame(rows: list[dict[str, Any]]) -> Any:
    import pandas as pd

    return pd.DataFrame(rows)


def _metric_rows(scope: dict[str, Any], metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One tidy row per metric of one scope (the whole population or one segment)."""
    out = []
    for name, x in metrics.items():
        row = dict(scope, metric=name)
        if isinstance(x, MetricValue):
            lo, hi = x.ci95 or (None, None)
            row |= {"users": x.users, "rate": x.rate, "ci95_low": lo, "ci95_high": hi}
        else:
            row |= {"value": x.value}
        out.append(row)
    return out


def _scoped_rows(head: dict[str, Any], whole: Any, segments: Mapping[str, Any]) -> list[Json]:
    rows = _metric_rows(
        head
        | {"dimension": None, "segment": "(all)", "population": whole.population.size}
        | {"suppressed": whole.suppressed},
        whole.metrics,
    )
    for dim, segs in segments.items():
        for s in segs:
            scope = head | {"dimension": dim, "segment": s.value, "population": s.population}
            rows += _metric_rows(scope | {"suppressed": s.suppressed}, s.metrics)
    return rows


@dataclass(frozen=True)
class Measurement(_Part):
    """One window's rates over its population (kind ``measurement``)."""

    schema_version: int
    kind: str
    label: str
    window: WindowPart
    tiers: str
    population: PopulationPart
    suppressed: bool
    metrics: dict[str, MetricValue | AggregateValue]
    ladder: dict[str, int | None]
    goals: tuple[Goal, ...]
    segments: dict[str, tuple[Segment, ...]]
    inputs: tuple[dict[str, Any], ...]
    warnings: tuple[str, ...]
    tool: dict[str, str]
    generated_at: str
    measurement_id: str | None = None
    # Issue 13's figures (absent from documents written before it; leadership only
    # with managers configured).
    inequality: dict[str, Any] | None = None
    interaction: dict[str, Any] | None = None
    leadership: dict[str, Any] | None = None
    segment_goals: tuple[dict[str, Any], ...] | None = None
    # Each coded warning as {code, params} (notices.py), for renderers in other languages.
    warning_details: tuple[dict[str, Any], ...] | None = None
    _optional: ClassVar = (
        "measurement_id",
        "inequality",
        "interaction",
        "leadership",
        "segment_goals",
        "warning_details",
    )
    _read: ClassVar = {
        "window": WindowPart.from_dict,
        "population": PopulationPart.from_dict,
        "metrics": _metrics,
        "goals": _tuple(Goal.from_dict),
        "segments": _segments,
        "inputs": tuple,
        "warnings": tuple,
    }

    def to_frame(self) -> Any:
        """Tidy: one row per scope (the whole population, each segment) and metric."""
        head = {"label": self.label, "from": self.window.from_, "to": self.window.to}
        return _frame(_scoped_rows(head, self, self.segments))


@dataclass(frozen=True)
class Change(_Part):
    """One tier's change from the baseline, and how it was tested."""

    baseline_rate: float | None
    current_rate: float | None
    delta_pp: float | None
    test: str
    p_value: float | None
    p_value_exact: float | None
    # Left out of a document written before issue 13 (and of a withheld change's interval).
    interval_pp: list[float] | None = None
    interval_method: str | None = None
    discordant: dict[str, int] | None = None
    stayers: dict[str, float | None] | None = None
    split: dict[str, Any] | None = None
    _optional: ClassVar = ("interval_pp", "interval_method", "discordant", "stayers", "split")


_NESTED = ("discordant", "stayers", "split", "interval_pp")


def _interval_columns(iv: list[float] | None) -> dict[str, float | None]:
    """The change's interval as two flat columns (a frame cell holds no list)."""
    low, high = iv if iv is not None else (None, None)
    return {"interval_low_pp": low, "interval_high_pp": high}


@dataclass(frozen=True)
class Comparison(_Part):
    """The current measurement against the baseline and the goals (kind ``comparison``)."""

    schema_version: int
    kind: str
    baseline: Measurement
    current: Measurement
    changes: dict[str, Change]
    goals: tuple[ComparisonGoal, ...]
    warnings: tuple[str, ...]
    tool: dict[str, str]
    generated_at: str
    population_change: dict[str, int] | None = None
    segment_goals: tuple[dict[str, Any], ...] | None = None
    warning_details: tuple[dict[str, Any], ...] | None = None
    _optional: ClassVar = ("population_change", "segment_goals", "warning_details")
    _read: ClassVar = {
        "baseline": Measurement.from_dict,
        "current": Measurement.from_dict,
        "changes": _dict(Change.from_dict),
        "goals": _tuple(ComparisonGoal.from_dict),
        "warnings": tuple,
    }

    def to_frame(self) -> Any:
        """Tidy: one row per scope (the whole population, each current segment) and
        metric, with the baseline and current rate; tests on the whole population only."""
        from .render.common import segment_changes

        rows = []
        for name, ch in self.changes.items():
            rows.append(
                {"dimension": None, "segment": "(all)", "metric": name, "suppressed": False}
                | {k: v for k, v in ch.to_dict().items() if k not in _NESTED}
                | _interval_columns(ch.interval_pp)
            )
        for dim, segs in segment_changes(self.to_dict()).items():
            for s in segs:
                for name, pair in s["tiers"].items():
                    b, c = pair or (None, None)
                    rows.append(
                        {"dimension": dim, "segment": s["value"], "metric": name}
                        | {"suppressed": s["suppressed"], "baseline_rate": b, "current_rate": c}
                        | {"delta_pp": None if b is None or c is None else 100 * (c - b)}
                    )
        return _frame(rows)


@dataclass(frozen=True)
class TrendRow(_Part):
    period: str
    from_: str
    to: str
    population: PopulationPart
    suppressed: bool
    metrics: dict[str, MetricValue | AggregateValue]
    ladder: dict[str, int | None]
    no_data: bool
    segments: dict[str, tuple[Segment, ...]] | None = None
    # Issue 13 (absent from documents written before it).
    lifecycle: dict[str, int | None] | None = None
    stickiness: float | None = None
    _optional: ClassVar = ("segments", "lifecycle", "stickiness")
    _read: ClassVar = {
        "population": PopulationPart.from_dict,
        "metrics": _metrics,
        "segments": _segments,
    }


@dataclass(frozen=True)
class Trend(_Part):
    """The rates per calendar period, each over its own population (kind ``trend``)."""

    schema_version: int
    kind: str
    period: str
    window: WindowPart
    tiers: str
    rows: tuple[TrendRow, ...]
    inputs: tuple[dict[str, Any], ...]
    warnings: tuple[str, ...]
    tool: dict[str, str]
    generated_at: str
    warning_details: tuple[dict[str, Any], ...] | None = None
    # The goals ({metric, target}) the trend is drawn against (absent before issue 14).
    goals: tuple[dict[str, Any], ...] | None = None
    _optional: ClassVar = ("warning_details", "goals")
    _read: ClassVar = {
        "window": WindowPart.from_dict,
        "rows": _tuple(TrendRow.from_dict),
        "inputs": tuple,
        "warnings": tuple,
    }

    def to_frame(self) -> Any:
        """Tidy: one row per period, scope (whole population, each segment) and metric."""
        rows = []
        for r in self.rows:
            head = {"period": r.period, "from": r.from_, "to": r.to, "no_data": r.no_data}
            rows += _scoped_rows(head, r, r.segments or {})
        return _frame(rows)


KINDS: dict[str, type[_Part]] = {
    "measurement": Measurement,
    "comparison": Comparison,
    "trend": Trend,
}


def from_dict(data: Mapping[str, Any]) -> Measurement | Comparison | Trend:
    """The typed result of a JSON report, by its ``kind``."""
    return KINDS[data["kind"]].from_dict(data)


def as_dict(result: Any) -> Json:
    """The JSON document of a typed result, or the document itself."""
    return result.to_dict() if isinstance(result, _Part) else dict(result)
