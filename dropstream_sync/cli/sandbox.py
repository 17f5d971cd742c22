"""`dropstream-sync sandbox`: run the DropStream emulator, or drive a running one."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shlex
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dropstream_sync.cli import options

if TYPE_CHECKING:
    from dropstream_sync.sandbox.admin import AdminClient

T = TypeVar("T")

HELP = """Run the DropStream sandbox, or drive a running one as a merchant would.

\b
Examples:
  dropstream-sync sandbox serve --port 8765
  dropstream-sync sandbox outbox
  dropstream-sync sandbox authorize 12
  dropstream-sync sandbox clock --advance 8d
"""


@click.group("sandbox", help=HELP)
def sandbox() -> None:
    pass


SERVE_HELP = """Serve the DropStream emulator on 127.0.0.1 (SQLite state in --state).

Prints the URL, a login and the admin key (also written to STATE/sandbox.json), and runs
until Ctrl-C or SIGTERM. State survives restarts; `--sandbox STATE` in other commands uses
the same folder in-process.

\b
Examples:
  dropstream-sync sandbox serve
  dropstream-sync sandbox serve --port 0 --state /tmp/ds --rate-limit 5 --burst 10
  dropstream-sync sandbox serve --fault-rate 0.2 --fault-after-commit 0.5 --fault-seed 1
  dropstream-sync sandbox serve --quirk cap:100 --quirk no-authorization-requests
