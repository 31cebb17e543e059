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
            "date or time is not YYYY-MM-DD hh:mm:ss",
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


def test_utf16_file_is_read_by_arrow_like_utf8(tmp_path: Path, monkeypatch) -> None:
    # The opener decodes UTF-16; the loader reads it as it reads UTF-8, Arrow's reader included.
    rows = "".join(
        f"2024-01-02 10:00:{i % 60:02d} GET /P{i}.aspx c\\a M 200\r\n" for i in range(3000)
    )
    u16, u8 = tmp_path / "u16.log", tmp_path / "u8.log"
    u16.write_bytes(f"{FIELDS}\r\n{rows}".encode("utf-16"))
    u8.write_bytes(f"{FIELDS}\r\n{rows}".encode())
    _small_blocks(monkeypatch)
    read = []
    columnar = iis._columnar
    monkeypatch.setattr(iis, "_columnar", lambda b, r: read.append(c := columnar(b, r)) or c)
    got = read_source(iis, u16)
    assert read and all(read)
    assert counts(got) == (3000, 3000, 0, 0, 0)
    same = ["time", "actor", "activity", "item", "source_line"]
    assert got.events.select(same).equals(read_source(iis, u8).events.select(same))


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


# -- the columnar reader (Arrow) must give exactly what the token path gives ----------------
ODD_ROWS = [
    "{d} {t} GET  /a.aspx c\\a M 200",  # two spaces: a value fewer for str.split
    " {d} {t} GET /a.aspx c\\a M 200",  # leading space
    "{d} {t} GET /a.aspx c\\a M 200 ",  # trailing space
    "{d} {t} GET /a.aspx c\\a M\t200",  # tab
    "{d} {t} GET /a.aspx c\\a M\x0b200",
    "{d} {t} GET /a.aspx c\\a M\x0c200",
    "{d} {t} GET /a\x1cb.aspx c\\a M 200",  # splits for str.split only
    "{d} {t} GET /a\x1fb.aspx c\\a M 200",
    "{d} {t} GET /a.aspx c\\a M\r200",  # a lone CR
    "{d} {t} GET /a.aspx c\\a M 200\r{d} {t} GET /b.aspx c\\a M 200",  # two Arrow rows
    "{d} {t} GET /a.aspx c\\a M 200\r",  # CR CR LF
    '{d} {t} GET /a.aspx "c\\a x" M 200',  # quoted
    "{d} {t} GET /Café.aspx c\\a M 200",  # UTF-8
    "{d} {t} GET /sites/日本語/Ü€–’.aspx 0#.w|c\\ü M 200",
    "\ufeff{d} {t} GET /a.aspx c\\a M 200",  # a BOM (Arrow's reader drops one at the start)
    "{d} {t} GET /a\xa0b.aspx c\\a M 200",  # a no-break space: str.split splits there
    "{d} {t} GET /a\x85b.aspx c\\a M 200",
    "{d} {t} GET /a\u1680b.aspx c\\a M 200",
    "{d} {t} GET /a\u2009b.aspx c\\a M 200",
    "{d} {t} GET /a\u2028b.aspx c\\a M 200",
    "{d} {t} GET /a\u202fb.aspx c\\a M 200",
    "{d} {t} GET /a\u205fb.aspx c\\a M 200",
    "{d} {t} GET /a\u3000b.aspx c\\a M 200",
    "{d} {t} GET /a\udcffb.aspx c\\a M 200",  # bytes that are not UTF-8
    "{d} {t} GET /a\udced\udca0\udc80b.aspx c\\a M 200",  # a surrogate
    "{d} {t} GET /a\udcc0\udcafb.aspx c\\a M 200",
    "{d} {t} GET /a.aspx c\\a M",  # too few values
    "{d} {t} GET /a.aspx c\\a M 200 extra",  # too many
    "",  # blank line
    "   ",
    "#Remark: a b c d e f",  # a comment as wide as a row
    "#Fields: date time cs-method cs-uri-stem cs-username cs(User-Agent) sc-status",
    "#Date: {d} {t}",
    "{d} 25:00:00 GET /a.aspx c\\a M 200",  # unreadable time
    "{d} 10:60:00 GET /a.aspx c\\a M 200",
    "{d} 1:02:03 GET /a.aspx c\\a M 200",
    "{d} 1a:02:03 GET /a.aspx c\\a M 200",
    "{d} 10.00.00 GET /a.aspx c\\a M 200",
    "{d} {t}.250 GET /a.aspx c\\a M 200",  # fractions: read one by one
    "{d} {t}Z GET /a.aspx c\\a M 200",
    "2024-13-01 {t} GET /a.aspx c\\a M 200",  # unreadable date
    "1980-01-01 {t} GET /a.aspx c\\a M 200",  # out of range
    "{d} {t} GET /a\x00b.aspx c\\a M 200",  # NUL
    "{d} {t} GET /a\x01b.aspx c\\a M 200",
    "{d} {t} GET /" + "x" * 100_000 + ".aspx c\\a M 200",  # longer than a block
]
PATHS = [
    "/sites/a/SitePages/Home.aspx",
    "/sites/a/SitePages/News.ASPX",
    "/sites/a/Docs/Plan.PDF",
    "/sites/a/Docs/b.docx",
    "/_layouts/15/start.aspx",
    "/sites/a/_vti_bin/x.aspx",
    "_x.aspx",
    "/sites/a/app.js",
    "/sites/a/a.aspx.js",
]


