"""Renderers: functions of a Plan to text, over one row model (rows.py)."""

from dropstream_sync.render.json import render_json
from dropstream_sync.render.markdown import render_markdown
from dropstream_sync.render.text import render_text

__all__ = ["render_json", "render_markdown", "render_text"]
