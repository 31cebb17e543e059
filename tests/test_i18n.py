"""Issue 14.2-14.4: --lang en|nl through babel, Excel CSV, terminal colour and NO_COLOR."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from rich.console import Console

from intranet_metrics.cli import cli
from intranet_metrics.config import parse_config
from intranet_metrics.errors import ConfigError
from intranet_metrics.render import to_csv, to_table
from intranet_metrics.render.i18n import Lang
from intranet_metrics.render.table import sparkline

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "sample_logs"
GOLDEN = Path(__file__).parent / "golden" / "i18n"
Q1 = ("--from", "2026-01-01", "--to", "2026-03-31")


def report(name: str) -> dict:
    return json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("lang", "rate", "count", "day", "want"),
    [
        ("nl", 0.5112, 12345, "2026-01-01", ("51,1%", "12.345", "1 januari 2026")),
        ("en", 0.5112, 12345, "2026-01-01", ("51.1%", "12,345", "January 1, 2026")),
    ],
)
def test_numbers_and_dates_in_each_language(lang, rate, count, day, want):
    L = Lang(lang)
    assert (L.pct(rate), L.num(count), L.date(day)) == want


@pytest.mark.parametrize(
    ("cell", "en", "nl"),
    [
        (lambda L: L.ci([0.503, 0.574]), "50.3–57.4%", "50,3–57,4%"),
        (lambda L: L.pp(22.34), "+22.3 pp", "+22,3 pp"),
        (lambda L: L.pp(-0.4), "-0.4 pp", "-0,4 pp"),
        (lambda L: L.pvalue(0.0001), "<0.001", "<0,001"),
        (lambda L: L.interval_pp([12.5, 32.6]), "+12.5 to +32.6 pp", "+12,5 tot +32,6 pp"),
        (lambda L: L.figure(57.84, "hours"), "57.8 h", "57,8 u"),
        (
            lambda L: L.window({"from": "2026-01-01", "to": "2026-03-31", "timezone": "UTC"}),
            "2026-01-01 .. 2026-03-31 (UTC)",
            "1 januari 2026 t/m 31 maart 2026 (UTC)",
        ),
    ],
)
def test_cells_are_made_in_the_language_directly(cell, en, nl):
    assert (cell(Lang("en")), cell(Lang("nl"))) == (en, nl)


def test_config_language_key():
    assert parse_config({"language": "nl"}).language == "nl"
    with pytest.raises(ConfigError, match="language"):
        parse_config({"language": "de"})


# -- Excel CSV -------------------------------------------------------------------------------
def test_excel_csv_opens_as_columns_with_the_same_values():
    r = report("compare")
    plain = pd.read_csv(io.StringIO(to_csv(r)), comment="#")
    text = to_csv(r, "excel", Lang("nl"))
    assert text.startswith("\ufeff")
    excel = pd.read_csv(io.StringIO(text[1:]), sep=";", decimal=",", comment="#")
    assert list(excel.columns) == list(plain.columns)
    pd.testing.assert_series_equal(excel["delta_pp"], plain["delta_pp"])
    assert set(excel["suppressed"]) == {"ja", "nee"}


@pytest.mark.parametrize(("lang", "yes", "no"), [("nl", "ja", "nee"), ("en", "true", "false")])
def test_excel_csv_writes_one_boolean_spelling(lang, yes, no):
    text = to_csv(report("baseline"), "excel", Lang(lang))
    assert f";{yes};" in text and f";{no};" in text
    assert "True" not in text and "False" not in text


def test_excel_csv_negative_numbers_stay_numbers():
    # The formula guard must not turn -0,4 into the text '-0,4.
    r = report("compare")
    r["changes"]["reader"]["delta_pp"] = -0.4
    text = to_csv(r, "excel", Lang("nl"))
    assert "mcnemar" in text.splitlines()[1] and ";-0,4;" in text and "'-" not in text


def test_excel_csv_never_uses_exponent_notation():
    text = to_csv(report("compare"), "excel", Lang("nl"))
    assert "e-0" not in text.lower()
    assert ";0,000021806574627155162;" in text


# -- CLI ------------------------------------------------------------------------------------
def run(store: Path, *args: object, env: dict | None = None):
    r = CliRunner().invoke(cli, ["--store", str(store), *map(str, args)], env=env)
    assert r.exit_code == 0, r.output
    return r


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    s = tmp_path_factory.mktemp("i18n") / "store"
    run(s, "ingest", SAMPLE / "exports", "--format", "json")
    return s


def test_lang_nl_table_and_json_without_language(store):
    roster = SAMPLE / "roster.csv"
    nl = run(store, "baseline", "--roster", roster, *Q1, "--lang", "nl").stdout
    assert "lezer" in nl and "50,3%" in nl and "niet gehaald" in nl
    en = json.loads(run(store, "baseline", "--roster", roster, *Q1, "--format", "json").stdout)
    js = json.loads(
        run(store, "baseline", "--roster", roster, *Q1, "--format", "json", "--lang", "nl").stdout
    )
    for key in ("generated_at", "measurement_id"):
        en.pop(key, None), js.pop(key, None)
    assert js == en


def test_warnings_on_stderr_follow_the_language(store):
    """A Dutch report's warnings on stderr are Dutch too (they were English), and an
    English one's unchanged."""
    args = ("baseline", "--population", "500", *Q1, "--format", "json")
    en, nl = run(store, *args).stderr, run(store, *args, "--lang", "nl").stderr
    assert en.startswith("Warning: ") and "Waarschuwing" not in en
    assert nl.startswith("Waarschuwing: ") and "Warning: " not in nl
    assert len(nl.splitlines()) == len(en.splitlines())


