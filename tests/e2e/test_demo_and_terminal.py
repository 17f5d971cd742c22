"""The newcomer's path: the demo, and apply asking before it changes anything."""

from __future__ import annotations

import os
import pty
import subprocess
import time

import pytest

from tests.e2e.harness import CLI, Account

pytestmark = pytest.mark.e2e


def test_demo_runs_the_whole_lifecycle(tmp_path: object) -> None:
    result = subprocess.run([*CLI, "demo"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "NO_COLOR": "1"}, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    assert "authorization links" in out and "to amazon-ops@acme-outdoors.example" in out
    assert "✓ create_connection" in out
    assert "fulfillment_latency: 9 → " in out, "the out-of-band change shows as drift"
    assert "No changes." in out
    assert "re-invite amazon-ops@acme-outdoors.example" in out, "a year on, renewals go out"


def run_on_terminal(account: Account, answer: bytes, *args: str) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin, answering its prompt."""
    master, slave = pty.openpty()
    process = subprocess.Popen([*CLI, *args], env=account.env, cwd=account.workdir,
                               stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(slave)
    time.sleep(0.5)
    os.write(master, answer)
    out, err = process.communicate(timeout=120)
    os.close(master)
    return process.returncode, (out + err).decode()


def test_apply_asks_on_a_terminal_and_no_means_nothing_changes(account: Account) -> None:
    account.write_config({"version": 1, "merchants": [{"name": "Acme", "stores": [
        {"name": "Acme US", "marketplace": "US"}]}]})
    code, output = run_on_terminal(account, b"n\n", "apply", "stores.yaml")
    assert "Apply?" in output and code == 1
    assert account.api("GET", "/customers") == []

    code, output = run_on_terminal(account, b"y\n", "apply", "stores.yaml")
    assert code == 0, output
    assert [c["company_name"] for c in account.api("GET", "/customers")] == ["Acme"]


def test_apply_shows_progress_on_a_terminal_and_results_on_stdout(account: Account) -> None:
    account.write_config({"version": 1, "merchants": [{"name": "Acme", "stores": [
        {"name": "Acme US", "marketplace": "US"}, {"name": "Acme CA", "marketplace": "CA"}]}]})
    master, slave = pty.openpty()
    process = subprocess.Popen([*CLI, "apply", "stores.yaml", "--auto-approve"],
                               env=account.env, cwd=account.workdir, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    out, _ = process.communicate(timeout=120)
    terminal = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        terminal += chunk
    os.close(master)
    assert process.returncode == 0
    assert b"[1/3]" in terminal and b"[3/3]" in terminal, terminal
    assert b"[1/3]" not in out and b"Apply complete: 3 done" in out