"""
# Spelled out, not imported: --help must not load the sandbox (a test keeps it in step with
# sandbox/quirks.py).
QUIRK_HELP = (
    "Answer as a DropStream differing from the model might (repeatable): no-link, "
    "no-total, cap:N, envelope, ignore-per-page, repeat-page, "
    "no-authorization-requests, adapter-keys, no-expires-in, authorization-key, "
    "adapter-settings, request-status-case, channel-keys, patch-ignores-settings, "
    "patch-ignores-enabled. See docs/sandbox.md."
)


def _quirks(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    if value:
        from dropstream_sync.sandbox.quirks import QuirkError, Quirks

        try:
            Quirks.parse(value)
        except QuirkError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


@sandbox.command("serve", help=SERVE_HELP)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    # A port past 65535 was an OverflowError traceback from bind().
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port (0: any free).",
)
@options.state("State folder.", type=click.Path(file_okay=False))
@click.option("--username", default=None, help="Login to create (default: demo).")
@click.option("--password", default=None, help="Its password (default: generated, kept).")
@options.admin_key("Key for /_sandbox/ (default: generated).")
@click.option(
    "--rate-limit",
    "rate_limit_rps",
    type=float,
    default=0.0,
    help="Requests per second per login (0: off).",
)
@click.option("--burst", type=int, default=10, show_default=True, help="Token bucket size.")
@click.option(
    "--fault-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Share of API requests that fail (5xx or dropped).",
)
@click.option(
    "--fault-after-commit",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Share of failures that happen after the write committed.",
)
@click.option("--fault-seed", type=int, default=None, help="Seed for repeatable faults.")
@click.option("--latency-ms", type=int, default=0, help="Delay added to every API request.")
@click.option(
    "--invite-ttl-hours",
    type=float,
    default=168.0,
    show_default=True,
    help="How long an authorization request stays pending.",
)
@click.option("--quirk", "quirks", multiple=True, metavar="NAME", callback=_quirks, help=QUIRK_HELP)
def serve(host: str, port: int, state: str, **app_options: Any) -> None:
    # The other options are named as SandboxApp's keyword arguments, so they pass straight on.
    from dropstream_sync.cli.connect import create_sandbox_app
    from dropstream_sync.cli.demo import example_path
    from dropstream_sync.sandbox import AlreadyServed, serving
    from dropstream_sync.sandbox import serve as run

    with contextlib.ExitStack() as held:
        if state:  # an empty name is create_sandbox_app's to refuse, before any folder
            try:
                # Taken before the folder is opened: a second server on it is refused before
                # it changes anything there (the running one's sandbox.json above all).
                held.enter_context(serving(Path(state)))
            except AlreadyServed as exc:
                raise options.CommandFailed(str(exc)) from None
            except OSError:
                pass  # a folder it cannot use: create_sandbox_app says so, just below
        app = create_sandbox_app(state, "--state", **app_options)
        # The "Try:" line names a config the user has: examples/stores.yaml exists only in a
        # checkout, so elsewhere (an installed tool) it is the copy inside the package.
        example = shlex.quote(str(example_path(None)))
        try:
            run(
                app,
                host=host,
                port=port,
                announce=lambda text: click.echo(text, err=True),
                example=example,
            )
        except AlreadyServed as exc:  # not held above (its lock file could not be opened)
            raise options.CommandFailed(str(exc)) from None
        except OSError as exc:
            import errno

            text = f"cannot serve on {host}:{port}: {exc.strerror}"
            if exc.errno == errno.EADDRINUSE:
                # Most often a sandbox started earlier (8765 is everyone's default): the way on is
                # another port, or that sandbox's URL.
                text += (
                    "; another program (an earlier `sandbox serve`?) listens there: give another "
                    "--port, or --port 0 for any free one"
                )
            raise options.CommandFailed(text) from None


def _control(
    url: str | None, admin_key: str | None, state: str, call: Callable[[AdminClient], Awaitable[T]]
) -> T:
    """Run one control request on the served sandbox that the options point at."""
    from dropstream_sync.sandbox.admin import AdminClient, AdminError, find_served

    async def go(admin: AdminClient) -> T:
        async with admin:
            return await call(admin)

    try:
        if url is None or admin_key is None:
            try:
                found_url, found_key = find_served(state)
            except AdminError:
                if url is None:
                    raise
                # It said "no running sandbox found ...: start one ..., or give --url and
                # --admin-key" to someone who had given --url.
                raise options.CommandFailed(
                    f"--url {url} given without its admin key: add --admin-key KEY (or "
                    "DROPSTREAM_SANDBOX_ADMIN_KEY), the one `sandbox serve` printed, or "
                    "--state DIR, the folder it serves"
                ) from None
            url, admin_key = url or found_url, admin_key or found_key
        return asyncio.run(go(AdminClient(url, admin_key)))
    except AdminError as exc:
        raise options.CommandFailed(str(exc)) from None


@sandbox.command(
    "outbox",
    help="List the invitation emails sent.\n\n\b\nExamples:\n"
    "  dropstream-sync sandbox outbox\n  dropstream-sync sandbox outbox --json",
)
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
@options.sandbox_control
def outbox(url: str | None, admin_key: str | None, state: str, as_json: bool) -> None:
    mails = _control(url, admin_key, state, lambda admin: admin.outbox())
    if as_json:
        click.echo(json.dumps(mails, indent=2))
        return
    from dropstream_sync.live import RequestStatus

    for m in mails:
        status = m.get("status", "")
        # The link only works while the request waits; after that it would only say so.
        link = m["link"] if status == RequestStatus.PENDING else f"(link no longer works: {status})"
        click.echo(
            f"request {m['authorization_request_id']} ({status}), sent {m['sent_at']} to "
            f"{m['to']}: {m['subject']}\n    {link}"
        )
    if not mails:
        click.echo("The outbox is empty.")


@sandbox.command(
    "authorize",
    help="Approve an authorization request as the merchant.\n\n\b\n"
    "Examples:\n  dropstream-sync sandbox authorize 12",
)
@click.argument("request_id", type=int)
@click.option("--selling-partner-id", default=None, help="The merchant's Amazon id.")
@options.sandbox_control
def authorize(
    url: str | None,
    admin_key: str | None,
    state: str,
    request_id: int,
    selling_partner_id: str | None,
) -> None:
    partner = _control(
        url, admin_key, state, lambda admin: admin.complete(request_id, selling_partner_id)
    )
    click.echo(f"Request {request_id} approved (selling partner {partner}).")


@sandbox.command(
    "revoke",
    help="Revoke a store's Amazon authorization, as Seller Central.\n\n"
    "\b\nExamples:\n  dropstream-sync sandbox revoke 4",
)
@click.argument("store_id", type=int)
@options.sandbox_control
def revoke(url: str | None, admin_key: str | None, state: str, store_id: int) -> None:
    _control(url, admin_key, state, lambda admin: admin.revoke(store_id))
    click.echo(f"Store {store_id}: authorization revoked.")


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise click.BadParameter(f"{text!r}: use seconds or a number with s, m, h or d (7d)")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


@sandbox.command(
    "clock",
    help="Show the sandbox clock, or move it forward (which expires "
    "requests and authorizations).\n\n\b\nExamples:\n"
    "  dropstream-sync sandbox clock\n  dropstream-sync sandbox clock --advance 8d",
)
@click.option(
    "--advance",
    default=None,
    help="How far to move it: 3600, 30m, 12h, 8d (default: show the time).",
)
@options.sandbox_control
def clock(url: str | None, admin_key: str | None, state: str, advance: str | None) -> None:
    seconds = parse_duration(advance) if advance is not None else 0.0
    result = _control(url, admin_key, state, lambda admin: admin.clock(seconds))
    click.echo(f"Sandbox time is now {result['now']}.")


@sandbox.command(
    "reset",
    help="Empty every account of the sandbox.\n\n\b\nExamples:\n"
    "  dropstream-sync sandbox reset --yes",
)
@click.option("--yes", is_flag=True, help="Do not ask.")
@options.sandbox_control
def reset(url: str | None, admin_key: str | None, state: str, yes: bool) -> None:
    if not yes and sys.stdin is None:
        # Started with stdin closed (<&-): there is nobody to ask, and input() would raise.
        raise options.CommandFailed("nobody to ask (stdin is closed): add --yes to empty it")
    if not yes:
        try:
            agreed = click.confirm("Empty every sandbox account?", err=True)
        except click.Abort as exc:
            if isinstance(exc.__context__, EOFError):
                # No terminal (CI, `< /dev/null`): this was a bare "Aborted.", exit 1.
                raise options.CommandFailed(
                    "nobody answered (stdin ended): add --yes to empty it without asking"
                ) from None
            raise
        if not agreed:
            raise click.Abort()
    _control(url, admin_key, state, lambda admin: admin.reset())
    click.echo("Sandbox emptied.")
