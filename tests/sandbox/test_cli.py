"""`dropstream-sync sandbox ...` as a person at a terminal uses it: a served sandbox that
announces itself, keeps its state across restarts and stops cleanly, and the control commands."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from dropstream_sync.cli import cli

CLI = [sys.executable, "-c", "from dropstream_sync.cli import main; main()"]
US = "ATVPDKIKX0DER"


class Served:
    def __init__(self, state: Path, *extra: str) -> None:
        self.state = state
        self.log = state.parent / f"{state.name}.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [*CLI, "sandbox", "serve", "--port", "0", "--state", str(state), *extra],
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        deadline = time.monotonic() + 30
        while not (state / "sandbox.json").exists():
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "sandbox serve did not start"
            time.sleep(0.05)
        self.info = json.loads((state / "sandbox.json").read_text())

    def api(self) -> httpx.Client:
        token = httpx.post(
            self.info["url"] + "/auth/token",
            json={},
            auth=(self.info["username"], self.info["password"]),
        ).json()["access_token"]
        return httpx.Client(base_url=self.info["url"], headers={"Authorization": f"Bearer {token}"})

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=20)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = Served(tmp_path / "state", "--username", "ops", "--password", "pw-ops")
    yield server
    if server.process.poll() is None:
        server.stop()


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_announces_itself_and_stops_cleanly(served: Served, sig: int) -> None:
    info = served.info
    assert set(info) == {"url", "username", "password", "admin_key"}
    assert info["url"].startswith("http://127.0.0.1:") and info["username"] == "ops"
    assert (served.state / "sandbox.json").stat().st_mode & 0o077 == 0
    with served.api() as api:
        assert api.get("/customers").status_code == 200
    assert served.stop(sig) == 0
    output = served.log.read_text()
    assert info["url"] in output and info["admin_key"] in output and "Traceback" not in output
    assert not (served.state / "sandbox.json").exists()


def test_a_restarted_server_keeps_its_state_and_logins(served: Served) -> None:
    with served.api() as api:
        api.post("/customers", json={"company_name": "Kept"})
    served.stop()
    again = Served(served.state)
    try:
        assert again.info["username"] != "ops"  # the default login, created alongside
        token = httpx.post(again.info["url"] + "/auth/token", json={}, auth=("ops", "pw-ops"))
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        customers = httpx.get(again.info["url"] + "/customers", headers=headers).json()
        assert [c["company_name"] for c in customers] == ["Kept"]
    finally:
        again.stop()


def test_control_commands_play_the_merchant(served: Served) -> None:
    state = str(served.state)
    assert run("sandbox", "outbox", "--state", state) == (0, "The outbox is empty.\n")
    with served.api() as api:
        customer = api.post("/customers", json={"company_name": "Acme"}).json()["id"]
        store = api.post(
            "/stores",
            json={
                "customer_id": customer,
                "name": "Acme US",
                "platform": "amazon",
                "adapter": {"marketplace_id": US},
            },
        ).json()["id"]
        code, out = run("sandbox", "revoke", str(store), "--state", state)
        assert code == 1 and "revoked." not in out and "Traceback" not in out
        assert out.startswith("error: ") and "409" in out
        assert "not authorized with Amazon (its authorization is missing)" in out
        assert api.get(f"/stores/{store}").json()["adapter"]["authorization"]["status"] == "missing"
        request = api.post(
            f"/stores/{store}/authorization_requests", json={"email": "ops@acme.example"}
        ).json()["id"]
        code, out = run("sandbox", "outbox", "--state", state)
        assert code == 0 and "ops@acme.example" in out and "/authorize/" in out
        assert f"request {request} (pending)" in out
        code, out = run(
            "sandbox",
            "authorize",
            str(request),
            "--state",
            state,
            "--selling-partner-id",
            "A1SELLER",
        )
        assert code == 0 and "A1SELLER" in out
        code, out = run("sandbox", "outbox", "--state", state)
        # A completed request's link no longer works: the outbox says so instead of showing it.
        assert f"request {request} (completed)" in out and "/authorize/" not in out
        assert "link no longer works: completed" in out
        assert (
            api.get(f"/stores/{store}").json()["adapter"]["authorization"]["status"] == "authorized"
        )
        assert run("sandbox", "revoke", str(store), "--state", state) == (
            0,
            f"Store {store}: authorization revoked.\n",
        )
        assert api.get(f"/stores/{store}").json()["adapter"]["authorization"]["status"] == "revoked"
        code, out = run("sandbox", "revoke", str(store), "--state", state)
        assert code == 1 and "its authorization is revoked" in out
        code, out = run("sandbox", "authorize", str(request), "--state", state)
        assert code == 1 and "409" in out and "Traceback" not in out
    code, out = run(
        "sandbox",
        "clock",
        "--advance",
        "2h",
        "--url",
        served.info["url"],
        "--admin-key",
        served.info["admin_key"],
    )
    assert code == 0 and "Sandbox time is now" in out
    assert run("sandbox", "reset", "--yes", "--state", state)[0] == 0
    with served.api() as api:
        assert api.get("/customers").json() == []


def test_control_commands_without_a_server_say_how_to_start_one(tmp_path: Path) -> None:
    code, out = run("sandbox", "outbox", "--state", str(tmp_path))
    assert code == 1 and "sandbox serve" in out and "Traceback" not in out


def test_wrong_admin_key_is_refused_without_traceback(served: Served) -> None:
    code, out = run(
        "sandbox", "reset", "--yes", "--url", served.info["url"], "--admin-key", "wrong"
    )
    assert code == 1 and "403" in out and "Traceback" not in out


@pytest.mark.parametrize(
    "text,seconds", [("90", 90), ("30m", 1800), ("12h", 43200), ("7d", 604800)]
)
def test_clock_accepts_seconds_and_units(text: str, seconds: float) -> None:
    from dropstream_sync.cli.sandbox import parse_duration

    assert parse_duration(text) == seconds


def test_clock_refuses_a_malformed_duration() -> None:
    code, out = run(
        "sandbox", "clock", "--advance", "soon", "--url", "http://127.0.0.1:9", "--admin-key", "k"
    )
    assert code == 2 and "soon" in out


@pytest.mark.parametrize("command", ["serve", "outbox", "authorize", "revoke", "clock", "reset"])
def test_every_subcommand_help_has_examples(command: str) -> None:
    code, out = run("sandbox", command, "--help")
    assert code == 0 and "Examples:" in out and f"dropstream-sync sandbox {command}" in out


def test_serving_on_a_port_in_use_says_to_pick_another(served: Served, tmp_path: Path) -> None:
    # A second `sandbox serve` (8765 is everyone's default) said only "Address already in use".
    port = served.info["url"].rsplit(":", 1)[1]
    result = subprocess.run(
        [*CLI, "sandbox", "serve", "--port", port, "--state", str(tmp_path / "other")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr == (
        f"error: cannot serve on 127.0.0.1:{port}: Address already in use; another program (an "
        "earlier `sandbox serve`?) listens there: give another --port, or --port 0 for any "
        "free one\n"
    )
