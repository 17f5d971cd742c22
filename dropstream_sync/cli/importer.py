"""`dropstream-sync import`: write the live account as configuration."""

from __future__ import annotations

from pathlib import Path

import click

from dropstream_sync.cli.connect import connection_options, open_client
from dropstream_sync.errors import SettingsError

HELP = """Write the live account's Amazon stores as YAML configuration.

Store ids are pinned and settings equal to the built-in defaults are left out; a plan
of the written file against the same account shows no changes.

\b
Examples:
  dropstream-sync import --output stores/all.yaml
  dropstream-sync import --merchant "Acme Outdoors" > stores/acme.yaml
  dropstream-sync import --sandbox
"""


@click.command("import", help=HELP)
@click.option("--merchant", "merchants", multiple=True, metavar="NAME",
              help="Only this merchant (company name); repeatable.")
@click.option("--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Write to FILE instead of stdout.")
@connection_options
def import_(
    merchants: tuple[str, ...], output: str | None, api_url: str | None, sandbox_dir: str | None
) -> None:
    from dropstream_sync.importer import live_to_config, render_config

    with open_client(api_url, sandbox_dir, write=False) as client:
        live = client.read_live(merchants or None)
    document = live_to_config(live, merchants or None)
    missing = sorted(set(merchants) - {m["name"] for m in document["merchants"]})
    if missing:
        raise SettingsError(
            "no Amazon stores found for merchant(s): " + ", ".join(repr(m) for m in missing)
        )
    text = render_config(document)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"cannot write {output}: {exc.strerror}") from None
    count = sum(len(m["stores"]) for m in document["merchants"])
    click.echo(f"Wrote {output}: {len(document['merchants'])} merchants, {count} stores.", err=True)
