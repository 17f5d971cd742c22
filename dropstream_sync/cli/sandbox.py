"""`dropstream-sync sandbox`: run the DropStream emulator, or drive a running one."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click

DEFAULT_STATE = ".dropstream-sandbox"

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
"""


@sandbox.command("serve", help=SERVE_HELP)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=int, default=8765, show_default=True, help="Port (0: any free).")
@click.option("--state", "state", default=DEFAULT_STATE, show_default=True,
              type=click.Path(file_okay=False), help="State folder.")
@click.option("--username", default=None, help="Login to create (default: demo).")
@click.option("--password", default=None, help="Its password (default: generated, kept).")
@click.option("--admin-key", default=None, help="Key for /_sandbox/ (default: generated).")
@click.option("--rate-limit", "rate_limit", type=float, default=0.0,
              help="Requests per second per login (0: off).")
@click.option("--burst", type=int, default=10, show_default=True, help="Token bucket size.")
@click.option("--fault-rate", type=click.FloatRange(0, 1), default=0.0,
              help="Share of API requests that fail (5xx or dropped).")
@click.option("--fault-after-commit", type=click.FloatRange(0, 1), default=0.0,
              help="Share of failures that happen after the write committed.")
@click.option("--fault-seed", type=int, default=None, help="Seed for repeatable faults.")
@click.option("--latency-ms", type=int, default=0, help="Delay added to every API request.")
@click.option("--invite-ttl-hours", type=float, default=168.0, show_default=True,
              help="How long an authorization request stays pending.")
def serve(
    host: str, port: int, state: str, username: str | None, password: str | None,
    admin_key: str | None, rate_limit: float, burst: int, fault_rate: float,
    fault_after_commit: float, fault_seed: int | None, latency_ms: int, invite_ttl_hours: float,
) -> None:
    from dropstream_sync.sandbox import create_app
    from dropstream_sync.sandbox import serve as run

    app = create_app(
        Path(state), username=username, password=password, admin_key=admin_key,
        rate_limit_rps=rate_limit, burst=burst, fault_rate=fault_rate,
        fault_after_commit=fault_after_commit, fault_seed=fault_seed, latency_ms=latency_ms,
        invite_ttl_hours=invite_ttl_hours,
    )
    try:
        run(app, host=host, port=port, announce=lambda text: click.echo(text, err=True))
    except OSError as exc:
        raise click.ClickException(f"cannot serve on {host}:{port}: {exc.strerror}") from None


def _control_options(fn: Any) -> Any:
    fn = click.option("--state", "state", default=DEFAULT_STATE, show_default=True,
                      help="State folder of the served sandbox (its sandbox.json).")(fn)
    fn = click.option("--admin-key", default=None, envvar="DROPSTREAM_SANDBOX_ADMIN_KEY",
                      help="Admin key (env DROPSTREAM_SANDBOX_ADMIN_KEY).")(fn)
    fn = click.option("--url", default=None, envvar="DROPSTREAM_SANDBOX_URL",
                      help="Sandbox URL (env DROPSTREAM_SANDBOX_URL).")(fn)
    return fn


def _call(url: str | None, admin_key: str | None, state: str, method: str, path: str,
          body: dict[str, Any] | None = None, params: dict[str, str] | None = None) -> Any:
    import httpx

    if url is None or admin_key is None:
        info_file = Path(state) / "sandbox.json"
        try:
            info = json.loads(info_file.read_text())
        except (OSError, ValueError):
            raise click.ClickException(
                f"no running sandbox found ({info_file} missing): start one with "
                "`dropstream-sync sandbox serve`, or give --url and --admin-key"
            ) from None
        url = url or info["url"]
        admin_key = admin_key or info["admin_key"]
    try:
        response = httpx.request(method, f"{url}{path}", json=body, params=params, timeout=30,
                                 headers={"X-Sandbox-Admin": admin_key or ""})
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot reach the sandbox at {url}: {exc}") from None
    if response.status_code >= 400:
        try:
            message = response.json().get("error", response.text)
        except ValueError:
            message = response.text
        raise click.ClickException(f"{method} {path} -> {response.status_code}: {message}")
    return response.json() if response.content else None


@sandbox.command("outbox", help="List the invitation emails sent.\n\n\b\nExamples:\n"
                 "  dropstream-sync sandbox outbox\n  dropstream-sync sandbox outbox --json")
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
@_control_options
def outbox(url: str | None, admin_key: str | None, state: str, as_json: bool) -> None:
    mails = _call(url, admin_key, state, "GET", "/_sandbox/outbox")
    if as_json:
        click.echo(json.dumps(mails, indent=2))
        return
    for m in mails:
        click.echo(f"[{m['authorization_request_id']}] {m['sent_at']} to {m['to']}: "
                   f"{m['subject']}\n    {m['link']}")
    if not mails:
        click.echo("The outbox is empty.")


@sandbox.command("authorize", help="Approve an authorization request as the merchant.\n\n\b\n"
                 "Examples:\n  dropstream-sync sandbox authorize 12")
@click.argument("request_id", type=int)
@click.option("--selling-partner-id", default=None, help="The merchant's Amazon id.")
@_control_options
def authorize(url: str | None, admin_key: str | None, state: str, request_id: int,
              selling_partner_id: str | None) -> None:
    body = {"selling_partner_id": selling_partner_id} if selling_partner_id else {}
    done = _call(url, admin_key, state, "POST",
                 f"/_sandbox/authorization_requests/{request_id}/complete", body)
    click.echo(f"Request {request_id} approved (selling partner {done['selling_partner_id']}).")


@sandbox.command("revoke", help="Revoke a store's Amazon authorization, as Seller Central.\n\n"
                 "\b\nExamples:\n  dropstream-sync sandbox revoke 4")
@click.argument("store_id", type=int)
@_control_options
def revoke(url: str | None, admin_key: str | None, state: str, store_id: int) -> None:
    _call(url, admin_key, state, "POST", f"/_sandbox/stores/{store_id}/revoke")
    click.echo(f"Store {store_id}: authorization revoked.")


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise click.BadParameter(f"{text!r}: use seconds or a number with s, m, h or d (7d)")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


@sandbox.command("clock", help="Move the sandbox clock forward (expires requests and "
                 "authorizations).\n\n\b\nExamples:\n  dropstream-sync sandbox clock --advance 8d")
@click.option("--advance", required=True, help="How far: 3600, 30m, 12h, 8d.")
@_control_options
def clock(url: str | None, admin_key: str | None, state: str, advance: str) -> None:
    result = _call(url, admin_key, state, "POST", "/_sandbox/clock",
                   {"advance_seconds": parse_duration(advance)})
    click.echo(f"Sandbox time is now {result['now']}.")


@sandbox.command("reset", help="Empty every account of the sandbox.\n\n\b\nExamples:\n"
                 "  dropstream-sync sandbox reset --yes")
@click.option("--yes", is_flag=True, help="Do not ask.")
@_control_options
def reset(url: str | None, admin_key: str | None, state: str, yes: bool) -> None:
    if not yes and not click.confirm("Empty every sandbox account?", err=True):
        raise click.Abort()
    _call(url, admin_key, state, "POST", "/_sandbox/reset")
    click.echo("Sandbox emptied.")
