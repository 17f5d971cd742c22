"""A saved plan (`plan --out`) renders exactly as the plan did when it was made."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from dropstream_sync.planner import Plan
from dropstream_sync.planner.model import plan_digest
from dropstream_sync.render import render_json, render_markdown, render_text
from tests.cli_in_process import run
from tests.render.test_golden import rich_plan


@pytest.mark.parametrize(
    "render", [render_text, render_markdown, render_json], ids=["text", "markdown", "json"]
)
def test_show_of_a_saved_plan_prints_what_plan_printed(render: object) -> None:
    made = rich_plan()
    saved = Plan.from_dict(json.loads(render_json(made)))

    assert render(saved) == render(made)  # type: ignore[operator]


def test_show_of_a_crafted_plan_file_prints_its_names_and_messages_as_one_line_each(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The plan digest is no signature: anyone can write a plan file whose merchant names
    # and warnings hold line breaks and escape sequences. `show` printed them as they were,
    # forging lines of the plan (and of a pull-request comment) and driving the terminal.
    document = json.loads(render_json(rich_plan()))
    forged = "Evil\x1b]0;owned\x07\n  + nothing to see here"
    for change in document["changes"]:
        change["merchant"] = forged
    document["warnings"] = ["a warning\x1b[2J\u202ereversed"]
    document["blocked_reasons"] = ["a reason\nBLOCKED: forged"]
    del document["plan_digest"]
    document["plan_digest"] = plan_digest(document)
    saved = tmp_path / "plan.json"
    saved.write_text(json.dumps(document))
    for fmt in ("text", "markdown"):
        code, out, err = run(capsys, "show", str(saved), "--format", fmt)
        assert code == 0, err
        for text in (out, err):
            assert not {"\x1b", "\x07", "\u202e"} & set(text), text
        assert "Evil\\x1b]0;owned\\x07\\n  + nothing to see here" in out
        lines = [line.lstrip() for line in out.splitlines()]
        assert not [line for line in lines if line.startswith(("+ nothing", "BLOCKED: forged"))]
        # The comment's Markdown backslashes the escape's backslash; a reader sees it once.
        shown = out if fmt == "text" else MarkdownIt("commonmark").render(out)
        assert ("a reason\\nBLOCKED: forged" in shown) and "\nBLOCKED: forged" not in out
