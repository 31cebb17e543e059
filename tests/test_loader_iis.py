from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from intranet_metrics.config import Config
from intranet_metrics.loaders import apache, generic, iis
from intranet_metrics.loaders.base import EventBuilder, SourceInfo, read_head, read_source

FIELDS = "#Fields: date time cs-method cs-uri-stem cs-username cs(User-Agent) sc-status"


def write(tmp_path: Path, text: str, name: str = "u_ex.log", crlf: bool = True) -> Path:
    p = tmp_path / name
    p.write_bytes(text.replace("\n", "\r\n" if crlf else "\n").encode())
    return p


def counts(result) -> tuple[int, int, int, int, int]:
    c = result.counts
    return c.rows, c.events, c.excluded_total, c.other, c.rejected


def test_sharepoint_fixture_counts(data: Path) -> None:
    r = read_source(iis, data / "iis" / "sharepoint.log")
    assert counts(r) == (15, 5, 2, 7, 1)
    assert r.counts.excluded == {"user_agent": 1, "system_account": 1}


@pytest.mark.parametrize(
    ("line", "actor", "activity", "item", "when"),
    [
        (5, "contoso\\jdoe", "page_view", "/sites/intranet/SitePages/Home.aspx", "08:00:01"),
        (
            9,
            "jane@contoso.com",
            "file_view",
            "/sites/intranet/Shared+Documents/Policy.PDF",
            "08:00:04",
        ),
        (10, "contoso\\asmith", "page_view", "/sites/intranet/SitePages/News.ASPX", "08:00:05"),
        # Second #Fields block: other order, no date field, date from #Date:.
        (21, "contoso\\jdoe", "page_view", "/sites/hr/SitePages/Benefits.aspx", "09:15:00"),
        (22, "contoso\\bwhite", "file_view", "/sites/hr/Documents/Handbook.docx", "09:15:01"),
    ],
)
def test_sharepoint_fixture_events(data: Path, line, actor, activity, item, when) -> None:
    events = read_source(iis, data / "iis" / "sharepoint.log").events.to_pylist()
    ev = next(e for e in events if e["source_line"] == line and e["excluded"] is None)
    assert (ev["actor"], ev["activity"], ev["item"]) == (actor, activity, item)
    assert ev["time"] == datetime.fromisoformat(f"2024-03-04T{when}+00:00")


def test_width_mismatch_is_rejected_with_reason(data: Path) -> None:
    rejects = read_source(iis, data / "iis" / "sharepoint.log").rejects.to_pylist()
    assert [(r["source_line"], r["reason"]) for r in rejects] == [(16, "14 values for 15 #Fields")]
    assert not rejects[0]["raw"].endswith("\r")


@pytest.mark.parametrize(
    ("stem", "method", "status", "user", "activity"),
    [
        ("/SitePages/Home.aspx", "GET", "200", "0#.w|c\\a", "page_view"),
        ("/SitePages/Home.AsPx", "GET", "304", "0#.w|c\\a", "page_view"),
        ("/Docs/a.pptx", "GET", "200", "c\\a", "file_view"),
        ("/Docs/a.XLS", "GET", "200", "c\\a", "file_view"),
        ("/SitePages/Home.aspx", "HEAD", "200", "c\\a", None),
        ("/SitePages/Home.aspx", "GET", "302", "c\\a", None),
        ("/SitePages/Home.aspx", "GET", "200", "-", None),
        ("/_layouts/15/viewlsts.aspx", "GET", "200", "c\\a", None),
        ("/sites/x/_vti_bin/a.aspx", "GET", "200", "c\\a", None),
        ("/sites/x/Docs/a.txt", "GET", "200", "c\\a", None),
        ("/sites/x/a.aspx.js", "GET", "200", "c\\a", None),
    ],
)
def test_classification(tmp_path, stem, method, status, user, activity) -> None:
    p = write(tmp_path, f"{FIELDS}\n2024-01-02 10:00:00 {method} {stem} {user} Mozilla {status}\n")
    r = read_source(iis, p)
    assert [e["activity"] for e in r.events.to_pylist()] == ([activity] if activity else [])
    assert r.counts.other == (0 if activity else 1)


def test_plus_in_user_agent_is_a_space(tmp_path: Path) -> None:
    p = write(tmp_path, f"{FIELDS}\n2024-01-02 10:00:00 GET /a.aspx c\\a Acme+Scanner/2 200\n")
    r = read_source(iis, p, Config(exclude_user_agents=("acme scanner",)))
    assert r.counts.excluded == {"user_agent": 1}


