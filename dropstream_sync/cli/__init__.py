"""The command line: a thin click layer.

Subcommands live in their own modules and are imported only when invoked, so that
`dropstream-sync --help` stays fast. Errors are mapped to exit codes here, once:

    0  success (with --detailed-exitcode: no changes)
    1  error, invalid input, refusal, or a failed change (also click usage errors)
    2  with --detailed-exitcode only: the plan has changes
    3-6 doctor only: transport, auth, shape, pagination (see cli/doctor.py)
"""

from __future__ import annotations

import codecs
import importlib
import io
import sys
from typing import Any, Final

import click

from dropstream_sync import __version__
from dropstream_sync.cli import options

# name -> (module, attribute, one-line help shown by `--help` without importing it)
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": ("dropstream_sync.cli.validate", "validate", "Check configuration files."),
    "schema": ("dropstream_sync.cli.validate", "schema", "Print the JSON Schema of the config."),
    "plan": ("dropstream_sync.cli.plan", "plan", "Show what apply would change."),
    "apply": ("dropstream_sync.cli.apply", "apply", "Make the live account match."),
    "show": ("dropstream_sync.cli.plan", "show", "Render a saved plan."),
    "report": (
        "dropstream_sync.cli.report",
        "report",
        "Authorization health and drift, as HTML, Markdown or JSON.",
    ),
    "import": ("dropstream_sync.cli.importer", "import_", "Write the live account as YAML."),
    "demo": ("dropstream_sync.cli.demo", "demo", "A guided tour on a throwaway sandbox."),
    "doctor": ("dropstream_sync.cli.doctor", "doctor", "Check the live API (read-only)."),
    "sandbox": ("dropstream_sync.cli.sandbox", "sandbox", "Run or drive the DropStream sandbox."),
}

MAIN_HELP = """Amazon store connections in DropStream, managed as code.

\b
Examples:
  dropstream-sync validate stores.yaml
  dropstream-sync plan stores/ --out plan.json
  dropstream-sync apply plan.json
  dropstream-sync report stores/ --out report.html
  dropstream-sync plan examples/stores.yaml --sandbox
  dropstream-sync demo

Credentials come from DROPSTREAM_USERNAME and DROPSTREAM_PASSWORD (or
DROPSTREAM_PASSWORD_FILE), or DROPSTREAM_TOKEN; never from flags or YAML.
"""


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        command = getattr(module, entry[1])
        assert isinstance(command, click.Command)
        options.accept_group_options(command)
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = click.utils.make_str(args[0]) if args else ""
        if args and name not in _COMMANDS and not name.startswith("-"):
            import difflib

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
            if close:
                ctx.fail(f"No such command {name!r}. Did you mean {close[0]!r}?")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing short help from the table avoids importing every subcommand for --help.
        rows = [(name, _COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup, help=MAIN_HELP, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name="dropstream-sync")
@options.verbose
@options.no_color
@click.pass_context
def cli(ctx: click.Context, verbose: int, no_color: bool) -> None:
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    # The one colour decision, made once (a command's own --no-color takes it back, in
    # options.py); click's echo and the renderers follow it.
    ctx.color = options.decide_color(no_color=no_color)
    options.configure_logging(verbose)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: runs the group and maps every expected failure to an exit code."""
    _write_any_text_on_a_narrow_console()
    _keep_going_when_the_reader_leaves()
    try:
        result: Any = cli.main(args=argv, prog_name="dropstream-sync", standalone_mode=False)
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt):
            # click turns Ctrl-C into Abort, the same as a declined prompt; an interrupt
            # exits 130 wherever it comes (product.md §6), also before apply's first change.
            # At the `Apply?` prompt click raises it `from None`: the interrupt is then only
            # the context, and Ctrl-C there was "Aborted.", exit 1.
            click.echo("Interrupted.", err=True)
            sys.exit(130)
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        _one_dash_said(exc, sys.argv[1:] if argv is None else argv).show()
        sys.exit(1)
    except Exception as exc:
        # The exception tree is imported only when something went wrong: `--help` is faster
        # without it, and only our own errors are mapped here (anything else goes on up).
        from dropstream_sync.errors import ConfigError, DropstreamSyncError

        if isinstance(exc, ConfigError):
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            errors = sum(1 for p in exc.problems if p.severity == "error")
            click.echo(f"error: configuration is invalid ({errors} error(s))", err=True)
            sys.exit(1)
        if isinstance(exc, DropstreamSyncError):
            from dropstream_sync.errors import printable

            # A message may quote a plan file's or the API's text: no escape sequence of
            # theirs reaches the terminal (the message's own line breaks stay).
            text = "\n".join(printable(line) for line in str(exc).split("\n"))
            click.echo(f"error: {text}", err=True)
            sys.exit(1)
        if isinstance(exc, OSError) and exc.filename is None and _output_full(exc):
            _said_output_full(exc)
        raise
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)


def _one_dash_said(exc: click.ClickException, argv: list[str]) -> click.ClickException:
    """Terraform's flags take one dash (`plan -out=tfplan`, `apply -auto-approve`); here click
    read `-out` as the short options -o, -u, -t and said "No such option '-o'", which names
    nothing the user typed. Such a word that is one of the command's long options with one
    dash too few is named, with the option meant."""
    if not isinstance(exc, click.NoSuchOption) or exc.ctx is None:
        return exc
    longs = {opt for param in exc.ctx.command.params for opt in param.opts if opt[:2] == "--"}
    for word in argv:
        typed = word.split("=", 1)[0]
        if typed in ("-json", "--json") and "--format" in longs:
            # `terraform show -json tfplan`
            said = f"No such option '{typed}'; did you mean '--format json'?"
        elif typed[:1] == "-" and typed[:2] != "--" and "-" + typed in longs:
            said = (
                f"No such option '{typed}': options take two dashes here; did you mean '-{typed}'?"
            )
        else:
            continue
        return click.UsageError(said, exc.ctx)
    return exc


# The tool's own symbols, as ASCII, on a console whose encoding lacks them.
_ASCII_SYMBOLS: Final = {
    "…": "...",
    "→": "->",
    "✓": "ok",
    "✗": "x",
    "·": "-",
    "─": "-",
    "├": "|",
    "└": "`",
}


def _console_fallback(exc: UnicodeError) -> tuple[str, int]:
    """What a console that cannot show a character gets: the ASCII of the tool's symbols,
    else the JSON escape (`\\u00e9`), so a --format json document on stdout still parses,
    its names exact but for those symbols (`--out` writes UTF-8 whatever the console)."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    import json  # here: `--help` does not pay for it (quality.md's start-up figure)

    shown = []
    for char in exc.object[exc.start : exc.end]:
        if char in _ASCII_SYMBOLS:
            shown.append(_ASCII_SYMBOLS[char])
        else:
            shown.append(json.dumps(char)[1:-1])
    return "".join(shown), exc.end


def _write_any_text_on_a_narrow_console() -> None:
    """On a console that is not UTF-8 (LANG=C with PYTHONUTF8=0, an ISO-8859-1 locale,
    PYTHONIOENCODING=ascii, a Windows code page), the first `…` or `✓` of a plan ended the
    command in a UnicodeEncodeError traceback, with nothing or half of it written."""
    codecs.register_error("dropstream-sync-console", _console_fallback)
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None)
        if not isinstance(stream, io.TextIOWrapper) or not encoding:
            continue
        try:
            if codecs.lookup(encoding).name == "utf-8":
                continue
        except LookupError:
            continue
        stream.reconfigure(errors="dropstream-sync-console")


