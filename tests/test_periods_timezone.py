from __future__ import annotations

from datetime import date

import pytest

from intranet_metrics import api
from intranet_metrics.config import Config
from intranet_metrics.report import periods_between


def test_weeks_are_iso_and_clipped():
    ps = periods_between("week", date(2026, 1, 1), date(2026, 1, 14))
    assert [(p.label, p.start.isoformat(), p.end.isoformat()) for p in ps] == [
        ("2026-W01", "2026-01-01", "2026-01-04"),
        ("2026-W02", "2026-01-05", "2026-01-11"),
        ("2026-W03", "2026-01-12", "2026-01-14"),
    ]


@pytest.mark.parametrize(
    ("kind", "labels"),
    [
        ("month", ["2025-12", "2026-01", "2026-02"]),
        ("quarter", ["2025-Q4", "2026-Q1"]),
        ("year", ["2025", "2026"]),
    ],
)
def test_calendar_periods(kind, labels):
    ps = periods_between(kind, date(2025, 12, 15), date(2026, 2, 10))
    assert [p.label for p in ps] == labels
    assert ps[0].start == date(2025, 12, 15) and ps[-1].end == date(2026, 2, 10)


def test_windows_are_cut_in_the_report_time_zone(tmp_path):
    # 23:30 UTC on 31 January is 1 February in Amsterdam.
    f = tmp_path / "e.csv"
    f.write_text("timestamp,user,activity\n2026-01-31T23:30:00Z,a@x.com,post\n")
    store = api.open_store(tmp_path / "s", create=True)
    api.ingest(store, [f])
    ams = Config(timezone="Europe/Amsterdam")
    jan = api.measure(store, "2026-01-01", "2026-01-31", config=ams, population_size=10)
    feb = api.measure(store, "2026-02-01", "2026-02-28", config=ams, population_size=10)
    utc_jan = api.measure(store, "2026-01-01", "2026-01-31", population_size=10)
    assert jan["metrics"]["contributor"]["users"] == 0
    assert feb["metrics"]["contributor"]["users"] == 1
    assert utc_jan["metrics"]["contributor"]["users"] == 1


def test_naive_generic_timestamps_are_in_the_report_time_zone(tmp_path):
    f = tmp_path / "e.csv"
    f.write_text("timestamp,user,activity\n2026-02-01T00:30:00,a@x.com,post\n")
    store = api.open_store(tmp_path / "s", create=True)
    ams = Config(timezone="Europe/Amsterdam")
    api.ingest(store, [f], config=ams)
    feb = api.measure(store, "2026-02-01", "2026-02-28", config=ams, population_size=10)
    assert feb["metrics"]["contributor"]["users"] == 1
    assert store.sources[0]["min_time"] == "2026-01-31T23:30:00+00:00"
