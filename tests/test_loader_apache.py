from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from intranet_metrics.config import Config
from intranet_metrics.loaders import apache, generic, iis
from intranet_metrics.loaders.base import EventBuilder, SourceInfo, read_head, read_source

UTC = timezone.utc


def write(tmp_path: Path, text: str, name: str = "access.log") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode())
    return p


def counts(result) -> tuple[int, int, int, int, int]:
    c = result.counts
    return c.rows, c.events, c.excluded_total, c.other, c.rejected


def line(path: str, user: str = "jdoe", status: str = "200", method: str = "GET") -> str:
    return (
        f'10.0.0.1 - {user} [04/Mar/2024:09:00:00 +0000] "{method} {path} HTTP/1.1" {status} 1 '
        '"-" "Mozilla/5.0"\n'
    )


def test_fixture_counts(data: Path) -> None:
    r = read_source(apache, data / "apache" / "intranet_access.log")
    assert counts(r) == (12, 4, 1, 5, 2)
    assert r.counts.excluded == {"user_agent": 1}


@pytest.mark.parametrize(
    ("lineno", "actor", "item", "when"),
    [
        (1, "jdoe", "/wiki/Home", datetime(2024, 3, 4, 8, 0, 0, tzinfo=UTC)),  # +0100
        (4, "asmith", "/wiki/News", datetime(2024, 3, 4, 6, 30, 0, tzinfo=UTC)),  # -0700, 304
        (9, "bwhite", "/wiki/Handbook", datetime(2024, 3, 4, 9, 0, 6, tzinfo=UTC)),  # common
        (10, "cgreen", "/wiki/Home", datetime(2024, 3, 4, 9, 0, 7, tzinfo=UTC)),  # %v:%p prefix
    ],
)
def test_fixture_events(data: Path, lineno: int, actor: str, item: str, when) -> None:
    events = read_source(apache, data / "apache" / "intranet_access.log").events.to_pylist()
    ev = next(e for e in events if e["source_line"] == lineno)
    assert (ev["actor"], ev["activity"], ev["item"], ev["time"]) == (
        actor,
        "page_view",
        item,
        when,
    )


def test_fixture_rejects(data: Path) -> None:
    r = read_source(apache, data / "apache" / "intranet_access.log")
    assert [(x["source_line"], x["reason"]) for x in r.rejects.to_pylist()] == [
        (11, "not a common or combined log line"),
        (12, "timestamp is not [dd/Mon/yyyy:HH:MM:SS +zzzz]"),
    ]


@pytest.mark.parametrize(
    ("text", "is_view"),
    [
        (line("/wiki/Home"), True),
        (line("/wiki/Home", status="304"), True),
        (line("/wiki/report.pdf"), True),
        (line("/wiki/Home", user="-"), False),
        (line("/wiki/Home", status="302"), False),
        (line("/wiki/Home", method="HEAD"), False),
        *[(line(f"/assets/x{ext.upper()}?v=1"), False) for ext in apache.STATIC_SUFFIXES],
        (line("/api/v2/pages"), False),
        (line("/wiki/api/notes"), True),
    ],
)
def test_classification(tmp_path: Path, text: str, is_view: bool) -> None:
    r = read_source(apache, write(tmp_path, text))
    assert (r.counts.events, r.counts.other) == ((1, 0) if is_view else (0, 1))


def test_user_agent_with_missing_closing_quote_is_still_read(tmp_path: Path) -> None:
    text = line("/wiki/Home").replace('"Mozilla/5.0"', '"Googlebot/2.1 (+http://google.com/bot')
    assert read_source(apache, write(tmp_path, text)).counts.excluded == {"user_agent": 1}


def test_config_user_agents_are_excluded(tmp_path: Path) -> None:
    r = read_source(
        apache, write(tmp_path, line("/wiki/Home")), Config(exclude_user_agents=("mozilla",))
    )
    assert r.counts.excluded == {"user_agent": 1}


def test_unescaped_quotes_in_request(tmp_path: Path) -> None:
    text = '1.2.3.4 - jdoe [25/Apr/2021:06:15:33 +0000] "GET /a?t=<b>"x"</b> HTTP/1.0" 200 11\n'
    (ev,) = read_source(apache, write(tmp_path, text)).events.to_pylist()
    assert ev["item"] == "/a"


