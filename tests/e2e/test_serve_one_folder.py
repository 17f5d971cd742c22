"""One `sandbox serve` per state folder. Its `sandbox.json` tells clients (the control
commands, the e2e harness, a person's scripts) the URL and keys of the server on the folder:
a second `sandbox serve --port 0` on it wrote its own over the first's, so the first one's
clients went to the second (and lost it when the second stopped). Now the second is refused,
naming the running one, and the first's file is left as it was."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import CLI, Server, start_server, stop_server

pytestmark = pytest.mark.e2e


def serve_again(state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "sandbox", "serve", "--port", "0", "--state", str(state), "--admin-key", "second"],
        capture_output=True,
        text=True,
        timeout=30,  # refused at once; before, it served (ran on) and was cut off here
        stdin=subprocess.DEVNULL,
    )


def stats(server: Server) -> httpx.Response:
    return httpx.get(
        server.url + "/_sandbox/stats", headers={"X-Sandbox-Admin": server.admin_key}, timeout=5
    )


def test_a_second_serve_on_a_served_folder_is_refused_and_leaves_the_first_s_file(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    first = start_server(state)
    try:
        before = (state / "sandbox.json").read_text()

        second = serve_again(state)

        assert second.returncode == 1, second.stderr
        assert "Traceback" not in second.stderr
        assert second.stderr.strip() == (
            f"error: the sandbox folder {state} is already served: another `sandbox serve` "
            f"(pid {first.process.pid}) serves it at {first.url} (login and admin key in "
            f"{state / 'sandbox.json'}). Use that one, stop it first, or give another "
            "--state folder"
        )
        # The first one's clients still find it, with its own keys, and it still runs.
        assert (state / "sandbox.json").read_text() == before
        assert json.loads(before)["url"] == first.url
        assert first.process.poll() is None and stats(first).status_code == 200
        outbox = subprocess.run(
            [*CLI, "sandbox", "outbox", "--state", str(state)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (outbox.returncode, outbox.stdout) == (0, "The outbox is empty.\n"), outbox.stderr
    finally:
        stop_server(first)
    assert not (state / "sandbox.json").exists()

    # Stopped, the folder is free again; and killed (no clean stop, its sandbox.json left
    # behind), too: the lock goes with the process.
    again = start_server(state)
    os.kill(again.process.pid, signal.SIGKILL)
    again.process.wait(timeout=15)
    assert (state / "sandbox.json").exists()
    last = start_server(state)
    try:
        assert json.loads((state / "sandbox.json").read_text())["url"] == last.url
        assert stats(last).status_code == 200
    finally:
        stop_server(last)
