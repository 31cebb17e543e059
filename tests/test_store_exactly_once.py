"""Exactly once whatever the settings (issue 9 item 3): event keys come from the record as
written, each source keeps the settings it was read with, and `sources` / `forget` let a
user read a stored export again with new settings."""

from __future__ import annotations

import errno
import json
import tempfile
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from intranet_metrics import api
from intranet_metrics.cli import cli
from intranet_metrics.config import Config
from intranet_metrics.errors import StoreError, UsageError
from intranet_metrics.loaders.base import KEY_VERSIONS
from intranet_metrics.store import MANIFEST, Store

HEADER = "timestamp,user,activity,item\n"
ROWS = [
    "2024-01-01T10:00:00,anna@contoso.com,like,/p/1\n",
    "2024-01-02T10:00:00,bram@contoso.com,post,/p/2\n",
    "2024-01-03T23:30:00,carla@contoso.com,page_view,/p/3\n",
]
AMS = Config(timezone="Europe/Amsterdam")


def write(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


def events(store: Path) -> list[tuple]:
    s = Store.open(store)
    files = s.event_files()
    if not files:
        return []
    return duckdb.execute(
        "SELECT time, actor, source_file FROM read_parquet(?) ORDER BY ALL", [files]
    ).fetchall()


def run(store: Path, *args: object):
    return CliRunner().invoke(cli, ["--store", str(store), *map(str, args)])


def test_overlapping_exports_under_another_time_zone_are_not_stored_twice(tmp_path):
    # Fails on 181da4d: the generic key held the converted time, so the same three
    # records read in another time zone got new keys and were stored a second time.
    first = write(tmp_path / "jan.csv", ROWS[:2])
    grown = write(tmp_path / "jan-grown.csv", ROWS)
    store = api.open_store(tmp_path / "s", create=True)
    api.ingest(store, [first])
    res = api.ingest(store, [grown], AMS)
    assert [s.new_events for s in res.sources] == [1]
    assert len(events(tmp_path / "s")) == 3


def test_a_record_moved_into_the_next_month_by_the_time_zone_is_still_one_event(tmp_path):
    # 00:30 in Amsterdam on 1 February is 23:30 UTC on 31 January: another month partition.
    night = write(tmp_path / "night.csv", ["2024-02-01T00:30:00,anna@contoso.com,like,/p/1\n"])
    grown = write(
        tmp_path / "grown.csv",
        ["2024-02-01T00:30:00,anna@contoso.com,like,/p/1\n", ROWS[0]],
    )
    store = api.open_store(tmp_path / "s", create=True)
    api.ingest(store, [night])
    assert [s.new_events for s in api.ingest(store, [grown], AMS).sources] == [1]
    assert len(events(tmp_path / "s")) == 2


@pytest.mark.parametrize(
    ("config", "changed"),
    [
        (AMS, "timezone"),
        (Config(service_accounts=("svc@contoso.com",)), "service_accounts"),
        (Config(column_map={"item": "item"}), "column_map"),
    ],
)
def test_same_file_with_other_settings_says_what_differs_and_how_to_fix(tmp_path, config, changed):
    f = write(tmp_path / "jan.csv", ROWS)
    store = api.open_store(tmp_path / "s", create=True)
    api.ingest(store, [f])
    (s,) = api.ingest(store, [f], config).sources
    assert s.status == "unchanged"
    assert [d.split(":")[0] for d in s.settings_changed] == [changed]
    assert f"intranet-metrics forget {s.sha256[:12]}" in s.message


def test_activity_classes_are_applied_when_measuring_so_a_change_needs_no_reingest(tmp_path):
    f = write(tmp_path / "jan.csv", ROWS)
    store = api.open_store(tmp_path / "s", create=True)
    api.ingest(store, [f])
    (s,) = api.ingest(store, [f], Config(activities={"like": "ignore"})).sources
    assert s.status == "unchanged" and not s.settings_changed


def test_settings_that_do_not_shape_a_format_are_not_reported(tmp_path, data):
    # Slack times are epoch seconds: a time zone change leaves its events as they are.
    store = api.open_store(tmp_path / "s", create=True)
    api.ingest(store, [data / "slack"])
    again = api.ingest(store, [data / "slack"], AMS).sources
    assert again and all(s.status == "unchanged" and not s.settings_changed for s in again)


def test_manifest_keeps_the_settings_each_source_was_read_with(tmp_path):
    f = write(tmp_path / "jan.csv", ROWS)
    store = api.open_store(tmp_path / "s", create=True)
    api.ingest(store, [f], AMS.with_overrides(sites=("https://x",)))
    (src,) = json.loads((tmp_path / "s" / MANIFEST).read_text())["sources"]
    assert src["settings"]["timezone"] == "Europe/Amsterdam"
    assert "sites" not in src["settings"]  # only the audit log reads sites
    assert src["settings"]["key_fingerprint"] is None


def test_forget_then_ingest_applies_the_new_time_zone(tmp_path):
    f = write(tmp_path / "jan.csv", ROWS)
    s = tmp_path / "s"
    assert run(s, "ingest", f).exit_code == 0
    utc = events(s)
    r = run(s, "forget", f)
    assert r.exit_code == 0, r.output
    assert events(s) == []
    assert run(s, "sources", "--format", "json").exit_code == 0
    assert json.loads(run(s, "sources", "--format", "json").stdout)["sources"] == []
    store = api.open_store(s)
    (res,) = api.ingest(store, [f], AMS).sources
    assert res.status == "ingested" and res.new_events == 3
    ams = events(s)
    assert [(a - b).total_seconds() for (a, *_), (b, *_) in zip(utc, ams, strict=True)] == [
        3600.0
    ] * 3


def test_forget_keeps_other_sources_rows_in_shared_files(tmp_path):
    a = write(tmp_path / "a.csv", ROWS[:1])
    b = write(tmp_path / "b.csv", ROWS[1:])
    s = tmp_path / "s"
    store = api.open_store(s, create=True)
    api.ingest(store, [a, b])  # small sources share one data file
    assert len(store.manifest["files"]) == 1
    sha_a = store.sources[0]["sha256"]
    res = api.forget(store, [sha_a[:8]])
    assert res.events_removed == 1
    assert {e[2] for e in events(s)} == {str(b)}
    # The rewritten file is listed with its size, and the old one is gone from disk.
    on_disk = sorted(p.relative_to(s).as_posix() for p in (s / "events").rglob("*.parquet"))
    assert on_disk == sorted(f["path"] for f in api.open_store(s).manifest["files"])


def test_forget_also_removes_the_sources_rejects(tmp_path):
    f = write(tmp_path / "bad.csv", [*ROWS, "not-a-time,x@contoso.com,like,/p\n"])
    store = api.open_store(tmp_path / "s", create=True)
    api.ingest(store, [f])
    assert api.forget(store, [str(f)]).rejects_removed == 1
    assert api.open_store(tmp_path / "s").reject_files() == []


@pytest.mark.parametrize("spec", ["nope.csv", "0000", "zz"])
def test_forget_an_unknown_source_names_the_sources_command(tmp_path, spec):
    f = write(tmp_path / "jan.csv", ROWS)
    store = api.open_store(tmp_path / "s", create=True)
    api.ingest(store, [f])
    with pytest.raises(UsageError, match="intranet-metrics sources"):
        api.forget(store, [spec])


def test_forget_an_ambiguous_prefix_lists_the_candidates(tmp_path):
    store = api.open_store(tmp_path / "s", create=True)
    files = [write(tmp_path / f"{i}.csv", ROWS[i : i + 1]) for i in range(3)]
    api.ingest(store, files)
    shas = [s["sha256"] for s in store.sources]
    # Two SHA-256 sharing a prefix: made so by editing the manifest (hex prefixes of real
    # files rarely collide in a test).
    store.sources[1]["sha256"] = shas[0][:6] + shas[1][6:]
    with pytest.raises(UsageError, match="matches 2 sources"):
        store.find_source(shas[0][:6])


def test_a_forget_that_fails_before_its_commit_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    a = write(tmp_path / "a.csv", ROWS[:1])
    b = write(tmp_path / "b.csv", ROWS[1:])
    s = tmp_path / "s"
    store = api.open_store(s, create=True)
    api.ingest(store, [a, b])
    before = ((s / MANIFEST).read_text(), events(s))

    def boom(*args, **kw):
        raise KeyboardInterrupt  # a kill between staging and the manifest replace

    monkeypatch.setattr("intranet_metrics.store._write_json_atomic", boom)
    with pytest.raises(KeyboardInterrupt):
        api.forget(store, [str(a)])
    monkeypatch.undo()
    assert ((s / MANIFEST).read_text(), events(s)) == before
    store = api.open_store(s)
    assert api.forget(store, [str(a)]).events_removed == 1
    assert not (s / "tmp").exists()


def test_sources_table_lists_path_and_sha():
    # A short folder: the path fits on one line of the table (a long one wraps, see
    # test_sources_table_shows_the_whole_of_a_deep_path).
    with tempfile.TemporaryDirectory(prefix="im-") as tmp:
        f = write(Path(tmp) / "jan.csv", ROWS)
        s = Path(tmp) / "s"
        run(s, "ingest", f)
        r = run(s, "sources")
        assert r.exit_code == 0
        sha = api.open_store(s).sources[0]["sha256"]
        assert sha[:12] in r.stdout and "jan.csv" in r.stdout


def test_sources_table_shows_the_whole_of_a_deep_path(tmp_path):
    """A path far wider than the table's column wraps; its file name is never cut off."""
    deep = tmp_path.joinpath(*(f"exports-of-the-communication-team-{i}" for i in range(4)))
    deep.mkdir(parents=True)
    f = write(deep / "intranet-page-views-january.csv", ROWS)
    s = tmp_path / "s"
    run(s, "ingest", f)
    r = run(s, "sources")
    assert r.exit_code == 0 and len(str(f)) > 160
    # The File column's cells, row line by row line, joined: the path as it was.
    cells = [line.split("│")[2].strip() for line in r.stdout.splitlines() if line.count("│") > 2]
    assert "".join(cells) == str(f) and "…" not in r.stdout


def test_a_reader_that_overlaps_a_forget_is_told_to_run_again(tmp_path):
    a = write(tmp_path / "a.csv", ROWS[:1])
    b = write(tmp_path / "b.csv", ROWS[1:])
    store = api.open_store(tmp_path / "s", create=True)
    api.ingest(store, [a, b])
    reader = api.open_store(tmp_path / "s")  # holds the manifest as it was
    api.forget(api.open_store(tmp_path / "s"), [str(a)])
    with pytest.raises(StoreError, match="changed while this command read it"):
        reader.event_files()


def test_an_overlapping_export_read_with_other_settings_says_the_shared_events_keep_the_old(
    tmp_path,
):
    first = write(tmp_path / "jan.csv", ROWS[:2])
    grown = write(tmp_path / "jan-grown.csv", ROWS)
    store = api.open_store(tmp_path / "s", create=True)
    api.ingest(store, [first])
    (s,) = api.ingest(store, [grown], AMS).sources
    assert s.duplicates == 2 and s.settings_changed == [
        'timezone: "UTC" then, "Europe/Amsterdam" now'
    ]
    assert "forget" in s.message and str(first) in s.message


def test_under_a_key_service_account_names_are_neither_stored_nor_printed(tmp_path, monkeypatch):
    monkeypatch.setenv("INTRANET_METRICS_KEY", "k" * 32)
    f = write(tmp_path / "jan.csv", ROWS)
    store = api.open_store(tmp_path / "s", create=True)
    api.ingest(store, [f], Config(service_accounts=("svc-backup@contoso.com",)))
    (s,) = api.ingest(store, [f], Config(service_accounts=("svc-crawl@contoso.com",))).sources
    assert s.settings_changed == ["service_accounts: changed"]
    assert "svc-" not in (tmp_path / "s" / MANIFEST).read_text() + s.message


def test_a_store_written_before_sizes_sources_and_settings_were_kept_still_works(tmp_path):
    a = write(tmp_path / "a.csv", ROWS[:1])
    b = write(tmp_path / "b.csv", ROWS[1:])
    s = tmp_path / "s"
    api.ingest(api.open_store(s, create=True), [a, b])
    m = json.loads((s / MANIFEST).read_text())
    for f in m["files"]:
        del f["bytes"], f["sources"]
    for src in m["sources"]:
        del src["settings"], src["settings_changed"]
    (s / MANIFEST).write_text(json.dumps(m))
    store = api.open_store(s)
    assert len(events(s)) == 3
    (again,) = api.ingest(store, [a], AMS).sources
    assert again.status == "unchanged" and not again.settings_changed  # nothing to compare
    assert api.forget(store, [str(a)]).events_removed == 1
    assert {e[2] for e in events(s)} == {str(b)}


def test_full_disk_during_forget_exits_5_and_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    a = write(tmp_path / "a.csv", ROWS[:1])
    b = write(tmp_path / "b.csv", ROWS[1:])
    s = tmp_path / "s"
    run(s, "ingest", a, b)
    before = ((s / MANIFEST).read_text(), events(s), sorted(s.rglob("*")))

    def full(*args, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(json, "dump", full)
    r = run(s, "forget", a)
    monkeypatch.undo()
    assert r.exit_code == 5 and f"no space left on {s}" in r.stderr, r.output
    assert ((s / MANIFEST).read_text(), events(s), sorted(s.rglob("*"))) == before


def test_an_export_overlapping_one_keyed_by_the_old_version_says_it_may_count_twice(tmp_path):
    first = write(tmp_path / "jan.csv", ROWS[:2])
    grown = write(tmp_path / "jan-grown.csv", ROWS)
    s = tmp_path / "s"
    store = api.open_store(s, create=True)
    api.ingest(store, [first])
    m = json.loads((s / MANIFEST).read_text())
    del m["sources"][0]["key_version"]  # as 0.1 (commit 181da4d) wrote it
    (s / MANIFEST).write_text(json.dumps(m))
    (res,) = api.ingest(api.open_store(s), [grown]).sources
    assert "counted twice" in res.message and "forget" in res.message
    assert res.settings_changed == [f"key_version: 1 then, {KEY_VERSIONS['generic']} now"]


# -- key versions: a store keeps the version its generic sources were keyed with ----------
def _keyed_by_version_2(store_path: Path, sources: list[Path], monkeypatch) -> None:
    """Ingest as the version before 3 did (each record's key hashed per event)."""
    with monkeypatch.context() as m:
        m.setitem(KEY_VERSIONS, "generic", 2)
        api.ingest(api.open_store(store_path, create=True), sources)


def stored_keys(store: Path) -> list[str]:
    files = Store.open(store).event_files()
    return [
        r[0] for r in duckdb.execute("SELECT event_key FROM read_parquet(?)", [files]).fetchall()
    ]


@pytest.mark.parametrize("key", [None, "s3cret"])
def test_a_store_keyed_by_version_2_keeps_it_so_an_overlap_counts_once(tmp_path, monkeypatch, key):
    if key:
        monkeypatch.setenv("INTRANET_METRICS_KEY", key)
    s = tmp_path / "s"
    _keyed_by_version_2(s, [write(tmp_path / "jan.csv", ROWS[:2])], monkeypatch)
    (res,) = api.ingest(api.open_store(s), [write(tmp_path / "grown.csv", ROWS)]).sources
    assert (res.new_events, res.duplicates, res.key_version) == (1, 2, 2)
    assert len(events(s)) == 3 and not res.message


def test_version_2_keys_are_made_as_before(tmp_path, monkeypatch):
    # The hash 0.2 (main 382c19e) stored: BLAKE2b of "generic", then the raw record.
    import hashlib

    s = tmp_path / "s"
    _keyed_by_version_2(s, [write(tmp_path / "jan.csv", ROWS[:1])], monkeypatch)
    record = "generic\x1f" + ROWS[0].strip().replace(",", "\x1f")
    assert stored_keys(s) == [hashlib.blake2b(record.encode(), digest_size=16).hexdigest()]


def test_a_new_store_is_keyed_by_the_newest_version_and_overlaps_count_once(tmp_path):
    s = api.open_store(tmp_path / "s", create=True)
    api.ingest(s, [write(tmp_path / "jan.csv", ROWS[:2])])
    (res,) = api.ingest(s, [write(tmp_path / "grown.csv", ROWS)], AMS).sources
    assert (res.new_events, res.key_version) == (1, KEY_VERSIONS["generic"])
    assert [x["key_version"] for x in s.sources] == [3, 3]


def test_version_3_keys_hold_no_user_or_item_under_a_key(tmp_path, monkeypatch):
    monkeypatch.setenv("INTRANET_METRICS_KEY", "s3cret")
    s = api.open_store(tmp_path / "s", create=True)
    api.ingest(s, [write(tmp_path / "jan.csv", ROWS)])
    keys = stored_keys(tmp_path / "s")
    assert len(set(keys)) == 3
    assert not any(w in k for k in keys for w in ("contoso", "anna", "/p/"))
    # The parts are keyed: another secret gives other keys for the same records.
    monkeypatch.setenv("INTRANET_METRICS_KEY", "other")
    api.ingest(api.open_store(tmp_path / "t", create=True), [write(tmp_path / "j2.csv", ROWS)])
    assert not set(keys) & set(stored_keys(tmp_path / "t"))