def test_rejects_stay_in_line_order(tmp_path: Path) -> None:
    # Out of range (rejected by the builder), unreadable time and no log line, among events.
    ok = line("/a")
    old = ok.replace("2024", "1980")
    bad = ok.replace("09:00:00", "29:00:00")
    p = write(tmp_path, ok + old + ok + bad + "nonsense\n" + ok)
    r = read_source(apache, p)
    assert counts(r) == (6, 3, 0, 0, 3)
    assert r.rejects["source_line"].to_pylist() == [2, 4, 5]


def test_small_batches_keep_the_accounting(tmp_path: Path) -> None:
    p = write(tmp_path, line("/a") * 5 + line("/a.css") * 2 + "nonsense\n")
    builder = EventBuilder(SourceInfo(str(p), "x", apache.NAME), Config(), batch_size=2)
    batches = [b for b in apache.load(p, builder) if b is not None]
    assert [b.num_rows for b in batches] == [2, 2]
    c = builder.counts
    assert (c.rows, c.events, c.other, c.rejected) == (8, 5, 2, 1)


def test_crlf_and_identical_lines_share_event_keys(tmp_path: Path) -> None:
    lf = read_source(apache, write(tmp_path, line("/wiki/A") * 2, "lf.log")).events
    crlf = read_source(apache, write(tmp_path, line("/wiki/A").replace("\n", "\r\n"), "c.log"))
    keys = lf["event_key"].to_pylist() + crlf.events["event_key"].to_pylist()
    assert len(keys) == 3 and len(set(keys)) == 1


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (line("/"), True),
        ('127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326\n', True),
        ("\n\n" + line("/"), True),
        ("#Software: Microsoft Internet Information Services 10.0\n", False),
        ("timestamp,user,activity\n2024-01-01,a,view\n", False),
        (
            "[17/Jun/2021:12:57:26 +0200] user http-nio-8080-exec-6 1.2.3.4 GET / HTTP/1.1 200\n",
            False,
        ),
    ],
)
def test_sniff(head: str, expected: bool) -> None:
    assert apache.sniff(Path("x"), head.encode()) is expected


def test_other_loaders_do_not_claim_access_logs(data: Path) -> None:
    head = read_head(data / "apache" / "intranet_access.log")
    assert not iis.sniff(Path("x"), head)
    assert not generic.sniff(Path("x"), head)


# rows, events, excluded, other, rejected: verified by reading each file.
SAMPLES = [
    # 15 lines: common, combined, %v:%p-prefixed, unescaped quotes, a truncated user agent;
    # one authenticated GET (line 15, pyllyukko@EXAMPLE.COM).
    ("confluence-apache-plaso/apache_access.log", (15, 1, 0, 14, 0)),
    ("combined-log-lnav/logfile_access_log.0", (3, 0, 0, 3, 0)),
    # Line 2 lacks the %l %u fields.
    ("combined-log-lnav/logfile_bad_access_log.0", (3, 0, 0, 2, 1)),
    # 1000 lines with an extra trailing quoted field, all anonymous.
    ("combined-log-lnav/logfile_shop_access_log.0", (1000, 0, 0, 1000, 0)),
]


@pytest.mark.parametrize(("name", "expected"), SAMPLES)
def test_real_samples(samples: Path, name: str, expected) -> None:
    path = samples / name
    assert apache.sniff(path, read_head(path))
    assert counts(read_source(apache, path)) == expected


def test_real_sample_authenticated_view(samples: Path) -> None:
    r = read_source(apache, samples / "confluence-apache-plaso/apache_access.log")
    (ev,) = r.events.to_pylist()
    assert (ev["source_line"], ev["actor"], ev["item"]) == (15, "pyllyukko@example.com", "/")
    assert ev["time"] == datetime(2019, 11, 16, 7, 46, 42, tzinfo=UTC)


@pytest.mark.parametrize("name", ["confluence_access.log", "confluence_access_post7.11.log"])
def test_confluence_access_logs_are_not_this_format(samples: Path, name: str) -> None:
    path = samples / "confluence-apache-plaso" / name
    assert not apache.sniff(path, read_head(path))
    r = read_source(apache, path)
    assert r.counts.rejected == r.counts.rows > 0
