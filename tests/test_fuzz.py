"""Fuzzing (issue 4.7): random and mutated bytes through every loader's detection and
parsing, by the same driver the store uses. The only outcomes allowed are events, rejects
or the project's own error type; the accounting must always add up."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intranet_metrics.config import Config
from intranet_metrics.errors import IntranetMetricsError
from intranet_metrics.loaders import all_loaders
from intranet_metrics.loaders.base import EventBuilder, SourceInfo, read_head
from intranet_metrics.loaders.detect import detect
from intranet_metrics.pipeline import read_batches

DATA = Path(__file__).resolve().parent / "data"
FILE_LOADERS = [m for m in all_loaders() if not m.CONTAINER]
CONTAINER_LOADERS = [m for m in all_loaders() if m.CONTAINER]
GENERIC = (
    "timestamp,user,activity,item\n2024-03-01T10:00:00Z,jane@contoso.com,page_view,/a\n"
    '2024-03-02T10:00:00+01:00,"CONTOSO\\bob",like,"/b,c"\n'
    '{"timestamp":"2024-03-01T10:00:00Z","user":"a@x.com","activity":"post"}\n'
)
# One valid-looking seed per text format: mutations of these reach the parsers' insides.
SEEDS = [GENERIC.encode()] + [
    p.read_bytes()[:6000]
    for p in sorted(DATA.rglob("*"))
    if p.is_file() and p.suffix in (".log", ".csv", ".jsonl") and "slack" not in p.parts
]
SETTINGS = settings(
    max_examples=int(__import__("os").environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def run_loader(module, path: Path) -> None:
    """Run ``module`` over ``path`` as an ingest does; fail on anything but our own error."""
    builder = EventBuilder(SourceInfo(str(path), "0" * 64, module.NAME), Config())
    try:
        rows = sum(b.num_rows for b in read_batches(module, path, builder))
    except IntranetMetricsError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    c = builder.counts
    assert c.rows == c.events + c.excluded_total + c.other + c.rejected
    assert rows <= c.rows
    rejects = builder.take_rejects()
    assert (0 if rejects is None else rejects.num_rows) == c.rejected


def check_file(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "input"
        path.write_bytes(data)
        head = read_head(path)
        for module in FILE_LOADERS:
            assert module.sniff(path, head) in (True, False)
            run_loader(module, path)
        try:
            found = detect(path)
        except IntranetMetricsError:
            return
        run_loader(found, path)


@st.composite
def mutated(draw, seeds: list[bytes]) -> bytes:
    """A seed with a few byte flips, insertions, deletions, or a cut."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["flip", "insert", "delete", "cut", "dup"]))
        if op == "flip":
            data[i] = draw(st.integers(0, 255))
        elif op == "insert":
            data[i:i] = draw(st.sampled_from([b'"', b",", b"\n", b"\r", b"\x00", b"{", b"\xff"]))
        elif op == "delete":
            del data[i : i + draw(st.integers(1, 20))]
        elif op == "cut":
            del data[i:]
        else:
            data[i:i] = data[i : i + draw(st.integers(1, 200))]
    return bytes(data)


@SETTINGS
@given(st.binary(max_size=3000))
def test_random_bytes(data):
    check_file(data)


@SETTINGS
@given(mutated(SEEDS))
def test_mutated_exports(data):
    check_file(data)


@SETTINGS
@given(
    st.lists(
        st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40),
        min_size=1,
        max_size=8,
    )
)
def test_random_text_lines_after_a_valid_header(cells):
    check_file((GENERIC.splitlines()[0] + "\n" + ",".join(cells) + "\n").encode())


# -- containers: Slack and Engage exports as zips and folders --------------------------------
def _export_members(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


CONTAINER_SEEDS = {name: _export_members(DATA / name) for name in ("slack", "engage")}


def check_container(path: Path) -> None:
    # Sniffing goes through detect(), which turns a damaged archive into our own error
    # (engage.sniff itself lets zlib.error escape: reported to its owner).
    for module in CONTAINER_LOADERS:
        run_loader(module, path)
    try:
        found = detect(path)
    except IntranetMetricsError:
        return
    run_loader(found, path)


@st.composite
def mutated_export(draw) -> dict[str, bytes]:
    members = dict(CONTAINER_SEEDS[draw(st.sampled_from(sorted(CONTAINER_SEEDS)))])
    name = draw(st.sampled_from(sorted(members)))
    members[name] = draw(mutated([members[name]]))
    if draw(st.booleans()):
        members[draw(st.sampled_from(sorted(members)))] = draw(st.binary(max_size=300))
    return members


@SETTINGS
@given(mutated_export())
def test_mutated_export_folders(members):
    with tempfile.TemporaryDirectory() as d:
        root = Path(d) / "export"
        for name, data in members.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        check_container(root)


@SETTINGS
@given(mutated_export(), st.data())
def test_mutated_export_zips(members, data):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    raw = bytearray(buf.getvalue())
    if data.draw(st.booleans()):  # damage the archive itself, not only a member
        for _ in range(data.draw(st.integers(1, 4))):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "export.zip"
        path.write_bytes(bytes(raw))
        check_container(path)
        for module in FILE_LOADERS:  # a damaged zip may no longer look like one
            run_loader(module, path)


@pytest.mark.parametrize("seed", range(len(SEEDS)))
def test_seeds_themselves_load(seed):
    check_file(SEEDS[seed])


def _zip_with_a_nameless_member() -> bytes:
    """A stored zip whose second member's name is empty (what a damaged download holds)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("users.json", "[]")
        zf.writestr("x", "[]")
    data = bytearray(buf.getvalue())
    local = data.index(b"PK\x03\x04", 1)  # the second member's local header
    central = data.rindex(b"PK\x01\x02")  # its central directory entry
    end = data.rindex(b"PK\x05\x06")
    # Drop the name byte from both headers and zero its length; the central directory
    # starts one byte earlier and is one byte shorter.
    del data[central + 46]
    data[central + 28 : central + 30] = b"\x00\x00"
    end -= 1
    size = int.from_bytes(data[end + 12 : end + 16], "little") - 1
    offset = int.from_bytes(data[end + 16 : end + 20], "little") - 1
    data[end + 12 : end + 20] = size.to_bytes(4, "little") + offset.to_bytes(4, "little")
    del data[local + 30]
    data[local + 26 : local + 28] = b"\x00\x00"
    return bytes(data)


def test_a_zip_member_without_a_name_is_a_damaged_export(tmp_path):
    # Found by test_mutated_export_zips: ZipInfo.is_dir() raised IndexError (internal error).
    path = tmp_path / "export.zip"
    path.write_bytes(_zip_with_a_nameless_member())
    assert "" in zipfile.ZipFile(path).namelist()
    for module in CONTAINER_LOADERS:
        builder = EventBuilder(SourceInfo(str(path), "0" * 64, module.NAME), Config())
        with pytest.raises(IntranetMetricsError, match="a member has no name"):
            list(read_batches(module, path, builder))
