"""The generic loader's block reader (Arrow parses, Arrow compute classifies) must give
exactly what the record reader gives: events, keys, line numbers, rejects and counts, on
any mix of good and bad records, at any block size."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intranet_metrics.config import Config
from intranet_metrics.identity import Pseudonymiser
from intranet_metrics.loaders import generic
from intranet_metrics.pipeline import read_source

AMS = Config(timezone="Europe/Amsterdam")


def both(path: Path, config: Config, monkeypatch, block: int = 64, pseudo=None):
    """(block reader, record reader) results of one file."""
    with monkeypatch.context() as m:
        m.setattr(generic, "BLOCK", block)
        fast = read_source(generic, path, config, pseudo)
    with monkeypatch.context() as m:
        m.setattr(generic._Blocks, "start", lambda self: self.raw.close() or False)
        slow = read_source(generic, path, config, pseudo)
    return fast, slow


def same(fast, slow) -> None:
    order = [("source_line", "ascending"), ("event_key", "ascending")]
    assert fast.events.sort_by(order).equals(slow.events.sort_by(order))
    rej = [("source_line", "ascending"), ("reason", "ascending")]
    assert fast.rejects.sort_by(rej).to_pylist() == slow.rejects.sort_by(rej).to_pylist()
    assert fast.counts.to_dict() == slow.counts.to_dict()


GOOD = [
    "2024-03-01T10:00:00Z,ann@contoso.com,page_view,/a",
    "2024-03-01T10:00:00.123+01:00,Bob@Contoso.com,Like,/b",
    "2024-03-01 10:00:00,ann@contoso.com,post,",
    '2024-03-01T11:00:00Z,ann@contoso.com,comment,"/x, y"',
    '2024-03-01T11:00:00Z,"carol@contoso.com",page_view,"say ""hi"""',
    "2024-10-27T02:30:00,dave@contoso.com,page_view,/dst-repeat",
    "2024-03-31T02:30:00,dave@contoso.com,page_view,/dst-gap",
    "2024-03-01,erin@contoso.com,page_view,/date-only",
    "2024-03-01T10:00:00+0100,erin@contoso.com,page_view,/compact-offset",
    "  2024-03-01T10:00:00Z ,frank@contoso.com,page_view,/spaces",
    "2024-03-01T10:00:00Z,svc-crawler,page_view,/robot",
    "2024-03-01T10:00:00Z,ann@contoso.com,Page View,/p",
]
BAD = [
    ",ann@contoso.com,page_view,/no-time",
    "2024-03-01T10:00:00Z,,page_view,/no-user",
    "2024-03-01T10:00:00Z,  ,page_view,/blank-user",
    "yesterday,ann@contoso.com,page_view,/bad-time",
    "2024-02-30T10:00:00Z,ann@contoso.com,page_view,/no-such-day",
    "1970-01-01T00:00:00Z,ann@contoso.com,page_view,/too-old",
    "2024-03-01T10:00:00Z,ann@contoso.com,dance,/unknown-activity",
    "2024-03-01T10:00:00Z,ann@contoso.com,page_view",
    "2024-03-01T10:00:00Z,ann@contoso.com,page_view,/a,extra",
    "",
    "   ",
    ",,,",
    '2024-03-01T10:00:00Z,ann@contoso.com,post,"two\nlines"',
]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.sampled_from(GOOD + BAD), min_size=1, max_size=40),
    block=st.sampled_from([16, 64, 300, 1 << 22]),
    crlf=st.booleans(),
)
def test_csv_block_reader_equals_record_reader(tmp_path_factory, monkeypatch, rows, block, crlf):
    end = "\r\n" if crlf else "\n"
    path = tmp_path_factory.mktemp("g") / "e.csv"
    path.write_bytes(("timestamp,user,activity,item" + end + end.join(rows) + end).encode())
    same(*both(path, AMS.with_overrides(service_accounts=("svc-crawler",)), monkeypatch, block))


