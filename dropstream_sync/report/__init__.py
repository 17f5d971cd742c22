"""The authorization-health and drift report (`dropstream-sync report`).

`build_report(plan, live, now)` makes the data (model.py); a renderer per format lays it
out. Formats are chosen by name through one table, like the plan's (render/__init__.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from dropstream_sync.report.html import render_html
from dropstream_sync.report.json import render_json
from dropstream_sync.report.markdown import MARKER, render_markdown
from dropstream_sync.report.model import FORMAT_VERSION, Report, build_report

RENDERERS: Final[Mapping[str, Callable[[Report], str]]] = MappingProxyType(
    {
        "html": render_html,
        "markdown": render_markdown,
        "json": render_json,
    }
)
FORMATS: Final = tuple(RENDERERS)


def render(report: Report, fmt: str) -> str:
    try:
        return RENDERERS[fmt](report)
    except KeyError:
        raise ValueError(f"unknown report format {fmt!r} (one of: {', '.join(FORMATS)})") from None


__all__ = [
    "FORMATS",
    "FORMAT_VERSION",
    "MARKER",
    "RENDERERS",
    "Report",
    "build_report",
    "render",
    "render_html",
    "render_json",
    "render_markdown",
]
