"""`dropstream-sync apply`: make the live account match a plan."""

from __future__ import annotations

import json
import shlex
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dropstream_sync.cli import options
from dropstream_sync.cli.connect import open_client
from dropstream_sync.errors import DropstreamSyncError, Problem, SettingsError
from dropstream_sync.workflows import ApplyHooks, ApplyInput

if TYPE_CHECKING:
    from dropstream_sync.apply import ApplyReport, ChangeResult
    from dropstream_sync.planner import Plan

HELP = """Make the live account match: apply a saved plan, or plan and apply config files.

With PLANFILE (a JSON plan saved by `plan --out`), exactly that plan is applied, after
checking that nothing it read has changed live since (else: "plan is stale", exit 1).
With PATH... (files or folders), a fresh plan is made and shown; on a terminal you are
asked `Apply? [y/N]`, elsewhere --auto-approve is required.

A blocked plan (safety thresholds, protected stores) is refused unless --force.

\b
Examples:
  dropstream-sync apply plan.json
  dropstream-sync apply stores/ --auto-approve --audit-log audit.jsonl
  dropstream-sync apply examples/stores.yaml --sandbox --auto-approve
"""


@click.command("apply", help=HELP, cls=options.ConnectedCommand)
@options.config_paths("(PLANFILE | PATH...)")
@click.option(
    "--auto-approve", is_flag=True, help="Apply without asking (needed without a terminal)."
)
@click.option("--force", is_flag=True, help="Apply a plan that safety checks blocked.")
@click.option(
    "--parallelism",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Changes applied at once within a phase.",
)
@options.out_file("Append one JSON line per change to FILE.", "--audit-log")
@options.output_format(("text", "json"), "Result format on stdout.")
@options.merchants("Plan and apply")
@options.connection_options
def apply(
    paths: tuple[str, ...],
    auto_approve: bool,
    force: bool,
    parallelism: int,
    audit_log: str | None,
    fmt: str,
    merchants: tuple[str, ...],
    api_url: str | None,
    sandbox_dir: str | None,
) -> None:
    from dropstream_sync import workflows

    hooks = _Terminal(fmt, auto_approve)
    # Everything that needs no network is read and checked before a client is built: a
    # missing or broken file, an invalid config or a --merchant typo was otherwise said as
    # "no DropStream credentials", or after the token request and the account's read.
    given = workflows.read_apply_input(paths, merchants, hooks.warning)
    if audit_log:
        # Its folder is missing: said as such, not as "no DropStream credentials".
        from dropstream_sync.apply import AuditLog

        AuditLog.check_folder(Path(audit_log))
    try:
        client = open_client(api_url, sandbox_dir, write=True)
    except SettingsError:
        _said_if_made_on_the_sandbox(given, sandbox_dir)
        raise
    with client:
        applied = workflows.apply_input(
            client,
            given,
            force=force,
            parallelism=parallelism,
            audit_log=Path(audit_log) if audit_log else None,
            hooks=hooks,
        )
    if applied.declined:
        # click's own "Aborted." left a newcomer wondering whether anything had been done.
        click.echo("Apply cancelled; nothing was changed.", err=True)
        raise click.exceptions.Exit(1)
    if applied.report is None:
        if fmt == "json":
            from dropstream_sync.apply import ApplyReport

            click.echo(json.dumps(ApplyReport().to_dict(), indent=2, sort_keys=True))
        else:
            click.echo("Nothing to apply.")
        return
    hooks.finish()
    applied.report.plan_command = _plan_command(paths, merchants, api_url, sandbox_dir)
    _finish(applied.report, fmt)


def _plan_command(
    paths: tuple[str, ...], merchants: tuple[str, ...], api_url: str | None, sandbox_dir: str | None
) -> str:
    """The `dropstream-sync plan` that shows what is left after this apply, to copy as it
    is: the paths given, and where this apply connected (an --api-url typed on the command
    line, --sandbox DIR), or the plan would be of another account. A saved plan records no
    config paths: PATH... stands for them, and --out names the same file, made anew."""
    from dropstream_sync.workflows import is_plan_file

    saved = is_plan_file(paths)
    flags: list[str] = []
    if not saved:
        for name in merchants:
            flags += ["--merchant", name]
    source = click.get_current_context().get_parameter_source("api_url")
    if api_url is not None and source is click.core.ParameterSource.COMMANDLINE:
        flags += ["--api-url", api_url]
    if sandbox_dir == options.DEFAULT_SANDBOX_DIR:
        flags.append("--sandbox")
    elif sandbox_dir is not None and options.is_config_path(sandbox_dir):
        # `--sandbox stores.json` would be read as the default folder and a path to plan.
        flags.append(f"--sandbox={sandbox_dir}")
    elif sandbox_dir is not None:
        flags += ["--sandbox", sandbox_dir]
    if saved:
        flags += ["--out", paths[0]]
    words = [shlex.quote(word) for word in flags]
    shown = ["PATH..."] if saved else [shlex.quote(path) for path in paths]
    if any(path.startswith("-") for path in paths):
        shown = ["--", *shown]  # the options come first then: after `--`, all are paths
        return " ".join(["dropstream-sync", "plan", *words, *shown])
    return " ".join(["dropstream-sync", "plan", *shown, *words])


