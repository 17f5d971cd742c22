"""The GitLab CI example: plan in merge requests with one note, apply serially on the
default branch; its note script is run against a small stand-in for the GitLab API."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from dropstream_sync.render import render_markdown
from dropstream_sync.report import render_markdown as render_report
from tests.gitops.gitops_files import GITLAB_CI, load_yaml
from tests.gitops.gitops_plans import audit_report, rich_plan

MARKER = "<!-- dropstream-sync:plan -->"
ME = 901  # the project access token's bot user


def config() -> dict[Any, Any]:
    return load_yaml(GITLAB_CI)


def note_script() -> str:
    block = str(next(line for line in config()["plan"]["script"] if "<<'PY'" in line))
    return block.split("<<'PY'\n", 1)[1].rsplit("\nPY", 1)[0]


def test_plan_runs_in_merge_requests_touching_stores() -> None:
    plan = config()["plan"]
    assert plan["rules"][0]["if"] == '$CI_PIPELINE_SOURCE == "merge_request_event"'
    assert plan["rules"][0]["changes"] == ["stores/**/*"]
    script = "\n".join(plan["script"])
    assert script.index("dropstream-sync validate stores/") < script.index("dropstream-sync plan")
    for flag in ("--out plan.json", "--format markdown", "--detailed-exitcode", "> plan.md"):
        assert flag in script
    assert "plan.json" in plan["artifacts"]["paths"]


def test_apply_runs_only_on_the_default_branch_one_at_a_time() -> None:
    apply = config()["apply"]
    assert apply["resource_group"] == "dropstream-apply"
    assert "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" in apply["rules"][0]["if"]
    assert apply["script"] == [
        "dropstream-sync apply stores/ --auto-approve --audit-log audit.jsonl"
    ]
    assert apply["artifacts"]["when"] == "always" and apply["artifacts"]["paths"] == ["audit.jsonl"]


def test_scheduled_drift_reports_and_keeps_the_html() -> None:
    drift = config()["drift"]
    assert drift["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    assert drift["script"][:2] == [
        "dropstream-sync report stores/ --format markdown --out report.md",
        "dropstream-sync report stores/ --format html --out report.html",
    ]
    assert drift["artifacts"]["paths"] == ["report.html", "report.md"]


def test_credentials_come_only_from_ci_cd_variables() -> None:
    cfg = config()
    blocks = [cfg.get("variables") or {}] + [
        job.get("variables") or {} for job in cfg.values() if isinstance(job, dict)
    ]
    assert not [name for block in blocks for name in block if name.startswith("DROPSTREAM")]
    scripts = "\n".join(
        line
        for job in cfg.values()
        if isinstance(job, dict)
        for line in job.get("script", []) + job.get("before_script", [])
    )
    assert "$DROPSTREAM_PASSWORD" not in scripts and "--password" not in scripts


def test_gitlab_file_matches_the_gitlab_ci_schema() -> None:
    checker = shutil.which("check-jsonschema")
    if checker is None:
        if os.environ.get("CI"):
            pytest.fail("check-jsonschema is missing in CI: it is a test dependency")
        pytest.skip("check-jsonschema is not installed (pip install check-jsonschema)")
    result = subprocess.run(
        [checker, "--builtin-schema", "vendor.gitlab-ci", str(GITLAB_CI)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


class FakeGitLab(BaseHTTPRequestHandler):
    """/user and the notes of merge request 3 of project 77, two notes to a page."""

    notes: ClassVar[list[dict[str, Any]]] = []
    issues: ClassVar[list[dict[str, Any]]] = []
    writes: ClassVar[list[tuple[str, str, dict[str, Any]]]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _authorized(self) -> bool:
        if self.headers.get("PRIVATE-TOKEN") != "glpat-note":
            self._answer(401, {"message": "401 Unauthorized"})
            return False
        return True

    def do_GET(self) -> None:
        if not self._authorized():
            return
        path, _, query = self.path.partition("?")
        if path == "/api/v4/user":
            self._answer(200, {"id": ME})
            return
        if path == "/api/v4/projects/77/issues":
            assert "state=opened" in query and "labels=dropstream-audit" in query
            self._answer(200, self.issues, {"X-Next-Page": ""})
            return
        assert path == "/api/v4/projects/77/merge_requests/3/notes"
        params = dict(p.split("=", 1) for p in query.split("&") if p)
        page = int(params.get("page", "1"))
        chunk = self.notes[(page - 1) * 2 : page * 2]
        more = len(self.notes) > page * 2
        self._answer(200, chunk, {"X-Next-Page": str(page + 1) if more else ""})

    def _write(self) -> None:
        if not self._authorized():
            return
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        self.writes.append((self.command, self.path, body))
        self._answer(200 if self.command == "PUT" else 201, {"id": 1, **body})

    do_POST = _write
    do_PUT = _write


@pytest.fixture
def gitlab() -> Iterator[str]:
    FakeGitLab.notes = []
    FakeGitLab.issues = []
    FakeGitLab.writes = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitLab)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v4"
    finally:
        server.shutdown()
        server.server_close()


def run_note_script(api: str, tmp_path: Path, body: str) -> None:
    (tmp_path / "plan.md").write_text(body, encoding="utf-8")
    env = {
        "CI_API_V4_URL": api,
        "CI_PROJECT_ID": "77",
        "CI_MERGE_REQUEST_IID": "3",
        "DROPSTREAM_NOTE_TOKEN": "glpat-note",
        "PATH": os.environ["PATH"],
        "NO_PROXY": "127.0.0.1",
    }
    run_job_script(note_script(), tmp_path, env)


def run_job_script(script: str, cwd: Path, env: dict[str, str]) -> None:
    """A Python block of the pipeline, run as the job runs it; it must succeed."""
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def note(nid: int, author: int, body: str) -> dict[str, Any]:
    return {"id": nid, "author": {"id": author}, "body": body}


def test_the_first_plan_creates_the_merge_request_note(gitlab: str, tmp_path: Path) -> None:
    FakeGitLab.notes = [note(1, 5, "looks good"), note(2, 5, "merge after lunch")]
    body = render_markdown(rich_plan())
    run_note_script(gitlab, tmp_path, body)
    assert FakeGitLab.writes == [
        ("POST", "/api/v4/projects/77/merge_requests/3/notes", {"body": body})
    ]


def test_a_later_plan_updates_its_own_note_found_on_a_later_page(
    gitlab: str, tmp_path: Path
) -> None:
    FakeGitLab.notes = [
        note(1, 5, "looks good"),
        note(2, 5, MARKER + "\npasted by a person"),  # not ours: another author
        note(3, 5, "ok"),
        note(4, ME, MARKER + "\nthe old plan"),
    ]
    run_note_script(gitlab, tmp_path, MARKER + "\nthe new plan\n")
    assert FakeGitLab.writes == [
        (
            "PUT",
            "/api/v4/projects/77/merge_requests/3/notes/4",
            {"body": MARKER + "\nthe new plan\n"},
        )
    ]


def run_plan_job(
    api: str, tmp_path: Path, validate: int, plan: int
) -> subprocess.CompletedProcess[str]:
    """The plan job's script entries, run as GitLab runs them (one bash with errexit), with
    a stand-in dropstream-sync whose validate and plan exit with the codes given."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir(exist_ok=True)
    tool = fake_bin / "dropstream-sync"
    tool.write_text(
        f'#!/bin/sh\nif [ "$1" = validate ]; then exit {validate}; fi\n'
        f'printf "{MARKER}\\nthe plan\\n"\nexit {plan}\n'
    )
    tool.chmod(0o755)
    for leftover in ("plan-failed", "plan.md"):
        (tmp_path / leftover).unlink(missing_ok=True)
    script = "\n".join(str(line) for line in config()["plan"]["script"])
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        cwd=tmp_path,
        env={
            "PATH": f"{fake_bin}:{os.environ['PATH']}",
            "CI_API_V4_URL": api,
            "CI_PROJECT_ID": "77",
            "CI_MERGE_REQUEST_IID": "3",
            "CI_COMMIT_SHA": "c0ffee" * 6 + "c0ff",
            "CI_JOB_URL": "https://gitlab.example/acme/stores/-/jobs/55",
            "DROPSTREAM_NOTE_TOKEN": "glpat-note",
            "NO_PROXY": "127.0.0.1",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("validate", "plan", "ok"), [(0, 0, True), (0, 2, True), (0, 1, False), (1, 0, False)]
)
def test_exit_code_2_of_the_plan_is_not_a_failure_but_1_is(
    gitlab: str, tmp_path: Path, validate: int, plan: int, ok: bool
) -> None:
    result = run_plan_job(gitlab, tmp_path, validate, plan)
    assert (result.returncode == 0) is ok, result.stdout + result.stderr
    if not ok:
        assert result.returncode == 1


