"""Degrade, don't break: without the invite endpoint, plan and apply do everything else and
leave each invite as a checklist item for the DropStream UI."""

from __future__ import annotations

from pathlib import Path

from dropstream_sync import workflows
from dropstream_sync.client import SyncReadClient, SyncWriteClient
from dropstream_sync.render import render
from tests.doctor.on_sandbox import Box

CONFIG = """\
version: 1
merchants:
  - name: Acme
    email: ops@acme.example
    stores:
      - name: Acme US
        marketplace: US
      - name: Acme CA
        marketplace: CA
"""


def test_invites_become_ui_checklist_items_and_apply_does_the_rest(tmp_path: Path) -> None:
    box = Box(tmp_path / "sb")
    box.quirks("no-authorization-requests")
    config = tmp_path / "stores.yaml"
    config.write_text(CONFIG)

    with SyncReadClient(box.reader()) as client:
        plan = workflows.load_and_plan([str(config)], client)

    assert {c.kind for c in plan.changes} == {"create_merchant", "create_store"}
    todo = [p for p in plan.pending if p.kind == "send_from_ui"]
    assert sorted(p.store for p in todo) == ["Acme CA", "Acme US"]
    assert all(p.detail["email"] == "ops@acme.example" for p in todo)
    markdown = render(plan, "markdown")
    assert (
        "- [ ] Acme / Acme US: send from the DropStream UI (Send to merchant) to ops@acme.example"
    ) in markdown

    with SyncWriteClient(box.writer()) as client:
        applied = workflows.apply(client, [str(config)])
    assert applied.report is not None and not applied.report.failures
    assert box.requests()["GET /authorization_requests"] >= 1  # asked, and told 404
    assert "POST /stores/{id}/authorization_requests" not in box.requests()
    with SyncReadClient(box.reader()) as client:
        again = workflows.load_and_plan([str(config)], client)
    assert again.changes == ()
    assert len([p for p in again.pending if p.kind == "send_from_ui"]) == 2
