"""`dropstream-sync doctor`: a read-only probe of the live API (dropstream_sync/doctor.py)."""

from __future__ import annotations

import json
from typing import Any

import click

from dropstream_sync.cli import options

DOCTOR_HELP = """Check the live DropStream API against the model the tool is built on.

Read-only: it sends GETs and the token request, nothing else. One line per check:
✓ holds, ✗ fails, ? to look at, with what it means for plan and apply and what to do.
The output holds no credential: paste it into a support ticket. docs/doctor.md explains
each check.

\b
Exit codes: 0 every check holds (? alone is 0), 1 error, 3 transport (the URL does not
answer as the API), 4 auth (login or token refused), 5 shape (objects differ from the
model), 6 pagination (a list is not read whole).

\b
Examples:
  dropstream-sync doctor
  dropstream-sync doctor --api-url https://api.getdropstream.com --format json
  dropstream-sync doctor --sandbox
"""

# A probe that cannot reach its server should say so in seconds, not retry for minutes.
DOCTOR_LIMITS: dict[str, Any] = {
    "max_attempts": 2,
    "max_retry_seconds": 10.0,
    "timeout_seconds": 15.0,
}


@click.command("doctor", help=DOCTOR_HELP, cls=options.ConnectedCommand)
@options.output_format(("text", "json"), "Output format on stdout.")
@options.connection_options
@click.pass_context
def doctor(ctx: click.Context, fmt: str, api_url: str | None, sandbox_dir: str | None) -> None:
    import asyncio

    from dropstream_sync.cli.connect import open_async_client
    from dropstream_sync.doctor import Report, diagnose

    async def run() -> Report:
        async with open_async_client(api_url, sandbox_dir, write=False, **DOCTOR_LIMITS) as client:
            return await diagnose(client)

    report = asyncio.run(run())
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(report.text(), nl=False)
    ctx.exit(report.exit_code)
