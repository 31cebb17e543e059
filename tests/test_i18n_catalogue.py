"""Issue 14, the Dutch reports: no English sentence of the catalogue (section titles, notes,
explanations, warnings) is left in a Dutch report of sample_logs/ or of the science
organisation, in any human format; the JSON's warnings stay English, with their codes."""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from intranet_metrics.cli import cli
from intranet_metrics.notices import TEXT, Notice
from intranet_metrics.render import to_csv, to_html, to_markdown, to_table
from intranet_metrics.render.i18n import EN_TEXT, NL, NL_WARNINGS, Lang

from .science_org import ScienceOrg

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "sample_logs"
Q1 = ("--from", "2026-01-01", "--to", "2026-03-31")
Q3 = ("--from", "2026-07-01", "--to", "2026-09-30")
# Goals on figures and per department, so the goal sections are drawn too.
GOALS = "[goals]\nreader = 55\nreactor = 40\ncontributor = 5\ngini = 0.5\n"
GOALS += "[goals.department]\nreader = 50\n"
SCIENCE_CONFIG = """min_group_size = 3
[communication_team]
column = "department"
values = ["Comms"]
[managers]
column = "is_manager"
"""


def _run(*args: object) -> str:
    r = CliRunner().invoke(cli, [*map(str, args), "--format", "json"])
    assert r.exit_code == 0, r.output
    return r.stdout


def _json(*args: object) -> dict:
    return json.loads(_run(*args))


def _reports(
    folder: Path, store: Path, roster: Path, base: tuple, now: tuple, pre=(), base_by=True
) -> dict:
    goals = folder / "goals.toml"
    goals.write_text(GOALS, encoding="utf-8")
    by = ("--by", "department")
    s = ("--store", store, *pre)
    baseline = folder / "baseline.json"
    _run(*s, "baseline", "--roster", roster, *base, *(by if base_by else ()), "-o", baseline)
    cmp = ("compare", "--baseline", baseline, "--roster", roster, *now, *by, "--goals", goals)
    return {
        "baseline": json.loads(baseline.read_text(encoding="utf-8")),
        "compare": _json(*s, *cmp),
        "trend": _json(*s, "report", "--period", "month", "--roster", roster, *by),
    }


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("catalogue_sample")
    store = folder / "store"
    r = CliRunner().invoke(cli, ["--store", str(store), "ingest", str(SAMPLE / "exports")])
    assert r.exit_code == 0, r.output
    return _reports(folder, store, SAMPLE / "roster.csv", Q1, Q3)


