"""Each renderer on the rich scenario, compared with a reviewed golden file.

Regenerate after an intended change: UPDATE_GOLDEN=1 pytest tests/render, then review the diff.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from dropstream_sync.planner import Change, Plan, Target, plan
from dropstream_sync.planner.model import ChangeKind, FieldChange, TargetType, UpdateStore
from dropstream_sync.render import render_json, render_markdown, render_text
from dropstream_sync.render.markdown import LIMIT, MARKER
from tests.planner.scenario import NOW, rich

GOLDEN = Path(__file__).parent / "golden"
RENDERERS: dict[str, Callable[[Plan], str]] = {
    "plan.txt": render_text,
    "plan.md": render_markdown,
    "plan.json": render_json,
}


def rich_plan() -> Plan:
    return plan(
        *rich(),
        now=NOW,
        warnings=["stores.yaml:12:9: merchants[0].stores[3]: a warning"],
        api_url="https://api.example",
        tool_version="0.1.0",
        created_at="2026-11-26T12:00:00Z",
    )


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_renderer_matches_golden_file(name: str) -> None:
    text = RENDERERS[name](rich_plan())
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed: UPDATE_GOLDEN=1 to accept, then review"


def test_text_has_blocked_banner_first_and_one_summary_line_last() -> None:
    lines = render_text(rich_plan()).splitlines()
    assert lines[0].startswith("BLOCKED")
    assert lines[-1].startswith("Plan: ") and "connection(s) billed" in lines[-1]


def test_colour_only_when_asked() -> None:
    assert "\x1b[" not in render_text(rich_plan())
    assert "\x1b[" in render_text(rich_plan(), color=True)


def test_markdown_starts_with_the_marker_and_puts_blocked_reasons_first() -> None:
    md = render_markdown(rich_plan())
    assert md.splitlines()[0] == MARKER
    assert md.index("Blocked") < md.index("| change | count |") < md.index("<details>")


def huge_plan(merchants: int) -> Plan:
    changes = []
    for m in range(merchants):
        for s in range(20):
            name = f"Merchant {m:04d}"
            changes.append(
                Change(
                    f"u{m}-{s}",
                    ChangeKind.UPDATE_STORE,
                    name,
                    f"{name} store {s}",
                    Target(TargetType.STORE, m * 100 + s),
                    (FieldChange("fulfillment_latency", 1, 2),),
                    detail=UpdateStore({"fulfillment_latency": 2}),
                )
            )
    return Plan(
        changes=tuple(changes), merchants=tuple(f"Merchant {m:04d}" for m in range(merchants))
    )


def test_markdown_of_a_huge_plan_stays_under_the_limit_and_says_what_it_left_out() -> None:
    md = render_markdown(huge_plan(600))
    assert len(md) <= LIMIT
    assert "more merchant(s) left out" in md
    assert md.splitlines()[0] == MARKER


def test_small_plan_leaves_nothing_out() -> None:
    assert "left out" not in render_markdown(huge_plan(3))
