"""Usage-report aggregates in a measurement: whole report windows only, concealed names."""

from __future__ import annotations

from intranet_metrics import api

HEADER = (
    "\ufeffReport Refresh Date,User Principal Name,Display Name,User State,State Change Date,"
    "Last Activity Date,Posted Count,Read Count,Liked Count,Assigned Products,Report Period\n"
)
CONCEALED = "0123456789abcdef0123456789abcdef"


def setup(tmp_path, rows):
    report = tmp_path / "YammerActivityUserDetail.csv"
    report.write_text(HEADER + "".join(rows), encoding="utf-8")
    roster = tmp_path / "roster.csv"
    # Five people: a smaller population would be suppressed as a whole (min_group_size).
    people = ["jane", "bob", "x", "y", "z"]
    roster.write_text("user_id,email\n" + "".join(f"E{p},{p}@contoso.com\n" for p in people))
    store = api.open_store(tmp_path / "s", create=True)
    api.ingest(store, [report])
    return store, roster


def test_concealed_names_count_as_unmatched_and_are_reported(tmp_path):
    store, roster = setup(
        tmp_path,
        [
            "2026-03-28,jane@contoso.com,Jane,Active,,2026-03-27,1,5,0,,7\n",
            f"2026-03-28,{CONCEALED},,Active,,2026-03-27,0,3,0,,7\n",
        ],
    )
    m = api.measure(store, "2026-03-01", "2026-03-31", roster=roster)
    assert m["metrics"]["reader"]["users"] == 1 and m["metrics"]["contributor"]["users"] == 1
    assert m["population"]["concealed_actors"] == 1
    assert m["population"]["unmatched_actors"] == 1
    assert any("concealed names" in w for w in m["warnings"])


def test_only_whole_report_windows_count(tmp_path):
    # 7 days ending 2026-04-02: 27 March .. 2 April, not inside March.
    store, roster = setup(
        tmp_path,
        [
            "2026-03-28,jane@contoso.com,Jane,Active,,2026-03-27,0,5,0,,7\n",
            "2026-04-02,bob@contoso.com,Bob,Active,,2026-04-01,0,5,0,,7\n",
        ],
    )
    march = api.measure(store, "2026-03-01", "2026-03-31", roster=roster)
    assert march["metrics"]["reader"]["users"] == 1
    assert any("only partly overlap" in w for w in march["warnings"])
    spring = api.measure(store, "2026-03-01", "2026-04-30", roster=roster)
    assert spring["metrics"]["reader"]["users"] == 2
    assert not any("partly" in w for w in spring["warnings"])


# 30 days ending 2026-02-13: 15 January .. 13 February, stored in January's partition.
ACROSS = "2026-02-14,jane@contoso.com,Jane,Active,,2026-02-10,0,5,0,,30\n"


def test_an_aggregate_from_an_earlier_month_is_reported_as_partial(tmp_path):
    store, roster = setup(tmp_path, [ACROSS])
    m = api.measure(store, "2026-02-01", "2026-03-31", roster=roster)
    assert m["metrics"]["reader"]["users"] == 0
    assert any("only partly overlap" in w for w in m["warnings"])


def test_a_monthly_trend_warns_of_partial_aggregates(tmp_path):
    store, roster = setup(tmp_path, [ACROSS])
    tr = api.trend(store, "month", "2026-01-01", "2026-03-31", roster=roster)
    assert all(not r["metrics"]["reader"]["users"] for r in tr["rows"])
    assert any("only partly overlap 2 period(s) (2026-01, ...)" in w for w in tr["warnings"])
