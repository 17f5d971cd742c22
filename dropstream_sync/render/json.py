"""The plan as the versioned JSON document of product.md §5 (also the saved plan)."""

from __future__ import annotations

import json

from dropstream_sync.planner.model import Plan


def render_json(plan: Plan) -> str:
    return json.dumps(plan.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
