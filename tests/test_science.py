"""Hand-worked small cases and invariants of the science functions."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intranet_metrics import science

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
MARCH = (T0, datetime(2026, 4, 1, tzinfo=timezone.utc))


def ev(*rows: tuple) -> pd.DataFrame:
    """Rows (person, 'MM-DD HH', activity, item, parent, thread, source_format)."""
    cls = {
        "page_view": "view",
        "like": "react",
        "reaction": "react",
        "reply": "react",
        "comment": "react",
        "post": "contribute",
        "thread_start": "contribute",
        "page_create": "contribute",
    }
    out = []
    for r in rows:
        person, when, act, *rest = r
        item, parent, thread, fmt = (*rest, None, None, None, None)[:4]
        out.append(
            {
                "person": person,
                "time": pd.Timestamp(f"2026-{when}:00", tz="UTC"),
                "cls": cls[act],
                "activity": act,
                "item": item,
                "parent": parent,
                "thread": thread,
                "channel": "general" if fmt == "slack-export" else None,
                "source_format": fmt or "generic",
            }
        )
    return pd.DataFrame(out)


def pop(*people: str) -> pd.DataFrame:
    return pd.DataFrame({"person": list(people)})


# -- inequality ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([1, 1, 1, 1], 0.0),
        ([5, 5], 0.0),
        ([0, 0, 0, 4], 0.75),  # one person has all: (n - 1) / n
        ([1, 2, 3, 4], 0.25),  # sum|xi - xj| = 20 over 2 n^2 mean = 2 * 16 * 2.5
        ([0, 1], 0.5),
        ([0, 0], None),
        ([], None),
    ],
)
def test_gini_hand_worked(counts, expected):
    assert science.gini(counts) == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize(
    ("counts", "p", "expected"),
    [
        ([10, 1, 1, 1, 1, 1, 1, 1, 1, 1], 0.10, 10 / 19),  # 10 contributors: k = 1
        ([10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], 0.10, 11 / 20),  # 11: k = ceil(1.1) = 2
        ([3, 0, 0, 2], 0.01, 3 / 5),  # zeros are no contributors: k = ceil(0.02) = 1
        ([0, 0], 0.10, None),
    ],
)
def test_top_share_hand_worked(counts, p, expected):
    assert science.top_share(counts, p) == (None if expected is None else pytest.approx(expected))


def test_inequality_counts_zeros_of_the_whole_population():
    events = ev(("a", "03-02 10", "post", "1"), ("a", "03-02 11", "post", "2"))
    got = science.inequality(events, pop("a", "b", "c", "d"))
    assert got.gini == pytest.approx(0.75)
    assert (got.top1_share, got.top10_share) == (1.0, 1.0)
    assert got.ladder == {"inactive": 3, "reader_only": 0, "reactor_only": 0, "contributor": 1}


def test_inequality_counts_a_message_seen_in_two_sources_once():
    events = ev(
        ("a", "03-02 10", "thread_start", "77", None, "77", "engage-export"),
        ("a", "03-02 10", "thread_start", "77", None, "77", "m365-audit"),
        ("b", "03-02 12", "page_create", "/sites/x/a.aspx"),
    )
    assert science.contribution_counts(events, pop("a", "b")).to_dict() == {"a": 1, "b": 1}


def test_usage_report_aggregates_count_their_count():
    events = ev(("a", "03-01 00", "post")).assign(count=7, window_start=pd.Timestamp("2026-03-01"))
    assert science.contribution_counts(events, pop("a", "b")).to_dict() == {"a": 7, "b": 0}


def test_unmatched_people_are_not_counted():
    events = ev(("a", "03-02 10", "post", "1"), (None, "03-02 10", "post", "2"))
    assert science.inequality(events, pop("a")).contributions == 1


def test_accepts_arrow_tables():
    events = ev(("a", "03-02 10", "post", "1"))
    got = science.inequality(pa.Table.from_pandas(events), pa.table({"person": ["a", "b"]}))
    assert got.contributors == 1


# -- interaction ---------------------------------------------------------------------------


def test_reply_coverage_and_first_response_hand_worked():
    events = ev(
        ("a", "03-02 10", "thread_start", "1", None, "1"),
        ("b", "03-02 13", "reply", "2", "1", "1"),  # 3 h
        ("c", "03-02 11", "like", "1"),  # 1 h: the first response
        ("a", "03-03 10", "thread_start", "3", None, "3"),
        ("a", "03-03 11", "reply", "4", "3", "3"),  # own reply: no response
        ("b", "03-04 10", "post", "5"),
        ("c", "03-12 10", "reply", "6", "5", "5"),  # 8 days: too late, but not solo
        ("c", "03-05 10", "post", "7"),
        ("a", "03-05 15", "reply", "8", "7", "7"),  # 5 h
    )
    got = science.interaction(events, *MARCH)
    assert got.thread_starts == 4
    assert got.answered == 2
    assert got.reply_coverage == 0.5
    assert got.median_first_response_hours == 3.0  # median of 1 and 5
    assert got.solo_thread_rate == 0.25


def test_a_reply_to_a_reply_belongs_to_the_root_thread():
    events = ev(
        ("a", "03-02 10", "post", "1"),
        ("a", "03-02 11", "reply", "2", "1"),
        ("b", "03-02 12", "reply", "3", "2"),  # answers a's own reply: no thread column
    )
    got = science.interaction(events, *MARCH)
    assert (got.answered, got.median_first_response_hours) == (1, 2.0)


def test_slack_ts_is_unique_per_channel_only():
    # The same ts in two channels: two threads, and the reaction lands in its own channel.
    events = ev(
        ("a", "03-02 10", "post", "1700000000.000100", None, None, "slack-export"),
        ("b", "03-02 11", "reaction", "1700000000.000100", None, None, "slack-export"),
        ("c", "03-02 10", "post", "1700000000.000100", None, None, "slack-export"),
    )
    events.loc[2, "channel"] = "random"
    got = science.interaction(events, *MARCH)
    assert (got.thread_starts, got.answered) == (2, 1)


def test_a_thread_seen_in_two_sources_is_one_thread():
    events = ev(
        ("a", "03-02 10", "thread_start", "99", None, "99", "engage-export"),
        ("a", "03-02 10", "thread_start", "99", None, "99", "m365-audit"),
        ("b", "03-02 14", "reply", "100", "99", "99", "m365-audit"),
    )
    got = science.interaction(events, *MARCH)
    assert (got.thread_starts, got.answered, got.median_first_response_hours) == (1, 1, 4.0)


def test_threads_started_outside_the_window_are_not_counted():
    events = ev(("a", "02-27 10", "post", "1"), ("b", "03-02 10", "reply", "2", "1"))
    assert science.interaction(events, *MARCH).thread_starts == 0
    assert science.interaction(events, *MARCH).reply_coverage is None


def test_team_broadcasting_versus_listening():
    events = ev(
        ("comms", "03-02 10", "post", "1"),
        ("comms", "03-03 10", "post", "2"),
        ("x", "03-03 11", "post", "3"),
        ("comms", "03-03 12", "reply", "4", "3"),  # a reply to someone outside the team
        ("x", "03-04 12", "page_create", "/p"),
    )
    got = science.interaction(events, *MARCH, team={"comms"})
    assert got.broadcast_share == 0.5  # 2 of 4 contributions
    assert got.replies_per_own_post == 0.5  # 1 reply to others per 2 own posts


# -- leadership ----------------------------------------------------------------------------


def test_leadership_hand_worked():
    events = ev(
        ("m", "03-02 10", "post", "1"),
        ("a", "03-02 11", "post", "2"),
        ("m", "03-02 12", "like", "2"),
        ("a", "03-03 11", "post", "3"),
        ("b", "03-03 12", "page_view", "/x"),
    )
    people = pd.DataFrame({"person": ["m", "a", "b", "n"], "role": ["Manager", "", "", "MANAGER"]})
    managers = science.people_where(people, "role", ["manager"])
    got = science.leadership(events, people, managers, *MARCH, min_group_size=2)
    assert managers == {"m", "n"}
    assert (got.threads_with_manager, got.thread_starts) == (2, 3)
    assert got.managers["contributor_rate"] == 0.5 and got.managers["population"] == 2
    assert got.others["reader"] == 2 and got.others["contributor"] == 1


# -- lifecycle -----------------------------------------------------------------------------


def test_lifecycle_hand_worked():
    events = ev(
        ("old", "01-10 10", "page_view"),  # seen long before: resurrects in March
        ("a", "02-10 10", "page_view"),
        ("a", "03-10 10", "page_view"),  # returning
        ("a", "03-11 10", "like", "1"),
        ("a", "03-11 12", "page_view"),  # same day: one active day
        ("b", "02-12 10", "page_view"),  # dormant in March
        ("old", "03-20 10", "page_view"),
        ("new", "03-21 10", "post", "9"),  # first ever
    )
    periods = science.monthly_periods(datetime(2026, 2, 1, tzinfo=timezone.utc), 2)
    feb, mar = science.lifecycle(events, periods)
    assert (feb.active, feb.new, feb.returning, feb.resurrecting, feb.dormant) == (2, 2, 0, 0, 1)
    assert (mar.active, mar.new, mar.returning, mar.resurrecting, mar.dormant) == (3, 1, 1, 1, 1)
    assert mar.stickiness == pytest.approx(4 / 3)  # a: 2 days, old: 1, new: 1


def test_stickiness_days_are_local_days():
    # 23:00 and 00:00 UTC are 00:00 and 01:00 on 3 March in Amsterdam: one local day.
    events = ev(("a", "03-02 23", "page_view"), ("a", "03-03 00", "page_view"))
    periods = science.monthly_periods(T0, 1)
    assert science.lifecycle(events, periods, tz="UTC")[0].stickiness == 2
    assert science.lifecycle(events, periods, tz="Europe/Amsterdam")[0].stickiness == 1


# -- invariants ----------------------------------------------------------------------------

people_st = st.sampled_from([f"p{i}" for i in range(12)])
acts_st = st.sampled_from(["page_view", "like", "reply", "post", "thread_start", "page_create"])
row_st = st.tuples(
    people_st,
    st.integers(0, 89),  # day offset from Jan 1
    st.integers(0, 23),
    acts_st,
    st.integers(0, 15),  # item / parent ids
    st.booleans(),
)


def _random_events(rows) -> pd.DataFrame:
    out = []
    for person, day, hour, act, k, with_parent in rows:
        t = pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(days=day, hours=hour)
        parent = str((k * 7) % 16) if with_parent and act in ("reply", "like") else None
        out.append((person, t.strftime("%m-%d %H"), act, str(k), parent))
    return ev(*out) if out else ev(("p0", "01-01 00", "page_view")).iloc[:0]


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(row_st, max_size=60), n=st.integers(1, 15))
def test_invariants(rows, n):
    events = _random_events(rows)
    population = pop(*[f"p{i}" for i in range(n)])
    got = science.inequality(events, population)
    assert sum(got.ladder.values()) == n
    for share in (got.gini, got.top1_share, got.top10_share, *got.active_shares.values()):
        assert share is None or 0 <= share <= 1
    assert got.top1_share is None or got.top1_share <= got.top10_share
    inter = science.interaction(events, datetime(2026, 1, 1), datetime(2026, 4, 1))
    for share in (inter.reply_coverage, inter.solo_thread_rate):
        assert share is None or 0 <= share <= 1
    assert inter.answered <= inter.thread_starts
    if inter.reply_coverage is not None:
        # Answered and solo threads never overlap.
        assert inter.reply_coverage + inter.solo_thread_rate <= 1 + 1e-12
    periods = science.monthly_periods(datetime(2026, 1, 1, tzinfo=timezone.utc), 3)
    for row in science.lifecycle(events, periods):
        assert row.new + row.returning + row.resurrecting == row.active


@given(count=st.integers(1, 50), n=st.integers(1, 200))
def test_gini_is_zero_for_equal_counts(count, n):
    assert science.gini([count] * n) == pytest.approx(0.0, abs=1e-12)


@given(st.lists(st.integers(0, 1000), min_size=1, max_size=300))
def test_gini_and_top_shares_stay_in_range(counts):
    g = science.gini(counts)
    assert g is None or 0 <= g <= (len(counts) - 1) / len(counts) + 1e-12
    t1, t10 = science.top_share(counts, 0.01), science.top_share(counts, 0.10)
    assert (t1 is None) == (t10 is None) == (sum(counts) == 0)
    assert t1 is None or 0 < t1 <= t10 <= 1


# -- per segment ---------------------------------------------------------------------------


def test_segments_hide_small_groups_as_the_tiers_do():
    people = pd.DataFrame(
        {"person": [f"p{i}" for i in range(17)], "dept": ["A"] * 9 + ["B"] * 6 + ["C"] * 2}
    )
    events = ev(("p0", "03-02 10", "post", "1"), ("p10", "03-02 10", "post", "2"))
    rows = science.by_segment(people, "dept", lambda p: science.inequality(events, p), 5)
    got = {r.value: (r.population, r.suppressed, r.figure is None) for r in rows}
    # C (2 people) is hidden, and B (the smallest shown) with it: otherwise the total
    # minus A and B would give C.
    assert got == {"A": (9, False, False), "B": (None, True, True), "C": (None, True, True)}
    shown = next(r for r in rows if r.value == "A").figure
    assert (shown.population, shown.contributions) == (9, 1)


def test_segments_with_no_small_group_hide_nothing():
    people = pd.DataFrame({"person": list("abcdefghij"), "dept": list("XXXXXYYYYY")})
    rows = science.by_segment(people, "dept", len, 5)
    assert [(r.value, r.suppressed, r.figure) for r in rows] == [("X", False, 5), ("Y", False, 5)]


def test_leadership_hides_a_small_group_of_managers():
    people = pd.DataFrame({"person": list("mabcdef"), "is_manager": ["ja"] + [""] * 6})
    events = ev(("m", "03-02 10", "post", "1"), ("a", "03-02 11", "like", "1"))
    got = science.leadership(events, people, science.people_where(people, "is_manager"), *MARCH)
    assert got.managers["suppressed"] and got.others["suppressed"]
    assert got.managers["contributor"] is None and got.others["reader_rate"] is None
    assert got.manager_thread_share is None and got.threads_with_manager is None


def test_a_thread_column_that_names_no_start_is_not_trusted():
    # Teams-style: the thread column holds the channel, the parent the root message.
    events = ev(
        ("a", "03-02 10", "post", "1", None, "19:chan@thread"),
        ("b", "03-02 16", "reply", "2", "1", "19:chan@thread"),
    )
    got = science.interaction(events, *MARCH)
    assert (got.thread_starts, got.answered, got.median_first_response_hours) == (1, 1, 6.0)


# -- a real export -------------------------------------------------------------------------


def test_real_slack_export(samples, tmp_path):
    from intranet_metrics import api
    from intranet_metrics.config import Config

    config = Config()
    store = api.open_store(tmp_path / "store", create=True)
    api.ingest(store, [samples / "slack-export-viewer" / "testarchive.zip"], config)
    raw = pd.concat([pd.read_parquet(f) for f in store.event_files()], ignore_index=True)
    actors = raw["actor"].unique()
    aliases = pd.DataFrame({"identifier": actors, "person": actors})
    events = science.resolve_events(raw, aliases, config.activities)
    got = science.interaction(events, datetime(2016, 1, 1), datetime(2016, 4, 1))
    # 52 human posts; the one reaction sits on a bot message, which opens no thread.
    assert (got.thread_starts, got.answered, got.solo_thread_rate) == (52, 0, 1.0)
    ineq = science.inequality(events, pd.DataFrame({"person": events["person"].unique()}))
    assert ineq.contributions == 52 and sum(ineq.ladder.values()) == ineq.population


def test_interaction_of_one_segment_counts_its_own_threads():
    events = ev(
        ("a", "03-02 10", "post", "1"),
        ("b", "03-02 11", "reply", "2", "1"),
        ("b", "03-03 10", "post", "3"),
    )
    got = science.interaction(events, *MARCH, starters={"b"})
    assert (got.thread_starts, got.answered, got.solo_thread_rate) == (1, 0, 1.0)


def test_resolve_events_keeps_counted_rows_and_marks_the_unmatched():
    raw = pd.DataFrame(
        {
            "time": pd.to_datetime(["2026-03-02T10:00Z"] * 4),
            "actor": ["a@x.nl", "a@x.nl", "bot@x.nl", "stranger@x.nl"],
            "activity": ["post", "edit", "post", "page_view"],
            "excluded": [None, None, "service_account", None],
        }
    )
    aliases = pd.DataFrame({"identifier": ["a@x.nl"], "person": [1]})
    got = science.resolve_events(raw, aliases, {"post": "contribute", "page_view": "view"})
    assert got["actor"].tolist() == ["a@x.nl", "stranger@x.nl"]
    assert got["cls"].tolist() == ["contribute", "view"]
    assert got["person"].isna().tolist() == [False, True]
