"""Privacy (issue 4.4 and 4.5): pseudonymisation leaves no raw identity in the store or in
any output, keys are never mixed; small groups are suppressed, with complementary
suppression, in every output format."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from intranet_metrics.cli import cli
from intranet_metrics.errors import ExitCode
from intranet_metrics.privacy import suppress
from intranet_metrics.sample import write_sample

DATA = Path(__file__).resolve().parent / "data"
KEY = "correct horse battery staple"
Q1 = ("--from", "2026-01-01", "--to", "2026-03-31")
Q3 = ("--from", "2026-07-01", "--to", "2026-09-30")


def invoke(org: Path, *args: str, key: str | None = KEY, store: str = "store"):
    env = {"INTRANET_METRICS_KEY": key} if key else {"INTRANET_METRICS_KEY": ""}
    return CliRunner().invoke(cli, ["--store", str(org / store), *args], env=env)


@pytest.fixture(scope="module")
def org(tmp_path_factory) -> Path:
    """The sample organisation plus the Slack and Engage test exports and a bad row (whose
    raw text holds an identity), ingested with a key."""
    d = tmp_path_factory.mktemp("org")
    write_sample(d, seed=7, people=120)
    shutil.copytree(DATA / "slack", d / "exports" / "slack")
    shutil.copytree(DATA / "engage", d / "exports" / "engage")
    (d / "exports" / "bad.csv").write_text(
        "timestamp,user,activity,item\nnot-a-date,CONTOSO\\user001,like,/x\n"
    )
    assert invoke(d, "ingest", str(d / "exports")).exit_code == 0
    return d


def identities(org: Path) -> set[str]:
    """Raw emails, names, DOMAIN\\sam values and chat ids of the test organisation."""
    out: set[str] = set()
    with open(org / "roster.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            out |= {row["email"], row["upn"], *row["aliases"].split(";")}
            out.add(row["email"].split("@")[0])  # the name part
    for u in json.loads((DATA / "slack" / "users.json").read_text()):
        out |= {u["id"], u["profile"]["real_name"], u["profile"].get("email") or ""}
    with open(DATA / "engage" / "Users.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            out |= {row["id"], row["name"], row["email"]}
    out |= {"contractor@partner.example", "jane@contoso.com"}
    return {x for x in out if x and len(x) >= 5}


def leaks(text: str, names: set[str]) -> list[str]:
    low = text.lower()
    return sorted(n for n in names if n.lower() in low)


def store_text(root: Path) -> str:
    """Every file of the store as text: Parquet decoded column by column (its pages may be
    compressed, so a byte grep alone could miss a value), everything else as bytes."""
    parts = []
    for p in sorted(root.rglob("*")):
        if not p.is_file():
            continue
        parts.append(p.read_bytes().decode("utf-8", "replace"))
        if p.suffix == ".parquet":
            parts.append(json.dumps(pq.read_table(p).to_pylist(), default=str))
    return "\n".join(parts)


def test_store_holds_no_raw_identity(org):
    names = identities(org)
    text = store_text(org / "store")
    assert len(text) > 10_000
    assert leaks(text, names) == []
    assert "p:" in text  # the keyed hashes are there instead


def test_no_output_format_holds_a_raw_identity(org, tmp_path):
    names = identities(org)
    roster = str(org / "roster.csv")
    outputs = []
    base = tmp_path / "base.json"
    r = invoke(org, "baseline", *Q1, "--roster", roster, "--format", "json", "-o", str(base))
    assert r.exit_code == 0, r.output
    outputs.append(r.output)
    for fmt in ("json", "csv", "markdown", "table"):
        for args in (
            ("baseline", *Q1, "--roster", roster, "--by", "department", "--by", "location"),
            ("compare", "--baseline", str(base), *Q3, "--roster", roster, "--by", "department"),
            ("report", "--period", "quarter", "--roster", roster, "--by", "department"),
        ):
            r = invoke(org, *args, "--format", fmt)
            assert r.exit_code == 0, r.output
            outputs.append(r.output)
    for args in (
        ("rejects", "--format", "json"),
        ("rejects", "--format", "csv"),
        ("rejects",),
        ("identities", "--roster", roster, "--format", "json"),
        ("identities", "--roster", roster),
        ("ingest", "--format", "json", str(org / "exports")),
    ):
        r = invoke(org, *args)
        assert r.exit_code == 0, r.output
        outputs.append(r.output)
    outputs.append(base.read_text())
    assert leaks("\n".join(outputs), names) == []


def test_rejected_rows_keep_no_raw_text_when_pseudonymised(org):
    r = invoke(org, "rejects", "--format", "json")
    rows = json.loads(r.stdout)["rows"]
    assert rows and all(row["raw"] is None for row in rows)


def test_roster_still_matches_under_the_key(org, tmp_path):
    """Hashing both sides must give the same measurement as plain identities."""
    plain = tmp_path / "plain"
    r = invoke(plain, "ingest", str(org / "exports"), key=None, store="store")
    assert r.exit_code == 0
    args = ("baseline", *Q1, "--roster", str(org / "roster.csv"), "--format", "json")
    hashed = json.loads(invoke(org, *args).stdout)
    clear = json.loads(invoke(plain, *args, key=None).stdout)
    assert hashed["metrics"] == clear["metrics"]
    assert hashed["population"] == clear["population"]
    assert hashed["metrics"]["reader"]["users"] > 0


def test_store_refuses_another_key(org):
    r = invoke(org, "baseline", *Q1, "--population", "100", key="another secret")
    assert r.exit_code == ExitCode.STORE and "another key" in r.stderr
    assert "Traceback" not in r.output


def test_store_refuses_no_key(org):
    r = invoke(org, "baseline", *Q1, "--population", "100", key=None)
    assert r.exit_code == ExitCode.STORE and "INTRANET_METRICS_KEY is not set" in r.stderr


def test_plain_store_refuses_a_key(tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("timestamp,user,activity\n2024-03-01T10:00:00Z,jane@contoso.com,like\n")
    assert invoke(tmp_path, "ingest", str(f), key=None).exit_code == 0
    g = tmp_path / "b.csv"
    g.write_text("timestamp,user,activity\n2024-03-02T10:00:00Z,jane@contoso.com,like\n")
    r = invoke(tmp_path, "ingest", str(g))
    assert r.exit_code == ExitCode.STORE and "plain identities" in r.stderr


def test_store_records_the_key_fingerprint_not_the_key(org):
    manifest = (org / "store" / "manifest.json").read_text()
    fingerprint = json.loads(manifest)["key_fingerprint"]
    assert fingerprint and len(fingerprint) == 16 and KEY not in manifest


def test_config_pseudonymise_requires_the_key(tmp_path):
    cfg = tmp_path / "im.toml"
    cfg.write_text("pseudonymise = true\n")
    f = tmp_path / "a.csv"
    f.write_text("timestamp,user,activity\n2024-03-01T10:00:00Z,jane@contoso.com,like\n")
    r = CliRunner().invoke(
        cli,
        ["--config", str(cfg), "--store", str(tmp_path / "s"), "ingest", str(f)],
        env={"INTRANET_METRICS_KEY": ""},
    )
    assert r.exit_code == ExitCode.CONFIG and "INTRANET_METRICS_KEY" in r.stderr
    assert not (tmp_path / "s" / "events").exists()


# -- small-group suppression -----------------------------------------------------------------
def rows(*sizes: int) -> list[dict]:
    return [
        {
            "value": f"g{i}",
            "population": n,
            "suppressed": False,
            "metrics": {"reader": {"users": n // 2, "rate": 0.5, "ci95": [0.1, 0.9]}},
        }
        for i, n in enumerate(sizes)
    ]


def hidden(out: list[dict]) -> list[str]:
    return [r["value"] for r in out if r["suppressed"]]


@pytest.mark.parametrize(
    ("sizes", "k", "want"),
    [
        ((10, 20, 30), 5, []),
        ((4, 20, 30), 5, ["g0", "g1"]),  # one small group: the next smallest goes too
        ((1, 2, 20, 30), 5, ["g0", "g1", "g2"]),  # 1 + 2 < 5 could be derived
        ((3, 3, 20), 5, ["g0", "g1"]),  # 3 + 3 >= 5: two are enough
        ((4, 40), 5, ["g0", "g1"]),
        ((5, 5, 5), 5, []),  # k itself is shown
        ((3, 20, 20), 3, []),  # k = 3 (the floor)
        ((2, 20, 20), 3, ["g0", "g1"]),
    ],
)
def test_suppression_table(sizes, k, want):
    assert hidden(suppress(rows(*sizes), k)) == want


def test_suppressed_rows_lose_population_and_rates():
    out = suppress(rows(2, 30, 40), 5)
    r = out[0]
    assert r["suppressed"] is True and r["population"] is None
    assert r["metrics"]["reader"] == {"users": None, "rate": None, "ci95": None}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=12), st.integers(3, 10))
def test_suppression_cannot_be_undone_by_subtraction(sizes, k):
    out = suppress(rows(*sizes), k)
    gone = [sizes[i] for i, r in enumerate(out) if r["suppressed"]]
    # Every small group is hidden.
    assert all(out[i]["suppressed"] for i, n in enumerate(sizes) if n < k)
    # The hidden groups cannot be recovered from the total minus the shown ones: either none
    # is hidden, or at least two are and together they hold at least k people (or all are).
    if gone and len(gone) < len(sizes):
        assert len(gone) >= 2 and sum(gone) >= k


def _segments(result: dict) -> list[dict]:
    return [s for segs in result["segments"].values() for s in segs]


def test_every_output_suppresses_small_groups(org):
    roster = str(org / "roster.csv")
    args = ("baseline", *Q1, "--roster", roster, "--by", "department", "--by", "role")
    result = json.loads(invoke(org, *args, "--format", "json").stdout)
    segs = _segments(result)
    small = [s for s in segs if s["suppressed"]]
    assert small, "the sample organisation has small groups (Legal)"
    assert all(s["population"] is None for s in small)
    assert all(m["rate"] is None for s in small for m in s["metrics"].values())
    assert all(s["population"] >= 5 for s in segs if not s["suppressed"])
    # CSV: the same rows are marked and empty.
    table = list(csv.DictReader(invoke(org, *args, "--format", "csv").stdout.splitlines()))
    by_value = {(r["dimension"], r["value"]): r for r in table if r["dimension"]}
    for dim, values in result["segments"].items():
        for s in values:
            row = by_value[(dim, str(s["value"]))]
            assert row["suppressed"] == str(s["suppressed"])
            if s["suppressed"]:
                assert row["population"] == "" and row["reader_rate"] == ""
    # Markdown and table: suppressed rows say so and show no rate.
    for fmt in ("markdown", "table"):
        text = invoke(org, *args, "--format", fmt).stdout
        for s in small:
            line = next(x for x in text.splitlines() if str(s["value"]) in x)
            assert "suppressed" in line and "%" not in line


def test_trend_report_suppresses_small_groups(org):
    args = ("report", "--period", "quarter", "--roster", str(org / "roster.csv"))
    result = json.loads(invoke(org, *args, "--by", "department", "--format", "json").stdout)
    segs = [s for row in result["rows"] for v in row.get("segments", {}).values() for s in v]
    assert segs and any(s["suppressed"] for s in segs)
    assert all(s["population"] >= 5 for s in segs if not s["suppressed"])


def test_min_group_size_from_config(org, tmp_path):
    cfg = tmp_path / "im.toml"
    cfg.write_text("min_group_size = 30\n")
    args = ["--config", str(cfg), "--store", str(org / "store"), "baseline", *Q1]
    args += ["--roster", str(org / "roster.csv"), "--by", "department", "--format", "json"]
    r = CliRunner().invoke(cli, args, env={"INTRANET_METRICS_KEY": KEY})
    segs = _segments(json.loads(r.stdout))
    assert all(s["population"] >= 30 for s in segs if not s["suppressed"])
    assert sum(s["suppressed"] for s in segs) >= 2
