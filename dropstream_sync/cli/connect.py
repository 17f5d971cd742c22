"""Where the commands connect: the options, defined once, and the client they open.

`--api-url URL` (or DROPSTREAM_API_URL) talks to a DropStream server with credentials from
the environment; `--sandbox [DIR]` runs the bundled sandbox in this process instead, with
its state in DIR and its own login, so no server and no credentials are needed.

This is the composition root: the only place where the client and the sandbox meet.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, overload

import click
import httpx

from dropstream_sync.client import (
    BasicCredentials,
    ClientSettings,
    Limits,
    ReadClient,
    Secret,
    SyncReadClient,
    SyncWriteClient,
    WriteClient,
    settings_from_env,
)
from dropstream_sync.errors import SettingsError

if TYPE_CHECKING:
    from dropstream_sync.sandbox import SandboxApp

DEFAULT_SANDBOX_DIR: Final = ".dropstream-sandbox"
SANDBOX_URL: Final = "http://sandbox.local"

F = TypeVar("F", bound=Callable[..., Any])


def connection_options(command: F) -> F:
    """Adds `--api-url` and `--sandbox [DIR]`; the command receives `api_url` and
    `sandbox_dir` (None unless --sandbox was given)."""
    command = click.option(
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
    )(command)
    command = click.option(
        "--api-url",
        "api_url",
        envvar="DROPSTREAM_API_URL",
        default=None,
        metavar="URL",
        help=(
            "DropStream API base URL (env DROPSTREAM_API_URL; default "
            "https://api.getdropstream.com). Plain http:// only to loopback."
        ),
    )(command)
    return command


def _limits(overrides: Mapping[str, Any]) -> Limits:
    try:
        return Limits(**overrides)
    except TypeError as exc:
        raise SettingsError(f"unknown client limit: {exc}") from None


def _sandbox(sandbox_dir: str) -> tuple[ClientSettings, httpx.AsyncBaseTransport]:
    settings, transport, _app = _sandbox_parts(sandbox_dir)
    return settings, transport


def _sandbox_parts(
    sandbox_dir: str,
) -> tuple[ClientSettings, httpx.AsyncBaseTransport, SandboxApp]:
    # Imported here so that commands run against a real server never load the emulator.
    from dropstream_sync.sandbox import create_app, inprocess_transport

    state = Path(sandbox_dir)
    try:
        state.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError(f"cannot use sandbox folder {sandbox_dir!r}: {exc.strerror}") from None
    app = create_app(state)
    info = app.sandbox_info
    settings = ClientSettings(SANDBOX_URL, BasicCredentials(info.username, Secret(info.password)))
    return settings, inprocess_transport(app), app


def open_sandbox(
    sandbox_dir: str,
) -> tuple[SyncWriteClient, SandboxApp, httpx.AsyncBaseTransport]:
    """A write client on the in-process sandbox, with the app and transport, for the demo
    (which also drives the sandbox's control surface, as the merchants would)."""
    settings, transport, app = _sandbox_parts(sandbox_dir)
    settings = ClientSettings(settings.api_url, settings.credentials,
                              _limits({"rate_limit_rps": None}))
    return SyncWriteClient(WriteClient(settings, transport=transport)), app, transport


def _prepare(
    api_url: str | None,
    sandbox_dir: str | None,
    env: Mapping[str, str] | None,
    limits: Mapping[str, Any],
) -> tuple[ClientSettings, httpx.AsyncBaseTransport | None]:
    if sandbox_dir is not None:
        # The in-process sandbox has no rate limit unless one is asked for, and pacing it
        # would only make plans slower than the reads they are made of.
        chosen = _limits({"rate_limit_rps": None, **limits})
        settings, transport = _sandbox(sandbox_dir)
        return ClientSettings(settings.api_url, settings.credentials, chosen), transport
    chosen = _limits(limits)
    environment = os.environ if env is None else env
    return settings_from_env(api_url, environment, limits=chosen), None


@overload
def open_client(
    api_url: str | None, sandbox_dir: str | None, *, write: Literal[False],
    env: Mapping[str, str] | None = None, **limits: Any,
) -> SyncReadClient: ...
@overload
def open_client(
    api_url: str | None, sandbox_dir: str | None, *, write: Literal[True],
    env: Mapping[str, str] | None = None, **limits: Any,
) -> SyncWriteClient: ...
def open_client(
    api_url: str | None,
    sandbox_dir: str | None,
    *,
    write: bool,
    env: Mapping[str, str] | None = None,
    **limits: Any,
) -> SyncReadClient | SyncWriteClient:
    """A synchronous client (use it as a context manager, or call close()).

    `write=False` gives a read-only client (plan, show, import); `limits` are `Limits`
    fields (rate_limit_rps, burst, max_concurrency, ...). Raises SettingsError when the
    URL or credentials are unusable, before any request is sent.
    """
    settings, transport = _prepare(api_url, sandbox_dir, env, limits)
    if write:
        return SyncWriteClient(WriteClient(settings, transport=transport))
    return SyncReadClient(ReadClient(settings, transport=transport))


open_sync_client = open_client


@overload
def open_async_client(
    api_url: str | None, sandbox_dir: str | None, *, write: Literal[False],
    env: Mapping[str, str] | None = None, **limits: Any,
) -> ReadClient: ...
@overload
def open_async_client(
    api_url: str | None, sandbox_dir: str | None, *, write: Literal[True],
    env: Mapping[str, str] | None = None, **limits: Any,
) -> WriteClient: ...
def open_async_client(
    api_url: str | None,
    sandbox_dir: str | None,
    *,
    write: bool,
    env: Mapping[str, str] | None = None,
    **limits: Any,
) -> ReadClient | WriteClient:
    """An async client; `async with open_async_client(...) as client:` closes it on exit."""
    settings, transport = _prepare(api_url, sandbox_dir, env, limits)
    if write:
        return WriteClient(settings, transport=transport)
    return ReadClient(settings, transport=transport)