class _ReaderMayLeave(io.FileIO):
    """A standard stream whose reader may close it early (`plan | head`, `apply | tee` that
    dies): from the first broken pipe on, what is written goes to the null device.

    Without it the broken pipe was an exception in whatever was writing: click turned it
    into exit 1 (so `plan --detailed-exitcode | head` lost its 2), and in `apply` it came out
    of a change's result line, inside the applier's tasks: asyncio printed a traceback per
    change and the apply stopped half done. Now the command ends as if its output had been
    read, with its own exit code; an apply makes all its changes. It is the bottom layer,
    under the buffer and the text, because `import` writes its YAML to stdout as bytes."""

    def write(self, data: Any) -> int:
        try:
            return super().write(data)
        except BrokenPipeError:
            import os

            # The descriptor itself is pointed at the null device: what is still buffered
            # above, and Python's flush at exit, go there instead of failing again.
            nowhere = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(nowhere, self.fileno())
            finally:
                os.close(nowhere)
            return memoryview(data).nbytes


def _keep_going_when_the_reader_leaves() -> None:
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        # Only the process's own streams (a test's capture is no pipe), and only once.
        if type(stream) is not io.TextIOWrapper:
            continue
        layer = stream.buffer
        unbuffered = isinstance(layer, io.FileIO)  # PYTHONUNBUFFERED=1, python -u
        raw = layer if unbuffered else getattr(layer, "raw", None)
        if type(raw) is not io.FileIO:
            continue
        stream.flush()
        bottom = _ReaderMayLeave(raw.fileno(), "w", closefd=False)
        wrapped = io.TextIOWrapper(
            bottom if unbuffered else io.BufferedWriter(bottom),
            encoding=stream.encoding,
            errors=stream.errors,
            line_buffering=stream.line_buffering,
            write_through=stream.write_through,
        )
        setattr(sys, name, wrapped)


def _output_full(exc: OSError) -> bool:
    """Writing to stdout failed for want of room (`plan > plan.txt` on a full disk)."""
    import errno

    return exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _said_output_full(exc: OSError) -> None:
    import os

    # What is still buffered for stdout would fail again as Python exits, with a second
    # message: it goes nowhere instead.
    with_nothing = os.open(os.devnull, os.O_WRONLY)
    os.dup2(with_nothing, sys.stdout.fileno())
    click.echo(f"error: cannot write the output: {exc.strerror}", err=True)
    sys.exit(1)
