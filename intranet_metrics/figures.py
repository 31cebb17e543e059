"""The science figures of a measurement and a trend (issue 13), as JSON blocks.

Glue between the engine (which hands over small frames: contributions per person, each
thread start of the window with its first response, each person's classes, and the
lifecycle's active people from the derived activity rows: engine.science_frames,
engine.lifecycle_inputs) and science.py (pure functions): ``inequality``,
``interaction`` and, when
managers are configured, ``leadership`` for a measurement and each of its segments, and
``lifecycle`` / ``stickiness`` for each trend row. Small-group suppression holds on every
per-segment figure, on the team's and on the managers' figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import pandas as pd

from . import science
from .config import Config
from .engine import (
    Engine,
    Period,
    Population,
    ScienceInputs,
    lifecycle_inputs,
    science_frames,
    store_events,
)
from .identity import Pseudonymiser, alias_forms
from .notices import Notice
from .privacy import too_small

INEQUALITY_KEYS = ("gini", "top1_share", "top10_share", "contributors", "contributions")
INTERACTION_KEYS = (
    "thread_starts",
    "reply_coverage",
    "median_first_response_hours",
    "solo_thread_rate",
    "broadcast_share",
    "replies_per_own_post",
)


def null_inequality() -> dict[str, Any]:
    return dict.fromkeys(INEQUALITY_KEYS) | {"ladder_shares": None, "nielsen": None}


def null_interaction() -> dict[str, Any]:
    return dict.fromkeys(INTERACTION_KEYS)


def inequality_block(ineq: science.Inequality) -> dict[str, Any]:
    """Gini, top shares, and the ladder's shares of the active people beside 90-9-1."""
    return {
        "gini": ineq.gini,
        "top1_share": ineq.top1_share,
        "top10_share": ineq.top10_share,
        "contributors": ineq.contributors,
        "contributions": ineq.contributions,
        "ladder_shares": dict(ineq.active_shares),
        "nielsen": dict(ineq.nielsen),
    }


def interaction_block(it: science.Interaction) -> dict[str, Any]:
    return {k: getattr(it, k) for k in INTERACTION_KEYS}


def _identifier_people(names: Sequence[str], population: Population) -> set[str]:
    """People named by an identifier in the config: their roster person, or the actor
    (hashed under the key exactly as the stored actors are)."""
    pseudo = Pseudonymiser.from_env()
    forms = {pseudo(f) for n in names for f in alias_forms(n)}
    if population.roster is None:
        return forms
    al = population.roster.aliases.to_pandas()
    return set(al.loc[al["identifier"].isin(forms), "person"].astype("string"))


def team_members(config: Config, population: Population, people: pd.DataFrame) -> set | None:
    """The communication team of the config among the population (None: no team set)."""
    if config.team_column is None and not config.team_people:
        return None
    members: set = set()
    if config.team_column is not None and config.team_column in people.columns:
        members |= science.people_where(people, config.team_column, config.team_values)
    if config.team_people:
        members |= _identifier_people(config.team_people, population) & set(people["person"])
    return members


def managers(config: Config, people: pd.DataFrame) -> set | None:
    if config.manager_column is None or config.manager_column not in people.columns:
        return None
    return science.people_where(people, config.manager_column, config.manager_values or None)


def _interaction(inputs: ScienceInputs, k: int) -> tuple[dict[str, Any], list[str]]:
    """The whole population's interaction; the team's figures hidden under k people."""
    it = science.interaction_of(inputs.starts)
    team, notes = inputs.team, []
    if team is not None and too_small(len(team), k):
        notes.append(Notice("team_too_small", k=k))
    elif team is not None:
        timely = inputs.contributions["timely"]
        own = int(timely[timely.index.isin(team)].sum())
        starts = int(inputs.starts["person"].isin(team).sum())
        it = science.with_team(it, len(team), (own, int(timely.sum())), inputs.team_replies, starts)
    return interaction_block(it), notes