def _iis_log(seed: int, lines: int) -> bytes:
    """A log with several #Fields sections (widths, orders, #Date instead of a date field,
    local times, a section without cs-username), CRLF and LF lines and odd rows."""
    import random

    rnd = random.Random(seed)
    sections = [
        "date time cs-method cs-uri-stem cs-username cs(User-Agent) sc-status",
        "time cs-method cs-uri-stem cs-username sc-status cs(User-Agent) s-port",
        "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
        "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken",
        "date time cs-method cs-uri-stem cs-username sc-status cs(User-Agent)",
        "date-local time-local cs-method cs-uri-stem cs-username cs(User-Agent) sc-status",
        "date time cs-method cs-uri-stem sc-status cs(User-Agent) s-port",  # no user
        "DATE TIME CS-METHOD CS-URI-STEM CS-USERNAME CS(USER-AGENT) SC-STATUS",
    ]
    out = [b"\xef\xbb\xbf" if seed % 2 else b"", b"2024-01-01 00:00:00 GET /early.aspx\n"]
    names: list[str] = []
    crlf = True
    for n in range(lines):
        if n % 3000 == 0:
            fields = sections[(n // 3000 + seed) % len(sections)]
            names = fields.lower().split()
            if rnd.random() < 0.5:
                out.append(b"#Software: Microsoft Internet Information Services 10.0\r\n")
            out.append(f"#Date: 2024-03-0{rnd.randint(1, 9)} 00:00:00\r\n".encode())
            out.append(f"#{rnd.choice(['Fields', 'FIELDS'])}: {fields}\r\n".encode())
        if n % 700 == 0:
            crlf = rnd.random() < 0.6
        day = f"2024-03-{rnd.randint(1, 28):02d}"
        clock = f"{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d}"
        if rnd.random() < 0.004:
            line = rnd.choice(ODD_ROWS).format(d=day, t=clock)
        else:
            user = rnd.choice(["c\\a", "0#.w|c\\b", "i:0#.f|m|x@y.com", "-"])
            values = {
                "date": day,
                "date-local": day,
                "time": clock,
                "time-local": clock,
                "cs-method": rnd.choice(["GET"] * 8 + ["POST", "HEAD"]),
                "cs-uri-stem": rnd.choice(PATHS),
                "cs-username": user,
                "cs(user-agent)": rnd.choice(["Mozilla/5.0+(X11)", "-", "Acme+Bot/1"]),
                "sc-status": rnd.choice(["200"] * 6 + ["304", "404", "401"]),
            }
            line = " ".join(values.get(f, str(rnd.randint(1, 999))) for f in names)
        end = "\r\n" if crlf or rnd.random() < 0.01 else "\n"
        out.append((line + end).encode("utf-8", "surrogateescape"))
    out.append(b"2024-03-01 10:00:00 GET /no-newline-at-end.aspx c\\a M 200")
    return b"".join(out)


def _tokens_only(monkeypatch) -> None:
    monkeypatch.setattr(iis, "_columnar", lambda block, rows: None)


def _small_blocks(monkeypatch) -> None:
    """Blocks of a few hundred lines, so a small file has many (and is read ahead)."""
    monkeypatch.setattr(iis, "_COLUMNAR_CHUNK", 1 << 15)
    monkeypatch.setattr(iis, "_COLUMNAR_MIN", 1 << 11)
    monkeypatch.setattr(iis, "_CHUNK", 1 << 12)


@pytest.mark.parametrize("mode", ["read ahead", "columnar"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_blocks_read_like_the_token_path(tmp_path, monkeypatch, seed, mode):
    path = tmp_path / "u_ex.log"
    path.write_bytes(_iis_log(seed, 20_000))
    config = Config(timezone="Europe/Amsterdam", exclude_user_agents=("acme bot",))
    with monkeypatch.context() as m:
        _tokens_only(m)
        expected = read_source(iis, path, config)
    _small_blocks(monkeypatch)
    monkeypatch.setattr(iis, "_READ_AHEAD", mode == "read ahead")
    read = []
    columnar = iis._columnar
    monkeypatch.setattr(iis, "_columnar", lambda b, r: read.append(c := columnar(b, r)) or c)
    got = read_source(iis, path, config)
    assert sum(1 for r in read if r) > 20  # most blocks read by Arrow
    assert counts(got) == counts(expected)
    assert got.counts.excluded == expected.counts.excluded
    assert got.rejects.equals(expected.rejects)
    assert got.events.equals(expected.events)
    assert expected.counts.rejected > 100 and expected.counts.events > 1000


@pytest.mark.parametrize("crlf", [True, False])
@pytest.mark.parametrize("odd", ODD_ROWS)
def test_columnar_odd_row_reads_like_the_token_path(tmp_path, monkeypatch, odd, crlf) -> None:
    end = "\r\n" if crlf else "\n"
    users = ("-", "c\\a", "c\\b", "i:0#.f|m|x@y.com", "c\\a")
    rows = [
        f"2024-01-02 10:{i // 60 % 60:02d}:{i % 60:02d} GET {PATHS[i % len(PATHS)]} "
        f"{users[i % 5]} M+{i % 3} {('200', '304', '404')[i % 3]}"
        for i in range(1200)
    ]
    rows[600] = odd.format(d="2024-01-02", t="10:00:00")
    text = "#Date: 2024-01-01 00:00:00\n" + FIELDS + "\n" + "".join(r + end for r in rows)
    path = tmp_path / "u_ex.log"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with monkeypatch.context() as m:
        _tokens_only(m)
        expected = read_source(iis, path)
    _small_blocks(monkeypatch)
    got = read_source(iis, path)
    assert counts(got) == counts(expected)
    assert got.rejects.equals(expected.rejects)
    assert got.events.equals(expected.events)


def test_columnar_reads_utf8(tmp_path, monkeypatch) -> None:
    # Logs of non-English sites: most paths are not ASCII, and Arrow reads them too.
    names = ["/sites/rh/Règlement.pdf", "/sites/日本/ホーム.aspx", "/sites/a/Q1 – €.docx"]
    rows = [
        f"2024-01-02 10:00:{i % 60:02d} GET {names[i % 3].replace(' ', '+')} c\\é{i % 7} "
        f"Mozilla+Ü {('200', '304', '404')[i % 3]}\r\n"
        for i in range(3000)
    ]
    path = tmp_path / "u_ex.log"
    path.write_bytes((f"{FIELDS}\n" + "".join(rows)).encode())
    with monkeypatch.context() as m:
        _tokens_only(m)
        expected = read_source(iis, path)
    _small_blocks(monkeypatch)
    read = []
    columnar = iis._columnar
    monkeypatch.setattr(iis, "_columnar", lambda b, r: read.append(c := columnar(b, r)) or c)
    got = read_source(iis, path)
    assert read and all(read)
    assert counts(got) == counts(expected) == (3000, 2000, 0, 1000, 0)
    assert got.events.equals(expected.events)


@pytest.mark.parametrize(
    "text",
    [
        b"caf\xc3\xa9",
        b"\xe6\x97\xa5\xe2\x82\xac\xf0\x9f\x98\x80",
        b"\xc3",  # cut short
        b"\xc0\xaf",  # overlong
        b"\xe0\x80\xaf",
        b"\xed\xa0\x80",  # a surrogate
        b"\xf4\x90\x80\x80",  # above U+10FFFF
        b"\xf8\x88\x80\x80\x80",
        b"\xff",
        b"a\xe2\x80\x89b",  # a thin space
        b"a\xe3\x80\x80b",
        b"a\xe3\x80\x81b",  # an ideographic comma
    ],
)
def test_plain_utf8_reads_text_as_the_token_path(text: bytes) -> None:
    line = b"x " * 40 + text + b" y\n"  # long enough for vectorised checks
    try:
        plain = len(line.decode().split()) == 42
    except UnicodeDecodeError:
        plain = False
    assert iis._plain_utf8(line) is plain


@pytest.mark.parametrize("columnar", [True, False])
def test_rejects_stay_in_line_order(tmp_path, monkeypatch, columnar) -> None:
    # A time out of range (rejected by the builder), then an unreadable one, in a block.
    rows = ["2024-01-02 10:00:00 GET /a.aspx c\\a M 200"] * 1500
    rows[700] = "1980-01-02 10:00:00 GET /a.aspx c\\a M 200"
    rows[800] = "2024-01-02 25:00:00 GET /a.aspx c\\a M 200"
    path = tmp_path / "u_ex.log"
    path.write_bytes((FIELDS + "\n" + "".join(r + "\n" for r in rows)).encode())
    _small_blocks(monkeypatch)
    monkeypatch.setattr(iis, "_COLUMNAR_CHUNK", 1 << 20)  # one block
    if not columnar:
        monkeypatch.setattr(iis, "_columnar", lambda b, r: None)
        monkeypatch.setattr(iis, "_CHUNK", 1 << 20)
    r = read_source(iis, path)
    assert r.rejects["source_line"].to_pylist() == [702, 802]


def test_columnar_keeps_a_bom_that_starts_a_block(tmp_path, monkeypatch) -> None:
    # Concatenated logs: a BOM in the middle of the file, right after a directive run.
    row = "2024-01-02 10:00:00 GET /a.aspx c\\a M 200\n"
    text = FIELDS + "\n" + row * 1000 + FIELDS + "\n\ufeff" + row * 1000
    path = tmp_path / "u_ex.log"
    path.write_bytes(text.encode())
    _small_blocks(monkeypatch)
    r = read_source(iis, path)
    assert counts(r) == (2000, 1999, 0, 0, 1)
    assert r.rejects["source_line"].to_pylist() == [1003]


def test_columnar_reads_after_a_fields_line_split_differently(tmp_path, monkeypatch) -> None:
    # str.split (the #Fields line) splits on \x1c, bytes.split (the reader thread's guess
    # of the width) does not: rows of the guessed width are rejected all the same.
    row = "2024-01-02 10:00:00 GET /a.aspx c\\a M 200\n"
    text = FIELDS + "\x1cx\n" + row * 3000
    path = tmp_path / "u_ex.log"
    path.write_bytes(text.encode())
    _small_blocks(monkeypatch)
    r = read_source(iis, path)
    assert counts(r) == (3000, 0, 0, 0, 3000)
    assert set(r.rejects["reason"].to_pylist()) == {"7 values for 8 #Fields"}


def test_columnar_reads_every_line_ending(tmp_path, monkeypatch) -> None:
    # All CRLF, all LF, and mixed blocks (line starts found from the LFs): same keys.
    rows = [f"2024-01-02 10:00:{i % 60:02d} GET /P{i}.aspx c\\a M+x 200" for i in range(3000)]
    ends = ["\r\n"] * 1000 + ["\n"] * 1000 + ["\r\n", "\n"] * 500
    text = f"{FIELDS}\n" + "".join(r + e for r, e in zip(rows, ends, strict=True))
    path = tmp_path / "u_ex.log"
    path.write_bytes(text.encode())
    _small_blocks(monkeypatch)
    r = read_source(iis, path)
    assert counts(r) == (3000, 3000, 0, 0, 0)
    with monkeypatch.context() as m:
        _tokens_only(m)
        assert read_source(iis, path).events.equals(r.events)


def test_columnar_rejects_a_row_after_a_fields_change(tmp_path, monkeypatch) -> None:
    # The reader thread parses the next block for the width it saw last; rows there that
    # fit the old width but not the new #Fields must still be rejected.
    old = "2024-01-02 10:00:00 GET /a.aspx c\\a M 200\n"
    new_fields = FIELDS + " s-port\n"
    text = FIELDS + "\n" + old * 2000 + new_fields + old * 2000
    path = tmp_path / "u_ex.log"
    path.write_bytes(text.encode())
    _small_blocks(monkeypatch)
    r = read_source(iis, path)
    assert counts(r) == (4000, 2000, 0, 0, 2000)
    assert set(r.rejects["reason"].to_pylist()) == {"7 values for 8 #Fields"}


@pytest.mark.parametrize("crlf", [True, False])
def test_columnar_line_limit(tmp_path, monkeypatch, crlf) -> None:
    # A line is rejected when it and its LF are over the limit: check both sides of it.
    monkeypatch.setattr(iis, "LINE_LIMIT", 200)
    _small_blocks(monkeypatch)
    end = "\r\n" if crlf else "\n"
    row = "2024-01-02 10:00:00 GET /{}.aspx c\\a M 200"
    fill = 200 - len(end) - len(row.format(""))
    long = [row.format("b" * (fill + k)) + end for k in (-1, 0, 1)]
    assert [len(x) for x in long] == [199, 200, 201]
    plain = (row.format("a") + end) * 1500
    text = FIELDS + "\n" + plain + "".join(long) + plain
    path = tmp_path / "u_ex.log"
    path.write_bytes(text.encode())
    r = read_source(iis, path)
    assert counts(r) == (3003, 3002, 0, 0, 1)
    assert r.rejects["reason"].to_pylist() == ["line longer than 200 characters"]
    assert r.rejects["source_line"].to_pylist() == [1504]


def test_read_ahead_stops_with_the_consumer(tmp_path, monkeypatch) -> None:
    path = tmp_path / "u_ex.log"
    path.write_bytes(_iis_log(4, 20_000))
    _small_blocks(monkeypatch)
    builder = EventBuilder(SourceInfo(str(path), "x", iis.NAME), Config(), batch_size=100)
    batches = iis.load(path, builder)
    assert next(b for b in batches if b is not None).num_rows >= 100
    batches.close()  # the reader thread ends before the file closes
    import threading

    assert not [t for t in threading.enumerate() if t.name.startswith("iis-read")]
