"""The local apply lock: one lock per account, whatever the URL spelling or credential form;
private to its OS user; removed when the apply ends."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from dropstream_sync import workflows
from dropstream_sync.apply import ApplyLock, lock_folder
from dropstream_sync.cli.connect import SANDBOX_URL, open_sandbox
from dropstream_sync.client import (
    EMPTY_ACCOUNT,
    BasicCredentials,
    ClientSettings,
    Limits,
    Secret,
    SyncWriteClient,
    TokenCredentials,
    WriteClient,
)
from dropstream_sync.errors import DropstreamSyncError, SettingsError
from dropstream_sync.sandbox import SandboxApp, create_app, inprocess_transport

CLI = [sys.executable, "-c", "from dropstream_sync.cli import main; main()"]


Key = tuple[str, str] | tuple[str, str, str]


def lock(key: Key, **options: Any) -> ApplyLock:
    """The lock of an apply keyed URL, account and, for the in-process sandbox, folder."""
    url, account, *scope = key
    return ApplyLock(url, account, scope=scope[0] if scope else "", **options)


def held_by_other(first: Key, second: Key, folder: Path) -> bool:
    """Whether an apply keyed `second` has to wait while one keyed `first` runs."""
    with lock(first, folder=folder):
        try:
            with lock(second, timeout=0.3, folder=folder):
                return False
        except DropstreamSyncError as exc:
            assert "another apply on this account held the lock" in str(exc)
            return True


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("http://127.0.0.1:8765", "http://localhost:8765/"),
        ("http://[::1]:8765", "http://LOCALHOST:8765"),
        ("https://api.getdropstream.com", "https://API.getdropstream.com:443/"),
        ("https://api.getdropstream.com.", "https://api.getdropstream.com"),
    ],
)
def test_spellings_of_one_server_share_one_lock(one: str, other: str, tmp_path: Path) -> None:
    assert held_by_other((one, "customer:7"), (other, "customer:7"), tmp_path)


def test_other_accounts_and_other_servers_do_not_wait(tmp_path: Path) -> None:
    assert not held_by_other(
        ("http://127.0.0.1:8765", "customer:7"), ("http://127.0.0.1:8765", "customer:9"), tmp_path
    )
    assert not held_by_other(
        ("http://127.0.0.1:8765", "customer:7"), ("http://127.0.0.1:8766", "customer:7"), tmp_path
    )


def test_an_account_being_filled_for_the_first_time_holds_back_one_that_sees_it(
    tmp_path: Path,
) -> None:
    # The apply that found the account empty may be creating the very customer by which
    # the second one now names the account.
    assert held_by_other(
        ("http://127.0.0.1:1", EMPTY_ACCOUNT), ("http://localhost:1", "customer:3"), tmp_path
    )


def test_the_lock_lives_in_a_private_folder_and_is_removed_after(tmp_path: Path) -> None:
    folder = tmp_path / "locks"
    with ApplyLock("http://127.0.0.1:1", "customer:1", folder=folder) as lock:
        assert lock.path.exists() and lock.path.parent == folder
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert list(folder.iterdir()) == []


def test_the_lock_folder_is_per_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "run").mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    assert lock_folder() == tmp_path / "run" / "dropstream-sync"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert lock_folder() == tmp_path / "cache" / "dropstream-sync" / "locks"


def clients(tmp_path: Path) -> tuple[SyncWriteClient, SyncWriteClient]:
    """A login and a token of that same login, on one sandbox."""
    app = create_app(tmp_path / "state")
    info = app.sandbox_info
    login = ClientSettings(
        SANDBOX_URL,
        BasicCredentials(info.username, Secret(info.password)),
        Limits(rate_limit_rps=None),
    )
    by_login = SyncWriteClient(WriteClient(login, transport=inprocess_transport(app)))
    access = by_login.run(_token(app, info.username, info.password))
    by_token = SyncWriteClient(
        WriteClient(
            ClientSettings(
                SANDBOX_URL, TokenCredentials(Secret(access)), Limits(rate_limit_rps=None)
            ),
            transport=inprocess_transport(app),
        )
    )
    return by_login, by_token


async def _token(app: SandboxApp, username: str, password: str) -> str:
    async with httpx.AsyncClient(transport=inprocess_transport(app), base_url=SANDBOX_URL) as http:
        answer = await http.post(
            "/auth/token", auth=(username, password), json={"grant_type": "client_credentials"}
        )
        return str(answer.json()["access_token"])


def test_a_login_and_a_token_of_it_name_one_account(tmp_path: Path) -> None:
    by_login, by_token = clients(tmp_path)
    with by_login, by_token:
        assert by_login.aio.account != by_token.aio.account  # what they were keyed by before
        assert by_login.run(by_login.aio.account_key()) == EMPTY_ACCOUNT
        customer = by_login.run(by_login.aio.create_customer("Acme"))
        by_login.run(by_login.aio.create_customer("Other"))
        key = by_token.run(by_token.aio.account_key())
        assert key == by_login.run(by_login.aio.account_key()) == f"customer:{customer}"
        assert held_by_other((SANDBOX_URL, key), (SANDBOX_URL, key), tmp_path / "locks")


def apply_on_sandbox(workdir: Path, folder: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`apply --sandbox FOLDER stores.yaml --auto-approve` in `workdir`, as a user runs it
    (no DropStream variables), with `env` added."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DROPSTREAM_")}
    environment.update(NO_COLOR="1", **env)
    return subprocess.run(
        [*CLI, "apply", "--sandbox", folder, "stores.yaml", "--auto-approve"],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def a_folder_of_another_user(parent: Path) -> Path:
    folder = parent / "dropstream-sync"
    if os.getuid() == 0:
        folder.mkdir(mode=0o700)
        os.chown(folder, 65534, 65534)
    else:
        folder.symlink_to("/")  # root's, like any folder this user did not make
    return folder


def test_a_second_os_user_on_a_shared_lock_folder_gets_a_clear_message(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    a_folder_of_another_user(shared)
    with pytest.raises(SettingsError, match="belongs to another user"):
        ApplyLock("http://127.0.0.1:1", "customer:1", folder=shared / "dropstream-sync").__enter__()
    (tmp_path / "stores.yaml").write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "merchants": [
                    {"name": "Acme", "stores": [{"name": "Acme US", "marketplace": "US"}]}
                ],
            }
        )
    )
    result = apply_on_sandbox(tmp_path, str(tmp_path / "sb"), XDG_RUNTIME_DIR=str(shared))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "belongs to another user" in result.stderr
    assert "XDG_RUNTIME_DIR" in result.stderr


@pytest.mark.parametrize("runtime", ["session/gone", "relative/run"])
def test_a_runtime_folder_that_is_not_there_is_not_made_the_lock_goes_to_the_cache(
    tmp_path: Path, runtime: str
) -> None:
    """XDG_RUNTIME_DIR is the login session's: made at login (owned by the user, 0700) and
    removed at logout. One that does not exist (a variable kept across `su`, a container
    given the host's) is not this tool's to make, nor is a relative one (the XDG spec says to
    ignore it): the lock goes where it goes when the variable is unset, and a warning says so."""
    (tmp_path / "stores.yaml").write_text(
        "version: 1\nmerchants:\n  - name: Acme\n    stores:\n"
        "      - {name: Acme US, marketplace: US}\n"
    )
    value = str(tmp_path / runtime) if runtime.startswith("session") else runtime
    cache = tmp_path / "cache"
    result = apply_on_sandbox(tmp_path, "sb", XDG_RUNTIME_DIR=value, XDG_CACHE_HOME=str(cache))

    assert result.returncode == 0, result.stderr
    assert "Apply complete: 2 done" in result.stdout
    assert not (tmp_path / runtime.split("/")[0]).exists()
    locks = cache / "dropstream-sync" / "locks"
    assert locks.is_dir() and stat.S_IMODE(locks.stat().st_mode) == 0o700
    why = "does not exist" if runtime.startswith("session") else "is not an absolute path"
    assert f"XDG_RUNTIME_DIR={value} {why}" in result.stderr
    assert f"the apply lock is kept in {locks}, as when XDG_RUNTIME_DIR is unset" in result.stderr
    assert "Traceback" not in result.stderr


def test_sandboxes_of_two_folders_do_not_wait_for_each_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every sandbox numbers its customers from 1 behind one URL: keyed by URL and account
    # alone, a demo in one folder held up an apply (or a test run) in another for minutes.
    (tmp_path / "stores.yaml").write_text(
        "version: 1\nmerchants:\n  - name: Acme\n    stores:\n"
        "      - {name: Acme US, marketplace: US}\n"
    )
    (tmp_path / "run").mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))

    busy = open_sandbox(str(tmp_path / "busy"))
    with busy.client, workflows.apply_lock(busy.client):  # an apply running there
        elsewhere = apply_on_sandbox(tmp_path, "other")
        assert elsewhere.returncode == 0, elsewhere.stderr
        assert "Apply complete: 2 done" in elsewhere.stdout
        # The same folder, spelt another way, is the same account: it waits.
        same = open_sandbox(str(tmp_path / "x" / ".." / "busy"))
        with (
            same.client,
            pytest.raises(DropstreamSyncError, match="another apply on this account"),
            workflows.apply_lock(same.client, timeout=0.3),
        ):
            pass
