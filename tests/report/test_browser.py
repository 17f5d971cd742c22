"""The HTML report in a real browser: headless Chromium opens the file from disk and the
test reads the DOM it rendered (after the page's own script ran) and its console.

Chromium is Debian's `chromium` (.ci/run installs it). Missing on a developer's machine
the tests skip; in CI (CI set) a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dropstream_sync.report import render_html
from tests.report.report_cases import EVIL, report

pytestmark = pytest.mark.browser

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
    # The DOM is dumped once the page has loaded and its script has run.
    "--virtual-time-budget=3000",
)


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("chromium is missing in CI: the HTML report cannot be checked in a browser")
    pytest.skip("chromium is not installed (apt-get install -y chromium)")


class Dom(HTMLParser):
    """The rendered DOM, reduced to what the tests look at."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.stack: list[str] = []
        self.cells: list[str] = []  # the text of every table cell, in order

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        self.stack.append(tag)
        if tag in ("td", "th"):
            self.cells.append("")

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        if self.cells and any(t in ("td", "th") for t in self.stack):
            self.cells[-1] += data

    def all(self, tag: str, cls: str | None = None) -> list[dict[str, str]]:
        return [
            a
            for t, a in self.elements
            if t == tag and (cls is None or cls in a.get("class", "").split())
        ]


def open_in_browser(page: str, tmp_path: Path) -> tuple[Dom, str]:
    file = tmp_path / "report.html"
    file.write_text(page, encoding="utf-8")
    result = subprocess.run(
        [
            chromium(),
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            file.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = Dom()
    dom.feed(result.stdout)
    return dom, result.stderr


def console_errors(stderr: str) -> list[str]:
    return [
        line
        for line in stderr.splitlines()
        if "CONSOLE" in line and re.search(r"Uncaught|Refused|violates|Error", line)
    ]


def test_the_report_renders_its_chart_and_tables_with_no_script_error(tmp_path: Path) -> None:
    r = report()
    dom, stderr = open_in_browser(render_html(r), tmp_path)
    root = dom.all("html")[0]
    assert root.get("data-ready") == "1", "the page's script did not run"
    assert "data-errors" not in root, root["data-errors"]
    assert console_errors(stderr) == []
    bars = dom.all("rect", "bar")
    assert len(bars) == 53
    assert {
        int(b["data-week"]): int(b["data-lapsing"]) for b in bars if b["data-lapsing"] != "0"
    } == {2: 1, 29: 1}
    assert [b["data-week"] for b in dom.all("rect", "in-window")] == ["1", "2", "3", "4", "5"]
    assert len(dom.all("table", "stores")) == 2
    # One row per store (the header row aside), and the timeline's rows say what the bars do.
    assert len(dom.all("tr")) - len(dom.all("thead")) == 8 + 2 + 2 + 1
    assert "Week 2" in dom.cells and "Week 29" in dom.cells


def test_a_hostile_store_name_stays_text_in_the_browser(tmp_path: Path) -> None:
    dom, stderr = open_in_browser(render_html(report()), tmp_path)
    assert EVIL in dom.cells and "Fish & <b>Chips</b>" in "".join(dom.cells)
    assert len(dom.all("script")) == 1 and dom.all("b") == []
    assert "alert" not in stderr


def test_a_script_that_slipped_into_the_page_would_be_blocked_and_reported(tmp_path: Path) -> None:
    # What the escaping prevents, done by hand: the page's policy refuses the script, and
    # the page records that, so the checks above would catch an escaping bug.
    page = render_html(report()).replace("</main>", f"{EVIL}</main>", 1)
    dom, stderr = open_in_browser(page, tmp_path)
    assert "blocked by policy: script-src" in dom.all("html")[0].get("data-errors", "")
    assert console_errors(stderr) != []
