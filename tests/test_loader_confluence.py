from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import pyarrow.compute as pc
import pytest

from intranet_metrics.config import Config
from intranet_metrics.identity import Pseudonymiser
from intranet_metrics.loaders import apache, confluence
from intranet_metrics.loaders.base import read_head, read_source
from intranet_metrics.loaders.detect import detect

UTC = timezone.utc
AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0"


def line(
    url: str,
    user: str = "jdoe",
    method: str = "GET",
    status: str = "200",
    post711: bool = False,
    when: str = "04/Mar/2024:10:00:00 +0100",
) -> str:
    client = "10.1.2.3 " if post711 else ""
    return (
        f"[{when}] {client}{user} http-nio-8090-exec-7 10.0.0.9 {method} {url} HTTP/1.1 "
        f"{status} 12ms 3456 https://wiki.example.com/ {AGENT}\n"
    )


def load(tmp_path: Path, text: str):
    path = tmp_path / "atlassian-confluence-access.log"
    path.write_text(text, encoding="utf-8")
    return read_source(confluence, path)


@pytest.mark.parametrize("post711", [False, True])
@pytest.mark.parametrize(
    ("method", "url", "activity", "item"),
    [
        ("GET", "/display/HR/Holidays", "page_view", "/display/HR/Holidays"),
        ("GET", "/pages/viewpage.action?pageId=42&x=1", "page_view", None),
        ("GET", "/spaces/HR/pages/42/Holidays", "page_view", "/spaces/HR/pages/42/Holidays"),
        ("GET", "/x/AbCd", "page_view", "/x/AbCd"),
        ("GET", "/download/attachments/42/policy.pdf?api=v2", "file_view", None),
        ("POST", "/pages/docreatepage.action", "page_create", None),
        ("POST", "/pages/createpage.action?spaceKey=HR", "page_create", None),
        ("POST", "/pages/doaddcomment.action?pageId=42", "comment", None),
        ("POST", "/display/HR/Holidays/addcomment.action", "comment", None),
        ("POST", "/rest/likes/1.0/content/42/likes", "like", None),
        ("GET", "/rest/likes/1.0/content/42/likes", None, None),
        ("GET", "/rest/quickreload/latest/42?since=1", None, None),
        ("GET", "/s/abc/_/styles/colors.css", None, None),
        ("GET", "/index.action", None, None),
    ],
)
def test_rule_table(tmp_path, post711, method, url, activity, item) -> None:
    r = load(tmp_path, line(url, method=method, post711=post711))
    events = r.events.to_pylist()
    assert r.counts.rows == 1 and r.counts.rejected == 0
    if activity is None:
        assert events == [] and r.counts.other == 1
        return
    (ev,) = events
    assert (ev["activity"], ev["actor"]) == (activity, "jdoe")
    expected = item or url.split("?", 1)[0]
    if "viewpage" in url:
        expected = "/pages/viewpage.action?pageId=42"
    assert ev["item"] == expected


def test_user_agent_read_for_exclusions(tmp_path) -> None:
    path = tmp_path / "access.log"
    path.write_text(line("/display/A/B") + line("/display/A/C", user="ann"), encoding="utf-8")
    r = read_source(confluence, path, Config(exclude_user_agents=("chrome/120",)))
    assert r.counts.events == 0 and r.counts.excluded_total == 2


@pytest.mark.parametrize("user", ["-", "anonymous"])
@pytest.mark.parametrize("status", ["200", "404"])
def test_anonymous_and_failed_requests_are_no_event(tmp_path, user, status) -> None:
    r = load(tmp_path, line("/display/HR/Holidays", user=user, status=status))
    assert r.counts.events == 0 and r.counts.other == 1


def test_offset_converted_to_utc(tmp_path) -> None:
    r = load(tmp_path, line("/display/A/B", when="04/Mar/2024:10:00:00 +0100"))
    assert r.events.to_pylist()[0]["time"] == datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


def test_bad_lines_are_rejected_with_line_numbers(tmp_path) -> None:
    text = (
        line("/display/A/B")
        + "garbage that is no access log line\n"
        + line("/display/A/B", when="34/Foo/2024:10:00:00 +0100")
        + "\n"
    )
    r = load(tmp_path, text)
    assert (r.counts.rows, r.counts.events, r.counts.rejected) == (3, 1, 2)
    assert r.rejects.column("source_line").to_pylist() == [2, 3]


