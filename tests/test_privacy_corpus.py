"""Under INTRANET_METRICS_KEY nothing identifying is written in clear (issue 9 item 5): the
privacy corpus (tests/privacy_corpus.py) is ingested and every command is run in every
format; every byte written (the store folder recursively, stdout, stderr, output files)
is searched for the planted names."""

from __future__ import annotations

import json
import re
import string
import time
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from intranet_metrics.cli import cli
from intranet_metrics.identity import (
    EVENT_FIELDS,
    Pseudonymiser,
    personal_value,
    quoted,
    shown_path,
)
from intranet_metrics.loaders import generic, iis, m365_usage, slack
from intranet_metrics.loaders.base import read_source
from intranet_metrics.render import FORMATS
from tests import privacy_corpus as corpus

KEY = "privacy corpus key"
BASE = ("--from", "2026-03-01", "--to", "2026-03-15")
CURRENT = ("--from", "2026-03-16", "--to", "2026-03-31")


def invoke(root: Path, *args: str):
    r = CliRunner().invoke(
        cli, ["--store", str(root / "store"), *args], env={"INTRANET_METRICS_KEY": KEY}
    )
    assert "internal error" not in r.output and "Traceback" not in r.output, r.output
    return r


def store_bytes(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` as text; Parquet also decoded row by row (its pages may
    be compressed, so a byte search alone could miss a value)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            out[str(p)] = p.read_bytes().decode("utf-8", "replace")
            if p.suffix == ".parquet":
                rows = pq.read_table(p).to_pylist()
                out[f"{p} (decoded)"] = json.dumps(rows, default=str, ensure_ascii=False)
    return out


def leaks(texts: dict[str, str]) -> list[tuple[str, str]]:
    """(where, planted name) for each planted name found in each text."""
    return [
        (where, name)
        for where, text in texts.items()
        for name in corpus.PLANTED
        if name.lower() in text.lower()
    ]


def run_everything(root: Path) -> dict[str, str]:
    """Ingest the corpus and run every command in every format; returns every text written
    (command outputs and the files under ``root`` other than the corpus itself)."""
    exports = corpus.write_corpus(root)
    roster = str(root / "roster.csv")
    out: dict[str, str] = {}

    def run(name: str, *args: str) -> int:
        r = invoke(root, *args)
        out[f"stdout of {name}"], out[f"stderr of {name}"] = r.stdout, r.stderr
        return r.exit_code

    assert run("ingest", "ingest", str(exports)) == 0, out["stderr of ingest"]
    run("ingest again (json)", "ingest", "--format", "json", str(exports))
    base = root / "outputs" / "base.json"
    base.parent.mkdir()
    run("baseline -o", "baseline", *BASE, "--roster", roster, "--format", "json", "-o", str(base))
    for fmt in FORMATS:
        run(
            f"baseline {fmt}",
            "baseline",
            *BASE,
            "--roster",
            roster,
            "--by",
            "department",
            "--format",
            fmt,
        )
        run(f"baseline observed {fmt}", "baseline", *BASE, "--format", fmt)
        run(f"baseline population {fmt}", "baseline", *BASE, "--population", "50", "--format", fmt)
        run(
            f"compare {fmt}",
            "compare",
            "--baseline",
            str(base),
            *CURRENT,
            "--roster",
            roster,
            "--by",
            "department",
            "--format",
            fmt,
        )
        run(
            f"report {fmt}",
            "report",
            "--period",
            "week",
            "--roster",
            roster,
            "--by",
            "department",
            "--format",
            fmt,
        )
        run(f"report observed {fmt}", "report", "--period", "month", "--format", fmt)
        run(
            f"compare -o {fmt}",
            "compare",
            "--baseline",
            str(base),
            *CURRENT,
            "--roster",
            roster,
            "--format",
            fmt,
            "-o",
            str(root / "outputs" / f"compare.{fmt}"),
        )
    for fmt in ("table", "json", "csv"):
        run(f"rejects {fmt}", "rejects", "--format", fmt)
    for fmt in ("table", "json"):
        run(f"identities {fmt}", "identities", "--roster", roster, "--format", fmt)
    if "sources" in cli.commands:  # issue 9 item 3 adds it
        run("sources", "sources")
    # Errors: bad rosters, a named file that is no export, a file with no header.
    inputs = root / "inputs"  # not searched: they are the planted names themselves
    inputs.mkdir()
    for name, body in corpus.BAD_ROSTERS.items():
        bad = inputs / f"roster-{name}.csv"
        bad.write_text(body)
        assert run(f"bad roster {name}", "baseline", *BASE, "--roster", str(bad)) != 0
    notes = inputs / "notes.txt"
    notes.write_text(f"Jane Doe ({corpus.JANE}) asked for the export\n")
    assert run("not an export", "ingest", str(notes)) != 0
    users = inputs / "users.csv"
    users.write_text(f"{corpus.JANE},{corpus.ANNA}\n{corpus.BRAM},x\n")
    run("headerless csv", "ingest", "--input-format", "generic", str(users))
    run("folder of non-exports", "ingest", "--skip-bad", str(inputs))
    run("verify", "verify", str(base))
    texts = dict(out)
    texts.update(store_bytes(root / "store"))
    texts.update(store_bytes(root / "outputs"))
    return texts


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, str]:
    return run_everything(tmp_path_factory.mktemp("corpus"))


def test_the_corpus_plants_names_in_every_format(tmp_path):
    """The check can fail: without a key the planted names are stored and printed."""
    exports = corpus.write_corpus(tmp_path)
    r = CliRunner().invoke(
        cli,
        ["--store", str(tmp_path / "store"), "ingest", "--format", "json", str(exports)],
        env={"INTRANET_METRICS_KEY": ""},
    )
    assert r.exit_code == 0, r.output
    found = {name for _, name in leaks(store_bytes(tmp_path / "store"))}
    assert {"jane.doe", "jane_doe", "anna.jansen", "bram.devries", "jdoe"} <= found
    formats = {s["format"] for s in json.loads(r.stdout)["sources"]}
    assert formats >= {
        "iis-w3c",
        "apache-combined",
        "m365-audit",
        "m365-usage",
        "engage-export",
        "slack-export",
        "generic",
    }, formats


def test_no_planted_name_is_written_anywhere_under_a_key(written):
    assert len(written) > 40
    assert sum(len(t) for t in written.values()) > 50_000
    assert leaks(written) == []


def test_the_commands_did_their_work(written):
    """A corpus that fails to ingest or measure would leak nothing: make sure it did not."""
    assert "slack-export" in written["stdout of ingest"]
    base = json.loads(Path(next(k for k in written if k.endswith("base.json"))).read_text())
    assert base["metrics"]["reader"]["users"] == 1  # Jane, matched under her hashed names
    current = json.loads(written["stdout of compare json"])["current"]
    assert current["metrics"]["reactor"]["users"] == 3  # Anna, Bram, Jane (an Engage DM)
    rejects = json.loads(written["stdout of rejects json"])["rows"]
    assert len(rejects) >= 15
    assert all(r["raw"] is None for r in rejects)
    assert any("h:" in r["source_file"] for r in rejects)  # the mpdm- day file, hashed


def test_error_messages_still_name_the_line(written):
    assert "line 3" in written["stderr of bad roster duplicate_user_id"]
    assert "line 3" in written["stderr of bad roster alias_clash"]
    assert "start_date" in written["stderr of bad roster bad_date"]
    assert "not a known export format" in written["stderr of not an export"]


# -- the rule table, value by value ----------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value", "personal"),
    [
        ("item", corpus.PERSONAL, True),
        ("item", corpus.ONEDRIVE, True),
        ("channel", "https://contoso-my.sharepoint.com/personal/jane_doe_contoso_com/", True),
        ("item", "/sites/hr/Person.aspx?accountname=i%3A0%23.f%7Cmembership%7Cjdoe", True),
        ("item", "/profile/jane.doe%40contoso.com", True),
        ("channel", corpus.MPDM, True),
        ("channel", corpus.DM, True),
        ("channel", "D024BE91L", True),
        ("channel", "DEPARTMENTS", False),  # upper case, no digit: a channel name
        ("item", "D024BE91L", False),  # a D... id outside channel is not a DM
        ("channel", "general", False),
        ("item", "/sites/intranet/SitePages/Home.aspx", False),
        ("item", "https://contoso.sharepoint.com/sites/intranet/Shared Documents/a.pdf", False),
        ("parent", "2000000000000000001", False),
        ("thread", "1709287200.000100", False),
    ],
)
def test_personal_values(field, value, personal):
    assert (personal_value(field, value) is not None) is personal


def test_hashes_are_keyed_stable_and_field_independent():
    a, b = Pseudonymiser(b"one"), Pseudonymiser(b"two")
    assert a.value("item", corpus.PERSONAL) == a.value("parent", corpus.PERSONAL)
    assert a.value("item", corpus.PERSONAL) != b.value("item", corpus.PERSONAL)
    assert re.fullmatch(r"h:[0-9a-f]{32}", a.value("item", corpus.PERSONAL))
    assert Pseudonymiser(None).value("item", corpus.PERSONAL) == corpus.PERSONAL


def test_builder_hashes_the_same_in_the_record_and_block_paths(tmp_path):
    """Generic CSV goes through ``add``; the Slack day files name the source file."""
    pseudo = Pseudonymiser(KEY.encode())
    f = tmp_path / "e.csv"
    corpus.generic_csv(f)
    ev = read_source(generic, f, pseudo=pseudo).events.to_pylist()
    assert ev[0]["item"] == pseudo.value("item", corpus.PERSONAL)
    assert ev[2]["parent"] == pseudo.value("item", corpus.ONEDRIVE)
    assert ev[2]["item"] == "m2" and ev[3]["channel"] == "general"
    corpus.slack(tmp_path / "s")
    r = read_source(slack, tmp_path / "s", pseudo=pseudo)
    files = set(r.events["source_file"].to_pylist()) | set(r.rejects["source_file"].to_pylist())
    assert any(f.endswith("!general/2026-03-02.json") for f in files)
    assert not any("mpdm" in f or corpus.DM in f for f in files)
    assert pseudo.value("channel", corpus.MPDM) in set(r.events["channel"].to_pylist())


# -- at an organisation's size -----------------------------------------------------------------
@pytest.mark.slow
def test_a_million_events_of_20000_people_keep_no_personal_path(tmp_path):
    """1,000,000 IIS rows (the Arrow fast path, 64k rows a block) of 20,000 people, half of
    them in their own personal sites: none stored in clear, each path still its own item."""
    people, rows = 20_000, 1_000_000
    rng = np.random.default_rng(9)
    who = rng.integers(0, people, rows)
    own = rng.random(rows) < 0.5
    stems = np.where(
        own,
        np.char.add(np.char.add("/personal/u", who.astype(str)), "_contoso_com/Documents/cv.docx"),
        np.char.add("/sites/intranet/SitePages/p", (who % 300).astype(str)),
    )
    stems = np.where(own, stems, np.char.add(stems, ".aspx"))
    lines = np.char.add(
        np.char.add("2026-03-02 10:00:00 GET ", stems),
        np.char.add(" - 0#.w|contoso\\u", np.char.add(who.astype(str), " Mozilla/5.0 200")),
    )
    log = tmp_path / "u_ex260302.log"
    with open(log, "w") as fh:
        fh.write("#Fields: date time cs-method cs-uri-stem cs-uri-query cs-username ")
        fh.write("cs(User-Agent) sc-status\n")
        fh.write("\n".join(lines.tolist()) + "\n")
    pseudo = Pseudonymiser(KEY.encode())
    started = time.perf_counter()
    r = read_source(iis, log, pseudo=pseudo)
    seconds = time.perf_counter() - started
    items = r.events["item"]
    assert r.events.num_rows == rows
    assert pc.sum(pc.match_substring(items, "/personal/")).as_py() in (0, None)
    hashed = pc.starts_with(items, "h:")
    assert pc.sum(hashed).as_py() == int(own.sum())
    # Keyed hashes keep items apart: one per person's own path, as in the clear.
    assert pc.count_distinct(items.filter(hashed)).as_py() == len(np.unique(who[own]))
    assert seconds < 60


def test_messages_show_paths_and_file_starts_as_the_store_does(monkeypatch):
    member = f"export.zip!{corpus.MPDM}/2026-03-17.json"
    monkeypatch.setenv("INTRANET_METRICS_KEY", "")
    assert shown_path(member) == member and quoted("jane") == "'jane'"
    monkeypatch.setenv("INTRANET_METRICS_KEY", KEY)
    assert shown_path(member) == Pseudonymiser(KEY.encode()).path(member)
    assert "mpdm" not in shown_path(member) and shown_path(member).endswith("/2026-03-17.json")
    assert "jane" not in quoted("jane")


@pytest.mark.parametrize("key", ["", KEY])
def test_an_internal_error_quotes_no_value_under_a_key(tmp_path, monkeypatch, key):
    def broken(*args, **kwargs):
        raise ValueError(f"Invalid isoformat string: '{corpus.JANE}'")

    f = tmp_path / "a.csv"
    f.write_text("timestamp,user,activity\n2026-03-01T10:00:00Z,p01@contoso.com,like\n")
    args, env = ["--store", str(tmp_path / "s")], {"INTRANET_METRICS_KEY": key}
    assert CliRunner().invoke(cli, [*args, "ingest", str(f)], env=env).exit_code == 0
    monkeypatch.setattr("intranet_metrics.runrecord.rejects", broken)
    r = CliRunner().invoke(cli, [*args, "rejects"], env=env)
    assert r.exit_code == 1 and "internal error (ValueError" in r.stderr
    assert (corpus.JANE in r.stderr) is (not key)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=string.ascii_letters + "._-", max_size=30).map(lambda s: f"{s}@q.nl"))
def test_no_reject_reason_or_row_quotes_the_value(tmp_path_factory, value):
    """Whatever stands where a time, an activity or a count should be is never quoted."""
    d = tmp_path_factory.mktemp("v")
    (d / "e.csv").write_text(
        f"timestamp,user,activity\n{value},a@x.com,like\n2026-03-01T10:00:00Z,a@x.com,{value}\n"
    )
    corpus.usage(d / "u.csv")
    (d / "u.csv").write_text((d / "u.csv").read_text().replace("jane.doe", value))
    pseudo = Pseudonymiser(KEY.encode())
    for module, f in ((generic, d / "e.csv"), (m365_usage, d / "u.csv")):
        rejects = read_source(module, f, pseudo=pseudo).rejects.to_pylist()
        assert rejects and all(r["raw"] is None for r in rejects)
        assert not [r["reason"] for r in rejects if value.lower() in r["reason"].lower()]


def test_a_roster_without_header_is_named_without_its_first_person(tmp_path):
    from intranet_metrics.errors import ConfigError
    from intranet_metrics.roster import load_roster

    f = tmp_path / "r.csv"
    f.write_text(corpus.BAD_ROSTERS["no_header"])
    with pytest.raises(ConfigError, match="is the header line missing") as err:
        load_roster(f)
    assert "EMP4711" not in str(err.value) and "jane" not in str(err.value)


@settings(max_examples=200, deadline=None)
@given(
    st.text(string.ascii_lowercase + "._", min_size=3, max_size=20),
    st.sampled_from(
        [
            "/personal/{}_contoso_com/x.docx",
            "https://c-my.sharepoint.com/{}",
            "mpdm-{}--b-1",
            "{}@contoso.com",
            "{}%40contoso.com",
        ]
    ),
    st.sampled_from(EVENT_FIELDS),
)
def test_every_personal_shape_is_hashed_in_every_field(name, shape, field):
    value = shape.format(name)
    stored = Pseudonymiser(KEY.encode()).value(field, value)
    assert re.fullmatch(r"h:[0-9a-f]{32}", stored)
