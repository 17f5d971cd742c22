"""The command line run in this process, as a user runs it: its exit code, stdout, stderr."""

from __future__ import annotations

from pathlib import Path

import pytest

from dropstream_sync.cli import main

EXAMPLE = str(Path(__file__).resolve().parents[1] / "examples" / "stores.yaml")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 1), out, err
