"""The science figures of a measurement and a trend (issue 13), as JSON blocks.

Glue between the engine (which hands over the window's counted events, resolved to
people) and science.py (pure functions): ``inequality``, ``interaction`` and, when
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
from .engine import Engine, Period, Population, science_frames, store_events
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
) -> tuple[dict[str, Any], list[str]]:
    """The whole population's interaction; the team's figures hidden under k people."""
    small = team is not None and too_small(len(team), k)
    it = science.interaction(ev, lo, hi, team=None if small else team, threads=threads)
    notes = []
    if small:
        notes.append(Notice("team_too_small", k=k))
    return interaction_block(it), notes


def _leadership(
    ev: pd.DataFrame, people: pd.DataFrame, mgrs: set, lo: datetime, hi: datetime, config: Config
) -> dict[str, Any]:
    le = science.leadership(
        ev, people, mgrs, lo, hi, tiers=config.tiers, min_group_size=config.min_group_size
    )
    return asdict(le)


def _segment_figures(
    ev: pd.DataFrame,
    people: pd.DataFrame,
    dim: str,
    window: tuple[datetime, datetime],
    threads: tuple[pd.DataFrame, pd.DataFrame],
    k: int,
) -> dict[str, dict[str, Any] | None]:
    """Per value of ``dim``: inequality over the segment's people and interaction of the
    threads they started; None for a suppressed segment (the tiers' suppression). The
    window's events are split by segment once, and the threads found once."""
    lo, hi = window
    inwin = _in_window(ev, lo, hi)
    value_of = people.set_index("person")[dim].astype("string").fillna(science.UNKNOWN)
    seg = inwin["person"].map(value_of)
    parts = {str(v): g for v, g in inwin.groupby(seg, sort=False)}
    empty = inwin.iloc[:0]

    def compute(g: pd.DataFrame) -> dict[str, Any]:
        mine = parts.get(str(value_of.get(g["person"].iloc[0])), empty) if len(g) else empty
        it = science.interaction(ev, lo, hi, starters=set(g["person"]), threads=threads)
        return {
            "inequality": inequality_block(science.inequality(mine, g)),
            "interaction": interaction_block(it),
        }

    rows = science.by_segment(people, dim, compute, k)
    return {r.value: r.figure for r in rows}


def _in_window(ev: pd.DataFrame, lo: datetime, hi: datetime) -> pd.DataFrame:
    dated = ev["window_start"].isna()
    t = ev["time"]
    return ev[~dated | ((t >= pd.Timestamp(lo)) & (t < pd.Timestamp(hi)))]


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
    ev, people = science_frames(engine, period, population)
    if population.basis == "fixed" and population.size is not None:
        people = _padded(people, population.size)
    lo, hi = period.utc_bounds(config.tz)
    k = config.min_group_size
    team = team_members(config, population, people)
    threads = science.thread_events(ev)
    interaction, notes = _interaction(ev, lo, hi, team, k, threads)
    out: dict[str, Any] = {
        "inequality": inequality_block(science.inequality(_in_window(ev, lo, hi), people)),
        "interaction": interaction,
    }
    mgrs = managers(config, people)
    if mgrs is not None:
        out["leadership"] = _leadership(ev, people, mgrs, lo, hi, config)
    out["segment_figures"] = {
        dim: _segment_figures(ev, people, dim, (lo, hi), threads, k) for dim in by if dim in people
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
    ev = store_events(engine, population)
    spans = [(p.label, *p.utc_bounds(tz)) for p in periods]
    rows = science.lifecycle(ev, spans, tz=str(tz))
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