@pytest.fixture(scope="module")
def science(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("catalogue_science")
    events, roster = ScienceOrg().build().write(folder)
    store = folder / "store"
    config = folder / "intranet-metrics.toml"
    config.write_text(SCIENCE_CONFIG, encoding="utf-8")
    r = CliRunner().invoke(cli, ["--store", str(store), "ingest", str(events)])
    assert r.exit_code == 0, r.output
    jan = ("--from", "2026-01-01", "--to", "2026-01-31")
    mar = ("--from", "2026-03-01", "--to", "2026-03-31")
    # A baseline without the breakdown: the comparison warns about it.
    return _reports(folder, store, roster, jan, mar, pre=("--config", config), base_by=False)


def terminal(result: dict, lang: Lang) -> str:
    con = Console(record=True, width=80, file=io.StringIO(), color_system=None)
    con.print(to_table(result, lang))
    return con.export_text()


def human(result: dict, lang: Lang) -> str:
    """Every human format of ``result`` in ``lang``, as the text a reader sees."""
    page = re.sub(r"<[^>]+>", " ", to_html(result, lang))
    return "\n".join(
        [
            to_markdown(result, lang),
            terminal(result, lang),
            to_csv(result, "excel", lang),
            html.unescape(page),
        ]
    )


def _fragments(template: str) -> list[str]:
    """The fixed English parts of a catalogue text (between its {placeholders}) that are a
    phrase: three words or more."""
    parts = re.split(r"\{[^}]*\}", template)
    return [p.strip(" ,.;:()") for p in parts if len(p.strip(" ,.;:()").split()) >= 3]


def english_sentences() -> set[str]:
    """The catalogue's English phrases: each translated msgid, each keyed English text,
    each warning's sentence."""
    texts = [k for k, v in NL.items() if v != k and k not in EN_TEXT]
    texts += list(EN_TEXT.values()) + list(TEXT.values())
    return {f for t in texts for f in _fragments(t)}


def test_every_warning_code_has_a_dutch_sentence_with_the_same_parameters():
    assert set(NL_WARNINGS) == set(TEXT)
    for code, en in TEXT.items():
        names = set(re.findall(r"\{(\w+)", en))
        assert set(re.findall(r"\{(\w+)", NL_WARNINGS[code])) == names, code


@pytest.mark.parametrize("org", ["sample", "science"])
@pytest.mark.parametrize("name", ["baseline", "compare", "trend"])
def test_a_dutch_report_holds_no_english_sentence_of_the_catalogue(org, name, request):
    result = request.getfixturevalue(org)[name]
    nl, en = human(result, Lang("nl")), human(result, Lang("en"))
    phrases = english_sentences()
    left = sorted(p for p in phrases if p in nl)
    assert left == []
    # The check has something to find: the English report says many of them.
    assert sum(p in en for p in phrases) >= 8


def test_the_reports_checked_hold_warnings_and_the_science_sections(sample, science):
    # The test above walks warnings and issue 13's sections, not only the tier tables.
    assert sample["compare"]["warnings"] and science["compare"]["warnings"]
    en = human(science["compare"], Lang("en")) + human(science["trend"], Lang("en"))
    for title in ("The change in detail", "Leadership presence", "How people come and go"):
        assert title in en
    assert "Goals per segment" in human(sample["compare"], Lang("en"))


@pytest.mark.parametrize("org", ["sample", "science"])
def test_json_warnings_stay_english_and_carry_their_codes(org, request):
    doc = request.getfixturevalue(org)["compare"]
    codes = {d["code"] for d in doc["warning_details"]}
    assert codes and codes <= set(TEXT)
    # Each detail gives back exactly one of the English warnings.
    english = set(doc["warnings"])
    for d in doc["warning_details"]:
        n = Notice(d["code"], d.get("side"), **d["params"])
        assert str(n) in english


@pytest.mark.parametrize(
    ("notice", "dutch"),
    [
        (Notice("suppressed", label="2026-01", size=1234, k=5), "populatie van 1.234 is kleiner"),
        (
            Notice("identity_styles", label="2026-01", count=2, styles={"email": 1500, "other": 3}),
            "(email/UPN 1.500, other 3)",
        ),
        (Notice("concealed_unmatched", "baseline", n=2), "nulmeting: 2 account(s)"),
        (
            Notice("no_events", label="baseline 2026-01-01..2026-03-31"),
            "nulmeting 1 januari 2026 t/m 31 maart 2026: er zijn geen",
        ),
    ],
)
def test_a_warning_is_phrased_in_dutch_with_dutch_numbers_and_labels(notice, dutch):
    assert dutch in Lang("nl").warning(notice)
    assert Lang("en").warning(notice) == str(notice)


def test_a_warning_without_a_code_is_shown_as_written():
    doc = {"warnings": ["roster r.csv: read as Windows-1252"], "warning_details": []}
    assert Lang("nl").warnings(doc) == ["roster r.csv: read as Windows-1252"]


def test_a_detail_that_does_not_match_its_warning_is_not_used():
    # A stored document edited by hand: the detail no longer gives back the warning.
    doc = {"warnings": ["something else"], "warning_details": [{"code": "observed", "params": {}}]}
    assert Lang("nl").warnings(doc) == ["something else"]


def test_a_notice_in_a_result_built_in_this_process_keeps_its_code():
    # The library's own result (not read back from JSON) holds the notices themselves.
    doc = {"warnings": [Notice("unpaired")]}
    assert Lang("nl").warnings(doc)[0].startswith("personen zijn niet aan de nulmeting")


def test_a_roster_read_as_windows_1252_is_warned_about_in_dutch(tmp_path):
    # A Dutch roster saved by Excel on Windows (not UTF-8): the warning was English text.
    from intranet_metrics.roster import load_roster

    path = tmp_path / "r.csv"
    path.write_bytes("user_id,email,department\nu1,a@x.nl,Financiën\n".encode("cp1252"))
    (note,) = load_roster(path).notes
    assert str(note) == (
        f"roster {path}: not UTF-8 (byte 0xeb on line 2); read as Windows-1252 "
        "(Excel's 'CSV' on Windows); give --encoding if it is another"
    )
    dutch = Lang("nl").warning(note)
    assert dutch.startswith(f"personeelslijst {path}: geen UTF-8 (byte 0xeb op regel 2)")
