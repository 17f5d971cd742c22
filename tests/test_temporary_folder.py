"""The test suite leaves nothing in the system's temporary folder: what a command keeps
there on purpose (`demo`'s report folder, docs/cli.md) goes into pytest's own base temp
(tests/conftest.py), in this process and in every command a test starts."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.cli_in_process import run
from tests.conftest import SYSTEM_TEMP


def _report_folder(out: str) -> Path:
    line = next(x for x in out.splitlines() if x.strip().startswith("Report: "))
    return Path(line.split("Report: ", 1)[1]).parent


def test_a_demo_run_by_a_test_keeps_its_report_inside_pytests_folder(
    capsys: pytest.CaptureFixture[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    before = set(SYSTEM_TEMP.glob("dropstream-demo-out-*"))
    code, out, err = run(capsys, "demo", "--approve", "1")
    assert code == 0, err
    kept = _report_folder(out)
    # Kept, as the demo documents, but where pytest removes it with its own old runs.
    assert (kept / "report.html").is_file()
    assert kept.is_relative_to(tmp_path_factory.getbasetemp())
    assert kept.parent != SYSTEM_TEMP
    assert kept not in set(SYSTEM_TEMP.glob("dropstream-demo-out-*")) - before


def test_a_command_a_test_starts_has_the_same_temporary_folder(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # The e2e tests run `demo` as a user does, as a subprocess: it inherits TMPDIR.
    asked = subprocess.run(
        [sys.executable, "-c", "import tempfile; print(tempfile.gettempdir())"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(asked) == Path(tempfile.gettempdir())
    assert Path(asked).is_relative_to(tmp_path_factory.getbasetemp())