JSON_ROWS = [
    '{"timestamp": "2024-03-01T10:00:00Z", "user": "ann@contoso.com", "activity": "like"}',
    '{"timestamp": "2024-03-01T10:00:00", "user": "bob", "activity": "post", "item": "/x"}',
    '{"timestamp": "2024-03-01T10:00:00Z", "user": "ann", "activity": "like", "item": 5}',
    '{"timestamp": "2024-03-01T10:00:00Z", "user": null, "activity": "like"}',
    '{"timestamp": "2024-03-01T10:00:00Z", "activity": "like"}',
    '{"timestamp": "2024-03-01T10:00:00Z", "user": "ann", "activity": "like", "extra": [1]}',
    "not json",
    "[1, 2]",
    "",
    '{"timestamp": "2024-03-01T10:00:00Z", "user": "ann", "activity": "like"} {"a": 1}',
]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.sampled_from(JSON_ROWS), min_size=1, max_size=30),
    block=st.sampled_from([16, 128, 1 << 22]),
)
def test_jsonl_block_reader_equals_record_reader(tmp_path_factory, monkeypatch, rows, block):
    path = tmp_path_factory.mktemp("j") / "e.jsonl"
    path.write_text("\n".join([JSON_ROWS[0], *rows]) + "\n")
    same(*both(path, AMS, monkeypatch, block))


def test_unclosed_quote_hands_the_rest_to_the_record_reader(tmp_path, monkeypatch):
    lines = [GOOD[0]] * 5 + ['2024-03-01T10:00:00Z,ann,post,"never closed'] + [GOOD[1]] * 5
    path = tmp_path / "e.csv"
    path.write_text("timestamp,user,activity,item\n" + "\n".join(lines) + "\n")
    fast, slow = both(path, AMS, monkeypatch)
    same(fast, slow)
    assert fast.counts.rejected == 1 and fast.counts.events == 5


@pytest.mark.parametrize("where", ["header", "row"])
def test_a_bare_carriage_return_is_read_as_the_record_reader_does(tmp_path, monkeypatch, where):
    # Found by tests/test_fuzz.py: a header starting with a bare CR was an internal error.
    header = (
        "\rtimestamp,user,activity,item" if where == "header" else "timestamp,user,activity,item"
    )
    rows = [GOOD[0], "2024-03-01T10:00:00Z,ann@contoso.com\r,page_view,/c", GOOD[1]]
    path = tmp_path / "e.csv"
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode())
    fast, slow = both(path, AMS, monkeypatch)
    same(fast, slow)


@pytest.mark.parametrize("packed", ["plain", "gzip", "bom", "semicolon"])
def test_block_reader_reads_the_openers_variants(tmp_path, monkeypatch, packed):
    sep = ";" if packed == "semicolon" else ","
    text = (
        "\n".join(
            [sep.join(["timestamp", "user", "activity", "item"])]
            + [sep.join([f"2024-03-0{d}T10:00:00Z", f"u{d}", "like", f"/{d}"]) for d in range(1, 9)]
        )
        + "\n"
    )
    data = ("\ufeff" if packed == "bom" else "").encode() + text.encode()
    path = tmp_path / ("e.csv.gz" if packed == "gzip" else "e.csv")
    path.write_bytes(gzip.compress(data) if packed == "gzip" else data)
    fast, slow = both(path, Config(), monkeypatch)
    same(fast, slow)
    assert fast.counts.events == 8


