"""The plan as the versioned JSON document of product.md §5 (also the saved plan)."""

from __future__ import annotations

import json
from typing import TextIO

from dropstream_sync.planner.model import Plan


def _encoder() -> json.JSONEncoder:
    return json.JSONEncoder(indent=2, sort_keys=True, ensure_ascii=False)


def render_json(
    plan: Plan,
    *,
    color: bool = False,
    show_pending: bool = False,
    plan_file: str | None = "plan.json",
) -> str:
    """The keywords are accepted, like every renderer's, and ignored: JSON is for machines
    and keeps every pending item."""
    return _encoder().encode(plan.to_dict()) + "\n"


def write_json(plan: Plan, stream: TextIO) -> None:
    """The same bytes as `render_json`, written piece by piece: a 50,000-store plan never
    exists as one string next to its dict, which would double the peak memory."""
    for chunk in _encoder().iterencode(plan.to_dict()):
        stream.write(chunk)
    stream.write("\n")
