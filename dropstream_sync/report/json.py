"""The report as JSON (docs/report-format.md): `Report.to_dict()`, in a stable layout."""

from __future__ import annotations

import json

from dropstream_sync.report.model import Report


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n"
