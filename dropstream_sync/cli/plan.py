"""`dropstream-sync plan` and `dropstream-sync show`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dropstream_sync import __version__
from dropstream_sync.cli.connect import connection_options, open_client
from dropstream_sync.errors import SettingsError

if TYPE_CHECKING:
    from dropstream_sync.planner import Plan

FORMATS = click.Choice(["text", "markdown", "json"])

PLAN_HELP = """Show what apply would change, without changing anything.

Reads the config (files or folders) and the live DropStream account (read-only: this
command cannot write), and prints the plan. `--out` also saves it as JSON for
`apply PLANFILE` and `show`.

\b
Examples:
  dropstream-sync plan stores/
  dropstream-sync plan stores/ --out plan.json --format markdown > comment.md
  dropstream-sync plan stores/ --detailed-exitcode   # exit 2 when there are changes
  dropstream-sync plan examples/stores.yaml --sandbox
"""


def load_config(paths: Sequence[str]) -> Any:
    from dropstream_sync.config import load

    result = load(paths)
    for warning in result.warnings:
        click.echo(str(warning), err=True)
    return result


def make_plan(result: Any, client: Any, merchants: Sequence[str]) -> Plan:
    """Plan a loaded config against live, read through `client` (one read per list)."""
    from dropstream_sync.planner import plan

    names = merchants or sorted(result.desired.merchant_names())
    live = client.read_live(names)
    now = client.clock()
    return plan(
        result.desired, live, now=now, merchants=merchants or None,
        warnings=[f"{w.file}:{w.line}:{w.column}: {w.path}: {w.message}" for w in result.warnings],
        api_url=client.api_url, tool_version=__version__,
        created_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def load_and_plan(paths: Sequence[str], client: Any, merchants: Sequence[str]) -> Plan:
    return make_plan(load_config(paths), client, merchants)


def render(plan: Plan, fmt: str, color: bool) -> str:
    from dropstream_sync.render import render_json, render_markdown, render_text

    if fmt == "json":
        return render_json(plan)
    if fmt == "markdown":
        return render_markdown(plan)
    return render_text(plan, color=color)


def echo_rendered(plan: Plan, fmt: str, color: bool) -> None:
    if fmt == "json":
        from dropstream_sync.render.json import write_json

        # Streamed: a large plan's JSON is never held as one string (peak memory).
        write_json(plan, sys.stdout)
        return
    click.echo(render(plan, fmt, color), nl=False)


@click.command("plan", help=PLAN_HELP)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Also save the plan as JSON to PLAN.json.")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True,
              help="Output format on stdout.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 2 when the plan has changes (0: none; pending alone is none).")
@click.option("--merchant", "merchants", multiple=True, metavar="NAME",
              help="Plan only this merchant; repeatable.")
@connection_options
@click.pass_context
def plan(ctx: click.Context, paths: tuple[str, ...], out: str | None, fmt: str,
         detailed_exitcode: bool, merchants: tuple[str, ...], api_url: str | None,
         sandbox_dir: str | None) -> None:
    # The config is checked before anything is sent: an invalid file costs no request.
    result = load_config(paths)
    with open_client(api_url, sandbox_dir, write=False) as client:
        the_plan = make_plan(result, client, merchants)
    if out:
        from dropstream_sync.render.json import write_json

        try:
            with Path(out).open("w", encoding="utf-8") as stream:
                write_json(the_plan, stream)
        except OSError as exc:
            raise SettingsError(f"cannot write {out}: {exc.strerror}") from None
    color = bool(ctx.obj and ctx.obj.get("color"))
    echo_rendered(the_plan, fmt, color)
    if out:
        click.echo(f"Saved the plan to {out}.", err=True)
    if detailed_exitcode and the_plan.changes:
        ctx.exit(2)


SHOW_HELP = """Render a saved plan (from `plan --out`) without contacting DropStream.

\b
Examples:
  dropstream-sync show plan.json
  dropstream-sync show plan.json --format markdown
"""


@click.command("show", help=SHOW_HELP)
@click.argument("planfile", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True,
              help="Output format.")
@click.pass_context
def show(ctx: click.Context, planfile: str, fmt: str) -> None:
    from dropstream_sync.cli.apply import read_plan_file

    the_plan = read_plan_file(planfile)
    color = bool(ctx.obj and ctx.obj.get("color")) and sys.stdout.isatty()
    echo_rendered(the_plan, fmt, color)
