from __future__ import annotations

import json

from click.testing import CliRunner

from intranet_metrics.cli import cli


def test_identities_lists_coverage_and_top_unmatched(tmp_path):
    ev = tmp_path / "e.csv"
    ev.write_text(
        "timestamp,user,activity\n"
        "2026-01-02T10:00:00Z,CONTOSO\\jane,page_view\n"
        "2026-01-02T10:01:00Z,ghost@x.com,like\n"
        "2026-01-02T10:02:00Z,ghost@x.com,post\n"
        "2026-01-02T10:03:00Z,other@x.com,post\n"
    )
    roster = tmp_path / "r.csv"
    roster.write_text("user_id,email,aliases\nE1,jane@x.com,CONTOSO\\jane\n")
    store = str(tmp_path / "s")
    assert CliRunner().invoke(cli, ["--store", store, "ingest", str(ev)]).exit_code == 0
    r = CliRunner().invoke(
        cli, ["--store", store, "identities", "--roster", str(roster), "--format", "json"]
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["by_format"] == [
        {
            "format": "generic",
            "events": 4,
            "matched_events": 1,
            "coverage": 0.25,
            "actors": 3,
            "unmatched_actors": 2,
        }
    ]
    assert out["top_unmatched"][0] == {"actor": "ghost@x.com", "events": 2, "formats": ["generic"]}


def test_config_exclusions_apply_at_ingest(tmp_path):
    ev = tmp_path / "e.csv"
    ev.write_text(
        "timestamp,user,activity\n2026-01-02T10:00:00Z,svc-sync@x.com,post\n"
        "2026-01-02T10:00:00Z,guest_x.com#EXT#@t.onmicrosoft.com,post\n"
        "2026-01-02T10:00:00Z,i:0#.w|sharepoint\\system,post\n"
    )
    cfg = tmp_path / "c.toml"
    cfg.write_text('service_accounts = ["SVC-sync@x.com"]\n')
    r = CliRunner().invoke(
        cli,
        [
            "--store",
            str(tmp_path / "s"),
            "--config",
            str(cfg),
            "ingest",
            str(ev),
            "--format",
            "json",
        ],
    )
    src = json.loads(r.stdout)["sources"][0]
    assert src["excluded_by_reason"] == {"guest": 1, "service_account": 1, "system_account": 1}
    assert src["events"] == 0
