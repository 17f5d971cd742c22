"""The report as pages (Markdown, HTML as text) and as a command against the sandbox."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from dropstream_sync.cli.connect import open_sandbox
from dropstream_sync.report import render_html, render_markdown
from dropstream_sync.workflows import load_and_plan, load_config, make_plan_and_live
from tests.cli_in_process import EXAMPLE, run
from tests.report.report_cases import EVIL, report


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    return tags


def test_markdown_starts_with_the_marker_and_escapes_names() -> None:
    text = render_markdown(report())
    first = text.splitlines()[0]
    assert first.startswith("<!-- dropstream-sync:report findings=6 digest=")
    rendered = MarkdownIt("commonmark").enable("table").render(text)
    # The names are text in the rendered comment: no script, no bold from a merchant's name.
    assert "<script>" not in rendered and "<b>" not in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    assert "Fish &amp; &lt;b&gt;Chips&lt;/b&gt;" in rendered
    # The timeline as a table: week 2 (from 0: week 1) lapses one, inside the window.
    assert "| 2 | 2026-12-03 | 1 | " in text and "renewal window" in text


def test_markdown_lists_only_stores_that_need_someone_and_stays_under_the_limit() -> None:
    text = render_markdown(report())
    assert "Acme CA |" not in text  # fine: counted, not listed
    assert "1 other store(s) authorized" in text
    assert len(text) < 60_000


def test_html_is_one_page_with_no_external_reference_and_escaped_names() -> None:
    page = render_html(report())
    tags = parsed(page)
    scripts = [t for t in tags.tags if t[0] == "script"]
    assert len(scripts) == 1 and "src" not in scripts[0][1]  # only the inline error recorder
    for tag, attrs in tags.tags:
        for name in ("src", "href"):
            value = attrs.get(name)
            assert value is None or value.startswith("#"), (tag, attrs)
    assert EVIL in "".join(tags.text)  # as text, in a cell
    assert "Fish & <b>Chips</b>" in "".join(tags.text)
    assert not any(t[0] == "b" for t in tags.tags)
    policy = next(
        a["content"] for t, a in tags.tags if a.get("http-equiv") == "Content-Security-Policy"
    )
    assert policy is not None and "default-src 'none'" in policy


def test_html_tables_have_scoped_headers_and_the_chart_has_text_alternatives() -> None:
    tags = parsed(render_html(report()))
    ths = [a for t, a in tags.tags if t == "th"]
    assert ths and all(a.get("scope") in ("col", "row") for a in ths)
    svg = next(a for t, a in tags.tags if t == "svg")
    assert svg["role"] == "img" and svg["aria-labelledby"] == "chart-title chart-desc"
    bars = [a for t, a in tags.tags if t == "rect" and "bar" in (a.get("class") or "")]
    assert len(bars) == 53 and sum(int(a["data-lapsing"] or 0) for a in bars) == 2


def test_report_command_writes_each_format(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sandbox = str(tmp_path / "sb")
    code, out, err = run(capsys, "report", EXAMPLE, "--sandbox", sandbox, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["format_version"] == "1" and doc["summary"]["missing"] == doc["summary"]["stores"]
    page = tmp_path / "r.html"
    code, out, err = run(
        capsys,
        "report",
        EXAMPLE,
        "--sandbox",
        sandbox,
        "--out",
        str(page),
        "--merchant",
        "Acme Outdoors",
    )
    assert code == 0 and out == "" and f"Wrote the report to {page}" in err
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "Acme Outdoors" in text
    assert "Bella Cosmetics" not in text
    code, out, err = run(capsys, "report", EXAMPLE, "--sandbox", sandbox, "--merchant", "Nobody")
    assert code == 1 and "--merchant 'Nobody' is not in the config" in err
    assert "did you mean" not in err  # nothing in the config is like it
    assert "Traceback" not in err
    # Typed as said, not as the config spells it: the name it means is given to copy.
    code, out, err = run(
        capsys, "report", EXAMPLE, "--sandbox", sandbox, "--merchant", "acme outdoors"
    )
    assert code == 1
    assert "--merchant 'acme outdoors' is not in the config (did you mean 'Acme Outdoors'?)" in err
    code, out, err = run(
        capsys, "plan", EXAMPLE, "--sandbox", sandbox, "--merchant", "Acme Outdors"
    )
    assert code == 1 and "(did you mean 'Acme Outdoors'?)" in err


def test_report_reads_exactly_what_plan_reads(tmp_path: Path) -> None:
    session = open_sandbox(str(tmp_path / "sb"))
    with session.client as client:
        # A plan-and-apply makes stores, invitations and requests to count.
        from dropstream_sync.apply import apply_plan

        first = load_and_plan((EXAMPLE,), client)
        client.run(apply_plan(first, client.aio))
        before = client.aio.requests_sent
        plan = load_and_plan((EXAMPLE,), client)
        plan_requests = client.aio.requests_sent - before
        before = client.aio.requests_sent
        read = make_plan_and_live(load_config((EXAMPLE,)), client)
        report_requests = client.aio.requests_sent - before
        client.run(session.admin.aclose())
    assert read.plan.to_dict()["changes"] == plan.to_dict()["changes"]
    # The expired invitations are part of the plan's own read (it needs them for reinvites).
    assert report_requests == plan_requests


def test_the_demo_ends_with_the_report_of_its_sandbox_account(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where the demo writes the page
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    code, out, err = run(capsys, "demo")
    assert code == 0, err
    tail = out.rstrip().splitlines()[-5:]
    line = next(x for x in tail if x.strip().startswith("Report: "))
    page = Path(line.split("Report: ", 1)[1])
    assert page.parent.parent == tmp_path and page.suffix == ".html"
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "Kumo Stationery" in text
    assert "renewal window" in text
