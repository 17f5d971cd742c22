"""The pre-commit hook this repository offers: a manifest pre-commit accepts, scoped to YAML,
and (slow) a real `pre-commit try-repo` passing a valid config and stopping an invalid one."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.gitops.gitops_files import ROOT

MANIFEST = ROOT / ".pre-commit-hooks.yaml"
# The keys pre-commit's manifest schema knows (pre_commit.clientlib.MANIFEST_HOOK_DICT).
KNOWN_KEYS = {
    "id",
    "name",
    "entry",
    "language",
    "alias",
    "files",
    "exclude",
    "types",
    "types_or",
    "exclude_types",
    "additional_dependencies",
    "args",
    "always_run",
    "fail_fast",
    "pass_filenames",
    "description",
    "language_version",
    "log_file",
    "require_serial",
    "stages",
    "verbose",
    "minimum_pre_commit_version",
}
VALID = """\
version: 1
merchants:
  - name: Acme Outdoors
    email: amazon-ops@acme-outdoors.example
    stores:
      - name: Acme Outdoors US
        marketplace: US
"""
INVALID = VALID.replace("marketplace: US", "marketplace: US\n        fulfilment_latency: 2")


def hook() -> dict[str, Any]:
    hooks = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(hooks, list) and len(hooks) == 1
    assert isinstance(hooks[0], dict)
    return hooks[0]


def test_the_hook_runs_dropstream_sync_validate_on_the_files_given() -> None:
    h = hook()
    assert set(h) <= KNOWN_KEYS
    assert h["id"] == "dropstream-sync-validate"
    assert h["name"] and h["entry"] == "dropstream-sync validate"
    # language python: pre-commit installs this repository, which provides the command.
    assert h["language"] == "python"
    assert h["pass_filenames"] is True


@pytest.mark.parametrize(
    ("path", "checked"),
    [
        ("stores/acme.yaml", True),
        ("stores/eu/bella.yml", True),
        ("README.md", False),
        ("stores/acme.yaml.bak", False),
        ("pyproject.toml", False),
    ],
)
def test_the_hook_only_sees_yaml_files(path: str, checked: bool) -> None:
    assert bool(re.search(hook()["files"], path)) is checked


def test_pre_commit_accepts_the_manifest() -> None:
    try:
        from pre_commit.clientlib import load_manifest  # type: ignore[import-untyped]
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("pre-commit is missing in CI: it is a test dependency")
        pytest.skip("pre-commit is not installed (pip install pre-commit)")
    hooks = load_manifest(str(MANIFEST))
    assert [h["id"] for h in hooks] == ["dropstream-sync-validate"]


@pytest.mark.slow
def test_pre_commit_try_repo_passes_a_valid_config_and_stops_an_invalid_one(tmp_path: Path) -> None:
    pre_commit = shutil.which("pre-commit")
    if pre_commit is None:
        pytest.fail("pre-commit is missing: it is a test dependency")
    repo = tmp_path / "stores-repo"
    (repo / "stores").mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / "stores" / "good.yaml").write_text(VALID, encoding="utf-8")
    (repo / "stores" / "bad.yaml").write_text(INVALID, encoding="utf-8")
    (repo / "notes.md").write_text("version: 2\n", encoding="utf-8")
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")}

    def run(*files: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [pre_commit, "try-repo", str(ROOT), "dropstream-sync-validate", "--files", *files],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    good = run("stores/good.yaml", "notes.md")
    assert good.returncode == 0, good.stdout + good.stderr
    bad = run("stores/bad.yaml")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "stores/bad.yaml:8:9" in bad.stdout
    assert "did you mean 'fulfillment_latency'" in bad.stdout


@pytest.mark.slow
def test_the_docs_pre_commit_config_checks_only_the_yaml_in_stores(tmp_path: Path) -> None:
    """docs/ci.md's `.pre-commit-config.yaml` narrows the hook with `files: ^stores/`, which
    replaces the hook's own `files`: a README.md in stores/ was then passed to validate and
    the commit was stopped with 'stores/README.md:1:1: a config file is a mapping ...'."""
    pre_commit = shutil.which("pre-commit")
    if pre_commit is None:
        pytest.fail("pre-commit is missing: it is a test dependency")
    docs = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    snippet = re.search(r"```yaml\n(# \.pre-commit-config\.yaml\n.*?)```", docs, re.S)
    assert snippet is not None, "docs/ci.md lost its .pre-commit-config.yaml example"
    config = yaml.safe_load(snippet[1])
    assert config["repos"][0]["hooks"][0]["files"] == "^stores/"

    # pre-commit clones a repository at a rev: this working tree, committed as it is.
    tool = tmp_path / "tool"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (tool / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tool / name)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", "init", "-q"], cwd=tool, check=True)
    subprocess.run(["git", "add", "-A"], cwd=tool, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "tool"], cwd=tool, check=True)
    rev = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tool, capture_output=True, text=True, check=True
    ).stdout.strip()
    config["repos"][0].update(repo=str(tool), rev=rev)

    repo = tmp_path / "stores-repo"
    (repo / "stores").mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (repo / "stores" / "acme.yaml").write_text(VALID, encoding="utf-8")
    (repo / "stores" / "README.md").write_text("# Our stores\nOne file each.\n", encoding="utf-8")
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [pre_commit, "run", "--all-files"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    good = run()
    assert good.returncode == 0, good.stdout + good.stderr
    assert "README.md" not in good.stdout
    (repo / "stores" / "acme.yaml").write_text(INVALID, encoding="utf-8")
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    bad = run()
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "stores/acme.yaml:8:9" in bad.stdout
