"""The command line's outer contract: version, help with examples, exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dropstream_sync import __version__
from dropstream_sync.cli import _COMMANDS


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from dropstream_sync.cli import main; main()", *args],
        capture_output=True, text=True, timeout=60,
    )


def test_version_prints_the_package_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_help_lists_every_command_with_examples() -> None:
    result = run("--help")
    assert result.returncode == 0
    for name in _COMMANDS:
        assert name in result.stdout
    assert "Examples:" in result.stdout


@pytest.mark.parametrize("command", sorted(_COMMANDS))
def test_every_subcommand_help_has_examples(command: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Example" in result.stdout, f"{command} --help has no examples"


def test_unknown_command_is_exit_1_without_traceback() -> None:
    result = run("frobnicate")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "No such command" in result.stderr


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from dropstream_sync.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('httpx', 'pydantic', 'fastapi', 'yaml', 'jsonschema', 'uvicorn')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY []" in result.stdout, result.stdout
