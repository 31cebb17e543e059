"""Issue 10.6: a config value of any type gives a Config or a ConfigError (exit 6) that
names the key, never another exception."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intranet_metrics.config import _KEYS, Config, parse_config
from intranet_metrics.errors import ConfigError, ExitCode

# Every type a TOML value can have: strings, numbers, booleans, dates, arrays, tables.
scalars = st.one_of(
    st.text(max_size=12),
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.datetimes(),
    st.dates(),
    st.times(),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=400, deadline=None)
@given(key=st.sampled_from(sorted(_KEYS)), value=values)
def test_any_value_gives_a_config_or_an_error_naming_the_key(key, value):
    try:
        assert isinstance(parse_config({key: value}, "cfg.toml"), Config)
    except ConfigError as exc:
        assert exc.exit_code == ExitCode.CONFIG
        # The message names the key (for [activities] and [map]: the table or its entry).
        assert key in str(exc) or (key in ("activities", "map") and "[" in str(exc)), str(exc)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"activities": 5}, "activities must be a table"),
        ({"min_group_size": "x"}, "min_group_size must be a whole number"),
        ({"timezone": 3}, "timezone must be an IANA time zone name, not a number"),
        ({"pseudonymise": "no"}, "pseudonymise must be true or false, not text"),
        ({"store": dt.date(2026, 1, 1)}, "store must be a path in quotes"),
        ({"map": {"timestamp": 1}}, "map.timestamp must be a column name in quotes"),
        ({"activities": {"like": ["react"]}}, "[activities] like = ['react']: use one of"),
    ],
)
def test_wrong_types_are_named_with_what_to_give(data, needle):
    with pytest.raises(ConfigError) as exc:
        parse_config(data, "cfg.toml")
    assert needle in str(exc.value)
