"""`dropstream-sync import`: write the live account as configuration."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import click

from dropstream_sync.cli import options
from dropstream_sync.cli.connect import open_client
from dropstream_sync.cli.files import write_whole
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


@click.command("import", help=HELP, cls=options.ConnectedCommand)
@options.merchants("Import")
@options.out_file("Write to FILE instead of stdout.", "--output")
@options.connection_options
def import_(
    merchants: tuple[str, ...], output: str | None, api_url: str | None, sandbox_dir: str | None
) -> None:
    from dropstream_sync.workflows import import_account

    if output is not None:
        # Before connecting: a path that cannot be made was found out only once the whole
        # account had been read.
        _refuse_unmakeable(output)
    with open_client(api_url, sandbox_dir, write=False) as client:
        imported = import_account(client, merchants, output or "<stdout>")
    if output is None:
        # The YAML is for a file (`import > stores/acme.yaml`), and the loader reads UTF-8
        # only: on a console of another encoding, a name's `é` was written in it (a file
        # the next plan refuses) and a `…` as `...` (a rename in the next plan).
        click.echo(imported.text.encode("utf-8"), nl=False)
    else:
        folder = Path(output).parent
        try:
            # `import --output stores/all.yaml` starts the config folder (docs/onboarding.md's
            # first commands), so the folder is made when it is missing.
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            _refuse_unmakeable(output)  # what got in the way since, if it can be named
            raise SettingsError(
                f"cannot write {output}: {exc.strerror}; choose another --output path"
            ) from None
        write_whole(output, lambda stream: stream.write(imported.text))
        click.echo(
            f"Wrote {output}: {imported.merchants} merchants, {imported.stores} stores.", err=True
        )
    for note in imported.notes:
        click.echo(note, err=True)


def _refuse_unmakeable(output: str) -> None:
    """SettingsError when `output` cannot be made, found without making anything: a file
    where a folder of its path should be (mkdir says "File exists", which reads as if the
    YAML file itself were in the way), or a nearest existing folder that cannot be
    written. The folders still missing are made once the account is read."""
    folder = Path(output).parent
    existing = next(p for p in (folder, *folder.parents) if p.exists() or p == p.parent)
    if not existing.is_dir():
        why = f"{existing} is a file, not a folder"
    elif not os.access(existing, os.W_OK | os.X_OK):
        why = os.strerror(errno.EACCES)
    else:
        return
    raise SettingsError(f"cannot write {output}: {why}; choose another --output path")
