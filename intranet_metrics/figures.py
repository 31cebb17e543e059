"""The science figures of a measurement and a trend (issue 13), as JSON blocks.

Glue between the engine (which hands over the events the figures need one by one, resolved
to people, with each person's classes and the lifecycle's active people from the derived
activity rows: engine.science_frames, engine.lifecycle_inputs) and science.py (pure
functions): ``inequality``, ``interaction`` and, when
managers are configured, ``leadership`` for a measurement and each of its segments, and
``lifecycle`` / ``stickiness`` for each trend row. Small-group suppression holds on every
per-segment figure, on the team's and on the managers' figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import pandas as pd

from . import science
from .config import Config
from .engine import (
    Engine,
    Period,
    Population,
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


def _interaction(
    ev: pd.DataFrame,
    lo: datetime,
    hi: datetime,
    team: set | None,
    k: int,
    threads: tuple[pd.DataFrame, pd.DataFrame],
    firsts: pd.DataFrame,
) -> tuple[dict[str, Any], list[str]]:
    """The whole population's interaction; the team's figures hidden under k people."""
    small = team is not None and too_small(len(team), k)
    team = None if small else team
    it = science.interaction(ev, lo, hi, team=team, threads=threads, firsts=firsts)
    notes = []
    if small:
        notes.append(Notice("team_too_small", k=k))
    return interaction_block(it), notes


def _leadership(
    ev: pd.DataFrame,
    people: pd.DataFrame,
    mgrs: set,
    window: tuple[datetime, datetime],
    config: Config,
    presence: pd.DataFrame | None,
    threads: tuple[pd.DataFrame, pd.DataFrame],
) -> dict[str, Any]:
    lo, hi = window
    le = science.leadership(
        ev,
        people,
        mgrs,
        lo,
        hi,
        tiers=config.tiers,
        min_group_size=config.min_group_size,
        presence=presence,
        threads=threads,
    )
    return asdict(le)


def _segment_figures(
    ev: pd.DataFrame,
    people: pd.DataFrame,
    dim: str,
    window: tuple[datetime, datetime],
    threads: tuple[pd.DataFrame, pd.DataFrame],
    firsts: pd.DataFrame,
    k: int,
    presence: pd.DataFrame | None,
) -> dict[str, dict[str, Any] | None]:
    """Per value of ``dim``: inequality over the segment's people and interaction of the
    threads they started; None for a suppressed segment (the tiers' suppression). The
    window's events (and people's classes) are split by segment once, and the threads
    found once (and their first responses)."""
    lo, hi = window
    value_of = people.set_index("person")[dim].astype("string").fillna(science.UNKNOWN)
    parts = _by_value(_in_window(ev, lo, hi), value_of)
    present = None if presence is None else _by_value(presence, value_of)

    def compute(g: pd.DataFrame) -> dict[str, Any]:
        value = str(value_of.get(g["person"].iloc[0])) if len(g) else None
        mine = parts[0].get(value, parts[1])
        here = None if present is None else present[0].get(value, present[1])
        starters = set(g["person"])
        it = science.interaction(ev, lo, hi, starters=starters, threads=threads, firsts=firsts)
        return {
            "inequality": inequality_block(science.inequality(mine, g, here)),
            "interaction": interaction_block(it),
        }

    rows = science.by_segment(people, dim, compute, k)
    return {r.value: r.figure for r in rows}


def _by_value(rows: pd.DataFrame, value_of: pd.Series) -> tuple[dict[str, Any], pd.DataFrame]:
    """``rows`` split by their person's segment value, and an empty part for the rest."""
    seg = rows["person"].map(value_of)
    return {str(v): g for v, g in rows.groupby(seg, sort=False)}, rows.iloc[:0]


def _in_window(ev: pd.DataFrame, lo: datetime, hi: datetime) -> pd.DataFrame:
    dated = ev["window_start"].isna()
    t = ev["time"]
    return ev[~dated | ((t >= pd.Timestamp(lo)) & (t < pd.Timestamp(hi)))]


def _with_aggregates(
    presence: pd.DataFrame | None, ev: pd.DataFrame, keep: pd.Series
) -> pd.DataFrame | None:
    """The single events' (person, cls) with those of the aggregate rows ``keep`` selects
    (aggregates are always read raw): what the events' own pairs would be."""
    if presence is None:
        return None
    aggs = ev.loc[ev["window_start"].notna() & keep, ["person", "cls"]]
    both = pd.concat([presence[["person", "cls"]], aggs], ignore_index=True)
    return both.drop_duplicates()


def _padded(people: pd.DataFrame, size: int) -> pd.DataFrame:
    """A fixed headcount larger than the people seen: the unseen are zeros (inactive)."""
    extra = size - len(people)
    if extra <= 0:
        return people
    pad = pd.DataFrame({"person": [f"\x00unseen{i}" for i in range(extra)]}, dtype="string")
    return pd.concat([people[["person"]], pad], ignore_index=True)


def measurement_figures(
    engine: Engine, period: Period, population: Population, by: Sequence[str], hidden: bool
) -> tuple[dict[str, Any], list[str]]:
    """``inequality``, ``interaction``, ``leadership`` (managers configured) and per
    segment ``{dim: {value: {inequality, interaction} | None}}`` of one window."""
    config = engine.config
    if hidden:
        out = {"inequality": null_inequality(), "interaction": null_interaction()}
        return out | {"segment_figures": {}}, []
    inputs = science_frames(engine, period, population)
    ev, people = inputs.events, inputs.people
    if population.basis == "fixed" and population.size is not None:
        people = _padded(people, population.size)
    lo, hi = period.utc_bounds(config.tz)
    k = config.min_group_size
    team = team_members(config, population, people)
    threads = science.thread_events(ev)
    firsts = science.first_responses(threads)
    interaction, notes = _interaction(ev, lo, hi, team, k, threads, firsts)
    # The ladder counts every aggregate of ev (their report window lies inside the period);
    # leadership's tiers those whose time does too.
    everything = pd.Series(True, index=ev.index)
    t = ev["time"]
    timely = (t >= pd.Timestamp(lo)) & (t < pd.Timestamp(hi))
    presence = _with_aggregates(inputs.presence, ev, everything)
    out: dict[str, Any] = {
        "inequality": inequality_block(
            science.inequality(_in_window(ev, lo, hi), people, presence)
        ),
        "interaction": interaction,
    }
    mgrs = managers(config, people)
    if mgrs is not None:
        timely_presence = _with_aggregates(inputs.presence, ev, timely)
        out["leadership"] = _leadership(
            ev, people, mgrs, (lo, hi), config, timely_presence, threads
        )
    out["segment_figures"] = {
        dim: _segment_figures(ev, people, dim, (lo, hi), threads, firsts, k, presence)
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