def test_block_reader_is_used_for_clean_files(tmp_path, monkeypatch):
    """The fast path really runs (no record reader call) on a clean file."""
    path = tmp_path / "e.csv"
    path.write_text("timestamp,user,activity\n" + "2024-03-01T10:00:00Z,ann,like\n" * 1000)
    called = []
    monkeypatch.setattr(generic, "_csv_records", lambda *a: called.append(a) or iter(()))
    res = read_source(generic, path, Config())
    assert not called and res.counts.events == 1000
    assert isinstance(res.events, pa.Table)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_rejects_are_the_rule_tables_on_the_block_path(tmp_path, monkeypatch, fmt):
    """A block holding rejected records stays on the block path: the rule table rejects
    them (with the text the record reader keeps) instead of the block going to the record
    reader (which it did before the rule table)."""
    good = "2024-03-01T10:00:00Z,ann,like"
    bad = ["2024-03-01T10:00:00Z,  ,like", "yesterday,ann,like", "  ,ann,like"]
    rows = [good] * 10 + bad + [good] * 10
    path = tmp_path / f"e.{fmt}"
    if fmt == "csv":
        path.write_text("timestamp,user,activity\n" + "".join(r + "\n" for r in rows))
    else:
        keys = ("timestamp", "user", "activity")
        lines = [json.dumps(dict(zip(keys, r.split(","), strict=True))) for r in rows]
        path.write_text("".join(line + "\n" for line in lines))
    called = []
    monkeypatch.setattr(generic._Blocks, "_slow", lambda *a: called.append(a) or iter(()))
    fast = read_source(generic, path, AMS)
    assert not called and fast.counts.events == 20 and fast.counts.rejected == 3
    monkeypatch.undo()
    _, slow = both(path, AMS, monkeypatch, block=1 << 20)
    same(fast, slow)
    assert [r["reason"] for r in fast.rejects.to_pylist()] == [
        "empty user",
        "timestamp is not ISO 8601",
        "empty timestamp",
    ]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_line_too_long_is_rejected_as_the_record_reader_does(tmp_path, monkeypatch, fmt):
    long = "x" * (generic.LINE_LIMIT + 10)
    if fmt == "csv":
        rows = [GOOD[0]] * 3 + [f"2024-03-01T10:00:00Z,ann,like,{long}"] + [GOOD[1]] * 3
        text = "timestamp,user,activity,item\n" + "\n".join(rows) + "\n"
    else:
        big = JSON_ROWS[0].replace('"like"', f'"like", "item": "{long}"')
        text = "\n".join([JSON_ROWS[0]] * 3 + [big] + [JSON_ROWS[1]] * 3) + "\n"
    path = tmp_path / f"e.{fmt}"
    path.write_text(text)
    fast, slow = both(path, AMS, monkeypatch, block=generic.BLOCK)
    same(fast, slow)
    assert fast.counts.rejected == 1


@settings(deadline=None)
@given(st.lists(st.integers(0, 40), max_size=30), st.integers(5, 40))
def test_long_line_is_the_widest_gap_between_line_ends(lengths, limit):
    # The byte-by-byte scan _long_line replaced is the oracle.
    block = b"".join(b"x" * n + b"\n" for n in lengths[:-1]) + b"y" * (lengths or [0])[-1]
    ends = np.flatnonzero(np.frombuffer(block, np.uint8) == 10)
    bounds = np.concatenate(([-1], ends, [len(block) - 1]))
    expected = len(block) >= limit - 4 and int(np.diff(bounds).max()) >= limit - 4
    assert generic._long_line(block, limit) == expected


@pytest.mark.parametrize("key", [None, b"s3cret"])
def test_repeated_users_and_items_get_the_record_readers_keys(tmp_path, monkeypatch, key):
    # Blocks of known users and items are looked up in Arrow tables, one-off items hashed
    # in one call, the record reader hashes each value through a memo: the same keys.
    rows = [
        f"2024-03-01T10:{i // 60 % 60:02d}:{i % 60:02d}Z,u{i % 7}@contoso.com,like,/p/{i % 5}"
        for i in range(3000)
    ] + [f"2024-03-02T10:00:{i % 60:02d}Z,u1@contoso.com,like,/once/{i}" for i in range(300)]
    path = tmp_path / "e.csv"
    path.write_text("timestamp,user,activity,item\n" + "\n".join(rows) + "\n")
    fast, slow = both(path, Config(), monkeypatch, block=4096, pseudo=Pseudonymiser(key))
    same(fast, slow)
    assert fast.events.num_rows == 3300 and len(set(fast.events["event_key"].to_pylist())) == 3300


def test_two_objects_on_a_line_beside_a_blank_line_go_to_the_record_reader(tmp_path, monkeypatch):
    # Found by hypothesis: Arrow reads two objects on one line as two records and skips the
    # blank line, so the block's row count matched its line count and the fast path took
    # the extra object as a record of its own (3 rows, 2 events instead of 2 rows, 1 event).
    rows = [JSON_ROWS[0], JSON_ROWS[-1], ""]
    path = tmp_path / "e.jsonl"
    path.write_text("\n".join(rows) + "\n")
    fast, slow = both(path, AMS, monkeypatch, 16)
    same(fast, slow)
    assert fast.counts.rows == 2 and fast.counts.events == 1


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="\n\r\t {a", max_size=40))
def test_blank_line_found_as_by_one_pattern_anchored_at_each_line(text):
    # _has_blank_line is two patterns so that re can jump from line end to line end; it
    # finds what one pattern tried at the start and after every line end finds.
    block = text.encode()
    one = re.compile(rb"(?:\A|\n)(?:[ \t\r]*\n|[ \t\r]+\Z)")
    assert generic._has_blank_line(block) == bool(one.search(block))
