"""A DropStream whose objects are shaped otherwise than the model (the sandbox's quirk modes
`authorization-key`, `adapter-settings`, `request-status-case`, `channel-keys`): doctor says what
differs, and plan and apply neither email merchants nor change what they could not read."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from dropstream_sync import workflows
from dropstream_sync.client import SyncReadClient, SyncWriteClient
from dropstream_sync.planner.model import Plan
from tests.client.on_sandbox import Altered, answer
from tests.doctor.on_sandbox import Box
from tests.doctor.test_doctor import check, populate, run

# populate(): Merchant 0's store authorized and connected, Merchant 1's invited (pending),
# Merchant 2's never authorized.
CONFIG = "version: 1\nprune: false\nmerchants:\n" + "".join(
    f"""  - name: Merchant {i}
    email: m{i}@example.com
    stores:
      - name: Store {i}
        marketplace: US
        channels: {{sales_order: true, shipment: true}}
"""
    for i in range(3)
)


@pytest.fixture
def box(tmp_path: Path) -> Box:
    b = Box(tmp_path / "sb")
    populate(b)
    return b


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "stores.yaml"
    path.write_text(CONFIG)
    return str(path)


def plan_of(box: Box, config: str) -> Plan:
    with SyncReadClient(box.reader()) as client:
        return workflows.load_and_plan([config], client)


def emails(box: Box) -> int:
    return len(box.admin("GET", "/_sandbox/outbox"))


def invites_posted(box: Box) -> int:
    return box.writes().get("POST /stores/{id}/authorization_requests", 0)


# -- the authorization under another key ----------------------------------------------------


def test_doctor_names_the_authorization_under_another_key(box: Box) -> None:
    box.quirks("authorization-key")

    report = run(box)

    adapter = check(report, "amazon adapter")
    assert adapter.status == "fail" and report.exit_code == 5
    assert "missing authorization" in adapter.summary
    assert "amazon_authorization" in adapter.summary


def test_an_unreadable_authorization_sends_no_invite_and_makes_no_connection(
    box: Box, config: str
) -> None:
    # Read as `missing`, the authorized Merchant 0 and the never-authorized Merchant 2
    # would both be emailed an invite; nobody can tell them apart from this answer.
    box.quirks("authorization-key")
    sent, posted = emails(box), invites_posted(box)

    with SyncWriteClient(box.writer()) as client:
        applied = workflows.apply(client, [config], audit_log=None)

    assert (emails(box), invites_posted(box)) == (sent, posted)
    assert not [c for c in applied.plan.changes if c.kind in ("invite", "reinvite", "enable")]
    warned = [w for w in applied.plan.warnings if "could not be read from the live store" in w]
    assert len(warned) == 3, applied.plan.warnings
    assert "no invite is planned" in warned[0] and "dropstream-sync doctor" in warned[0]


# -- status words in another case -----------------------------------------------------------


def test_doctor_names_status_words_the_model_does_not_know(box: Box) -> None:
    box.quirks("request-status-case")

    report = run(box)

    assert report.exit_code == 5
    shapes = check(report, "shapes")
    assert shapes.status == "fail"
    assert "authorization_requests: 1 status word(s) the model does not know (Pending" in (
        shapes.summary
    )


def test_doctor_names_a_status_that_is_not_a_word_and_does_not_crash(box: Box) -> None:
    # No quirk answers a status of another JSON type: the answer is altered on its way.
    async def listed(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path != "/authorization_requests":
            return response
        items = response.json()
        for item in items:
            item["status"] = [item["status"]]
        return answer(response, body=items)

    box.transport = Altered(box.transport, listed)

    report = run(box)

    assert report.exit_code == 5
    shapes = check(report, "shapes")
    assert "1 status word(s) the model does not know (['pending']" in shapes.summary


def test_a_pending_invitation_under_another_word_is_not_sent_again(box: Box, config: str) -> None:
    # Merchant 1 has a pending link, listed by `status=pending` as "Pending": read as no
    # invitation at all, the plan would post a second one (the sandbox refuses it with a
    # 409; a service without that rule would send a second email).
    box.quirks("request-status-case")
    sent, posted = len(box.admin("GET", "/_sandbox/outbox")), invites_posted(box)

    with SyncWriteClient(box.writer()) as client:
        applied = workflows.apply(client, [config], audit_log=None)

    outbox = box.admin("GET", "/_sandbox/outbox")[sent:]
    assert [mail["to"] for mail in outbox] == ["m2@example.com"]  # never invited before
    assert invites_posted(box) == posted + 1
    assert [c.store for c in applied.plan.changes if c.kind in ("invite", "reinvite")] == [
        "Store 2"
    ]
    warned = [w for w in applied.plan.warnings if "its invitation" in w]
    assert len(warned) == 1 and "'Store 1'" in warned[0] and "'Pending'" in warned[0]
    assert "no invite is planned" in warned[0]


# -- channels of another shape --------------------------------------------------------------


def test_doctor_names_the_keys_of_channels_of_another_shape(box: Box) -> None:
    box.quirks("channel-keys")

    report = run(box)

    shapes = check(report, "shapes")
    assert shapes.status == "fail" and report.exit_code == 5
    assert (
        "connections: 1 whose channels are not a list of {id, type, enabled_at} "
        "(an entry's keys: channel_type, enabled_at, id)"
    ) in shapes.summary


def test_channels_of_another_shape_are_unknown_not_absent(box: Box, config: str) -> None:
    # Read as channels of no type, the plan told the user the connection had no
    # sales_order channel because "DropStream offers a channel only when both platforms
    # support it", and that it would run with no channel enabled.
    box.quirks("channel-keys")

    plan = plan_of(box, config)

    assert not [c for c in plan.changes if c.kind == "update_channel"]
    assert not [w for w in plan.warnings if "both platforms support it" in w], plan.warnings
    assert not [w for w in plan.warnings if "no channel enabled" in w], plan.warnings
    warned = [w for w in plan.warnings if "channels of another shape" in w]
    assert len(warned) == 1 and "connection 1" in warned[0]
    assert "`channels:` is not checked" in warned[0]


# -- the settings nested otherwise ----------------------------------------------------------


def test_doctor_names_settings_nested_otherwise(box: Box) -> None:
    box.quirks("adapter-settings")

    report = run(box)

    adapter = check(report, "amazon adapter")
    assert adapter.status == "fail" and report.exit_code == 5
    assert adapter.summary.endswith(
        "missing fulfillment_channel, import_order_statuses, fulfillment_latency, "
        "fulfillment_channel_code; other keys: settings"
    )


def test_settings_that_cannot_be_read_are_neither_compared_nor_sent(box: Box, config: str) -> None:
    # Read as absent, every store's settings differed from the config: apply PATCHed all
    # of them with keys this API keeps elsewhere, and reported each update done.
    box.quirks("adapter-settings")
    patched = box.writes().get("PATCH /stores/{id}", 0)

    with SyncWriteClient(box.writer()) as client:
        applied = workflows.apply(client, [config], audit_log=None)

    assert not [c for c in applied.plan.changes if c.kind == "update_store"]
    assert box.writes().get("PATCH /stores/{id}", 0) == patched + 1  # Store 0 enabled only
    warned = [w for w in applied.plan.warnings if "could not be read from the live store" in w]
    assert len(warned) == 3
    assert (
        "fulfillment_channel, import_order_statuses, fulfillment_latency, "
        "fulfillment_channel_code could not be read from the live store (missing from its "
        "adapter, or not of the kind DropStream validates for it), so the plan neither compares "
        "nor sends them"
    ) in warned[0]


# -- a PATCH answered as done that changed nothing ------------------------------------------


def test_settings_a_patch_did_not_take_are_reported_failed_not_updated(
    box: Box, tmp_path: Path
) -> None:
    # The API answers 204 and keeps the settings (a key it does not know, or holds read
    # only): before, apply reported the update done and every later plan planned it again.
    box.quirks("patch-ignores-settings")
    config = tmp_path / "latency.yaml"
    config.write_text(
        CONFIG.replace(
            "        marketplace: US\n",
            "        marketplace: US\n        fulfillment_latency: 3\n",
            1,
        )
    )

    with SyncWriteClient(box.writer()) as client:
        applied = workflows.apply(client, [str(config)], audit_log=None)

    assert applied.report is not None
    (update,) = [r for r in applied.report.results if r.change.kind == "update_store"]
    assert str(update.outcome) == "failed"
    assert update.error == (
        "PATCH of store 1 was answered as done, but the store still reads "
        "fulfillment_latency None (sent 3): the API did not take the settings; run "
        "`dropstream-sync doctor` and check the store in DropStream"
    )


def test_a_connection_the_api_left_disabled_is_reported_failed_not_enabled(
    box: Box, config: str
) -> None:
    # Store 0 is authorized and its connection disabled: the plan enables it. An API that
    # answers the PATCH 204 and keeps the connection off made apply say "enable" was done,
    # while no orders flowed (and those arriving meanwhile are never imported).
    box.quirks("patch-ignores-enabled")

    with SyncWriteClient(box.writer()) as client:
        applied = workflows.apply(client, [config], audit_log=None)

    assert applied.report is not None
    (enable,) = [r for r in applied.report.results if r.change.kind == "enable"]
    assert str(enable.outcome) == "failed"
    assert enable.error == (
        "PATCH of connection 1 was answered as done, but the connection still reads "
        "disabled: the API did not take enabled_at, and no orders flow through it; run "
        "`dropstream-sync doctor` and enable it in the DropStream UI"
    )


def test_a_connection_the_api_left_enabled_is_reported_failed_not_disabled(
    box: Box, config: str, tmp_path: Path
) -> None:
    # Store 0 enabled first, on an API that takes the PATCH; then the config switches it off
    # on one that answers 204 and keeps it on: orders would keep flowing, reported "disabled".
    with SyncWriteClient(box.writer()) as client:
        assert workflows.apply(client, [config], audit_log=None).report is not None
    box.quirks("patch-ignores-enabled")
    off = tmp_path / "off.yaml"
    off.write_text(
        CONFIG.replace(
            "        marketplace: US\n", "        marketplace: US\n        enabled: false\n", 1
        )
    )

    with SyncWriteClient(box.writer()) as client:
        applied = workflows.apply(client, [str(off)], audit_log=None)

    assert applied.report is not None
    (disable,) = [r for r in applied.report.results if r.change.kind == "disable"]
    assert str(disable.outcome) == "failed"
    assert disable.error == (
        "PATCH of connection 1 was answered as done, but the connection still reads "
        "enabled: the API did not take enabled_at, and orders still flow through it; run "
        "`dropstream-sync doctor` and disable it in the DropStream UI"
    )
