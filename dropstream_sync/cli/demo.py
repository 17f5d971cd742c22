"""`dropstream-sync demo`: the whole lifecycle on a throwaway in-process sandbox."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click

from dropstream_sync.errors import DropstreamSyncError

HELP = """A guided tour of the whole lifecycle on a throwaway sandbox.

In a fresh temporary sandbox (in this process: no server, no credentials), it plans and
applies examples/stores.yaml, shows the authorization invites in the sandbox outbox,
approves some of them as the merchants would, plans and applies again (connections
finalized), changes a setting behind the tool's back to show drift, shows a plan with no
changes, and moves the sandbox clock 340 days on, so that the authorizations about to expire
get renewal invites. Nothing outside the temporary folder is touched.

\b
Examples:
  dropstream-sync demo
  dropstream-sync demo --config my-stores.yaml --keep
"""

PACKAGED_EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "stores.yaml"


def example_path(config: str | None) -> Path:
    """`config`, else examples/stores.yaml in a checkout, else the copy in the package."""
    if config:
        return Path(config)
    local = Path("examples/stores.yaml")
    return local if local.is_file() else PACKAGED_EXAMPLE


def _say(step: str, text: str) -> None:
    click.secho(f"\n== {step}: {text}", bold=True, err=False)


def _echo_head(lines: list[str], keep: int, last: str | None = None) -> None:
    """The first `keep` lines, a count of the rest, then `last`: a tour shows what each
    output looks like, and a 13-store first plan in full would bury the story."""
    left = len(lines) - keep
    shown = lines if left <= 1 else [*lines[:keep], f"  … {left} more line(s)"]
    click.echo("\n".join(shown + ([last] if last is not None else [])))


@click.command("demo", help=HELP)
@click.option(
    "--config",
    "config",
    type=click.Path(exists=True),
    default=None,
    help="Config to use (default: examples/stores.yaml).",
)
@click.option(
    "--approve",
    # A negative count would slice from the end: -2 approved all but the last two.
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="How many invites to approve as the merchants.",
)
@click.option("--keep", is_flag=True, help="Keep the sandbox folder and print where it is.")
def demo(config: str | None, approve: int, keep: bool) -> None:
    state = Path(tempfile.mkdtemp(prefix="dropstream-demo-"))
    from dropstream_sync.sandbox.admin import AdminError

    try:
        _tour(example_path(config), state, approve)
    except AdminError as exc:
        raise DropstreamSyncError(f"the sandbox refused a control request: {exc}") from None
    finally:
        if keep:
            click.echo(f"\nSandbox state kept in {state} (use --sandbox {state}).")
        else:
            shutil.rmtree(state, ignore_errors=True)


def _tour(config: Path, state: Path, approve: int) -> None:
    from dropstream_sync.apply import OK, apply_plan
    from dropstream_sync.cli.connect import open_sandbox
    from dropstream_sync.cli.options import use_color
    from dropstream_sync.live import AuthStatus
    from dropstream_sync.render import render_text
    from dropstream_sync.workflows import load_and_plan

    color = use_color()
    client, _app, admin = open_sandbox(str(state))

    def plan_and_apply(title: str) -> None:
        plan = load_and_plan((str(config),), client, ())
        _say(title, "plan")
        *body, summary = render_text(plan, color=color).splitlines()
        _echo_head(body, 11, summary)
        if plan.changes:
            _say(title, "apply")
            report = client.run(apply_plan(plan, client.aio))
            # Every change that did not end ok is shown; of the rest, the first few.
            ok = [r.line() for r in report.results if r.outcome == OK]
            _echo_head(ok, 3)
            for result in report.results:
                if result.outcome != OK:
                    click.echo(result.line())
            click.echo(report.summary_line())

    with client:
        click.echo(f"Sandbox: {state}\nConfig:  {config}")
        plan_and_apply("1. A new 3PL account")

        outbox = client.run(admin.outbox())
        _say("2", f"DropStream emailed {len(outbox)} authorization links to merchants")
        _echo_head([f"  to {mail['to']}: {mail['subject']}" for mail in outbox], 3)

        approved = outbox[:approve]
        requests = [m["authorization_request_id"] for m in approved]
        # Counted by address: the first invitations are often one merchant's stores, which
        # the title called as many merchants.
        merchants = len({m["to"] for m in approved})
        _say(
            "3",
            f"{merchants} merchant(s) approve {len(requests)} invitation(s) in Seller Central",
        )
        for request_id in requests:
            client.run(admin.complete(request_id))
            click.echo(f"  request {request_id} approved")

        plan_and_apply("4. Finalize the approved stores")

        live = client.read_live()
        store = next(
            (s for s in live.stores if s.authorization.status == AuthStatus.AUTHORIZED), None
        )
        if store is not None:
            _say("5", f"someone changes {store.name!r} in the web UI (handling time 9 days)")
            client.run(client.aio.update_store(store.id, settings_patch={"fulfillment_latency": 9}))
            plan_and_apply("6. The drift shows up and is put back")

        plan = load_and_plan((str(config),), client, ())
        _say("7", "the account matches the config")
        click.echo(render_text(plan, color=color), nl=False)

        # Amazon authorizations last 365 days; a stretch of time short of that brings the
        # approved stores inside the example's reauthorize_days (30) window.
        client.run(admin.clock(advance_seconds=340 * 86400))
        plan_and_apply("8. 340 days later: renewals, and fresh invites for the unanswered")

        # The audit view of the same account, as a page: written beside the sandbox (not
        # in it, as that folder goes away), and its path printed so it can be opened.
        from dropstream_sync.report import build_report, render_html
        from dropstream_sync.workflows import load_config, make_plan_and_live

        read = make_plan_and_live(load_config((str(config),)), client)
        report = build_report(read.plan, read.live, read.now)
        out = Path(tempfile.mkdtemp(prefix="dropstream-demo-out-"))
        name = out / "report.html"
        name.write_text(render_html(report), encoding="utf-8")
        # The hint below must name a file the user has: the packaged example lives inside
        # the installed package (site-packages), so a copy goes beside the report.
        if config.resolve() == PACKAGED_EXAMPLE:
            config = Path(shutil.copy(PACKAGED_EXAMPLE, out / "stores.yaml"))
        _say("9", "the audit report of this account")
        click.echo(f"  {report.headline()}")
        click.echo(f"  Report: {name}")
        client.run(admin.aclose())
        click.echo(
            f"\nDone at {datetime.now(UTC):%H:%M:%S} UTC. Next: `dropstream-sync plan "
            f"{config} --sandbox` keeps a sandbox in .dropstream-sandbox/."
        )
