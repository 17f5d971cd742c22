"""The repository is a GitHub Action (action.yml): its shell steps, run here as GitHub runs
them, install the tool from the action's own files into a fresh Python and run a command; the
examples use it at one pinned commit."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.gitops.gitops_files import (
    GITHUB_ACTIONS,
    GITLAB_CI,
    ROOT,
    all_steps,
    is_this_action,
    load_yaml,
)

ACTION = ROOT / "action.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
# What the docs and examples write until a reader puts in their repository and commit.
PLACEHOLDER_SHA = "0" * 40
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
COPY_IGNORES = shutil.ignore_patterns(
    ".git",
    "__pycache__",
    "*.egg-info",
    "build",
    "dist",
    ".venv",
    ".dropstream-sandbox",
    ".*_cache",
    ".hypothesis",
    "results",
)


def action() -> dict[Any, Any]:
    return load_yaml(ACTION)


def expand(value: object, *, inputs: Mapping[str, str], action_path: Path) -> str:
    """${{ }} as GitHub expands it before the step runs, for what action.yml may use."""

    def one(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression == "github.action_path":
            return str(action_path)
        if expression.startswith("inputs.") and expression[7:] in inputs:
            return inputs[expression[7:]]
        raise AssertionError(
            f"action.yml uses ${{{{ {expression} }}}}, which this test "
            "cannot expand: teach it, or keep the step to inputs.*"
        )

    return EXPRESSION.sub(one, str(value))


@dataclass
class Runner:
    """A fresh venv standing in for the Python setup-python gives, and the action's files at
    the ref a workflow pinned (GitHub downloads them to GITHUB_ACTION_PATH)."""

    venv: Path
    action_path: Path
    workspace: Path

    def env(self) -> dict[str, str]:
        # No PYTHONPATH and no pyenv shims: only the venv's tools and the system's.
        keep = {
            k: v
            for k, v in os.environ.items()
            if k.startswith(("PIP_", "LANG", "LC_")) or k in ("HOME", "TMPDIR")
        }
        return {
            **keep,
            "PATH": f"{self.venv / 'bin'}:/usr/bin:/bin",
            "GITHUB_ACTION_PATH": str(self.action_path),
            "GITHUB_WORKSPACE": str(self.workspace),
        }

    def run(
        self, inputs: Mapping[str, str], *, skip_install: bool = False
    ) -> list[subprocess.CompletedProcess[str]]:
        spec = action()
        defaults = {name: str(i.get("default", "")) for name, i in spec["inputs"].items()}
        assert set(inputs) <= set(defaults), f"not inputs: {set(inputs) - set(defaults)}"
        given = {**defaults, **inputs}
        results = []
        for step in spec["runs"]["steps"]:
            if "uses" in step:
                continue  # setup-python: the venv is the Python it would give
            if skip_install and "pip install" in step["run"]:
                continue
            assert step["shell"] == "bash"
            env = {
                name: expand(value, inputs=given, action_path=self.action_path)
                for name, value in (step.get("env") or {}).items()
            }
            script = expand(step["run"], inputs=given, action_path=self.action_path)
            # GitHub runs a composite action's `shell: bash` step like this.
            result = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                cwd=self.workspace,
                env={**self.env(), **env},
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            results.append(result)
            if result.returncode != 0:
                break  # the step fails, and with it the action
        return results


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    base = tmp_path_factory.mktemp("action")
    venv = base / "venv"
    # The tool's dependencies come from the system site: offline, and quick.
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120
    )
    action_path = base / "dropstream-sync"
    shutil.copytree(ROOT, action_path, ignore=COPY_IGNORES)
    workspace = base / "workspace"
    (workspace / "stores").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "stores.yaml", workspace / "stores" / "stores.yaml")
    return Runner(venv, action_path, workspace)


@pytest.fixture(scope="module")
def validated(runner: Runner) -> list[subprocess.CompletedProcess[str]]:
    return runner.run({"command": "validate", "paths": "stores/"})


def test_the_action_installs_the_tool_from_its_own_files(
    runner: Runner, validated: list[Any]
) -> None:
    assert all(r.returncode == 0 for r in validated), [r.stdout + r.stderr for r in validated]
    python = runner.venv / "bin" / "python"
    found = subprocess.run(
        [
            str(python),
            "-c",
            "import dropstream_sync, importlib.metadata as m, json; print("
            "json.dumps([dropstream_sync.__file__, "
            "m.distribution('dropstream-sync').read_text('direct_url.json')]))",
        ],
        # Not from here: `python -c` would import the checkout it is started in.
        cwd=runner.workspace,
        env=runner.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    module, direct_url = json.loads(found.stdout)
    # Into the fresh Python, not the developer's editable install...
    assert Path(module).is_relative_to(runner.venv), module
    # ...and built from the action's files (pip records where it got them, PEP 610).
    assert json.loads(direct_url)["url"] == runner.action_path.as_uri()
    assert shutil.which("dropstream-sync", path=str(runner.venv / "bin"))
    assert f"version {VERSION}" in validated[0].stdout


def test_the_action_runs_the_command_on_the_paths(validated: list[Any]) -> None:
    assert validated[-1].stdout.startswith("OK: 1 file(s), 4 merchant(s)")


def test_a_failing_command_fails_the_action_with_the_tools_error(
    runner: Runner, validated: list[Any]
) -> None:
    (runner.workspace / "broken.yaml").write_text(
        "version: 1\nmerchants: [{name: Acme}]\ncolour: blue\n", encoding="utf-8"
    )
    [result] = runner.run({"command": "validate", "paths": "broken.yaml"}, skip_install=True)
    assert result.returncode == 1
    assert "colour" in result.stderr and "Traceback" not in result.stderr


def test_inputs_are_words_never_shell_code(runner: Runner, validated: list[Any]) -> None:
    [result] = runner.run(
        {"command": "validate", "paths": "stores/", "args": "$(touch pwned) ; touch pwned *"},
        skip_install=True,
    )
    assert result.returncode != 0
    assert not (runner.workspace / "pwned").exists()


def test_without_a_command_the_action_only_installs(runner: Runner, validated: list[Any]) -> None:
    results = runner.run({}, skip_install=True)
    assert [(r.returncode, r.stdout, r.stderr) for r in results] == [(0, "", "")]


def test_every_example_installs_the_tool_through_the_action_at_one_pinned_commit() -> None:
    pins = set()
    for path in sorted(GITHUB_ACTIONS.glob("*.yml")):
        steps = all_steps(load_yaml(path))
        assert not [s for s in steps if "pip install" in str(s.get("run", ""))], path.name
        ours = [s for s in steps if is_this_action(s)]
        assert ours, f"{path.name} does not use the action"
        pins |= {s["uses"] for s in ours}
        # The tag the commit stands for, beside each use (YAML drops comments: read the text).
        for line in path.read_text(encoding="utf-8").splitlines():
            if "OWNER/dropstream-sync@" in line:
                assert line.rstrip().endswith(f"# v{VERSION}"), line
    assert pins == {f"OWNER/dropstream-sync@{PLACEHOLDER_SHA}"}


def test_docs_and_the_gitlab_example_name_the_same_release_and_placeholder() -> None:
    texts = {
        p.name: p.read_text(encoding="utf-8")
        for p in (GITLAB_CI, ROOT / "docs" / "ci.md", ROOT / "docs" / "onboarding.md")
    }
    for name, text in texts.items():
        # What a reader copies installs from the repository: the package is on no index.
        blocks = (
            "\n".join(re.findall(r"```\w*\n(.*?)```", text, flags=re.S))
            if name.endswith(".md")
            else text
        )
        for line in blocks.splitlines():
            if re.search(r"\bpipx? install\b", line) and "dropstream-sync" in line:
                assert "github.com/OWNER/dropstream-sync" in line, f"{name}: {line}"
        for sha in re.findall(r"dropstream-sync(?:@|/archive/)([0-9a-f]{7,40})", text):
            assert sha == PLACEHOLDER_SHA, f"{name}: {sha}"
        for tag in re.findall(r"dropstream-sync@(v[0-9][\w.]*)", text):
            assert tag == f"v{VERSION}", f"{name}: {tag}"
    assert f"git+https://github.com/OWNER/dropstream-sync@v{VERSION}" in texts["onboarding.md"]


def test_the_docs_say_the_actions_install_takes_the_dependencies_from_pypi() -> None:
    """docs/ci.md said the action's install needs "no package index", but pip fetches every
    dependency (and the build backend) from PyPI: a runner without it failed to install,
    and plan and apply can get different dependency versions."""
    docs = " ".join((ROOT / "docs" / "ci.md").read_text(encoding="utf-8").split())
    assert "no package index needed" not in docs
    section = docs.split("## The dropstream-sync action", 1)[1].split("```yaml", 1)[0]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    names = {"pyyaml": "PyYAML"}
    for requirement in project["project"]["dependencies"]:
        name = re.split(r"[<>=!~ \[;]", requirement, maxsplit=1)[0].lower()
        assert names.get(name, name) in section, requirement
    assert "come from PyPI" in section and "PIP_INDEX_URL" in section