def test_crlf_and_lf_give_the_same_event_keys(data: Path, tmp_path: Path) -> None:
    text = (data / "iis" / "sharepoint.log").read_bytes().replace(b"\r\n", b"\n")
    (tmp_path / "lf.log").write_bytes(text)
    crlf = read_source(iis, data / "iis" / "sharepoint.log").events.column("event_key")
    lf = read_source(iis, tmp_path / "lf.log").events.column("event_key")
    assert crlf.to_pylist() == lf.to_pylist()


def test_identical_lines_share_an_event_key(tmp_path: Path) -> None:
    row = "2024-01-02 10:00:00 GET /a.aspx c\\a Mozilla 200"
    keys = read_source(iis, write(tmp_path, f"{FIELDS}\n{row}\n{row}\n")).events["event_key"]
    assert len(keys) == 2 and keys[0] == keys[1]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2024-01-02 10:00:00 GET /a.aspx c\\a Mozilla 200\n", "data row before any #Fields line"),
        (
            "#Fields: date time cs-method cs-uri-stem sc-status\n"
            "2024-01-02 10:00:00 GET /a.aspx 200\n",
            "#Fields (line 1) has no cs-username field; the row cannot be classified",
        ),
        (
            "#Fields: time cs-method cs-uri-stem cs-username sc-status\n"
            "10:00:00 GET /a.aspx c\\a 200\n",
            "no date field and no #Date: line before it",
        ),
        (
            f"{FIELDS}\n2024-13-02 10:00:00 GET /a.aspx c\\a Mozilla 200\n",
            "unreadable date/time '2024-13-02' '10:00:00'",
        ),
    ],
)
def test_unreadable_rows_are_rejected(tmp_path: Path, text: str, reason: str) -> None:
    r = read_source(iis, write(tmp_path, text))
    assert [x["reason"] for x in r.rejects.to_pylist()] == [reason]


def test_advanced_logging_quotes_and_local_time(tmp_path: Path) -> None:
    text = (
        "#Software: IIS Advanced Logging Module\n\n"
        "#Fields:   date-local time-local cs-method cs-uri-stem cs-username cs(User-Agent) "
        "sc-status\n"
        '2024-07-01 10:00:00.250 GET /a.aspx "c\\a" "Mozilla/5.0 (X11; ""q"")" 200\n'
    )
    r = read_source(iis, write(tmp_path, text), Config(timezone="Europe/Amsterdam"))
    (ev,) = r.events.to_pylist()
    assert ev["actor"] == "c\\a"
    assert ev["time"] == datetime(2024, 7, 1, 8, 0, 0, 250_000, tzinfo=timezone.utc)


def test_bytes_that_are_not_utf8_are_replaced(tmp_path: Path) -> None:
    p = tmp_path / "ansi.log"
    p.write_bytes(
        f"{FIELDS}\r\n2024-01-02 10:00:00 GET /Caf\xe9.aspx c\\a M 200\r\n".encode("latin-1")
    )
    (ev,) = read_source(iis, p).events.to_pylist()
    assert ev["item"] == "/Caf\ufffd.aspx"


def test_small_batches_keep_the_accounting(data: Path) -> None:
    path = data / "iis" / "sharepoint.log"
    builder = EventBuilder(SourceInfo(str(path), "x", iis.NAME), Config(), batch_size=2)
    batches = [b for b in iis.load(path, builder) if b is not None]
    assert len(batches) == 3 and all(b.num_rows == 2 for b in batches)
    c = builder.counts
    assert (c.rows, c.other, c.rejected) == (15, 7, 1)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n", True),
        (b"\xef\xbb\xbf#Version: 1.0\r\n#Date: 2024-01-01 00:00:00\r\n" + FIELDS.encode(), True),
        (b"#Software: Microsoft HTTP Server API 2.0\n", True),
        (b'1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326\n', False),
        (b"timestamp,user,activity\n", False),
        (b"# notes\nsome text\n", False),
    ],
)
def test_sniff(head: bytes, expected: bool) -> None:
    assert iis.sniff(Path("x"), head) is expected


def test_other_loaders_do_not_claim_iis(data: Path) -> None:
    head = read_head(data / "iis" / "sharepoint.log")
    assert not apache.sniff(Path("x"), head)
    assert not generic.sniff(Path("x"), head)


