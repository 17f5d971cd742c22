"""`dropstream-sync import`: write the live account as configuration."""

from __future__ import annotations

import tempfile
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from dropstream_sync.cli.connect import connection_options, open_client
from dropstream_sync.errors import SettingsError

HELP = """Write the live account's Amazon stores as YAML configuration.

Store ids are pinned and settings equal to the built-in defaults are left out; a plan
of the written file against a settled account shows no changes. A merchant's email is
taken from its pending invite, if any; when that makes the next plan invite its other
stores (unauthorized, or due for renewal), a note on stderr lists those changes. A
file that cannot be planned as written (two customers sharing a company name) is still
written, with a note giving the errors.

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
    else:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise SettingsError(f"cannot write {output}: {exc.strerror}") from None
        count = sum(len(m["stores"]) for m in document["merchants"])
        click.echo(f"Wrote {output}: {len(document['merchants'])} merchants, {count} stores.",
                   err=True)
    for line in _first_plan_notes(text, live, client.clock(), output or "<stdout>"):
        click.echo(line, err=True)


def _first_plan_notes(text: str, live: Any, now: datetime, name: str) -> list[str]:
    """What a plan of the written file would do now: nothing for a settled account, but an
    email taken from a pending request also invites that merchant's other stores that wait
    for one (unauthorized, or an authorization due for renewal). The file is written either
    way: an account the config format cannot express (two customers of one company name)
    gets a note saying why, not a failed import."""
    from dropstream_sync.config import load
    from dropstream_sync.errors import ConfigError, PlanError
    from dropstream_sync.planner import plan

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "imported.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            first = plan(load([path]).desired, live, now=now)
        except (ConfigError, PlanError) as exc:
            return ["note: a plan of this file stops with an error; fix it before planning:"] + [
                f"  {line.replace(str(path), name)}" for line in str(exc).splitlines()]
    if not first.changes:
        return []
    counts = Counter(c.kind for c in first.changes)
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    return [f"note: a plan of this file now has {len(first.changes)} change(s) ({kinds}):"] + [
        f"  {c.kind} {c.merchant} / {c.store}: {c.detail.get('reason', '')}".rstrip(": ")
        for c in first.changes
    ]
