"""The report in a real browser: headless Chromium (the system's, through Playwright) renders
the page with no console errors, decodes every image, shows every section heading, shows an
escaped ``<script>`` as text, and reads the same without JavaScript; a screenshot is saved.

Skips, with the reason, only where Playwright or a Chromium executable is missing (CI
installs the Debian package ``chromium``; ``.ci/run``)."""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import pytest
from report_inputs import REPRODUCTION_MD, make_compare, make_estimate, make_run

from bplight.report import html as report

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def chromium_executable() -> str | None:
    env = os.environ.get("BPLIGHT_CHROMIUM")
    if env:
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="Playwright's Python package is not installed (pip install -e '.[test]')")
    exe = chromium_executable()
    if exe is None:
        pytest.skip("no Chromium executable found (apt-get install chromium, or set "
                    "BPLIGHT_CHROMIUM)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def page_file(tmp_path_factory) -> tuple[Path, list[str]]:
    tmp = tmp_path_factory.mktemp("browser")
    paths = [make_run(tmp, name="<script>alert(1)"), make_estimate(tmp, "train"),
             make_compare(tmp), REPRODUCTION_MD, tmp / "missing.json"]
    out = tmp / "report.html"
    problems = report.write_report(paths, out)
    assert [p.path for p in problems] == [str(tmp / "missing.json")]
    return out, report.section_headings(paths)


def _check(page, headings: list[str]) -> None:
    assert page.evaluate("Array.from(document.querySelectorAll('h2'), h => h.textContent)") \
        == headings
    images = page.evaluate("Array.from(document.images, i => [i.complete, i.naturalWidth, "
                           "i.naturalHeight, i.getBoundingClientRect().width])")
    assert len(images) == 7  # run 3, estimate 2, compare 1, reproduction 1
    for complete, w, h, shown in images:
        assert complete and w > 0 and h > 0 and shown > 0
    assert page.evaluate("document.scripts.length") == 0
    text = page.inner_text("body")
    assert "<script>alert(1)" in text
    assert "missing.json" in text and "does not exist" in text


def test_report_renders_in_headless_chromium(browser, page_file, tmp_path: Path) -> None:
    out, headings = page_file
    errors: list[str] = []
    failed: list[str] = []
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("request", lambda r: None if r.url.startswith(("file:", "data:"))
            else failed.append(r.url))
    page.goto(out.as_uri(), wait_until="load")
    _check(page, headings)
    assert errors == [] and failed == []
    # a details element (hardware YAML) opens on click without script
    page.click("details summary >> nth=0")
    assert page.evaluate("document.querySelector('details').open")
    shot = Path(os.environ.get("BPLIGHT_REPORT_SCREENSHOT", tmp_path / "report.png"))
    page.screenshot(path=str(shot), full_page=True)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    assert w == 1200 and h > 2000
    page.close()


def test_report_reads_the_same_without_javascript(browser, page_file) -> None:
    out, headings = page_file
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(out.as_uri(), wait_until="load")
    _check(page, headings)  # evaluate() runs in Playwright's isolated world, not the page
    context.close()
