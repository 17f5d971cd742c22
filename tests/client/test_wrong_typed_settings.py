"""Live store settings of another kind than DropStream validates (`"3"` or `2.5` for the
latency, `5` for the channel, one string for the statuses; only seeded or migrated data
holds them): the client reads each as unread, not as null or the default, so the plan warns
and neither compares nor sends it, instead of planning a change from a value DropStream does
not hold (or seeing no change where there is one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli_in_process import run
from tests.seeded import US, seed

GOOD = {
    "fulfillment_channel": "MFN",
    "import_order_statuses": ["Unshipped", "PartiallyShipped"],
    "fulfillment_latency": 3,
    "fulfillment_channel_code": "DEFAULT",
}
# store name -> (the settings its adapter holds that differ from GOOD, those to read unread)
WRONG: dict[str, tuple[dict[str, Any], str]] = {
    "Latency text": ({"fulfillment_latency": "3"}, "fulfillment_latency"),
    "Latency fraction": ({"fulfillment_latency": 2.5}, "fulfillment_latency"),
    "Latency bool": ({"fulfillment_latency": True}, "fulfillment_latency"),
    "Channel number": ({"fulfillment_channel": 5}, "fulfillment_channel"),
    "Statuses text": ({"import_order_statuses": "Unshipped"}, "import_order_statuses"),
    "Statuses numbers": ({"import_order_statuses": [1, 2]}, "import_order_statuses"),
    "Statuses nested": ({"import_order_statuses": [["Unshipped"]]}, "import_order_statuses"),
    # A null is a value DropStream can hold: read as such, and set.
    "Code null": ({"fulfillment_channel_code": None}, ""),
    # One of another kind, another differing from the config: only the one read is put back.
    "Two settings": (
        {"fulfillment_latency": "3", "fulfillment_channel_code": "OTHER"},
        "fulfillment_latency",
    ),
}


def _plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    state = tmp_path / "sb"
    seed(
        state,
        {
            "customers": [{"id": i, "company_name": name} for i, name in enumerate(WRONG, 1)],
            "stores": [
                {
                    "id": i,
                    "customer_id": i,
                    "name": name,
                    "adapter": {"marketplace_id": US, **GOOD, **wrong},
                }
                for i, (name, (wrong, _)) in enumerate(WRONG.items(), start=1)
            ],
        },
    )
    config = tmp_path / "stores.yaml"
    config.write_text(
        "version: 1\nprune: false\ndefaults:\n  fulfillment_latency: 3\nmerchants:\n"
        + "".join(
            f"  - name: {name}\n    stores:\n      - name: {name}\n        marketplace: US\n"
            for name in WRONG
        )
    )
    code, out, err = run(capsys, "plan", str(config), "--sandbox", str(state), "--format", "json")
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    return document


def test_a_setting_of_another_kind_is_neither_compared_nor_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = _plan(tmp_path, capsys)

    updates = {
        c["store"]: [(f["path"], f["before"], f["after"]) for f in c["fields"]]
        for c in plan["changes"]
        if c["kind"] == "update_store"
    }
    # Before: "Latency text" and "Two settings" planned fulfillment_latency null -> 3 (it
    # is "3"), "Channel number" null -> MFN, the statuses [] -> [...], and "Latency
    # fraction" (2.5 against 3) no change at all.
    assert updates == {
        "Code null": [("fulfillment_channel_code", None, "DEFAULT")],
        "Two settings": [("fulfillment_channel_code", "OTHER", "DEFAULT")],
    }
    for name, (_, unread) in WRONG.items():
        warned = [w for w in plan["warnings"] if f"store '{name}'" in w]
        if not unread:
            assert warned == [], name
            continue
        (warning,) = warned
        assert f": {unread} could not be read from the live store" in warning, warning
        assert "neither compares nor sends" in warning and "dropstream-sync doctor" in warning