# rows, events, excluded, other, rejected: verified by reading each file.
SAMPLES = [
    ("iis-w3c-plaso/iis10.log", (1, 0, 0, 1, 0)),
    ("iis-w3c-plaso/iis10_cookies.log", (3, 0, 0, 3, 0)),
    # One authenticated GET of an .aspx page with 200 (line 9); the rest POST/401/302.
    ("iis-w3c-plaso/iis10_edge_cases.log", (15, 1, 0, 14, 0)),
    ("iis-w3c-plaso/iis6.log", (12, 0, 0, 12, 0)),
    ("iis-w3c-plaso/iis7_owa.log", (3, 0, 0, 3, 0)),
    ("iis-w3c-plaso/iis_without_date.log", (11, 0, 0, 11, 0)),
    ("iis-w3c-lnav/logfile_w3c.0", (1, 0, 0, 1, 0)),
    ("iis-w3c-lnav/logfile_w3c.3", (3, 0, 0, 3, 0)),
    ("iis-w3c-lnav/logfile_w3c.5", (1, 0, 0, 0, 1)),
    ("iis-w3c-lnav/logfile_w3c.6", (1, 0, 0, 1, 0)),
    ("iis-w3c-lnav/logfile_w3c_big.0", (210, 0, 0, 210, 0)),
]


@pytest.mark.parametrize(("name", "expected"), SAMPLES)
def test_real_samples(samples: Path, name: str, expected) -> None:
    path = samples / name
    assert iis.sniff(path, read_head(path))
    assert counts(read_source(iis, path)) == expected


def test_real_sample_edge_case_page_view(samples: Path) -> None:
    (ev,) = read_source(iis, samples / "iis-w3c-plaso/iis10_edge_cases.log").events.to_pylist()
    assert (ev["actor"], ev["item"]) == (
        "random\\ran.user",
        "/rancertloc/CertMgmt/EditCertificate.aspx",
    )
    assert ev["time"] == datetime(2022, 1, 1, 18, 41, 57, tzinfo=timezone.utc)


def test_real_sample_fields_shorter_than_rows(samples: Path) -> None:
    r = read_source(iis, samples / "iis-w3c-lnav/logfile_w3c.5")
    assert r.rejects["reason"].to_pylist() == ["17 values for 6 #Fields"]


def test_non_utf8_bytes_in_event_and_asset_lines(tmp_path: Path) -> None:
    rows = "".join(
        f"2024-01-02 10:00:{i % 60:02d} GET /SitePages/P{i}.aspx c\\a Mozilla 200\r\n"
        for i in range(3000)
    )
    p = tmp_path / "mixed.log"
    p.write_bytes(
        f"{FIELDS}\r\n{rows}".encode()
        + b"2024-01-02 10:00:00 GET /Caf\xe9.aspx c\\a M 200\r\n"
        + b"2024-01-02 10:00:00 GET /x\xff.js c\\a M 200\r\n"
        + rows.encode()
    )
    r = read_source(iis, p)
    assert counts(r) == (6002, 6001, 0, 1, 0)
    assert "/Caf\ufffd.aspx" in r.events["item"].to_pylist()


def test_utf16_file(tmp_path: Path) -> None:
    p = tmp_path / "u16.log"
    p.write_bytes(
        f"{FIELDS}\r\n2024-01-02 10:00:00 GET /a.aspx c\\a M 200\r\n"
        "2024-01-02 10:00:00 GET /a.js c\\a M 200\r\n".encode("utf-16")
    )
    r = read_source(iis, p)
    assert counts(r) == (2, 1, 0, 1, 0)


def test_separator_controls_split_values_like_text(tmp_path: Path) -> None:
    # str.split() splits on \x1c-\x1f, bytes.split() does not: the row has 8 values.
    r = read_source(
        iis, write(tmp_path, f"{FIELDS}\n2024-01-02 10:00:00 GET /a\x1cb.aspx c\\a M 200\n")
    )
    assert [x["reason"] for x in r.rejects.to_pylist()] == ["8 values for 7 #Fields"]


def test_rows_of_another_width_among_many_plain_rows(tmp_path: Path) -> None:
    row = "2024-01-02 10:00:00 GET /a.aspx c\\a Mozilla 200\n"
    text = f"{FIELDS}\n" + row * 20_000 + "2024-01-02 10:00:00 GET\n" + row * 20_000 + "\n"
    r = read_source(iis, write(tmp_path, text))
    assert counts(r) == (40_001, 40_000, 0, 0, 1)
    assert r.rejects["source_line"].to_pylist() == [20_002]
    assert r.events["source_line"].to_pylist()[-1] == 40_002