def test_a_failed_plan_replaces_the_earlier_plan_in_the_note(gitlab: str, tmp_path: Path) -> None:
    """A push whose validate or plan failed left the note showing the previous push's plan
    as the merge request's plan; now the note says there is no plan for the new commit, the
    job still fails, and no note is opened for a failure alone."""
    FakeGitLab.notes = [note(4, ME, MARKER + "\n| 3 changes |")]
    for validate, plan in ((1, 0), (0, 1)):
        FakeGitLab.writes = []
        result = run_plan_job(gitlab, tmp_path, validate, plan)
        assert result.returncode == 1, result.stdout + result.stderr
        [(method, path, sent)] = FakeGitLab.writes
        assert (method, path) == ("PUT", "/api/v4/projects/77/merge_requests/3/notes/4")
        assert sent["body"].startswith(MARKER + "\n**No plan for " + "c0ffee" * 6 + "c0ff**")
        assert "/-/jobs/55" in sent["body"] and "3 changes" not in sent["body"]
    FakeGitLab.notes = []
    FakeGitLab.writes = []
    assert run_plan_job(gitlab, tmp_path, 0, 1).returncode == 1
    assert FakeGitLab.writes == []
    # The next good plan takes the same note back.
    FakeGitLab.notes = [note(4, ME, MARKER + "\n**No plan for c0ffee...**")]
    assert run_plan_job(gitlab, tmp_path, 0, 2).returncode == 0
    assert FakeGitLab.writes == [
        ("PUT", "/api/v4/projects/77/merge_requests/3/notes/4", {"body": MARKER + "\nthe plan\n"})
    ]


