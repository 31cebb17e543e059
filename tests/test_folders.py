"""Folders as people keep them (issue 10 item 1): notes, pictures and office documents
beside the exports are listed as skipped and the ingest goes on; gzip archives are read."""

from __future__ import annotations

import gzip
import io
import json
import os
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from intranet_metrics.cli import cli
from intranet_metrics.errors import ExitCode
from intranet_metrics.loaders import generic, iis, m365_audit
from intranet_metrics.loaders.base import read_source

DATA = Path(__file__).resolve().parent / "data"
CSV = "timestamp,user,activity,item\n2024-03-01T10:00:00Z,jane@contoso.com,page_view,/a\n"


def run(tmp_path: Path, *args: str):
    return CliRunner().invoke(cli, ["--store", str(tmp_path / "store"), *args])


def ingest_json(tmp_path: Path, *args: str) -> tuple[int, list[dict]]:
    result = run(tmp_path, "ingest", "--format", "json", *args)
    assert "internal error" not in result.output
    sources = json.loads(result.stdout)["sources"] if result.stdout.strip() else []
    return result.exit_code, sources


def docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


NOT_EXPORTS = {
    "README.txt": b"Exports of March, pulled by Anna.\nAsk IT for more.\n",
    "SOURCE.txt": b"Repository: https://example.org/x\nLicense: MIT\n",
    "Thumbs.db": bytes(range(256)) * 8,
    "notes.docx": docx(),
    "SHA256SUMS": b"3f786850e387550fdab836ed7e6dc881de23001b  a.csv\n",
    "empty.log": b"",
}


def test_folder_with_notes_is_ingested_and_each_note_listed(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a.csv").write_text(CSV)
    for name, data in NOT_EXPORTS.items():
        (folder / name).write_bytes(data)
    code, sources = ingest_json(tmp_path, str(folder))
    assert code == 0
    status = {Path(s["path"]).name: (s["status"], s["message"]) for s in sources}
    assert status.pop("a.csv")[0] == "ingested"
    assert set(status) == set(NOT_EXPORTS)
    for state, message in status.values():
        assert state == "skipped" and message.startswith("skipped (not an export): ")


@pytest.mark.parametrize("name", sorted(NOT_EXPORTS))
def test_a_non_export_named_on_the_command_line_is_exit_4(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(NOT_EXPORTS[name])
    result = run(tmp_path, "ingest", str(path))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert str(path) in result.stderr


def test_skip_bad_covers_a_damaged_file_found_by_detection(tmp_path: Path) -> None:
    # Text saved as UTF-16 without a BOM is an export in a form that cannot be read: an
    # error (exit 4, nothing stored) unless --skip-bad, which lists it and reads the rest.
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a.csv").write_text(CSV)
    (folder / "b.csv").write_bytes(CSV.encode("utf-16-le"))
    code, _ = ingest_json(tmp_path / "plain", str(folder))
    assert code == ExitCode.BAD_INPUT
    code, sources = ingest_json(tmp_path / "skip", "--skip-bad", str(folder))
    assert code == ExitCode.BAD_INPUT
    status = {Path(s["path"]).name: s["status"] for s in sources}
    assert status == {"a.csv": "ingested", "b.csv": "failed"}


def test_hidden_files_and_links_are_listed(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a.csv").write_text(CSV)
    (folder / ".~lock.a.csv#").write_text("x")
    os.symlink(folder / "a.csv", folder / "link.csv")
    code, sources = ingest_json(tmp_path, str(folder))
    assert code == 0
    skipped = {Path(s["path"]).name: s["message"] for s in sources if s["status"] == "skipped"}
    assert "hidden" in skipped[".~lock.a.csv#"] and "symbolic link" in skipped["link.csv"]


def test_shared_samples_ingest_as_one_folder(tmp_path: Path, samples: Path) -> None:
    code, sources = ingest_json(tmp_path, str(samples))
    assert code == 0
    by_name = {Path(s["path"]).name: s for s in sources}
    for name in ("confluence_access.log", "confluence_access_post7.11.log"):
        # Both Confluence layouts are read as Confluence, never as an Apache log.
        assert by_name[name]["status"] == "ingested"
        assert by_name[name]["format"] == "confluence-access"
    assert by_name["apache_access.log"]["format"] == "apache-combined"
    assert all(s["status"] == "skipped" for s in sources if Path(s["path"]).name == "SOURCE.txt")
    assert {s["format"] for s in sources if s["status"] == "ingested"} >= {
        "iis-w3c",
        "apache-combined",
        "confluence-access",
        "m365-audit",
        "slack-export",
    }


def gz(path: Path, dest: Path) -> Path:
    dest.write_bytes(gzip.compress(path.read_bytes()))
    return dest


@pytest.mark.parametrize(
    ("module", "source"),
    [
        (iis, DATA / "iis" / "sharepoint.log"),
        (m365_audit, DATA / "m365_audit" / "audit.jsonl"),
        (m365_audit, DATA / "m365_audit" / "purview.csv"),
    ],
)
def test_gzip_reads_as_the_file_it_holds(tmp_path: Path, module, source: Path) -> None:
    packed = gz(source, tmp_path / (source.name + ".gz"))
    plain, zipped = read_source(module, source), read_source(module, packed)
    assert zipped.counts == plain.counts
    assert zipped.events.column("event_key").equals(plain.events.column("event_key"))


def test_gzip_iis_log_in_a_folder_is_detected(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    gz(DATA / "iis" / "sharepoint.log", folder / "u_ex240301.log.gz")
    (folder / "g.csv.gz").write_bytes(gzip.compress(CSV.encode()))
    code, sources = ingest_json(tmp_path, str(folder))
    assert code == 0
    assert {Path(s["path"]).name: s["format"] for s in sources} == {
        "u_ex240301.log.gz": "iis-w3c",
        "g.csv.gz": "generic",
    }
    assert read_source(generic, folder / "g.csv.gz").counts.events == 1
