"""A newcomer's first day with the tool: the shell habits and mistakes of someone who knows
Terraform (`| head`, `python -m`, a typo in a port, an --out folder not made yet, a URL that
is some other web server), each ending in the exit code and the one line product.md §4 and
docs/cli.md promise."""

from __future__ import annotations

import subprocess
import sys

CLI = [sys.executable, "-m", "dropstream_sync"]


def test_python_m_with_the_package_name_runs_the_command_line() -> None:
    # Before: "'dropstream_sync' is a package and cannot be directly executed", exit 1.
    result = subprocess.run([*CLI, "plan", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: dropstream-sync plan [OPTIONS] PATH...")