def drift_script() -> str:
    block = str(next(line for line in config()["drift"]["script"] if "<<'PY'" in line))
    return block.split("<<'PY'\n", 1)[1].rsplit("\nPY", 1)[0]


def run_drift_script(api: str, tmp_path: Path, report: str) -> list[tuple[str, str, Any]]:
    (tmp_path / "report.md").write_text(report, encoding="utf-8")
    env = {
        "CI_API_V4_URL": api,
        "CI_PROJECT_ID": "77",
        "AUDIT_ACCOUNT": "stores/",
        "DROPSTREAM_NOTE_TOKEN": "glpat-note",
        "PATH": os.environ["PATH"],
        "NO_PROXY": "127.0.0.1",
    }
    FakeGitLab.writes = []
    run_job_script(drift_script(), tmp_path, env)
    return list(FakeGitLab.writes)


def test_the_audit_issue_is_opened_kept_quiet_updated_and_closed(
    gitlab: str, tmp_path: Path
) -> None:
    issues = "/api/v4/projects/77/issues"
    drifted = render_report(audit_report(drift=True, invite_age_days=None))
    [(method, path, created)] = run_drift_script(gitlab, tmp_path, drifted)
    assert (method, path) == ("POST", issues) and created["labels"] == "dropstream-audit"
    assert created["description"].startswith(
        "<!-- dropstream-sync:audit account=stores%2F first-seen="
    )
    first_seen = created["description"].split("first-seen=", 1)[1].split()[0]
    # A person's issue with the same marker is not ours; the bot's own is.
    FakeGitLab.issues = [
        {"iid": 2, "author": {"id": 5}, "description": created["description"]},
        {"iid": 4, "author": {"id": ME}, "description": created["description"]},
    ]
    assert run_drift_script(gitlab, tmp_path, drifted) == []  # unchanged: no write at all
    more = render_report(audit_report(drift=True, invite_age_days=9))
    [(method, path, edit)] = run_drift_script(gitlab, tmp_path, more)
    assert (method, path) == ("PUT", f"{issues}/4")
    assert f"first-seen={first_seen} " in edit["description"] and "Acme CA" in edit["description"]
    FakeGitLab.issues[1]["description"] = edit["description"]
    clean = render_report(audit_report(drift=False, invite_age_days=None))
    closing = run_drift_script(gitlab, tmp_path, clean)
    assert [(m, p) for m, p, _ in closing] == [
        ("POST", f"{issues}/4/notes"),
        ("PUT", f"{issues}/4"),
    ]
    assert f"first seen {first_seen}" in closing[0][2]["body"]
    assert closing[1][2] == {"state_event": "close"}