def _said_if_made_on_the_sandbox(given: ApplyInput, sandbox_dir: str | None) -> None:
    """`plan --sandbox --out plan.json`, then `apply plan.json` without --sandbox (the
    onboarding's rehearsal): that was "no DropStream credentials", about an account the
    plan was never made for."""
    from dropstream_sync.cli.connect import SANDBOX_URL

    if sandbox_dir is not None or given.saved_plan is None:
        return
    if given.saved_plan.api_url == SANDBOX_URL:
        paths = given.paths
        raise SettingsError(
            f"{paths[0]} was planned on the built-in sandbox (--sandbox), which needs no "
            f"credentials: apply it there with `dropstream-sync apply {shlex.quote(paths[0])} "
            "--sandbox [DIR]` (DIR: the folder it was planned in, default "
            f"{options.DEFAULT_SANDBOX_DIR})"
        ) from None


class _Terminal(ApplyHooks):
    """apply as a person sees it: the fresh plan, the question, a line per change."""

    def __init__(self, fmt: str, auto_approve: bool) -> None:
        self.fmt = fmt
        self.auto_approve = auto_approve
        self.said: list[Problem] = []  # the config's warnings, said as it loaded
        self.progress = options.is_terminal(sys.stderr)
        self.done = self.total = 0

    def warning(self, problem: Problem) -> None:
        self.said.append(problem)
        click.echo(str(problem), err=True)

    def planned(self, plan: Plan) -> None:
        from dropstream_sync.render import render_text

        options.say_warnings(plan, self.said)
        # With --format json, stdout is the result document alone.
        out = sys.stderr if self.fmt == "json" else sys.stdout
        click.echo(render_text(plan, color=options.use_color(stream=out)), nl=False, file=out)

    def confirm(self, plan: Plan) -> bool:
        if self.auto_approve:
            return True
        if not options.is_terminal(sys.stdin):
            raise DropstreamSyncError(
                "not on a terminal: add --auto-approve to apply without asking "
                "(or save a plan with `plan --out` and apply that file)"
            )
        return click.confirm("Apply?", default=False, err=True)

    def starting(self, plan: Plan) -> None:
        self.total = len(plan.changes)

    def result(self, result: ChangeResult) -> None:
        self.done += 1
        if self.progress:
            click.echo(f"\r[{self.done}/{self.total}] ", nl=False, err=True)
        if self.fmt == "text":
            click.echo(result.line())

    def interrupted(self, signum: int, count: int) -> None:
        from dropstream_sync.apply import STOP_GRACE_SECONDS

        name = signal.Signals(signum).name
        if count == 1:
            click.echo(
                f"\n{name}: stopping; the changes in flight finish first (at most "
                f"{STOP_GRACE_SECONDS:.0f} s), no new one starts. Press Ctrl-C again to "
                "stop at once.",
                err=True,
            )
        else:
            click.echo(
                f"\n{name} again: stopping now; a change in flight whose write is still "
                "unanswered is recorded as unknown.",
                err=True,
            )

    def finish(self) -> None:
        if self.progress:
            click.echo("\r", nl=False, err=True)


def _finish(report: ApplyReport, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    else:
        click.echo(report.summary_line())
    if report.audit_error is not None:
        # The changes made are listed above and in the summary; the error is the exit.
        for problem in report.problems():
            click.echo(f"error: {problem}", err=True)
        raise DropstreamSyncError(
            f"{report.audit_error}; apply stopped after {len(report.results)} change(s)"
        )
    if report.interrupted is not None:
        # Interrupted is what the exit code says (130 SIGINT, 143 SIGTERM); the problems
        # so far are still named.
        for problem in report.problems():
            click.echo(f"error: {problem}", err=True)
        raise click.exceptions.Exit(128 + report.interrupted)
    report.raise_for_problems()
