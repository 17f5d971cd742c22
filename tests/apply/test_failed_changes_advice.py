"""After an apply in which changes failed, the summary and the error say what to do next,
as they did only for changes of unknown outcome: after a saved plan, make a new plan (the
file no longer matches the account and is refused as stale); after config paths, run apply
again.

The failures are real: the in-process sandbox under `patch-ignores-settings` answers a
settings update 200 and keeps the old value, so the read-back fails the change."""

from __future__ import annotations

from pathlib import Path

import pytest

from dropstream_sync import workflows
from dropstream_sync.client import SyncWriteClient
from dropstream_sync.errors import ApplyError
from dropstream_sync.planner.model import REPLAN
from dropstream_sync.render.json import write_json
from tests.doctor.on_sandbox import Box

CONFIG = """version: 1
merchants:
  - name: Acme
    email: ops@acme.example
    stores:
      - name: Acme US
        marketplace: US
        fulfillment_latency: {latency}
"""


@pytest.fixture
def box(tmp_path: Path) -> Box:
    """An account where Acme US exists with latency 2, and the config now asks for 5, on a
    sandbox that ignores settings updates."""
    b = Box(tmp_path / "sb")
    config = tmp_path / "stores.yaml"
    config.write_text(CONFIG.format(latency=2))
    with SyncWriteClient(b.writer()) as client:
        first = workflows.apply(client, [str(config)])
    assert first.report is not None and first.report.ok
    config.write_text(CONFIG.format(latency=5))
    b.quirks("patch-ignores-settings")
    return b


def failed_apply(box: Box, paths: list[str]) -> tuple[str, str]:
    """The summary line and the error of an apply of `paths` that has a failed change."""
    with SyncWriteClient(box.writer()) as client:
        applied = workflows.apply(client, paths)
    report = applied.report
    assert report is not None
    assert [str(r.change.kind) for r in report.failures] == ["update_store"]
    assert not report.unknown
    with pytest.raises(ApplyError) as error:
        report.raise_for_problems()
    return report.summary_line(), str(error.value)


def test_after_a_saved_plan_with_a_failed_change_the_summary_and_error_say_make_a_new_plan(
    box: Box, tmp_path: Path
) -> None:
    saved = tmp_path / "p.json"
    with SyncWriteClient(box.writer()) as client:
        plan = workflows.load_and_plan([str(tmp_path / "stores.yaml")], client)
    with saved.open("w", encoding="utf-8") as stream:
        write_json(plan, stream)

    summary, error = failed_apply(box, [str(saved)])

    # Before: "Apply complete: 0 done, 1 failed, ..." and "1 change(s) failed: update_store
    # ...", and nothing said that applying p.json again is refused as stale.
    assert "0 done, 1 failed, 0 unknown" in summary
    advice = f"make a new plan (`{REPLAN}`) and apply that"
    assert f"1 change(s) failed: {advice}" in summary
    assert error.startswith("1 change(s) failed:\nupdate_store Acme/Acme US")
    assert error.splitlines()[-1] == f"For what failed, {advice}: the saved plan no longer " + (
        "matches the account."
    )


def test_after_config_paths_with_a_failed_change_the_summary_and_error_say_run_apply_again(
    box: Box, tmp_path: Path
) -> None:
    summary, error = failed_apply(box, [str(tmp_path / "stores.yaml")])

    assert "1 change(s) failed: run apply again." in summary
    assert error.splitlines()[-1] == "For what failed, run apply again."
    # The advice is not counted as a failure, nor recorded: the result is as before.
    assert error.startswith("1 change(s) failed:\n") and len(error.splitlines()) == 3
