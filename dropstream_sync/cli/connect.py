"""Where the commands connect: the client they open.

`--api-url URL` (or DROPSTREAM_API_URL) talks to a DropStream server with credentials from
the environment; `--sandbox [DIR]` runs the bundled sandbox in this process instead, with
its state in DIR and its own login, so no server and no credentials are needed. (The
options themselves are defined in options.py.)

This is the composition root: the only place where the client and the sandbox meet.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple, overload

from dropstream_sync.cli.options import DEFAULT_SANDBOX_DIR, chosen_max_rate, connection_options
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
    from dropstream_sync.sandbox.admin import AdminClient

__all__ = [
    "DEFAULT_SANDBOX_DIR",
    "SandboxSession",
    "connection_options",
    "open_async_client",
    "open_client",
    "open_sandbox",
]

SANDBOX_URL: Final = "http://sandbox.local"


def _limits(overrides: Mapping[str, Any]) -> Limits:
    try:
        return Limits(**overrides)
    except TypeError as exc:
        raise SettingsError(f"unknown client limit: {exc}") from None


def create_sandbox_app(sandbox_dir: str, flag: str = "--sandbox", **options: Any) -> SandboxApp:
    """The sandbox on its state folder (`--sandbox DIR`, `sandbox serve --state DIR`); a
    folder it cannot use is a SettingsError naming it, never a traceback."""
    # Imported here so that commands run against a real server never load the emulator.
    import sqlite3

    from dropstream_sync.sandbox import create_app

    if not sandbox_dir:
        # Path("") is the current folder, which the sandbox would fill with its state and
        # make private (0700): `--sandbox "$DIR"` with the variable unset.
        raise SettingsError(
            f"{flag}: an empty folder name (an unset variable?); give a folder"
            + (", or --sandbox alone for the default" if flag == "--sandbox" else "")
        )
    state = Path(sandbox_dir)
    try:
        state.mkdir(parents=True, exist_ok=True)
        return create_app(state, **options)
    except OSError as exc:
        # A folder that exists but cannot hold files (/proc, a read-only mount): the
        # sandbox's first write of its state failed with a traceback.
        # The next step is another folder: `--sandbox` alone means .dropstream-sandbox/ in
        # the working folder, which may be read-only (a checkout mounted so, a CI image).
        raise SettingsError(
            f"cannot use sandbox folder {sandbox_dir!r}: {exc.strerror}; give a folder it "
            f"can write ({flag} DIR)"
        ) from None
    except (sqlite3.Error, ValueError, KeyError, TypeError) as exc:
        # Its state files hold something else (another program's secrets.json, a damaged
        # database): read as the sandbox's, they failed with a traceback.
        raise SettingsError(
            f"cannot use sandbox folder {sandbox_dir!r}: its files are not a sandbox's state, "
            f"or are damaged ({type(exc).__name__}: {exc}); give another folder"
        ) from None


def _sandbox_app(sandbox_dir: str) -> tuple[ClientSettings, SandboxApp]:
    app = create_sandbox_app(sandbox_dir)
    info = app.sandbox_info
    credentials = BasicCredentials(info.username, Secret(info.password))
    scope = str(Path(sandbox_dir).resolve())
    return ClientSettings(SANDBOX_URL, credentials, lock_scope=scope), app


class SandboxSession(NamedTuple):
    client: SyncWriteClient
    app: SandboxApp
    admin: AdminClient  # its control surface, driven on the client's loop (client.run)


def open_sandbox(sandbox_dir: str) -> SandboxSession:
    """A write client on the in-process sandbox, with the app and its admin client, for the
    demo (which also drives the sandbox's control surface, as the merchants would)."""
    from dropstream_sync.sandbox import inprocess_transport
    from dropstream_sync.sandbox.admin import AdminClient

    settings, app = _sandbox_app(sandbox_dir)
    settings = dataclasses.replace(settings, limits=_limits({"rate_limit_rps": None}))
    client = SyncWriteClient(WriteClient(settings, transport=inprocess_transport(app)))
    return SandboxSession(client, app, AdminClient.inprocess(app))


def _prepare(
    api_url: str | None,
    sandbox_dir: str | None,
    env: Mapping[str, str] | None,
    limits: Mapping[str, Any],
) -> tuple[ClientSettings, SandboxApp | None]:
    ceiling = chosen_max_rate()
    if ceiling is not None and "rate_limit_rps" not in limits:
        limits = {**limits, "rate_limit_rps": ceiling}
    if sandbox_dir is not None:
        # The in-process sandbox has no rate limit unless one is asked for, and pacing it
        # would only make plans slower than the reads they are made of (--max-rate paces).
        chosen = _limits({"rate_limit_rps": None, **limits})
        settings, app = _sandbox_app(sandbox_dir)
        return dataclasses.replace(settings, limits=chosen), app
    chosen = _limits(limits)
    environment = os.environ if env is None else env
    return settings_from_env(api_url, environment, limits=chosen), None


def _transport(app: SandboxApp | None) -> Any:
    # Typed loosely on purpose: naming httpx's transport type here would import HTTP into
    # the command line, which only client/ and sandbox/ speak.
    if app is None:
        return None
    from dropstream_sync.sandbox import inprocess_transport

    return inprocess_transport(app)


# Typed by the two overloads: `env` (default os.environ) and `Limits` fields travel in `options`.
@overload
def open_client(
    api_url: str | None, sandbox_dir: str | None, *, write: Literal[False], **options: Any
) -> SyncReadClient: ...
@overload
def open_client(
    api_url: str | None, sandbox_dir: str | None, *, write: Literal[True], **options: Any
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
    client = open_async_client(api_url, sandbox_dir, write=write, env=env, **limits)
    if isinstance(client, WriteClient):
        return SyncWriteClient(client)
    return SyncReadClient(client)


def open_async_client(
    api_url: str | None,
    sandbox_dir: str | None,
    *,
    write: bool = False,
    env: Mapping[str, str] | None = None,
    **limits: Any,
) -> ReadClient:
    """An async client, as `open_client`'s (a `WriteClient` with write=True);
    `async with open_async_client(...) as client:` closes it on exit."""
    settings, app = _prepare(api_url, sandbox_dir, env, limits)
    kind = WriteClient if write else ReadClient
    return kind(settings, transport=_transport(app))
