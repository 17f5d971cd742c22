"""Contracts every renderer keeps, beyond the golden files."""

from __future__ import annotations

import io

from markdown_it import MarkdownIt

from dropstream_sync.errors import printable
from dropstream_sync.planner import plan
from dropstream_sync.render import render_json, render_markdown, render_text
from dropstream_sync.render.json import write_json
from tests.planner.scenario import NOW, account, merchant, state, store
from tests.render.test_golden import rich_plan


def test_every_renderer_takes_the_same_arguments() -> None:
    made = rich_plan()
    for render in (render_text, render_markdown, render_json):
        assert render(made, color=False) == render(made)


def test_streamed_json_is_byte_identical_to_the_rendered_json() -> None:
    made = rich_plan()
    stream = io.StringIO()

    write_json(made, stream)

    assert stream.getvalue() == render_json(made)


def test_backticks_in_a_store_name_cannot_break_out_of_the_markdown_code_block() -> None:
    # The config accepts any string as a name, newlines included: a line of backticks
    # would close a plain ``` fence and let the rest of the name render as Markdown.
    name = "Acme\n```\n[click](https://evil.example)\n````"
    made = plan(state(merchant("Acme", store("Acme", name))), account(), now=NOW)

    tokens = MarkdownIt("commonmark").parse(render_markdown(made))

    assert not any(t.type == "inline" and "evil.example" in t.content for t in tokens)
    # Inside the fence, on one line: its line breaks are written as escapes.
    assert any(t.type == "fence" and printable(name) in t.content for t in tokens)
