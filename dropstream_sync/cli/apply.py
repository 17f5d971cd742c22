"""`dropstream-sync apply`: make the live account match a plan."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dropstream_sync.cli.connect import connection_options, open_client
from dropstream_sync.errors import (
    ApplyError,
    BlockedPlanError,
    DropstreamSyncError,
    PlanFileError,
)

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


def _is_plan_file(paths: tuple[str, ...]) -> bool:
    if len(paths) != 1 or not paths[0].endswith(".json"):
        return False
    return Path(paths[0]).is_file()


def read_plan_file(path: str) -> Plan:
    from dropstream_sync.planner import Plan

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return Plan.from_dict(data)
    except OSError as exc:
        raise PlanFileError(f"{path}: cannot read the plan: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        where = f"{path}:{exc.lineno}:{exc.colno}"
        raise PlanFileError(f"{where}: not a JSON plan: {exc.msg}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PlanFileError(f"{path}: not a dropstream-sync plan ({exc})") from None


@click.command("apply", help=HELP)
@click.argument("paths", nargs=-1, required=True, metavar="(PLANFILE | PATH...)")
@click.option("--auto-approve", is_flag=True,
              help="Apply without asking (needed without a terminal).")
@click.option("--force", is_flag=True, help="Apply a plan that safety checks blocked.")
@click.option("--parallelism", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Changes applied at once within a phase.")
@click.option("--audit-log", "audit_log", type=click.Path(dir_okay=False), default=None,
              help="Append one JSON line per change to FILE.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Result format on stdout.")
@connection_options
@click.pass_context
def apply(
    ctx: click.Context,
    paths: tuple[str, ...],
    auto_approve: bool,
    force: bool,
    parallelism: int,
    audit_log: str | None,
    fmt: str,
    api_url: str | None,
    sandbox_dir: str | None,
) -> None:
    from dropstream_sync.apply import ApplyLock, check_fresh

    color = bool(ctx.obj and ctx.obj.get("color"))
    saved = _is_plan_file(paths)
    with (
        open_client(api_url, sandbox_dir, write=True) as client,
        ApplyLock(client.api_url, client.aio.account),
    ):
        if saved:
            plan = read_plan_file(paths[0])
            check_fresh(plan, client.read_live(plan.merchants or None))
        else:
            from dropstream_sync.cli.plan import load_and_plan
            from dropstream_sync.render.text import render_text

            plan = load_and_plan(paths, client, ())
            out = sys.stderr if fmt == "json" else sys.stdout
            click.echo(render_text(plan, color=color), nl=False, file=out)
        if plan.blocked and not force:
            raise BlockedPlanError(
                "the plan is blocked by safety checks: " + "; ".join(plan.blocked_reasons)
                + ". Review it, then apply with --force to override."
            )
        if not plan.changes:
            if fmt == "json":
                from dropstream_sync.apply import ApplyReport

                click.echo(json.dumps(ApplyReport().to_dict(), indent=2, sort_keys=True))
            else:
                click.echo("Nothing to apply.")
            return
        if not saved and not auto_approve:
            if not sys.stdin.isatty():
                raise DropstreamSyncError(
                    "not on a terminal: add --auto-approve to apply without asking "
                    "(or save a plan with `plan --out` and apply that file)"
                )
            if not click.confirm("Apply?", default=False, err=True):
                raise click.Abort()
        report = _run(client, plan, parallelism, audit_log, fmt)
    _finish(report, fmt)


def _run(client: Any, plan: Plan, parallelism: int, audit_log: str | None, fmt: str) -> ApplyReport:
    from dropstream_sync.apply import AuditLog, apply_plan

    audit = AuditLog(Path(audit_log), plan.config_digest) if audit_log else None
    total = len(plan.changes)
    done = 0
    progress = sys.stderr.isatty()

    def on_result(result: ChangeResult) -> None:
        nonlocal done
        done += 1
        if audit is not None:
            audit.write(result)
        if progress:
            click.echo(f"\r[{done}/{total}] ", nl=False, err=True)
        if fmt == "text":
            click.echo(_line(result))

    report: ApplyReport = client.run(
        apply_plan(plan, client.aio, parallelism=parallelism, on_result=on_result,
                   # enabled_at is stamped on the API's clock, like everything it stores.
                   clock=client.clock)
    )
    if progress:
        click.echo("\r", nl=False, err=True)
    return report


_MARK = {"ok": "✓", "failed": "✗", "skipped": "·"}


def _line(result: ChangeResult) -> str:
    change = result.change
    who = change.merchant + (f" / {change.store}" if change.store else "")
    target_id = change.target.id if change.target.id is not None else result.created_id
    target = f" ({change.target.type} {target_id})" if target_id is not None else ""
    text = f"{_MARK[result.outcome]} {change.kind} {who}{target}"
    if result.error:
        text += f": {result.error}"
    return text


def _finish(report: ApplyReport, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    else:
        click.echo(
            f"Apply complete: {report.count('ok')} done, {report.count('failed')} failed, "
            f"{report.count('skipped')} skipped in {report.seconds:.1f}s."
        )
    if report.failures:
        raise ApplyError(
            [f"{r.change.kind} {r.change.merchant}/{r.change.store or '-'} ({r.change.id}): "
             f"{r.error}" for r in report.failures]
        )
