"""Fixtures for every test."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# The system's temporary folder, as the test run found it (before the fixture below).
SYSTEM_TEMP = Path(tempfile.gettempdir())


@pytest.fixture(scope="session", autouse=True)
def temporary_folder_inside_pytests(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The temporary folder of the tests and of every command they start (TMPDIR, which
    subprocesses inherit): a folder of pytest's own base temp, not the system's.

    Some of what the tool writes there is meant to stay: `demo` keeps its report folder
    (`dropstream-demo-out-*`) so that the printed path can be opened (docs/cli.md). Run by
    the tests, that left about thirty folders in /tmp per run; here they go with pytest's
    own folder of that run, which pytest removes after three newer runs."""
    folder = tmp_path_factory.mktemp("tmpdir")
    patch = pytest.MonkeyPatch()
    patch.setenv("TMPDIR", str(folder))
    # tempfile reads TMPDIR once and keeps the answer; this process asked already.
    patch.setattr(tempfile, "tempdir", str(folder))
    yield folder
    patch.undo()
