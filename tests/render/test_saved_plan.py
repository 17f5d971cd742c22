"""A saved plan (`plan --out`) renders exactly as the plan did when it was made."""

from __future__ import annotations

import json

import pytest

from dropstream_sync.planner import Plan
from dropstream_sync.render import render_json, render_markdown, render_text
from tests.render.test_golden import rich_plan


@pytest.mark.parametrize(
    "render", [render_text, render_markdown, render_json], ids=["text", "markdown", "json"]
)
def test_show_of_a_saved_plan_prints_what_plan_printed(render: object) -> None:
    made = rich_plan()
    saved = Plan.from_dict(json.loads(render_json(made)))

    assert render(saved) == render(made)  # type: ignore[operator]
