"""EventBuilder.add_many is add a column at a time: same batch, same counts, same rejects."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from intranet_metrics.config import Config
from intranet_metrics.identity import Pseudonymiser
from intranet_metrics.loaders.base import ArrowMemo, EventBuilder, SourceInfo, to_micros

pc_index_in = pc.index_in
T0 = to_micros(datetime(2025, 3, 1, tzinfo=timezone.utc))
RECORDS = [
    # time, actor, activity, key, item, thread, excluded, user agent
    (T0, "i:0#.f|membership|Ann@Contoso.com", "page_view", "k1", "/a.aspx", None, None, "Edge"),
    (T0 + 1, "ann@contoso.com", "like", "k2", None, "t1", None, None),
    (T0 + 2, "sharepoint\\system", "page_view", "k3", "/b.aspx", None, None, None),
    (T0 + 3, "bob@contoso.com", "other", "k4", None, None, None, None),
    (T0 + 4, "bob@contoso.com", "page_view", "k5", None, None, "user_type", None),
    (T0 + 5, "eve@contoso.com", "page_view", "k6", "/c.aspx", None, None, "Googlebot/2.1"),
    (T0 + 6, "", "reply", "k7", None, "t2", None, None),
]


def _builder(pseudo: Pseudonymiser | None = None) -> EventBuilder:
    cfg = Config(service_accounts=("svc@contoso.com",))
    return EventBuilder(SourceInfo("f.log", "0" * 64, "iis-w3c"), cfg, pseudo)


def _columns(records: list[tuple]) -> dict:
    return {
        "time": [r[0] for r in records],
        "actor": [r[1] for r in records],
        "activity": [r[2] for r in records],
        "line": list(range(1, len(records) + 1)),
        "key": [r[3] for r in records],
        "item": [r[4] for r in records],
        "thread": [r[5] for r in records],
        "excluded": [r[6] for r in records],
        "user_agent": [r[7] for r in records],
    }


def _one_by_one(b: EventBuilder, records: list[tuple]) -> None:
    for line, (t, actor, act, key, item, thread, excluded, ua) in enumerate(records, start=1):
        b.add(
            time=t,
            actor=actor,
            activity=act,
            line=line,
            key=key,
            item=item,
            thread=thread,
            excluded=excluded,
            user_agent=ua,
        )


@pytest.mark.parametrize("key", [None, b"secret"])
def test_add_many_equals_add(key: bytes | None) -> None:
    one, many = _builder(Pseudonymiser(key)), _builder(Pseudonymiser(key))
    _one_by_one(one, RECORDS)
    many.add_many(**_columns(RECORDS))
    assert many.flush().equals(one.flush())
    assert many.counts == one.counts
    c = one.counts
    assert c.excluded == {"system_account": 1, "user_type": 1, "user_agent": 1, "empty_actor": 1}
    assert (c.events, c.other, c.rows) == (2, 1, len(RECORDS))  # ann's view and like
    assert c.by_class == {"view": 1, "react": 1}


def test_add_many_with_a_bad_row_rejects_only_that_row() -> None:
    bad = [*RECORDS[:2], (T0 - 10**16, "x@contoso.com", "page_view", "k9", None, None, None, None)]
    bad.append((T0, "y@contoso.com", "no_such_activity", "k10", None, None, None, None))
    one, many = _builder(), _builder()
    _one_by_one(one, bad)
    many.add_many(**_columns(bad))
    assert many.flush().equals(one.flush())
    assert many.counts == one.counts
    assert many.counts.rejected == 2
    assert many.take_rejects().equals(one.take_rejects())


def test_add_many_constant_activity_and_defaults() -> None:
    b = _builder()
    b.add_many(time=[T0, T0], actor=["a@x.org", "b@x.org"], activity="page_view", line=[1, 2],
               key=["1", "2"])  # fmt: skip
    batch = b.flush()
    assert batch.column("activity").to_pylist() == ["page_view"] * 2
    assert batch.column("item").null_count == 2
    assert b.counts.events == 2 and b.counts.by_class == {"view": 2}


def test_add_many_refuses_ragged_columns() -> None:
    with pytest.raises(ValueError, match="different lengths"):
        _builder().add_many(time=[T0], actor=["a", "b"], activity="page_view", line=[1], key=["1"])


def _as_arrow(columns: dict) -> dict:
    """The same columns as Arrow arrays, NumPy arrays and UTF-8 bytes keys."""
    out = {name: pa.array(values) for name, values in columns.items()}
    out["time"] = np.array(columns["time"], np.int64)
    out["line"] = np.array(columns["line"], np.int64)
    out["key"] = pa.array([k.encode() for k in columns["key"]], pa.binary())
    return out


@pytest.mark.parametrize("key", [None, b"secret"])
@pytest.mark.parametrize("bad", [False, True])
def test_add_many_takes_arrow_and_numpy_columns(key: bytes | None, bad: bool) -> None:
    records = list(RECORDS)
    if bad:  # the block goes through add one record at a time
        records.append((T0 - 10**16, "x@contoso.com", "page_view", "k9", None, None, None, None))
    one, many = _builder(Pseudonymiser(key)), _builder(Pseudonymiser(key))
    _one_by_one(one, records)
    many.add_many(**_as_arrow(_columns(records)))
    assert many.flush().equals(one.flush())
    assert many.counts == one.counts


def test_add_and_add_many_keep_their_order_in_a_batch() -> None:
    one, mixed = _builder(), _builder()
    _one_by_one(one, RECORDS * 3)
    n = len(RECORDS)
    _one_by_one(mixed, RECORDS)
    cols = _columns(RECORDS)
    cols["line"] = [n + i for i in cols["line"]]
    mixed.add_many(**cols)
    for line, (t, actor, act, key, item, thread, excluded, ua) in enumerate(RECORDS, 2 * n + 1):
        mixed.add(time=t, actor=actor, activity=act, line=line, key=key, item=item,
                  thread=thread, excluded=excluded, user_agent=ua)  # fmt: skip
    assert mixed.flush().equals(one.flush())
    assert mixed.flush() is None


@pytest.mark.parametrize("key", [None, b"s3cret"])
def test_key_parts_in_one_call_are_each_key_part(key):
    # The builder hashes a block of one-off items in one call, a few items through a memo.
    p = Pseudonymiser(key)
    texts = ["/p/1", "", "anna@contoso.com", "/p/1", "é"]
    assert p.key_parts(texts) == [p.key_part(t) for t in texts]
    assert len(set(p.key_parts(texts))) == 4 and all(len(h) == 20 for h in p.key_parts(texts))


def test_arrow_memo_looks_up_a_column_over_the_same_memory_once(monkeypatch) -> None:
    # A table's column taken out twice is two array objects over one memory: the second
    # reuses the first's lookup; other values (a slice, a copy with another value) do not.
    memo = ArrowMemo(lambda v: (v.upper(), v + "!"), 2)
    table = pa.table({"u": pa.array(["a", "b", "a"])})
    first = table.column("u").chunk(0)
    assert memo(first) == [pa.array(["A", "B", "A"]), pa.array(["a!", "b!", "a!"])]
    calls = []
    monkeypatch.setattr(pc, "index_in", lambda *a, **k: calls.append(1) or pc_index_in(*a, **k))
    again = table.column("u").chunk(0)
    assert again is not first
    assert memo(again, outputs=slice(1, 2)) == [pa.array(["a!", "b!", "a!"])] and not calls
    assert memo(first.slice(1)) == [pa.array(["B", "A"]), pa.array(["b!", "a!"])]
    assert memo(pa.array(["b", "b", "a"]))[0] == pa.array(["B", "B", "A"])
    assert len(calls) == 2
