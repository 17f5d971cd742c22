"""Renderers: functions of a Plan to text, over one row model (rows.py).

A format is chosen by name through one table, so a new format is one entry here and the
command line's choices follow it (`FORMATS`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final, Protocol, TextIO

from dropstream_sync.planner.model import Plan
from dropstream_sync.render.json import render_json, write_json
from dropstream_sync.render.markdown import render_markdown
from dropstream_sync.render.text import render_text


class Renderer(Protocol):
    """Every format takes the same keywords; one that has no use for one ignores it.

    `show_pending`: list every pending item, not one line of counts per merchant.
    `plan_file`: the saved plan's name, which a format may cite (`show FILE`)."""

    def __call__(
        self,
        plan: Plan,
        *,
        color: bool = False,
        show_pending: bool = False,
        plan_file: str = "plan.json",
    ) -> str: ...


RENDERERS: Final[Mapping[str, Renderer]] = MappingProxyType(
    {
        "text": render_text,
        "markdown": render_markdown,
        "json": render_json,
    }
)
FORMATS: Final = tuple(RENDERERS)

# Formats written piece by piece: a large plan's JSON is never held as one string (peak memory).
_STREAMED: Final[Mapping[str, Callable[[Plan, TextIO], None]]] = MappingProxyType(
    {
        "json": write_json,
    }
)


def renderer(fmt: str) -> Renderer:
    try:
        return RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"unknown plan format {fmt!r} (one of: {', '.join(FORMATS)})") from None


def render(
    plan: Plan,
    fmt: str,
    *,
    color: bool = False,
    show_pending: bool = False,
    plan_file: str = "plan.json",
) -> str:
    return renderer(fmt)(plan, color=color, show_pending=show_pending, plan_file=plan_file)


def write(
    plan: Plan,
    fmt: str,
    stream: TextIO,
    *,
    color: bool = False,
    show_pending: bool = False,
    plan_file: str = "plan.json",
) -> None:
    """`render` to a stream; the same text, without holding it whole where that matters."""
    streamed = _STREAMED.get(fmt)
    if streamed is None:
        stream.write(render(plan, fmt, color=color, show_pending=show_pending, plan_file=plan_file))
    else:
        streamed(plan, stream)


__all__ = [
    "FORMATS",
    "RENDERERS",
    "Renderer",
    "render",
    "render_json",
    "render_markdown",
    "render_text",
    "renderer",
    "write",
    "write_json",
]