def _leadership(inputs: ScienceInputs, people: pd.DataFrame, config: Config) -> dict[str, Any]:
    starts = inputs.starts
    with_m = int(starts["manager"].sum()) if len(starts) else 0
    le = science.leadership_of(
        people,
        inputs.managers,
        inputs.timely,
        (len(starts), with_m),
        tiers=config.tiers,
        min_group_size=config.min_group_size,
    )
    return asdict(le)


def _figures(
    inputs: ScienceInputs, counts: pd.Series, tiers: pd.DataFrame, who: pd.Series
) -> dict[str, Any]:
    """Inequality over the people ``who`` and interaction of the threads they started."""
    people = pd.Index(who.drop_duplicates())
    ineq = science.inequality_of(
        counts.reindex(people, fill_value=0).astype("int64"),
        science.ladder_of(tiers.reindex(people, fill_value=False)),
    )
    starts = inputs.starts
    it = science.interaction_of(starts[starts["person"].isin(set(people))])
    return {"inequality": inequality_block(ineq), "interaction": interaction_block(it)}


def _padded(people: pd.DataFrame, size: int) -> pd.DataFrame:
    """A fixed headcount larger than the people seen: the unseen are zeros (inactive)."""
    extra = size - len(people)
    if extra <= 0:
        return people
    pad = pd.DataFrame({"person": [f"\x00unseen{i}" for i in range(extra)]}, dtype="string")
    return pd.concat([people[["person"]], pad], ignore_index=True)


def measurement_figures(
    engine: Engine,
    period: Period,
    population: Population,
    by: Sequence[str],
    hidden: bool,
    presence: Any | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """``inequality``, ``interaction``, ``leadership`` (managers configured) and per
    segment ``{dim: {value: {inequality, interaction} | None}}`` of one window;
    ``presence``: the window's EngineResult.presence, when the caller has it."""
    config = engine.config
    if hidden:
        out = {"inequality": null_inequality(), "interaction": null_interaction()}
        return out | {"segment_figures": {}}, []

    def sized(people: pd.DataFrame) -> pd.DataFrame:
        if population.basis == "fixed" and population.size is not None:
            return _padded(people, population.size)
        return people

    def groups(people: pd.DataFrame) -> tuple[set | None, set | None]:
        people = sized(people)
        return team_members(config, population, people), managers(config, people)

    inputs = science_frames(engine, period, population, groups, presence)
    people = sized(inputs.people)
    k = config.min_group_size
    interaction, notes = _interaction(inputs, k)
    counts = inputs.contributions["window"]
    # The people's tiers once; every segment's ladder reads its rows.
    tiers = science.person_tiers(inputs.presence, people)
    whole = _figures(inputs, counts, tiers, people["person"])
    out: dict[str, Any] = {"inequality": whole["inequality"], "interaction": interaction}
    if inputs.managers is not None:
        out["leadership"] = _leadership(inputs, people, config)
    out["segment_figures"] = {
        dim: {
            r.value: r.figure
            for r in science.by_segment(
                people, dim, lambda g: _figures(inputs, counts, tiers, g["person"]), k
            )
        }
        for dim in by
        if dim in people
    }
    return out, notes


def trend_lifecycle(
    engine: Engine, periods: Sequence[Period], population: Population
) -> dict[str, dict[str, Any]]:
    """Per period label: ``lifecycle`` {new, returning, resurrecting, dormant} and
    ``stickiness``; "new" looks back over the whole store."""
    if not periods:
        return {}
    tz = engine.config.tz
    spans = [(p.label, *p.utc_bounds(tz)) for p in periods]
    got = lifecycle_inputs(engine, periods, population)
    if got is None:  # only the raw events give it (engine.lifecycle_inputs)
        rows = science.lifecycle(store_events(engine, population), spans, tz=str(tz))
    else:
        rows = science.lifecycle_counted(science.lifecycle_spans(spans), got.by_span)
    return {
        r.period: {
            "lifecycle": {
                "new": r.new,
                "returning": r.returning,
                "resurrecting": r.resurrecting,
                "dormant": r.dormant,
            },
            "stickiness": r.stickiness,
        }
        for r in rows
    }
