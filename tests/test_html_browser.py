"""Issue 14.5: the HTML report of sample_logs/ in a real browser (headless Chromium), with the
network off: every chart drawn, a screenshot taken, and no request leaving the page.

.ci/run installs Debian's chromium; the test skips, saying so, only where none can be had.
`python tests/test_html_browser.py` writes the README's screenshots (docs/report-*.png)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden"
CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
# Chromium's own background traffic off; any name lookup fails and any proxy is dead, so a
# request the page made could not succeed and is still written to the net log.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--disable-domain-reliability",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
    "--hide-scrollbars",
]


def _chromium(args: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def render_page(name: str, lang: str, tmp: Path) -> Path:
    """The page of a report of sample_logs/ made with every section issue 13 adds
    (tests/golden/: the change's interval and split, the lifecycle)."""
    from intranet_metrics.render import to_html
    from intranet_metrics.render.i18n import Lang

    result = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    page = tmp / f"{name}-{lang}.html"
    page.write_text(to_html(result, Lang(lang)), encoding="utf-8")
    return page


def page_requests(netlog: Path) -> list[str]:
    """URLs of the network requests the page made. Chromium's own traffic (time, updates,
    accounts) has no origin ("not an origin") and is no request of the page; file:// loads
    do not pass the network stack."""
    log = json.loads(netlog.read_text(encoding="utf-8", errors="replace"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        e["params"]["url"]
        for e in log["events"]
        if e["type"] == start
        and "url" in e.get("params", {})
        and e["params"].get("initiator") != "not an origin"
    ]


def screenshot(page: Path, png: Path, tmp: Path, height: int = 2400) -> list[str]:
    """A screenshot of ``page``; returns the URLs of the network requests the page made."""
    netlog = tmp / f"{page.stem}.netlog.json"
    r = _chromium(
        [
            f"--log-net-log={netlog}",
            f"--window-size=1100,{height}",
            f"--screenshot={png}",
            page.as_uri(),
        ],
        tmp,
    )
    assert png.exists(), r.stderr[-2000:]
    return page_requests(netlog)


needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium (.ci/run installs Debian's chromium package)"
)


@needs_chromium
@pytest.mark.parametrize(("name", "lang"), [("compare", "en"), ("report", "nl")])
def test_report_in_a_browser_draws_every_chart_and_fetches_nothing(name, lang, tmp_path):
    from PIL import Image

    page = render_page(name, lang, tmp_path)
    dom = _chromium(["--dump-dom", page.as_uri()], tmp_path).stdout
    figures = re.findall(r'<figure class="chart" data-chart="(\w+)">(.*?)</figure>', dom, re.S)
    expected = {
        "compare": {"rates", "change", "split", "ladder"},
        "report": {"trend", "lifecycle", "ladder"},
    }[name]
    assert {f for f, _ in figures} == expected
    for chart, svg in figures:
        # The SVG as the browser parsed it, with its data marks (bars, lines, points).
        marks = re.findall(r'role="graphics-symbol"[^>]*?(?: d="M[^"]+")', svg)
        assert len(marks) >= 3, chart

    png = tmp_path / f"{name}-{lang}.png"
    urls = screenshot(page, png, tmp_path)
    # Only the page itself was loaded: no font, script, image or beacon from elsewhere.
    assert urls == []
    img = Image.open(png).convert("RGB")
    assert img.size == (1100, 2400)
    colours = img.getcolors(maxcolors=1 << 20) or []
    # Drawn, not blank: the ladder chart's grey and each tier's colour cover real areas
    # (the tiles' coloured borders alone are ~2,000 pixels each).
    count = {rgb: n for n, rgb in colours}
    assert count.get((0xC9, 0xCE, 0xD6), 0) > 2_000  # the ladder's inactive people
    assert count.get((0x00, 0x72, 0xB2), 0) > 4_000  # reader blue: bars, lines, ladder
    assert len(colours) > 200  # text, charts and shading, not one flat colour


@needs_chromium
def test_the_net_log_check_sees_a_request_a_page_makes(tmp_path):
    # The check above can fail: a page without the CSP that loads an image is caught.
    page = tmp_path / "leaky.html"
    page.write_text('<img src="http://intranet-metrics.invalid/x.png">', encoding="utf-8")
    urls = screenshot(page, tmp_path / "leaky.png", tmp_path, height=200)
    assert urls == ["http://intranet-metrics.invalid/x.png"]


@needs_chromium
def test_report_prints_to_pdf(tmp_path):
    page = render_page("compare", "nl", tmp_path)
    pdf = tmp_path / "report.pdf"
    _chromium([f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri()], tmp_path)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page") >= 2


def main() -> None:
    """Write docs/report-en.png and docs/report-nl.png (the README shows them)."""
    import tempfile

    if CHROMIUM is None:
        sys.exit("no chromium")
    with tempfile.TemporaryDirectory() as tmp:
        for lang in ("en", "nl"):
            page = render_page("compare", lang, Path(tmp))
            screenshot(page, ROOT / "docs" / f"report-{lang}.png", Path(tmp), height=1500)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