def test_lang_nl_csv_defaults_to_excel_and_can_be_plain(store):
    roster = SAMPLE / "roster.csv"
    args = ("baseline", "--roster", roster, *Q1, "--format", "csv", "--lang", "nl")
    assert run(store, *args).stdout.startswith("\ufefflabel;from;to;")
    assert run(store, *args, "--csv-dialect", "plain").stdout.startswith("label,from,to,")
    en = run(store, "baseline", "--roster", roster, *Q1, "--format", "csv").stdout
    assert en.startswith("label,from,to,")


def test_config_language_applies_and_lang_overrides_it(store, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('language = "nl"\n', encoding="utf-8")
    roster = SAMPLE / "roster.csv"
    r = CliRunner().invoke(
        cli, ["--store", str(store), "--config", str(cfg), "baseline", "--roster", str(roster), *Q1]
    )
    assert r.exit_code == 0, r.output
    assert "niet gehaald" in r.stdout
    r = CliRunner().invoke(
        cli,
        ["--store", str(store), "--config", str(cfg), "baseline", "--roster", str(roster)]
        + [*Q1, "--lang", "en"],
    )
    assert "not met" in r.stdout


# -- terminal -----------------------------------------------------------------------------------
def test_compare_colours_goal_status_on_a_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    con = Console(
        record=True, width=100, file=io.StringIO(), force_terminal=True, color_system="standard"
    )
    con.print(to_table(report("compare")))
    ansi = con.export_text(styles=True)
    # "met (95% sure)" in bold green.
    assert "\x1b[1;32mmet (95% sure)" in ansi


def test_no_color_on_a_terminal_keeps_the_words_and_drops_the_colour(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    out = io.StringIO()
    con = Console(width=100, file=out, force_terminal=True, color_system="standard")
    con.print(to_table(report("baseline")))
    ansi = out.getvalue()
    assert "\x1b[1m" in ansi  # a terminal: bold stays
    assert not re.search(r"\x1b\[[0-9;]*3[1-7]m", ansi)  # no foreground colour
    assert "not met" in ansi


def test_compare_without_colour_under_no_color_and_when_piped(store, tmp_path):
    base = tmp_path / "b.json"
    roster = SAMPLE / "roster.csv"
    run(store, "baseline", "--roster", roster, *Q1, "--format", "json", "-o", base)
    args = ("compare", "--baseline", base, "--roster", roster, "--from", "2026-07-01")
    for env in ({"NO_COLOR": "1"}, {}):
        out = run(store, *args, "--to", "2026-09-30", env=env).stdout
        assert "\x1b[" not in out
        # Readable without colour: the status is a word.
        assert "met (95% sure)" in out


def test_report_shows_sparklines(store):
    out = run(store, "report", "--roster", SAMPLE / "roster.csv").stdout
    line = next(x for x in out.splitlines() if x.startswith("Reader "))
    assert any(ch in line for ch in "▁▂▃▄▅▆▇█")
    assert "→" in line


@pytest.mark.parametrize(
    ("rates", "want"),
    [([0.1, 0.2, 0.4], "▃▅█"), ([0.5, None, 0.5], "█·█"), ([0.0, 0.0], "▁▁"), ([None], "·")],
)
def test_sparkline(rates, want):
    assert sparkline(rates) == want


@pytest.mark.parametrize("label", ["reader", "Q1 meting [oud]", "baseline 2026"])
def test_a_label_people_wrote_stays_as_written_in_dutch(label):
    from intranet_metrics.render import to_markdown

    r = report("baseline")
    r["label"] = label
    title = f"## {label}: 1 januari 2026 t/m 31 maart 2026 (UTC)\n"
    assert to_markdown(r, Lang("nl")).startswith(title)


def test_the_default_label_is_written_in_dutch():
    from intranet_metrics.render import to_markdown

    md = to_markdown(report("baseline"), Lang("nl"))
    assert md.startswith("## nulmeting 1 januari 2026 t/m 31 maart 2026\n")