@pytest.mark.parametrize("name", ["confluence_access.log", "confluence_access_post7.11.log"])
def test_real_samples_detected_and_read(samples: Path, name: str) -> None:
    path = samples / "confluence-apache-plaso" / name
    assert detect(path) is confluence and not apache.sniff(path, read_head(path))
    r = read_source(confluence, path)
    # index.action, icons and /rest/ polling: no event, nothing rejected.
    assert r.counts.rejected == 0 and r.counts.rows == r.counts.other > 0


def test_apache_sample_is_not_confluence(samples: Path) -> None:
    path = samples / "confluence-apache-plaso" / "apache_access.log"
    assert not confluence.sniff(path, read_head(path)) and detect(path) is apache


@pytest.mark.parametrize(
    ("method", "url", "status", "activity"),
    [
        ("POST", "/pages/docreatepage.action", "302", "page_create"),
        ("POST", "/pages/doaddcomment.action?pageId=42", "303", "comment"),
        ("POST", "/pages/doaddcomment.action?pageId=42", "500", None),
        ("POST", "/rest/likes/1.0/content/42/likes", "403", None),
        ("GET", "/display/HR/Holidays", "302", None),  # a redirect is no page read
        ("GET", "/display/HR/Holidays", "304", "page_view"),
    ],
)
def test_status_decides_per_rule(tmp_path, method, url, status, activity) -> None:
    r = load(tmp_path, line(url, method=method, status=status))
    assert [e["activity"] for e in r.events.to_pylist()] == ([activity] if activity else [])


def test_fixture_counts(data: Path) -> None:
    r = read_source(confluence, data / "confluence" / "atlassian-confluence-access.log")
    c = r.counts
    assert (c.rows, c.events, c.other, c.rejected, c.excluded_total) == (13, 9, 3, 0, 1)
    assert dict(c.by_class) == {"view": 5, "react": 3, "contribute": 1}


def test_real_organisation_size(tmp_path) -> None:
    """20,000 people, 1.2M lines (~1M events) in both layouts: every line accounted for,
    every person found, in well under a minute."""
    people = 20_000
    urls = [f"/display/HR/Page{i}" for i in range(500)] + ["/s/x/_/styles/a.css"]
    hours = [
        f"04/Mar/2024:{h:02d}:{m:02d}:{s:02d} +0100"
        for h in range(8, 18)
        for m in range(60)
        for s in range(0, 60, 10)
    ]
    n = 1_200_000
    with open(tmp_path / "access.log", "w", encoding="utf-8") as fh:
        for i in range(n):
            client = "10.0.0.9 " if i & 1 else ""
            fh.write(
                f"[{hours[i % len(hours)]}] {client}u{i % people} http-nio-8090-exec-1 10.1.0.1 "
                f"GET {urls[i % 501]} HTTP/1.1 200 9ms 100 - {AGENT}\n"
            )
    start = time.perf_counter()
    r = read_source(confluence, tmp_path / "access.log")
    seconds = time.perf_counter() - start
    c = r.counts
    statics = sum(1 for i in range(n) if i % 501 == 500)
    assert (c.rows, c.rejected, c.other, c.events) == (n, 0, statics, n - statics)
    assert pc.count_distinct(r.events.column("actor")).as_py() == people
    assert seconds < 45, f"{n:,} lines took {seconds:.0f} s"


@pytest.mark.parametrize(
    "url", ["/display/~jdoe/Notes", "/spaces/~jdoe/pages/9/Notes", "/display/%7Ejdoe/Notes"]
)
def test_personal_space_hashed_under_a_key(tmp_path, url) -> None:
    path = tmp_path / "access.log"
    path.write_text(line(url) + line("/display/HR/Holidays"), encoding="utf-8")
    r = read_source(confluence, path, pseudo=Pseudonymiser(b"secret"))
    personal, public = r.events.column("item").to_pylist()
    assert personal.startswith("h:") and "jdoe" not in personal
    assert public == "/display/HR/Holidays"
