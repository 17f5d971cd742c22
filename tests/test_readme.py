"""The README's sample session is a real one (issue 17.6): the commands of its "The workflow"
block run against a fresh sandbox with the example config, and their output is the block's.

Regenerate after an intended change of output: UPDATE_README=1 pytest tests/test_readme.py,
then review the diff of README.md.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click

from dropstream_sync.cli import cli

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
EXAMPLE = ROOT / "examples" / "stores.yaml"
CLI = [sys.executable, "-c", "from dropstream_sync.cli import main; main()"]
# The one shell construct the block uses: show the exit code of the command before it.
ECHO_EXIT = '; echo "exit $?"'
# A console block in the workflow section: ```console ... ```
BLOCK = re.compile(r"(## The workflow\n.*?```console\n)(.*?)(```\n)", re.S)


def normalize(text: str) -> str:
    """Only what varies from run to run: how long an apply took."""
    return re.sub(r" in \d+(\.\d+)?s\.$", " in 0.0s.", text, flags=re.M)


def takes_sandbox(name: str) -> bool:
    command = cli.get_command(click.Context(cli), name)
    return command is not None and any(p.name == "sandbox_dir" for p in command.params)


def session(block: str) -> list[str]:
    """The block's command lines, in order."""
    return [line[2:] for line in block.splitlines() if line.startswith("$ ")]


def run(command: str, cwd: Path, state: Path) -> str:
    """One command line as a console shows it: stdout and stderr as they interleave.

    Every command that connects gets `--sandbox STATE` (the README: "every command below
    also takes `--sandbox [DIR]`"), so that the session runs without an account."""
    echo_exit = command.endswith(ECHO_EXIT)
    argv = shlex.split(command.removesuffix(ECHO_EXIT))
    assert argv[0] == "dropstream-sync", f"not a dropstream-sync command: {command}"
    args = argv[1:] + (["--sandbox", str(state)] if takes_sandbox(argv[1]) else [])
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    done = subprocess.run(
        [*CLI, *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
    )
    if not echo_exit:
        assert done.returncode == 0, f"{command}: exit {done.returncode}\n{done.stdout}"
    assert "Traceback" not in done.stdout, done.stdout
    return done.stdout + (f"exit {done.returncode}\n" if echo_exit else "")


def real_session(commands: list[str], tmp_path: Path) -> str:
    work = tmp_path / "repo"
    work.mkdir()
    shutil.copy(EXAMPLE, work / "stores.yaml")
    state = tmp_path / "sandbox"
    return "\n".join(f"$ {c}\n{run(c, work, state)}" for c in commands)


def test_the_workflow_block_is_the_output_of_a_real_run(tmp_path: Path) -> None:
    readme = README.read_text(encoding="utf-8")
    found = BLOCK.search(readme)
    assert found, "README.md has no ```console block in its 'The workflow' section"
    commands = session(found.group(2))
    assert len(commands) >= 3, commands
    expected = normalize(real_session(commands, tmp_path))
    if os.environ.get("UPDATE_README"):
        README.write_text(
            readme[: found.start(2)] + expected + readme[found.end(2) :], encoding="utf-8"
        )
    assert found.group(2) == expected, (
        "README.md's workflow block differs from a real run (UPDATE_README=1 pytest "
        f"tests/test_readme.py rewrites it). A real run prints:\n{expected}"
    )
