"""`dropstream-sync validate` and `dropstream-sync schema`."""

from __future__ import annotations

import click

from dropstream_sync.cli import options

VALIDATE_HELP = """Check configuration files: every problem at once, as FILE:LINE:COLUMN.

PATH is a file or a folder (every *.yaml / *.yml below it, sorted). Exit 0 when valid
(warnings go to stderr), 1 otherwise. Nothing is sent to DropStream.

\b
Examples:
  dropstream-sync validate stores.yaml
  dropstream-sync validate stores/
"""


@click.command("validate", help=VALIDATE_HELP)
@options.config_paths()
def validate(paths: tuple[str, ...]) -> None:
    from dropstream_sync.config import check

    result = check(paths)
    if result.warnings:
        # One write: a large file can have thousands of warnings.
        click.echo("".join(f"{warning}\n" for warning in result.warnings), err=True, nl=False)
    click.echo(
        f"OK: {len(result.files)} file(s), {result.merchants} merchant(s), "
        f"{result.stores} store(s) in {result.marketplaces} marketplace(s), "
        f"{len(result.warnings)} warning(s)"
    )


SCHEMA_HELP = """Print the JSON Schema (draft 2020-12) of the configuration format.

Editors with yaml-language-server validate and complete a file whose first line is
`# yaml-language-server: $schema=<path to the schema>`.

\b
Examples:
  dropstream-sync schema > stores.schema.json
"""


@click.command("schema", help=SCHEMA_HELP)
def schema() -> None:
    from dropstream_sync.config.schema import schema_text

    click.echo(schema_text(), nl=False)
