"""The command line's outer contract: version, help with examples, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dropstream_sync import __version__
from dropstream_sync.cli import _COMMANDS


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from dropstream_sync.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_version_prints_the_package_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_python_m_runs_the_same_command_line() -> None:
    """`python -m dropstream_sync.cli` from a checkout (no script installed); before, it was
    "'dropstream_sync.cli' is a package and cannot be directly executed" (exit 1)."""
    result = subprocess.run(
        [sys.executable, "-m", "dropstream_sync.cli", "plan", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: dropstream-sync plan [OPTIONS] PATH...")


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


def test_a_mistyped_command_gets_the_closest_one_suggested() -> None:
    result = run("plna", "stores.yaml")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "No such command 'plna'" in result.stderr and "Did you mean 'plan'?" in result.stderr


def _complete(*words: str) -> str:
    # click's bash completion protocol: COMP_WORDS is the line, COMP_CWORD the word completed.
    env = {
        **os.environ,
        "_DROPSTREAM_SYNC_COMPLETE": "bash_complete",
        "COMP_WORDS": " ".join(["dropstream-sync", *words]),
        "COMP_CWORD": str(len(words)),
    }
    return subprocess.run(
        [sys.executable, "-c", "from dropstream_sync.cli import main; main()"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    ).stdout


@pytest.mark.parametrize("command", ["validate", "plan", "apply", "show"])
def test_shell_completion_completes_file_paths_for_path_arguments(command: str) -> None:
    # "file": the shell's own file-name completion takes over (click's Path type).
    assert _complete(command, "").splitlines() == ["file,"]


def test_shell_completion_still_completes_commands_and_options() -> None:
    assert "plain,plan" in _complete("pl").splitlines()
    assert "plain,--merchant" in _complete("apply", "--mer").splitlines()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (a full disk)")
@pytest.mark.parametrize("args", [("schema",), ("plan", "{example}", "--sandbox", "{state}")])
def test_stdout_on_a_full_disk_is_one_error_line_and_exit_1(
    args: tuple[str, ...], tmp_path: os.PathLike[str]
) -> None:
    # `plan > plan.txt` with the disk full: an OSError traceback from the renderer.
    example = os.path.join(os.path.dirname(__file__), "..", "examples", "stores.yaml")
    argv = [a.format(example=example, state=os.path.join(tmp_path, "sb")) for a in args]
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-c", "from dropstream_sync.cli import main; main()", *argv],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1
    assert (
        result.stderr.splitlines()[-1] == "error: cannot write the output: No space left on device"
    )
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr


def _on_a_console_of(encoding: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", "from dropstream_sync.cli import main; main()", *args],
        capture_output=True,
        timeout=120,
        env={**os.environ, "PYTHONIOENCODING": encoding, "PYTHONUTF8": "0"},
    )


_CAFE = (
    "version: 1\nmerchants:\n  - name: Café Olé\n    stores:\n"
    "      - name: Olé US…\n        marketplace: US\n"
)


@pytest.mark.parametrize(
    ("encoding", "store"), [("latin-1", b"Ol\xe9 US..."), ("ascii", b"Ol\\u00e9 US...")]
)
def test_a_plan_on_a_console_that_is_not_utf8_is_written_not_a_traceback(
    encoding: str, store: bytes, tmp_path: os.PathLike[str]
) -> None:
    # LANG=C with PYTHONUTF8=0, an ISO-8859-1 locale: the plan's first `…` was a
    # UnicodeEncodeError traceback, with the plan unwritten.
    config = os.path.join(tmp_path, "cafe.yaml")
    with open(config, "w", encoding="utf-8") as file:
        file.write(_CAFE)
    state = os.path.join(tmp_path, "sb")
    result = _on_a_console_of(encoding, "plan", config, "--sandbox", state)
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
    assert b'+ create store "' + store + b'" (US, created disabled)' in result.stdout
    assert b"... pending: " in result.stdout
    # JSON on such a console is still JSON (in its encoding), of the very names.
    result = _on_a_console_of(encoding, "plan", config, "--sandbox", state, "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout.decode(encoding))
    assert document["desired"]["merchants"][0]["name"] == "Café Olé"


def test_import_to_stdout_on_a_latin1_console_writes_the_utf8_the_config_needs(
    tmp_path: os.PathLike[str],
) -> None:
    # `import > stores.yaml` wrote `é` in Latin-1 (a file plan refuses as not UTF-8) and `…`
    # failed with a traceback.
    config = os.path.join(tmp_path, "cafe.yaml")
    with open(config, "w", encoding="utf-8") as file:
        file.write(_CAFE)
    state = os.path.join(tmp_path, "sb")
    applied = _on_a_console_of("latin-1", "apply", config, "--sandbox", state, "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    imported = _on_a_console_of("latin-1", "import", "--sandbox", state)
    assert imported.returncode == 0, imported.stderr
    assert "  - name: Olé US…\n" in imported.stdout.decode("utf-8")
    again = os.path.join(tmp_path, "imported.yaml")
    with open(again, "wb") as file:
        file.write(imported.stdout)
    planned = _on_a_console_of("latin-1", "plan", again, "--sandbox", state)
    assert planned.returncode == 0, planned.stderr
    assert planned.stdout.endswith(b"No changes. 1 pending.\n")
