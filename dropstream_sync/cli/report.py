"""`dropstream-sync report`: the account's authorization health and drift."""

from __future__ import annotations

import sys

import click

from dropstream_sync.cli import options
from dropstream_sync.cli.files import write_whole
from dropstream_sync.cli.plan import read_account

# The renderers are imported when the command runs; the choices are listed here so that
# `report --help` needs none of them.
FORMATS = ("html", "markdown", "json")

REPORT_HELP = """Report authorization health and drift, without changing anything.

Reads the config and the live account like `plan` (read-only, the same reads plus one
list of expired invitations) and writes a report: a summary, the authorizations lapsing
per week over the next 365 days, every merchant's stores (authorization, expiry,
invitation, seller, connection, channels, drift), pending invitations by age, and
merchants who let invitations expire more than once. HTML is one self-contained page;
Markdown suits an issue; JSON is documented in docs/report-format.md.

\b
Examples:
  dropstream-sync report stores/ --out report.html
  dropstream-sync report stores/ --format markdown > report.md
  dropstream-sync report stores/ --format json --merchant "Acme Outdoors"
  dropstream-sync report examples/stores.yaml --sandbox --out report.html
"""


@click.command("report", help=REPORT_HELP, cls=options.ConnectedCommand)
@options.config_paths()
@options.output_format(FORMATS, "Report format.")
@options.out_file("Write the report to FILE instead of stdout.")
@options.merchants("Report on")
@options.connection_options
def report(
    paths: tuple[str, ...],
    fmt: str,
    out: str | None,
    merchants: tuple[str, ...],
    api_url: str | None,
    sandbox_dir: str | None,
) -> None:
    from dropstream_sync.workflows import report_text

    _, read = read_account(paths, merchants, api_url, sandbox_dir, out)
    text = report_text(read, fmt)
    if out is None:
        sys.stdout.write(text)
        return
    write_whole(out, lambda stream: stream.write(text))
    click.echo(f"Wrote the report to {out}.", err=True)
