"""`dropstream-sync plan` and `dropstream-sync show`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from dropstream_sync.cli import options
from dropstream_sync.cli.connect import open_client
from dropstream_sync.errors import Problem
from dropstream_sync.render import FORMATS

if TYPE_CHECKING:
    from dropstream_sync.config import LoadResult
    from dropstream_sync.planner import Plan
    from dropstream_sync.workflows import PlanAndLive

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


def warn(problem: Problem) -> None:
    click.echo(str(problem), err=True)


def read_account(
    paths: tuple[str, ...],
    merchants: tuple[str, ...],
    api_url: str | None,
    sandbox_dir: str | None,
    out: str | None = None,
    *,
    plan_file: bool = False,
) -> tuple[LoadResult, PlanAndLive]:
    """What `plan` and `report` start from: the config (its warnings said as it loads) and
    its plan against the live account, read through a read-only client. `out`, the file
    the command will write, must not be one of the config's, nor (a `plan_file`) have a
    name `apply` would read as a config."""
    from dropstream_sync import workflows

    # The config, and the --merchant names against it, are checked before a client is
    # built: an invalid file or a typo costs no request, and is not hidden behind a login
    # that fails.
    config = workflows.load_config(paths, warn)
    workflows.check_merchants(config, merchants)
    if out:
        from dropstream_sync.cli.files import check_folder_of

        workflows.check_not_a_config_file(out, config.files)
        if plan_file:
            workflows.check_plan_file_name(out)
        check_folder_of(out, "--out")
    with open_client(api_url, sandbox_dir, write=False) as client:
        return config, workflows.make_plan_and_live(config, client, merchants)


def echo_plan(plan: Plan, fmt: str, *, show_pending: bool, plan_file: str | None) -> None:
    from dropstream_sync.render import write

    write(
        plan,
        fmt,
        sys.stdout,
        color=options.use_color(),
        show_pending=show_pending,
        plan_file=plan_file,
    )


@click.command("plan", help=PLAN_HELP, cls=options.ConnectedCommand)
@options.config_paths()
@options.out_file("Also save the plan as JSON to FILE (for `apply FILE` and `show FILE`).")
@options.output_format(FORMATS, "Output format on stdout.")
@options.show_pending
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when the plan has changes (0: none; pending alone is none).",
)
@options.merchants("Plan")
@options.connection_options
@click.pass_context
def plan(
    ctx: click.Context,
    paths: tuple[str, ...],
    out: str | None,
    fmt: str,
    show_pending: bool,
    detailed_exitcode: bool,
    merchants: tuple[str, ...],
    api_url: str | None,
    sandbox_dir: str | None,
) -> None:
    config, read = read_account(paths, merchants, api_url, sandbox_dir, out, plan_file=True)
    the_plan = read.plan
    if fmt == "text":
        options.say_warnings(the_plan, config.warnings)
    if out:
        from dropstream_sync.cli.files import write_whole
        from dropstream_sync.render import write_json

        write_whole(out, lambda stream: write_json(the_plan, stream))
    echo_plan(the_plan, fmt, show_pending=show_pending, plan_file=out)
    if out:
        click.echo(f"Saved the plan to {out}.", err=True)
    if detailed_exitcode and the_plan.changes:
        ctx.exit(2)


SHOW_HELP = """Render a saved plan (from `plan --out`) without contacting DropStream.

\b
Examples:
  dropstream-sync show plan.json
  dropstream-sync show plan.json --format markdown
  dropstream-sync show plan.json --show-pending
"""


@click.command("show", help=SHOW_HELP)
@click.argument("planfile", type=click.Path(dir_okay=False))
@options.output_format(FORMATS, "Output format.")
@options.show_pending
def show(planfile: str, fmt: str, show_pending: bool) -> None:
    from dropstream_sync.workflows import read_plan_file

    saved = read_plan_file(planfile)
    if fmt == "text":
        options.say_warnings(saved)
    echo_plan(saved, fmt, show_pending=show_pending, plan_file=planfile)
