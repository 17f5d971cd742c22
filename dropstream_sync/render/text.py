"""The plan as text, Terraform-like: grouped by merchant, one summary line at the end."""

from __future__ import annotations

import click

from dropstream_sync.planner.model import Plan
from dropstream_sync.render.rows import merchant_rows, summary_line

COLOURS = {"+": "green", "~": "yellow", "-": "red", ">": "cyan", "…": "bright_black"}


def render_text(plan: Plan, *, color: bool = False) -> str:
    def paint(symbol: str, text: str) -> str:
        return click.style(text, fg=COLOURS.get(symbol)) if color else text

    lines: list[str] = []
    if plan.blocked:
        lines.append(paint("-", "BLOCKED: apply refuses this plan without --force:"))
        lines.extend(f"  - {reason}" for reason in plan.blocked_reasons)
        lines.append("")
    for group in merchant_rows(plan):
        lines.append(click.style(group.merchant, bold=True) if color else group.merchant)
        for row in group.changes:
            lines.append(paint(row.symbol, f"  {row.symbol} {row.text}"))
            lines.extend(f"      {d}" for d in row.details)
        for row in group.pending:
            lines.append(paint(row.symbol, f"  {row.symbol} pending: {row.text}"))
        lines.append("")
    for warning in plan.warnings:
        lines.append(paint("~", f"warning: {warning}"))
    if plan.warnings:
        lines.append("")
    lines.append(summary_line(plan))
    return "\n".join(lines) + "\n"
