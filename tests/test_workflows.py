"""The commands' workflows as library calls (dropstream_sync/workflows.py), against the
in-process sandbox: what the command line does, without a command line."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from dropstream_sync import workflows
from dropstream_sync.cli.connect import SandboxSession, open_sandbox
from dropstream_sync.client import WriteClient
from dropstream_sync.config import load_text
from dropstream_sync.errors import ConfigError, PlanFileError, StalePlanError
from dropstream_sync.planner import Plan
from dropstream_sync.render import FORMATS, render, write
from tests.apply.sandbox_clients import LosesStoreAnswers, on_sandbox
from tests.cli_in_process import run

EXAMPLE = str(Path(__file__).resolve().parents[1] / "examples" / "stores.yaml")

ONE_STORE = """\
version: 1
merchants:
  - name: Acme
    stores:
      - name: Acme US
        marketplace: US
"""


@pytest.fixture
def session(tmp_path: Path) -> Iterator[SandboxSession]:
    opened = open_sandbox(str(tmp_path / "sandbox"))
    with opened.client:
        yield opened


def test_load_text_reads_a_config_held_in_memory() -> None:
    desired = load_text(ONE_STORE, "imported.yaml")
    assert [(m.name, [s.name for s in m.stores]) for m in desired.merchants] == [
        ("Acme", ["Acme US"])
    ]


def test_load_text_names_the_given_name_and_the_line_in_its_problems() -> None:
    with pytest.raises(ConfigError) as caught:
        load_text(ONE_STORE.replace("marketplace: US", "marketplace: XX"), "<stdout>")
    assert [(p.file, p.line) for p in caught.value.problems] == [("<stdout>", 6)]
    assert "XX" in str(caught.value)


class Recorder(workflows.ApplyHooks):
    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.seen: list[str] = []

    def planned(self, plan: Plan) -> None:
        self.seen.append(f"planned {len(plan.changes)}")

    def confirm(self, plan: Plan) -> bool:
        self.seen.append("confirm")
        return self.answer

    def starting(self, plan: Plan) -> None:
        self.seen.append("starting")

    def result(self, result: object) -> None:
        self.seen.append("result")


def test_a_declined_apply_changes_nothing(session: SandboxSession) -> None:
    hooks = Recorder(answer=False)
    applied = workflows.apply(session.client, [EXAMPLE], hooks=hooks)
    assert applied.declined and applied.report is None
    assert hooks.seen == [f"planned {len(applied.plan.changes)}", "confirm"]
    assert not session.client.read_live().customers


def test_a_confirmed_apply_runs_every_change_and_then_there_is_nothing_to_apply(
    session: SandboxSession, tmp_path: Path
) -> None:
    hooks = Recorder(answer=True)
    audit = tmp_path / "audit.jsonl"
    applied = workflows.apply(session.client, [EXAMPLE], hooks=hooks, audit_log=audit)
    assert applied.report is not None and not applied.report.failures
    changes = len(applied.plan.changes)
    assert hooks.seen == [f"planned {changes}", "confirm", "starting"] + ["result"] * changes
    assert len(audit.read_text().splitlines()) == changes
    again = workflows.apply(session.client, [EXAMPLE], hooks=Recorder(answer=False))
    assert again.report is None and not again.declined and not again.plan.changes


def test_a_saved_plan_is_applied_without_being_asked_about(
    session: SandboxSession, tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    saved.write_text(render(workflows.load_and_plan([EXAMPLE], session.client), "json"))
    hooks = Recorder(answer=False)
    applied = workflows.apply(session.client, [str(saved)], hooks=hooks)
    assert applied.report is not None and applied.report.count("ok") == len(applied.plan.changes)
    assert "confirm" not in hooks.seen and "planned" not in " ".join(hooks.seen)


def run_advice(
    capsys: pytest.CaptureFixture[str], told: str, config: Path, out: Path, state: Path
) -> int:
    """Runs the `dropstream-sync plan ...` command a message advises, as written but for its
    placeholders (the config, the file to save), on the sandbox in `state`: its exit code."""
    advised = told.split("`dropstream-sync plan ", 1)[1].split("`")[0].split()
    filled = [{"PATH...": str(config), "FILE": str(out)}.get(a, a) for a in advised]
    code, _, err = run(capsys, "plan", *filled, "--sandbox", str(state))
    assert code == 0, err
    return code


def test_a_plan_made_for_another_account_is_refused_with_a_command_that_makes_one_here(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "stores.yaml"
    config.write_text(ONE_STORE)
    state = tmp_path / "state"
    opened = open_sandbox(str(state))
    with opened.client:
        plan = workflows.load_and_plan([str(config)], opened.client)
    with pytest.raises(PlanFileError) as refused:
        workflows.check_made_for(plan, "https://api.getdropstream.com", "customer:7", "p.json")
    assert run_advice(capsys, str(refused.value), config, tmp_path / "here.json", state) == 0
    assert (tmp_path / "here.json").is_file()


def test_after_a_saved_plan_left_an_unknown_outcome_the_advice_is_a_new_plan_which_converges(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "stores.yaml"
    config.write_text(
        ONE_STORE.replace("  - name: Acme\n", "  - name: Acme\n    email: ops@acme.example\n")
    )
    lossy, _ = on_sandbox(LosesStoreAnswers, tmp_path / "state")
    with lossy:
        saved = tmp_path / "plan.json"
        saved.write_text(render(workflows.load_and_plan([str(config)], lossy), "json"))
        report = workflows.apply(lossy, [str(saved)]).report
    assert report is not None and [r.outcome for r in report.results] == [
        "ok",
        "unknown",
        "skipped",
    ]
    told = " ".join([report.summary_line(), *report.problems()])
    assert "run apply again" not in told
    assert told.count("make a new plan (`") == 2
    fresh = tmp_path / "plan2.json"
    assert run_advice(capsys, told, config, fresh, tmp_path / "state") == 0

    # The advice is true: the same file is refused, and a new plan converges.
    honest, _ = on_sandbox(WriteClient, tmp_path / "state")
    with honest:
        with pytest.raises(StalePlanError):
            workflows.apply(honest, [str(saved)])
        again = workflows.apply(honest, [str(fresh)]).report
        assert again is not None and [r.change.kind for r in again.results] == ["invite"]
        assert again.ok
        assert not workflows.load_and_plan([str(config)], honest).changes


def test_import_gives_the_applied_merchants_back_as_yaml(session: SandboxSession) -> None:
    workflows.apply(session.client, [EXAMPLE])
    imported = workflows.import_account(session.client, (), "all.yaml")
    assert imported.merchants > 0 and imported.stores > 0
    assert (
        load_text(imported.text, "all.yaml").merchant_names()
        == workflows.load_config([EXAMPLE]).desired.merchant_names()
    )
    # Acme Outdoors MX (enabled: false, never invited) is written switched off, so the
    # email recovered from the other stores' invitations invites nobody (issue 15.7).
    assert "enabled: false" in imported.text.split("name: Acme Outdoors MX")[1].split("- name")[0]
    assert imported.notes == ()


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_writes_what_it_renders(session: SandboxSession, fmt: str) -> None:
    plan = workflows.load_and_plan([EXAMPLE], session.client)
    stream = io.StringIO()
    write(plan, fmt, stream)
    assert stream.getvalue() == render(plan, fmt) != ""


def test_an_unknown_format_is_refused_by_name(session: SandboxSession) -> None:
    plan = workflows.load_and_plan([EXAMPLE], session.client)
    with pytest.raises(ValueError, match="'yaml'"):
        render(plan, "yaml")
