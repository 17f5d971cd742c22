"""The newcomer's path: the demo, and apply asking before it changes anything."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.harness import CLI, Account

pytestmark = pytest.mark.e2e


def _demo(cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`dropstream-sync demo` as a user runs it, without colour and with no terminal."""
    return subprocess.run(
        [*CLI, "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
        stdin=subprocess.DEVNULL,
        cwd=cwd,
    )


def test_demo_runs_the_whole_lifecycle(tmp_path: object) -> None:
    result = _demo()
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    assert "authorization links" in out and "to amazon-ops@acme-outdoors.example" in out
    assert "✓ create_connection" in out
    assert "fulfillment_latency: 9 → " in out, "the out-of-band change shows as drift"
    assert "No changes." in out
    assert "re-invite amazon-ops@acme-outdoors.example" in out, "a year on, renewals go out"


def test_demo_fits_a_screenful_or_two_and_its_hint_names_a_file_the_user_has(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Run where there is no examples/ folder (as after `pip install`): the closing hint
    must not point inside the installed package, and apply's lines are apply's own."""
    result = _demo(cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) < 120, f"the demo printed {len(lines)} lines"
    assert any(x.startswith("Apply complete: ") and " unknown, " in x for x in lines)
    hint = lines[-1]
    named = Path(hint.split("dropstream-sync plan ", 1)[1].split(" ", 1)[0])
    assert named.is_file(), hint
    assert "site-packages" not in str(named) and "dropstream_sync" not in named.parts, hint
    # The report folder the demo keeps is in the TMPDIR the tests give it (tests/conftest.py),
    # pytest's own folder, so the suite leaves no dropstream-demo-out-* in /tmp.
    report = next(x for x in lines if x.strip().startswith("Report: "))
    kept = Path(report.split("Report: ", 1)[1]).parent
    assert kept.is_relative_to(tmp_path_factory.getbasetemp()), report


def read_until(master: int, text: bytes, *, seconds: float = 60) -> bytes:
    """What the terminal shows up to and including `text`; fails if it never does."""
    seen = b""
    deadline = time.monotonic() + seconds
    while text not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {text!r} on the terminal within {seconds} s: {seen!r}"
        ready, _, _ = select.select([master], [], [], left)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the other end closed: the process is gone
                chunk = b""
            assert chunk, f"the terminal closed before {text!r}: {seen!r}"
            seen += chunk
    return seen


def read_rest(master: int) -> bytes:
    rest = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            return rest
        if not chunk:
            return rest
        rest += chunk


def run_on_terminal(account: Account, answer: bytes, *args: str) -> tuple[int, str]:
    """Run the CLI on a pseudo-terminal (stdin, and stderr where it asks), and answer its
    prompt once it has asked."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [*CLI, *args],
        env=account.env,
        cwd=account.workdir,
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    terminal = read_until(master, b"Apply?")
    os.write(master, answer)
    out, _ = process.communicate(timeout=120)
    terminal += read_rest(master)
    os.close(master)
    return process.returncode, out.decode() + terminal.decode(errors="replace")


def run_with_terminal(
    args: list[str], env: dict[str, str], cwd: Path, *, terminal: str
) -> tuple[int, bytes, bytes]:
    """Run the CLI with `terminal` ("stdout" or "stderr") on a pseudo-terminal and the other
    stream piped; the exit code, what reached the terminal, and what reached the pipe."""
    master, slave = pty.openpty()
    on_terminal = terminal == "stdout"
    process = subprocess.Popen(
        [*CLI, *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=slave if on_terminal else subprocess.PIPE,
        stderr=subprocess.PIPE if on_terminal else slave,
    )
    os.close(slave)
    out, err = process.communicate(timeout=120)
    shown = read_rest(master)
    os.close(master)
    return process.returncode, shown, err if on_terminal else out


def test_apply_asks_on_a_terminal_and_no_means_nothing_changes(account: Account) -> None:
    account.write_config(
        {
            "version": 1,
            "merchants": [{"name": "Acme", "stores": [{"name": "Acme US", "marketplace": "US"}]}],
        }
    )
    code, output = run_on_terminal(account, b"n\n", "apply", "stores.yaml")
    assert "Apply?" in output and code == 1
    # Before, click's "Aborted.", which did not say whether anything had been applied.
    assert output.endswith("Apply? [y/N]: n\r\nApply cancelled; nothing was changed.\r\n"), output
    assert account.api("GET", "/customers") == []

    code, output = run_on_terminal(account, b"y\n", "apply", "stores.yaml")
    assert code == 0, output
    assert [c["company_name"] for c in account.api("GET", "/customers")] == ["Acme"]


def test_apply_shows_progress_on_a_terminal_and_results_on_stdout(account: Account) -> None:
    account.write_config(
        {
            "version": 1,
            "merchants": [
                {
                    "name": "Acme",
                    "stores": [
                        {"name": "Acme US", "marketplace": "US"},
                        {"name": "Acme CA", "marketplace": "CA"},
                    ],
                }
            ],
        }
    )
    code, terminal, out = run_with_terminal(
        ["apply", "stores.yaml", "--auto-approve"], account.env, account.workdir, terminal="stderr"
    )
    assert code == 0
    assert b"[1/3]" in terminal and b"[3/3]" in terminal, terminal
    assert b"[1/3]" not in out and b"Apply complete: 3 done" in out


def test_apply_json_on_a_terminal_writes_the_plan_to_a_redirected_stderr_without_colour(
    account: Account,
) -> None:
    """`apply --format json 2> plan.log` at a terminal: stdout is the terminal (colour is
    allowed there), but the plan goes to stderr, a file, which must get no escape codes."""
    account.write_config(
        {
            "version": 1,
            "merchants": [{"name": "Acme", "stores": [{"name": "Acme US", "marketplace": "US"}]}],
        }
    )
    env = {k: v for k, v in account.env.items() if k != "NO_COLOR"}
    code, terminal, err = run_with_terminal(
        ["apply", "stores.yaml", "--auto-approve", "--format", "json"],
        env,
        account.workdir,
        terminal="stdout",
    )
    assert code == 0, err
    assert b'"ok": 2' in terminal
    assert b'+ create store "Acme US"' in err and b"\x1b[" not in err, err


def test_no_color_and_verbose_are_taken_after_the_command_too(tmp_path: Path) -> None:
    """`plan stores.yaml --no-color -v`, as Terraform users write it (and as the GitHub
    Action passes its `args`, after the paths): no colour on the terminal, -v's progress on
    stderr. Before, both were "No such option" (exit 1) unless written before `plan`."""
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    config = str(Path(__file__).resolve().parents[2] / "examples" / "stores.yaml")
    args = ["plan", config, "--sandbox", str(tmp_path / "sb")]
    code, terminal, err = run_with_terminal(
        [*args, "--no-color", "-v"], env, tmp_path, terminal="stdout"
    )
    assert code == 0, err
    assert b'+ create store "Acme Outdoors US"' in terminal and b"\x1b[" not in terminal
    assert b"INFO dropstream_sync: reading the live account" in err


def test_ctrl_c_at_the_apply_prompt_is_an_interrupt_and_changes_nothing(account: Account) -> None:
    # click raises the prompt's KeyboardInterrupt as Abort `from None`, so Ctrl-C there was
    # taken for a declined prompt: "Aborted.", exit 1, where every other interrupt is 130.
    account.write_config(
        {
            "version": 1,
            "merchants": [{"name": "Acme", "stores": [{"name": "Acme US", "marketplace": "US"}]}],
        }
    )
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [*CLI, "apply", "stores.yaml"],
        env=account.env,
        cwd=account.workdir,
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=slave,
        # A runner that ignores SIGINT would pass that on; Ctrl-C on a terminal is not ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    os.close(slave)
    read_until(master, b"Apply? [y/N]: ")
    # The prompt is on the terminal a moment before readline waits for a key: a SIGINT in
    # that moment is noted but wakes no wait (a person's Ctrl-C comes later), and the run
    # hung. So it is sent again, long after, only while the process is still waiting.
    for _ in range(6):
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
            break
        except subprocess.TimeoutExpired:
            continue
    process.communicate(timeout=120)
    terminal = read_rest(master)
    os.close(master)
    assert process.returncode == 130
    assert terminal.endswith(b"Interrupted.\r\n"), terminal
    assert account.api("GET", "/customers") == []


@pytest.mark.parametrize(("value", "coloured"), [("1", False), ("0", False), ("", True)])
def test_no_color_set_to_any_value_but_empty_turns_colour_off(
    tmp_path: Path, value: str, coloured: bool
) -> None:
    # no-color.org: "present and not an empty string (regardless of its value)".
    env = {**{k: v for k, v in os.environ.items() if k != "NO_COLOR"}, "NO_COLOR": value}
    config = str(Path(__file__).resolve().parents[2] / "examples" / "stores.yaml")
    code, terminal, err = run_with_terminal(
        ["plan", config, "--sandbox", str(tmp_path / "sb")], env, tmp_path, terminal="stdout"
    )
    assert code == 0, err
    assert b'create store "Acme Outdoors US"' in terminal
    assert (b"\x1b[" in terminal) is coloured
