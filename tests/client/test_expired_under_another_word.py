"""Invitations that lapsed unanswered, listed by `?status=expired` under a word the model
does not know (the sandbox's `request-status-case`: "Expired"): the client keeps them as
the store's expired history, so the plan still says `reinvite` (not a first `invite`) and
the report still names the merchant who let them expire twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dropstream_sync import workflows
from dropstream_sync.client import SyncReadClient
from tests.doctor.on_sandbox import Box
from tests.seeded import US

CONFIG = (
    "version: 1\nmerchants:\n  - name: Acme\n    email: ops@acme.example\n    stores:\n"
    "      - name: Acme US\n        marketplace: US\n"
    "  - name: Bolt\n    email: ops@bolt.example\n    stores:\n"
    "      - name: Bolt US\n        marketplace: US\n"
)


def _stamp(days_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _box(tmp_path: Path) -> Box:
    """Acme's store, never authorized, invited twice and both links lapsed; Bolt's store,
    never invited."""
    box = Box(tmp_path / "sb")
    box.admin(
        "POST",
        "/_sandbox/seed",
        {
            "customers": [{"id": 1, "company_name": "Acme"}, {"id": 2, "company_name": "Bolt"}],
            "stores": [
                {"id": 1, "customer_id": 1, "name": "Acme US", "adapter": {"marketplace_id": US}},
                {"id": 2, "customer_id": 2, "name": "Bolt US", "adapter": {"marketplace_id": US}},
            ],
            "authorization_requests": [
                {
                    "id": i,
                    "store_id": 1,
                    "email": "ops@acme.example",
                    "status": "expired",
                    "created_at": _stamp(days + 7),
                    "expires_at": _stamp(days),
                }
                for i, days in ((1, 60), (2, 20))
            ],
        },
    )
    return box


def _read(box: Box, tmp_path: Path, merchants: tuple[str, ...]) -> tuple[dict[str, str], Any]:
    """The plan's invite kinds per store, and the report's JSON document."""
    config = tmp_path / "stores.yaml"
    config.write_text(CONFIG)
    with SyncReadClient(box.reader()) as client:
        read = workflows.make_plan_and_live(
            workflows.load_config([str(config)]), client, list(merchants)
        )
    kinds = {
        str(c.store): str(c.kind) for c in read.plan.changes if c.kind in ("invite", "reinvite")
    }
    return kinds, json.loads(workflows.report_text(read, "json"))


# The whole account's lists, and one merchant's (its stores' requests, read another way).
@pytest.mark.parametrize("merchants", [(), ("Acme",)], ids=["account", "one-merchant"])
def test_an_expired_invitation_under_another_word_still_makes_a_reinvite(
    tmp_path: Path, merchants: tuple[str, ...]
) -> None:
    box = _box(tmp_path)
    modelled = _read(box, tmp_path, merchants)
    assert box.quirks("request-status-case") == ["request-status-case"]

    kinds, report = _read(box, tmp_path, merchants)

    # It was `invite` (the "Expired" entries dropped): the plan told the reviewer this
    # merchant had never been asked.
    assert kinds["Acme US"] == "reinvite"
    (repeated,) = report["repeated_expiries"]
    assert (repeated["merchant"], repeated["expired"]) == ("Acme", 2)
    assert repeated["stores"] == [{"store": "Acme US", "expired": 2}]
    # Nothing else moves: what the plan and the report say is what they say as modelled.
    assert (kinds, report["repeated_expiries"]) == (modelled[0], modelled[1]["repeated_expiries"])
    if not merchants:
        assert kinds["Bolt US"] == "invite"


def test_doctor_says_what_the_reads_make_of_such_words(tmp_path: Path) -> None:
    # doctor names the words; a person deciding whether to trust the plan is told that an
    # "Expired" request is history (a reinvite), not a request the tool ignores.
    from tests.doctor.test_doctor import check, run

    box = _box(tmp_path)
    box.admin(
        "POST",
        "/_sandbox/seed",
        {
            "customers": [{"id": 3, "company_name": "Cleo"}],
            "stores": [
                {"id": 3, "customer_id": 3, "name": "Cleo US", "adapter": {"marketplace_id": US}}
            ],
            "authorization_requests": [
                {"id": 3, "store_id": 3, "email": "ops@cleo.example", "expires_at": _stamp(-5)}
            ],
        },
    )
    box.quirks("request-status-case")

    shapes = check(run(box), "shapes")

    assert "(Pending; it knows pending, completed, expired, canceled)" in shapes.summary
    assert "one read from the expired list counts as expired" in shapes.summary
