"""The human reports at a real organisation's size: 20,000 people, ~1M events with threads,
baseline + compare by department (40 departments) with managers configured and goals per
department, and a monthly trend; every format rendered in Dutch with every section, fast."""

from __future__ import annotations

import csv
import io
import re
import time

import numpy as np
import pyarrow.csv as pacsv
import pytest
from rich.console import Console

from intranet_metrics import api
from intranet_metrics.render import to_csv, to_html, to_markdown, to_table
from intranet_metrics.render.i18n import Lang

from .test_science_scale_cli import PEOPLE, Q1, Q3, _quarter

CONFIG = '[managers]\ncolumn = "is_manager"\n'
GOALS = "[goals]\nreader = 55\nreactor = 40\ncontributor = 5\n[goals.department]\nreader = 50\n"


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("html_scale")
    rng = np.random.default_rng(14)
    roster = folder / "roster.csv"
    with open(roster, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["user_id", "email", "department", "is_manager"])
        for i in range(PEOPLE):
            w.writerow([f"E{i}", f"p{i}@corp.example", f"D{i % 40}", "yes" if i % 25 == 0 else ""])
    files = []
    for tag, (start, end, p) in (("q1", Q1), ("q3", Q3)):
        files.append(folder / f"{tag}.csv")
        pacsv.write_csv(_quarter(rng, tag, start, end, rng.choice(4, PEOPLE, p=p)), files[-1])
    (folder / "c.toml").write_text(CONFIG, encoding="utf-8")
    (folder / "goals.toml").write_text(GOALS, encoding="utf-8")
    kw = {"config": folder / "c.toml", "roster": roster}
    store = api.open_store(folder / "store", create=True)
    assert sum(s.events for s in api.ingest(store, files).sources) >= 1_000_000
    by, goals = ["department"], folder / "goals.toml"
    base = api.baseline(store, Q1[0], Q1[1], by=by, goals=goals, **kw)
    cmp = api.compare_to(store, base, Q3[0], Q3[1], by=by, goals=goals, **kw)
    tr = api.trend(store, "month", Q1[0], Q3[1], goals=goals, **kw)
    return cmp.to_dict(), tr.to_dict()


def _every_format(doc: dict, lang: Lang) -> str:
    con = Console(record=True, width=80, file=io.StringIO(), color_system=None)
    con.print(to_table(doc, lang))
    return "\n".join([to_html(doc, lang), to_markdown(doc, lang), to_csv(doc, "excel", lang)])


@pytest.mark.slow
def test_twenty_thousand_people_rendered_in_dutch_with_every_section(reports):
    cmp, tr = reports
    t0 = time.perf_counter()
    page = to_html(cmp, Lang("nl"))
    trend_page = to_html(tr, Lang("nl"))
    text = _every_format(cmp, Lang("nl")) + _every_format(tr, Lang("nl"))
    elapsed = time.perf_counter() - t0
    found = set(re.findall(r'data-chart="(\w+)"', page))
    assert found == {"rates", "change", "split", "ladder", "leadership"}
    assert set(re.findall(r'data-chart="(\w+)"', trend_page)) == {"trend", "lifecycle", "ladder"}
    # Goals per department (40 rows), the trend's goal lines from its result.
    assert page.count('<td class="label">department D') == 40 and "doel 55%" in trend_page
    for title in ("Het verschil in detail", "Aanwezigheid van leidinggevenden", "Doelen per groep"):
        assert title in text
    assert elapsed < 30
