"""The Markdown plan, as a pull-request reader sees it once a CommonMark + tables renderer
(the GitHub/GitLab dialect, via markdown-it-py) has turned it into HTML."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from dropstream_sync.planner import Plan
from dropstream_sync.render.markdown import render_markdown
from tests.gitops.gitops_plans import audit_plan, big_plan, rich_plan

MARKER = "<!-- dropstream-sync:plan -->"
LIMIT = 60_000


def md() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table")


class _Page(HTMLParser):
    """What a reader sees: visible text, summaries, and what sits inside <pre>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.comments: list[str] = []
        self.summaries: list[str] = []
        self.open_tags: list[str] = []
        self.tables = 0
        self._summary: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open_tags.append(tag)
        if tag == "summary":
            self._summary = []
        if tag == "table":
            self.tables += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "summary" and self._summary is not None:
            self.summaries.append("".join(self._summary))
            self._summary = None
        if tag in self.open_tags:
            while self.open_tags.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._summary is not None:
            self._summary.append(data)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def page(markdown: str) -> _Page:
    parsed = _Page()
    parsed.feed(md().render(markdown))
    parsed.close()
    return parsed


def visible(markdown: str) -> str:
    return "".join(page(markdown).text)


def merchants_of(plan: Plan) -> list[str]:
    return sorted({c.merchant for c in plan.changes} | {p.merchant for p in plan.pending})


def test_the_marker_is_a_hidden_html_comment_on_the_first_line() -> None:
    text = render_markdown(rich_plan())
    assert text.splitlines()[0] == MARKER
    first = md().parse(text)[0]
    assert first.type == "html_block" and first.content.strip() == MARKER
    assert "dropstream-sync:plan" not in visible(text)
    assert " dropstream-sync:plan " in page(text).comments


def test_the_summary_renders_as_a_table_with_the_counts() -> None:
    plan = rich_plan()
    html = md().render(render_markdown(plan))
    assert page(render_markdown(plan)).tables == 1
    summary = plan.summary()
    for kind in ("create_merchant", "create_store", "update_store", "invite", "disable"):
        assert summary[kind] > 0
        assert re.search(rf"<td><code>{kind}</code></td>\s*<td[^>]*>{summary[kind]}</td>", html)


def test_each_merchant_is_a_details_block_titled_with_its_name() -> None:
    plan = rich_plan()
    parsed = page(render_markdown(plan))
    names = merchants_of(plan)
    assert len(parsed.summaries) == len(names)
    for name, summary in zip(names, parsed.summaries, strict=True):
        # Shown as typed: "<" and "|" and "*" in a company name are text, not markup.
        assert summary.startswith(f"{name}: ")


def _fences_outside_details(tokens: list[Token]) -> list[Token]:
    depth = 0
    outside: list[Token] = []
    for token in tokens:
        if token.type in ("html_block", "html_inline"):
            depth += token.content.count("<details") - token.content.count("</details>")
        if token.type in ("fence", "code_block") and depth <= 0:
            outside.append(token)
    return outside


@pytest.mark.parametrize("build", [rich_plan, big_plan], ids=["rich", "too-big"])
def test_nothing_renders_as_a_stray_code_block(build: Callable[[], Plan]) -> None:
    plan = build()
    text = render_markdown(plan)
    tokens = md().parse(text)
    # An indented line outside a fence would turn into a code block of its own.
    assert [t for t in tokens if t.type == "code_block"] == []
    assert _fences_outside_details(tokens) == []
    fences = [t for t in tokens if t.type == "fence"]
    assert len(fences) == len(page(text).summaries)
    # An unclosed fence would swallow the rest of the comment, footer included.
    assert "config sha256:" not in "".join(t.content for t in fences)


def test_a_plan_too_big_for_one_comment_is_cut_and_says_what_it_left_out() -> None:
    plan = big_plan()
    text = render_markdown(plan)
    assert len(text) <= LIMIT
    parsed = page(text)
    shown = len(parsed.summaries)
    total = len(merchants_of(plan))
    assert 0 < shown < total
    said = re.search(r"(\d+) more merchant\(s\) left out", visible(text))
    assert said is not None and int(said.group(1)) == total - shown
    assert "dropstream-sync show plan.json" in visible(text)
    html = md().render(text)
    assert html.count("<details>") == html.count("</details>") == shown
    assert parsed.tables == 1


def test_a_blocked_plan_says_so_before_the_table() -> None:
    plan = replace(
        rich_plan(),
        blocked_reasons=(
            "store 'Acme UK' of merchant 'Acme' is protected (protect: true) and would be disabled",
        ),
    )
    text = visible(render_markdown(plan))
    assert "Blocked" in text and "protected (protect: true)" in text
    assert text.index("Blocked") < text.index("connections billed")


def test_a_plan_without_changes_still_renders_its_table() -> None:
    text = render_markdown(audit_plan(drift=False, invite_age_days=None))
    assert text.startswith(MARKER + "\n")
    assert "No changes." in visible(text)
    assert page(text).tables == 1


def test_thousands_of_warnings_still_fit_in_one_comment() -> None:
    warnings = tuple(
        f"stores/acme.yaml:{i}:9: merchants[0].stores[{i}]: warning: latency is ignored with AFN"
        for i in range(3000)
    )
    text = render_markdown(replace(rich_plan(), warnings=warnings))
    assert len(text) <= LIMIT
