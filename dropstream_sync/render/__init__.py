"""Renderers: functions of a Plan to text, over one row model (rows.py).

A format is chosen by name through one table, so a new format is one entry here and the
command line's choices follow it (`FORMATS`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final, Protocol, TextIO, TypedDict, Unpack

from dropstream_sync.planner.model import Plan
from dropstream_sync.render.json import render_json, write_json
from dropstream_sync.render.markdown import render_markdown
from dropstream_sync.render.text import render_text


class Options(TypedDict, total=False):
    """The keywords every format takes (a renderer's defaults stand for those not given;
    one that has no use for one ignores it).

    `show_pending`: list every pending item, not one line of counts per merchant.
    `plan_file`: the saved plan's name, which a format may cite (`show FILE`); None when
    the plan was not saved (`plan` without `--out`)."""

    color: bool
    show_pending: bool
    plan_file: str | None


class Renderer(Protocol):
    def __call__(self, plan: Plan, **options: Unpack[Options]) -> str: ...


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


def render(plan: Plan, fmt: str, **options: Unpack[Options]) -> str:
    return renderer(fmt)(plan, **options)


def write(plan: Plan, fmt: str, stream: TextIO, **options: Unpack[Options]) -> None:
    """`render` to a stream; the same text, without holding it whole where that matters."""
    streamed = _STREAMED.get(fmt)
    if streamed is None:
        stream.write(render(plan, fmt, **options))
    else:
        streamed(plan, stream)


__all__ = [
    "FORMATS",
    "RENDERERS",
    "Options",
    "Renderer",
    "render",
    "render_json",
    "render_markdown",
    "render_text",
    "renderer",
    "write",
    "write_json",
]
