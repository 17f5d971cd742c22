"""Fixtures for the GitOps tests (helpers live in gitops_files.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.gitops.gitops_files import HARNESS, Call, RunScript


@pytest.fixture
def run_github_script(tmp_path: Path) -> RunScript:
    """Run a github-script body in tmp_path (where it finds `files`) with `env` set;
    returns the REST calls it made, in order."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is missing in CI: the github-script steps cannot be executed")
        pytest.skip("node is not installed: the github-script steps cannot be executed")

    def run(
        script: str,
        *,
        files: Mapping[str, str],
        env: Mapping[str, str] | None = None,
        comments: list[Call] | None = None,
        issues: list[Call] | None = None,
    ) -> list[Call]:
        for name, text in files.items():
            (tmp_path / name).write_text(text, encoding="utf-8")
        (tmp_path / "script.js").write_text(script, encoding="utf-8")
        (tmp_path / "harness.js").write_text(HARNESS, encoding="utf-8")
        (tmp_path / "state.json").write_text(
            json.dumps({"comments": comments or [], "issues": issues or []}), encoding="utf-8"
        )
        result = subprocess.run(
            [node, "harness.js", "script.js", "state.json"],
            cwd=tmp_path,
            env={"PATH": os.environ.get("PATH", ""), **(env or {})},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        calls: list[Call] = json.loads(result.stdout)
        return calls

    return run
