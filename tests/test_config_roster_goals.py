from __future__ import annotations

from datetime import date

import pytest

from intranet_metrics.config import load_config
from intranet_metrics.errors import ConfigError
from intranet_metrics.goals import goal_status, load_goals
from intranet_metrics.identity import Pseudonymiser
from intranet_metrics.roster import load_roster


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_config_reads_every_setting(tmp_path):
    cfg = load_config(
        write(
            tmp_path,
            "c.toml",
            """
timezone = "Europe/Amsterdam"
tiers = "independent"
min_group_size = 7
service_accounts = ["SVC@x.com"]
[activities]
share = "react"
[map]
timestamp = "When"
""",
        )
    )
    assert (cfg.timezone, cfg.tiers, cfg.min_group_size) == ("Europe/Amsterdam", "independent", 7)
    assert cfg.service_accounts == ("svc@x.com",)
    assert cfg.activities["share"] == "react" and cfg.activities["like"] == "react"
    assert cfg.column_map == {"timestamp": "When"}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('timezon = "UTC"', "did you mean 'timezone'"),
        ('timezone = "Mars/Olympus"', "unknown timezone"),
        ("min_group_size = 2", "at least 3"),
        ('tiers = "stacked"', "cumulative"),
        ('[activities]\nlikes = "react"', "did you mean 'like'"),
        ('[activities]\nlike = "love"', "view, react, contribute, ignore"),
        ("timezone = ", "not valid TOML"),
    ],
)
def test_bad_config_says_what_to_fix(tmp_path, text, needle):
    with pytest.raises(ConfigError, match=needle):
        load_config(write(tmp_path, "c.toml", text))


def test_roster_aliases_and_dates(tmp_path):
    p = write(
        tmp_path,
        "r.csv",
        "\ufeffuser_id,email,aliases,start_date,end_date,department\n"
        "E1,Jane@X.com,CONTOSO\\jane;U0ABC12,2020-01-01,,HR\n"
        "E2,bob@x.com,slack:U0BOB,,2026-02-01,\n",
    )
    r = load_roster(p)
    ids = dict(
        zip(r.aliases["identifier"].to_pylist(), r.aliases["person"].to_pylist(), strict=True)
    )
    assert ids["jane@x.com"] == ids["contoso\\jane"] == ids["slack:u0abc12"] == ids["e1"] == 0
    assert ids["u0bob"] == ids["slack:u0bob"] == 1
    assert r.dimensions == ("department",)
    assert r.people["department"].to_pylist() == ["HR", "(unknown)"]
    assert r.people["end_date"].to_pylist() == [None, date(2026, 2, 1)]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("user_id\nE1\ne1\n", "line 3: the same user_id as line 2"),
        ("user_id,start_date,end_date\nE1,2026-05-01,2026-01-01\n", "before start_date"),
        ("user_id,start_date\nE1,01/05/2026\n", "not an ISO date"),
        ("email\nx@y.z\n", "no user_id column"),
        ("user_id,email\nE1,a@x.com\nE2,A@X.com\n", "also belongs to the person on line 2"),
        ("", "empty"),
    ],
)
def test_bad_roster_names_line_and_fix(tmp_path, body, needle):
    with pytest.raises(ConfigError, match=needle):
        load_roster(write(tmp_path, "r.csv", body))


def test_roster_is_hashed_with_the_key(tmp_path):
    p = write(tmp_path, "r.csv", "user_id,email\nE1,jane@x.com\n")
    pseudo = Pseudonymiser(b"secret")
    ids = load_roster(p, pseudo).aliases["identifier"].to_pylist()
    assert pseudo("jane@x.com") in ids and "jane@x.com" not in ids


def test_goals_are_percentages(tmp_path):
    g = load_goals(write(tmp_path, "g.toml", "[goals]\nreader = 60\ncontributor = 2.5\n"))
    assert g == {"reader": 0.6, "contributor": 0.025}
    with pytest.raises(ConfigError, match="percentage"):
        load_goals(write(tmp_path, "h.toml", "[goals]\nreader = 160\n"))


@pytest.mark.parametrize(
    ("rate", "lo", "status"),
    [
        (None, None, "no_data"),
        (0.5, 0.4, "not_met"),
        (0.6, 0.5, "met"),
        (0.7, 0.56, "met_with_confidence"),
    ],
)
def test_goal_status(rate, lo, status):
    assert goal_status(rate, 0.55, lo) == status
