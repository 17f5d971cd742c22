"""Every option that more than one command takes, defined once (as pip-tools' scripts/options.py).

A command decorates itself with these; an option's name, metavar, help and parameter name
are then the same wherever it appears. Only click is imported here, so that `--help` stays fast.
One decision lives here too: whether output is coloured (`use_color`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO, TypeVar

import click
from click.core import ParameterSource

if TYPE_CHECKING:
    from dropstream_sync.errors import Problem
    from dropstream_sync.planner import Plan

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_SANDBOX_DIR: Final = ".dropstream-sandbox"

# -- the group's own -----------------------------------------------------------------------

verbose = click.option(
    "-v", "--verbose", count=True, help="More log output on stderr (-vv: HTTP debug)."
)
no_color = click.option("--no-color", is_flag=True, help="No colour (also: NO_COLOR set).")


def configure_logging(verbose: int) -> None:
    """-v: the tool's own progress (phases, pages read, retries and why); -vv: also each
    request (our own redacted line); -vvv: also httpx's and httpcore's internals."""
    # Imported here: `--help` and `--version` never get this far, and logging (with the
    # traceback and string modules it pulls in) is a tenth of their start-up.
    import logging

    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    # Set apart from basicConfig, which configures once: `-v` after the command raises
    # the level the group set before it.
    logging.getLogger().setLevel(level)
    # httpx logs every request at INFO and httpcore its connection steps at DEBUG: they
    # would bury -v's progress and duplicate -vv's request lines.
    for library in ("httpx", "httpcore", "asyncio"):
        logging.getLogger(library).setLevel(logging.DEBUG if verbose >= 3 else logging.WARNING)


# -- the group's options, also after the command ---------------------------------------------
# `plan stores/ --no-color` and `apply stores/ -v` are how Terraform users (and the GitHub
# Action, whose `args` follow the paths) write them. The group has already decided colour and
# logging when a command's options are read, so these callbacks revise that decision.


def _no_color_after(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_root().color = False


def _verbose_after(ctx: click.Context, _param: click.Parameter, value: int) -> None:
    if value:
        root = ctx.find_root()
        total = value + (root.obj.get("verbose", 0) if isinstance(root.obj, dict) else 0)
        if isinstance(root.obj, dict):
            root.obj["verbose"] = total
        configure_logging(total)


def accept_group_options(command: click.Command) -> None:
    """Give `command` (and a group's subcommands) the group's `--no-color` and `-v`."""
    names = {name for param in command.params for name in param.opts}
    if "--no-color" not in names:
        command.params.append(
            click.Option(
                ["--no-color"],
                is_flag=True,
                expose_value=False,
                callback=_no_color_after,
                help="No colour (also: NO_COLOR set).",
            )
        )
    if "--verbose" not in names:
        command.params.append(
            click.Option(
                ["-v", "--verbose"],
                count=True,
                expose_value=False,
                callback=_verbose_after,
                help="More log output on stderr (-vv: HTTP debug).",
            )
        )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            accept_group_options(sub)


def use_color(ctx: click.Context | None = None, stream: TextIO | None = None) -> bool:
    """The one colour decision: only on a terminal, never with NO_COLOR or --no-color.

    The group makes it once, for stdout, and stores it on its context (click's own `color`
    too, so `click.echo` and `secho` follow it); a command asks here. Text written to another
    `stream` (stderr) is coloured only when that stream is a terminal as well: with the
    decision made for stdout, `2> plan.log` would otherwise fill the file with escapes."""
    ctx = ctx or click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    if root is not None and root.color is not None:
        decided = bool(root.color)
    else:
        decided = decide_color(no_color=False)
    return decided and (stream is None or stream is sys.stdout or stream.isatty())


def is_terminal(stream: TextIO | None) -> bool:
    """Whether `stream` is a terminal. A standard stream that was closed when the tool
    started (`<&-`: Python's `sys.stdin` is then None) is not one."""
    try:
        return stream is not None and stream.isatty()
    except ValueError:  # closed since
        return False


def decide_color(*, no_color: bool) -> bool:
    # no-color.org: NO_COLOR "present and not an empty string"; `NO_COLOR=` (an empty value,
    # as a CI template that blanks the variable leaves it) keeps colour on.
    return not no_color and not os.environ.get("NO_COLOR") and sys.stdout.isatty()


# -- where to connect ----------------------------------------------------------------------


def _typed_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    # `--api-url "$URL"` with URL unset is `--api-url ""`, which meant "not given": the
    # command went on to DROPSTREAM_API_URL, or to the real service, with the login of
    # whichever environment this is. (An empty DROPSTREAM_API_URL is unset, as click reads
    # it, the way a CI template that blanks a variable leaves it.)
    if value == "" and ctx.get_parameter_source("api_url") is ParameterSource.COMMANDLINE:
        raise click.BadParameter(
            "an empty URL (an unset shell variable?): give the API's URL, or leave "
            "--api-url out to use DROPSTREAM_API_URL or the default "
            "https://api.getdropstream.com"
        )
    return value


api_url = click.option(
    "--api-url",
    "api_url",
    envvar="DROPSTREAM_API_URL",
    default=None,
    metavar="URL",
    callback=_typed_url,
    help=(
        "DropStream API base URL (env DROPSTREAM_API_URL; default "
        "https://api.getdropstream.com). Plain http:// only to loopback."
    ),
)
sandbox = click.option(
    "--sandbox",
    "sandbox_dir",
    is_flag=False,
    flag_value=DEFAULT_SANDBOX_DIR,
    default=None,
    metavar="[DIR]",
    help=(
        "Use the built-in DropStream sandbox in this process instead of a server; "
        f"its state lives in DIR (default {DEFAULT_SANDBOX_DIR}/). No credentials needed."
    ),
)

MAX_RATE_KEY: Final = "dropstream_sync.max_rate"


def _remember_max_rate(ctx: click.Context, _param: click.Parameter, value: float | None) -> None:
    # Kept on the context, where the composition root (connect.py) finds it, so that each
    # command does not have to pass it along.
    if value is not None:
        ctx.meta[MAX_RATE_KEY] = value


class _Rate(click.FloatRange):
    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            rate = super().convert(value, param, ctx)
            if rate != rate:
                # NaN passes the range check (no comparison with it is true) and paced nothing.
                self.fail("nan is not a number of requests per second", param, ctx)
            return rate
        except click.BadParameter as exc:
            # "Invalid value for '--max-rate'" to someone who typed no --max-rate.
            name = param.name if param is not None else None
            if (
                ctx is not None
                and name is not None
                and ctx.get_parameter_source(name) is ParameterSource.ENVIRONMENT
            ):
                raise click.BadParameter(
                    f"{exc.message} (from DROPSTREAM_MAX_RATE in the environment)", ctx, param
                ) from None
            raise


max_rate = click.option(
    "--max-rate",
    envvar="DROPSTREAM_MAX_RATE",
    type=_Rate(min=0, min_open=True),
    default=None,
    metavar="N",
    expose_value=False,
    callback=_remember_max_rate,
    help=(
        "Never send more than N requests per second (env DROPSTREAM_MAX_RATE; default 100; "
        "with --sandbox: no limit). Below it the pace follows the server's 429s."
    ),
)


def connection_options(command: F) -> F:
    """`--api-url`, `--sandbox [DIR]` and `--max-rate N`; the command receives `api_url` and
    `sandbox_dir` (None unless --sandbox was given), and `open_client` finds the rate. Use it
    on a `ConnectedCommand`."""
    return api_url(sandbox(max_rate(command)))


def chosen_max_rate() -> float | None:
    """`--max-rate` (or DROPSTREAM_MAX_RATE) of the command being run, if given."""
    ctx = click.get_current_context(silent=True)
    value = ctx.meta.get(MAX_RATE_KEY) if ctx is not None else None
    return float(value) if value is not None else None


def is_config_path(value: str) -> bool:
    """A config file or folder (or a plan file), which `--sandbox` must not take as its DIR.

    A name with a config suffix counts even when missing, so that a typo is reported as a
    missing config, not made into a sandbox folder; a folder counts when it holds YAML."""
    from dropstream_sync.config.loader import YAML_SUFFIXES  # not at start-up (--help)

    if not value:
        # Path("") is the working folder, which counts when it holds YAML: `--sandbox ""`
        # (an unset variable) was then read as the default folder and an empty config path,
        # "'':1:1: an empty path names no file or folder", not the --sandbox refusal.
        return False
    path = Path(value)
    if value.endswith((*YAML_SUFFIXES, ".json")) or path.is_file():
        return True
    if not path.is_dir():
        return False
    # os.walk, not Path.rglob: a folder that changes while it is walked (`--sandbox /proc`,
    # whose process folders come and go) raised FileNotFoundError from rglob, a traceback;
    # os.walk passes over what vanished, and does not follow links round in circles.
    for _folder, _subfolders, files in os.walk(path):
        if any(name.endswith(YAML_SUFFIXES) for name in files):
            return True
    return False


def sandbox_args(args: list[str]) -> list[str]:
    """`--sandbox PATH` where PATH is a config path means `--sandbox` (the default folder)
    followed by PATH: the optional DIR must not swallow the file to plan."""
    out = list(args)
    for i, arg in enumerate(out[:-1]):
        if arg == "--":
            break
        if arg == "--sandbox" and not out[i + 1].startswith("-") and is_config_path(out[i + 1]):
            out[i] = f"--sandbox={DEFAULT_SANDBOX_DIR}"
    return out


class ConnectedCommand(click.Command):
    """A command with `connection_options`: reads `--sandbox stores.yaml` as a flag and a path."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        args = super().parse_args(ctx, sandbox_args(args))
        # Both typed: `--sandbox` won and the URL was ignored without a word, so a plan of
        # the sandbox read as one of the server named. (DROPSTREAM_API_URL set in the
        # environment is not typed: `--sandbox` is how to try something beside it.)
        if (
            ctx.params.get("sandbox_dir") is not None
            and ctx.params.get("api_url")
            and ctx.get_parameter_source("api_url") is ParameterSource.COMMANDLINE
        ):
            raise click.UsageError(
                "--api-url and --sandbox name two places to connect: give one (--sandbox "
                "is the built-in sandbox in this process)",
                ctx,
            )
        if (
            ctx.params.get("sandbox_dir") is None
            and ctx.params.get("api_url")
            and ctx.get_parameter_source("api_url") is ParameterSource.ENVIRONMENT
        ):
            _check_url_from_the_environment(ctx.params["api_url"])
        return args


def _check_url_from_the_environment(url: str) -> None:
    # Refused later as "invalid API URL 'x'" or "refusing plain http:// to x", which did
    # not say where the URL came from to someone who had typed no --api-url.
    from dropstream_sync.client.settings import check_api_url
    from dropstream_sync.errors import SettingsError

    try:
        check_api_url(url)
    except SettingsError as exc:
        raise CommandFailed(f"DROPSTREAM_API_URL (in the environment): {exc}") from None


# -- what to work on -----------------------------------------------------------------------


def config_paths(metavar: str = "PATH...") -> Callable[[F], F]:
    """The config files and folders a command reads; the shell completes them as paths."""
    return click.argument("paths", nargs=-1, required=True, metavar=metavar, type=click.Path())


def merchants(verb: str) -> Callable[[F], F]:
    """`--merchant NAME`, repeatable; the command receives `merchants`."""
    return click.option(
        "--merchant",
        "merchants",
        multiple=True,
        metavar="NAME",
        help=f"{verb} only this merchant (company name); repeatable.",
    )


def output_format(choices: Sequence[str], help: str) -> Callable[[F], F]:
    """`--format`, first choice the default; the command receives `fmt`."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help=help,
    )


def out_file(help: str, flag: str = "--out") -> Callable[[F], F]:
    """A FILE the command writes (a folder is refused): `--out` (plan: the saved plan; report:
    the page), `--output` (import), `--audit-log` (apply); received under the flag's own
    name (`out`, `output`, `audit_log`), None when not given."""
    return click.option(
        flag,
        type=click.Path(dir_okay=False),
        default=None,
        metavar="FILE",
        help=help,
        callback=_named_file,
    )


def _named_file(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    # `--out "$PLAN"` with PLAN unset: it was "cannot write : Is a directory" after the whole
    # account had been read (import), or the output went to stdout (`--output ""` is falsy).
    if value == "":
        raise click.BadParameter("an empty path (an unset shell variable?): give a file name")
    return value


show_pending = click.option(
    "--show-pending",
    "show_pending",
    is_flag=True,
    help=(
        "List every pending item (text, markdown); by default one line of counts per "
        "merchant. JSON always has them all."
    ),
)


# -- the sandbox's ---------------------------------------------------------------------------


def state(help: str, **kwargs: Any) -> Callable[[F], F]:
    """`--state DIR`, the sandbox's state folder; the command receives `state`."""
    return click.option(
        "--state", "state", default=DEFAULT_SANDBOX_DIR, show_default=True, help=help, **kwargs
    )


def admin_key(help: str, **kwargs: Any) -> Callable[[F], F]:
    """`--admin-key K`, the key of the sandbox's control surface; received as `admin_key`."""
    return click.option("--admin-key", "admin_key", default=None, help=help, **kwargs)


sandbox_url = click.option(
    "--url",
    "url",
    default=None,
    envvar="DROPSTREAM_SANDBOX_URL",
    help="Sandbox URL (env DROPSTREAM_SANDBOX_URL).",
)


class CommandFailed(click.ClickException):
    """A refusal a command reports itself, worded like the rest of the tool (`error: ...`)."""

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True, file=file)


def sandbox_control(command: F) -> F:
    """Where a served sandbox is: `--url`, `--admin-key`, or its `--state` folder."""
    command = state("State folder of the served sandbox (its sandbox.json).")(command)
    command = admin_key(
        "Admin key (env DROPSTREAM_SANDBOX_ADMIN_KEY).", envvar="DROPSTREAM_SANDBOX_ADMIN_KEY"
    )(command)
    return sandbox_url(command)


def say_warnings(plan: Plan, said: Sequence[Problem] = ()) -> None:
    """The plan's warnings on stderr, each once: those of the config were said as it loaded
    (`said`), the planner's own (and a saved plan's) are said here. The text of the plan
    leaves them out, so that a terminal shows each warning a single time."""
    from dropstream_sync.errors import printable

    already = {p.in_plan() for p in said}
    for warning in plan.warnings:
        if warning not in already:
            click.echo(f"warning: {printable(warning)}", err=True)
