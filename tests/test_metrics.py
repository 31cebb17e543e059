"""The metric registry (issue 11 item 6): a metric is one entry; engine, JSON, schema,
goals and every renderer follow it. Toy metrics live in a registry copy, never in the
default one."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from importlib import resources

import jsonschema
import pytest
from rich.console import Console

from intranet_metrics import api, report
from intranet_metrics.config import Config
from intranet_metrics.engine import Population
from intranet_metrics.errors import ConfigError
from intranet_metrics.goals import load_goals
from intranet_metrics.metrics import DEFAULT, Metric, Registry, schema_for
from intranet_metrics.render import to_csv, to_markdown, to_table
from intranet_metrics.report import Window
from intranet_metrics.roster import RESERVED, load_roster
from tests.synth import _population_and_events, make_org, write_org

SCHEMA = json.loads(resources.files("intranet_metrics").joinpath("report.schema.json").read_text())
START, END = date(2026, 1, 1), date(2026, 3, 31)

# "Did something other than look": reacting or contributing, whatever the tier setting.
ENGAGED = Metric(
    name="engaged",
    label="Engaged",
    description="reacted or contributed at least once",
    classes=("react", "contribute"),
    default_goal=0.30,
)


def _people_per_event(m):
    """A toy aggregate: counted events of matched actors per matched person, per period."""
    m = m.filter(m.person.notnull())
    return m.group_by("period").aggregate(
        value=m.count().cast("float64") / m.person.nunique().cast("float64")
    )


PER_PERSON = Metric(
    name="events_per_person",
    label="Events per person",
    description="counted events per active person",
    kind="aggregate",
    compute=_people_per_event,
)


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("metrics")
    roster, events = make_org(seed=11, people=80, events=2000)
    rp, ep = write_org(roster, events, tmp / "org")
    store = api.open_store(tmp / "s", create=True)
    api.ingest(store, [ep])
    return store, rp, roster, events


def _measure(org, registry: Registry, by=()):
    store, rp, _, _ = org
    ros = load_roster(rp, None)
    return report.measure(
        store, Config(), Window(START, END), Population(roster=ros), by, None, "Q1", registry
    )


def test_the_default_registry_is_the_three_tiers_of_spec_section_3():
    assert DEFAULT.tiers == ("reader", "reactor", "contributor")
    assert DEFAULT.default_goals == {"reader": 0.55, "reactor": 0.40, "contributor": 0.05}
    assert DEFAULT["reader"].counts("cumulative") == ("view", "react", "contribute")
    assert DEFAULT["reader"].counts("independent") == ("view",)


def test_the_json_schema_agrees_with_the_registry():
    assert schema_for(SCHEMA, DEFAULT) == SCHEMA


def test_roster_reserved_names_come_from_the_registry():
    assert set(DEFAULT.engine_columns()) <= set(RESERVED)


def test_a_toy_tier_metric_flows_to_json_csv_markdown_and_table(org):
    _, _, roster, events = org
    reg = DEFAULT.with_metric(ENGAGED)
    m = _measure(org, reg, by=("department",))
    # The oracle: people in the population with a react or contribute event in Q1.
    pop, ev = _population_and_events(roster, events, START, END)
    engaged = set(ev.loc[ev["cls"].isin(["react", "contribute"]), "uid"]) & set(pop["user_id"])
    assert m["metrics"]["engaged"]["users"] == len(engaged)
    assert m["metrics"]["engaged"]["users"] == m["metrics"]["reactor"]["users"]  # cumulative
    assert {g["metric"] for g in m["goals"]} == {*DEFAULT.tiers, "engaged"}
    jsonschema.validate(m, schema_for(SCHEMA, reg))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(m, SCHEMA)  # the default schema knows no such metric
    header = next(csv.reader(io.StringIO(to_csv(m))))
    assert "engaged_users" in header and "engaged_ci95_high" in header
    assert "| engaged |" in to_markdown(m) and "Engaged" in to_markdown(m)
    con = Console(record=True, width=200, file=io.StringIO())
    con.print(to_table(m))
    assert "engaged" in con.export_text()


def test_a_toy_metric_is_compared_and_trended(org):
    store, rp, _, _ = org
    reg = DEFAULT.with_metric(ENGAGED)
    base = _measure(org, reg)
    c = report.compare(base, base, registry=reg)
    assert c["changes"]["engaged"]["delta_pp"] == 0
    assert "\nengaged," in to_csv(c) and "| engaged |" in to_markdown(c)
    ros = load_roster(rp, None)
    tr = report.trend(store, Config(), "month", Window(START, END), Population(roster=ros), (), reg)
    assert all("engaged" in r["metrics"] for r in tr["rows"])
    assert "Engaged" in to_markdown(tr)


def test_a_toy_aggregate_metric_gives_one_value_per_window(org):
    reg = DEFAULT.with_metric(PER_PERSON)
    m = _measure(org, reg)
    value = m["metrics"]["events_per_person"]["value"]
    _, _, roster, events = org
    _, ev = _population_and_events(roster, events, START, END)
    matched = ev[ev["uid"].notna()]
    assert value == pytest.approx(len(matched) / matched["uid"].nunique())
    jsonschema.validate(m, schema_for(SCHEMA, reg))
    assert "events_per_person_value" in to_csv(m)
    assert "Events per person" in to_markdown(m)


def test_the_default_registry_is_never_changed_by_a_copy():
    DEFAULT.with_metric(ENGAGED)
    assert "engaged" not in DEFAULT


def test_goals_files_accept_the_registrys_metrics_only(tmp_path):
    p = tmp_path / "goals.toml"
    p.write_text("[goals]\nengaged = 25\n")
    assert load_goals(p, DEFAULT.with_metric(ENGAGED)) == {"engaged": 0.25}
    with pytest.raises(ConfigError, match="unknown goal 'engaged'"):
        load_goals(p)


@pytest.mark.parametrize(
    ("rate", "ci", "status"),
    [
        (0.1, (0.05, 0.15), "met_with_confidence"),
        (0.18, (0.1, 0.25), "met"),
        (0.3, None, "not_met"),
    ],
)
def test_a_lower_is_better_goal_is_met_at_or_under_its_target(rate, ci, status):
    from intranet_metrics.goals import goal_status

    lo, hi = ci or (None, None)
    assert goal_status(rate, 0.2, lo, higher_is_better=False, ci_high=hi) == status


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "Bad Name", "label": "x", "description": "x", "classes": ("view",)},
        {"name": "odd", "label": "x", "description": "x", "classes": ("ignore",)},
        {"name": "agg", "label": "x", "description": "x", "kind": "aggregate"},
    ],
)
def test_a_malformed_metric_is_refused_when_defined(bad):
    with pytest.raises(ValueError):
        Metric(**bad)


def test_a_roster_column_named_like_a_toy_metric_is_refused(org, tmp_path):
    store, rp, _, _ = org
    text = rp.read_text().replace("department", "engaged", 1)
    (tmp_path / "r.csv").write_text(text)
    ros = load_roster(tmp_path / "r.csv", None)
    with pytest.raises(ConfigError, match="engaged"):
        report.measure(
            store, Config(), Window(START, END), Population(roster=ros), (), None, "Q1",
            DEFAULT.with_metric(ENGAGED),
        )  # fmt: skip
