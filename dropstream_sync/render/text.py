"""The plan as text, Terraform-like: grouped by merchant, one summary line at the end.

A merchant with only pending items is one line in a list after the merchants with changes
(unless `show_pending`): at 500 merchants, most of them are waiting on someone, and a
plan must still show its changes at a glance.
"""

from __future__ import annotations

import click

from dropstream_sync.errors import printable
from dropstream_sync.planner.model import Plan
from dropstream_sync.render.rows import merchant_rows, summary_line

COLOURS = {"+": "green", "~": "yellow", "-": "red", ">": "cyan", "…": "bright_black"}


def render_text(
    plan: Plan,
    *,
    color: bool = False,
    show_pending: bool = False,
    plan_file: str | None = "plan.json",
) -> str:
    """`plan_file` is accepted, like every renderer's, and unused: text cites no file."""

    def paint(symbol: str, text: str) -> str:
        return click.style(text, fg=COLOURS.get(symbol)) if color else text

    def bold(text: str) -> str:
        return click.style(text, bold=True) if color else text

    # Each line is built from names and messages a saved plan file holds, which `show` reads
    # from anyone's file: printable() keeps each one line with no escape sequence in it.
    lines: list[str] = []
    if plan.blocked:
        lines.append(paint("-", "BLOCKED: apply refuses this plan without --force:"))
        lines.extend(f"  - {printable(reason)}" for reason in plan.blocked_reasons)
        lines.append("")
    groups = merchant_rows(plan, show_pending=show_pending)
    waiting = [g for g in groups if not g.changes and not show_pending]
    for group in groups:
        if not group.changes and not show_pending:
            continue
        lines.append(bold(printable(group.merchant)))
        for row in group.changes:
            lines.append(paint(row.symbol, f"  {row.symbol} {printable(row.text)}"))
            lines.extend(f"      {printable(d)}" for d in row.details)
        for row in group.pending:
            lines.append(paint(row.symbol, f"  {row.symbol} pending: {printable(row.text)}"))
        lines.append("")
    if waiting:
        lines.append(bold("Pending only (no changes):"))
        for group in waiting:
            summary = group.pending[0]
            lines.append(
                paint(
                    summary.symbol,
                    f"  {summary.symbol} {printable(group.merchant)}: {printable(summary.text)}",
                )
            )
        lines.append("")
    # Warnings are not part of the text: the command line says them once, on stderr
    # (cli.options.say_warnings); the JSON plan and the markdown comment keep them.
    lines.append(summary_line(plan))
    return "\n".join(lines) + "\n"
