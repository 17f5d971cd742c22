"""After an interrupted apply, the summary's advice is a command the user can copy: the
paths they gave and where they connected (`--sandbox DIR`), checked by running it.

A real `dropstream-sync apply` on the in-process sandbox, paced by `--max-rate` so that it
is still applying when SIGINT comes (once its audit log has its first line)."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
import yaml

from dropstream_sync.cli import cli
from tests.reliability.checks import fleet

CLI = [sys.executable, "-c", "from dropstream_sync.cli import main; main()"]


def dropstream_sync(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def interrupted_apply(cwd: Path, *args: str) -> str:
    """SIGINT to `apply ARGS... --audit-log audit.jsonl --max-rate 20` after its first
    change; its stdout (exit 130 and no traceback checked)."""
    audit = cwd / "audit.jsonl"
    process = subprocess.Popen(
        [*CLI, "apply", *args, "--audit-log", "audit.jsonl", "--max-rate", "20"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not (audit.exists() and audit.read_text()):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no audit line after 60 s"
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in err, (out, err)
    return out


def advised(out: str) -> list[str]:
    """The command in backquotes in the summary's advice, split as a shell would."""
    [summary] = [line for line in out.splitlines() if line.startswith("Apply interrupted")]
    return shlex.split(summary.split("`")[1])


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    # Enough changes at 20 requests a second that the apply is still running at the signal.
    (tmp_path / "my stores.yaml").write_text(yaml.safe_dump(fleet(8, 2)))
    return tmp_path


def test_after_an_interrupted_apply_of_config_paths_the_advised_plan_runs_as_printed(
    workdir: Path,
) -> None:
    # Before: "run `dropstream-sync plan` to see what is left", which is "Missing argument
    # 'PATH...'" as printed, and without --sandbox a plan of another account.
    out = interrupted_apply(workdir, "my stores.yaml", "--sandbox", "state", "--auto-approve")
    command = advised(out)
    assert command == ["dropstream-sync", "plan", "my stores.yaml", "--sandbox", "state"]
    left = dropstream_sync(workdir, *command[1:], "--format", "json")
    assert left.returncode == 0, left.stderr
    done = [json.loads(line) for line in (workdir / "audit.jsonl").read_text().splitlines()]
    # The plan is of the same account: what the apply did is no longer in it.
    assert {c["id"] for c in json.loads(left.stdout)["changes"]}.isdisjoint(
        r["change_id"] for r in done if r["outcome"] == "ok"
    )
    assert json.loads(left.stdout)["changes"]


def test_after_an_interrupted_saved_plan_the_advice_makes_that_plan_file_anew(
    workdir: Path,
) -> None:
    made = dropstream_sync(workdir, "plan", "my stores.yaml", "--sandbox", "--out", "tfplan")
    assert made.returncode == 0, made.stderr
    out = interrupted_apply(workdir, "tfplan", "--sandbox")
    command = advised(out)
    # The plan file records no config paths: PATH... stands for them.
    assert command == ["dropstream-sync", "plan", "PATH...", "--sandbox", "--out", "tfplan"]
    # As the tool's own command line reads it: PATH... is the one word to replace, and
    # --sandbox (the folder this apply used) is no DIR taken from what follows.
    plan = cli.get_command(click.Context(cli), "plan")
    assert plan is not None
    params = plan.make_context("plan", command[2:]).params
    assert params["paths"] == ("PATH...",) and params["out"] == "tfplan"
    assert params["sandbox_dir"] == ".dropstream-sandbox"
    again = dropstream_sync(workdir, "plan", "my stores.yaml", *command[3:])
    assert again.returncode == 0, again.stderr
    applied = dropstream_sync(workdir, "apply", "tfplan", "--sandbox")
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.splitlines()[-1].startswith("Apply complete:")
    settled = dropstream_sync(workdir, "plan", "my stores.yaml", "--sandbox", "--detailed-exitcode")
    assert settled.returncode == 0, settled.stdout + settled.stderr
