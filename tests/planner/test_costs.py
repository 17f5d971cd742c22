"""What a change costs is said in every format (issue 15.3)."""

from __future__ import annotations

import json

from dropstream_sync.planner import Plan, plan
from dropstream_sync.planner.costs import BILLED, EMAIL_SENT, ORDERS_LOST, STILL_BILLED
from dropstream_sync.render import render_json, render_markdown, render_text
from tests.planner.scenario import NOW, account, connected, merchant, state, store


def disabling_plan() -> Plan:
    us_s, us_c = connected(1, "Acme US")
    ca_s, ca_c = connected(2, "Acme CA", marketplace="A2EUQ1WTGCTBG2")
    desired = state(
        merchant(
            "Acme",
            store("Acme", "Acme US", enabled=False),
            store("Acme", "Acme JP", marketplace="JP"),
            prune=True,
        )
    )
    return plan(desired, account(us_s, ca_s, connections=(us_c, ca_c)), now=NOW)


def test_a_disable_says_it_stays_billed_and_loses_orders_in_every_format() -> None:
    p = disabling_plan()
    disables = [c for c in p.changes if c.kind == "disable"]
    assert {c.store for c in disables} == {"Acme US", "Acme CA"}  # enabled: false and prune
    for text in (render_text(p), render_markdown(p)):
        for label in (STILL_BILLED, ORDERS_LOST):
            assert text.count(label) == 2, text
    doc = json.loads(render_json(p))
    costs = {c["store"]: c["cost"] for c in doc["changes"] if c["kind"] == "disable"}
    assert costs == {"Acme US": [STILL_BILLED, ORDERS_LOST], "Acme CA": [STILL_BILLED, ORDERS_LOST]}
    assert doc["format_version"] == "1"


def test_an_invite_says_its_email_cannot_be_unsent() -> None:
    p = disabling_plan()
    doc = json.loads(render_json(p))
    invites = [c for c in doc["changes"] if c["kind"] == "invite"]
    assert [c["store"] for c in invites] == ["Acme JP"] and invites[0]["cost"] == [EMAIL_SENT]
    assert all(c["cost"] == [] for c in doc["changes"] if c["kind"] == "create_store")
    assert EMAIL_SENT in render_text(p)


def test_the_summary_shows_the_billing_effect_of_the_whole_plan() -> None:
    p = disabling_plan()
    assert p.summary()["billing"] == {
        "connections_added": 0,
        "connections_disabled_still_billed": 2,
    }
    md = render_markdown(p)
    assert "| connections disabled, still billed | 2 |" in md
    assert "| connections billed | +0 |" in md
    assert "2 disabled connection(s) still billed" in render_text(p).splitlines()[-1]


def test_a_saved_plan_reads_back_with_the_same_costs() -> None:
    p = disabling_plan()
    again = Plan.from_json(render_json(p), "plan.json")
    assert render_json(again) == render_json(p)


def test_a_new_connection_says_it_is_billed_in_every_format() -> None:
    # Was `cost: []` in the JSON plan: a CI gate reading `cost` to ask for approval of what
    # adds to the bill let the wizard's Finalize, the one change that does, through unasked.
    authorized_s, _ = connected(1, "Acme US", enabled=False)
    p = plan(state(merchant("Acme", store("Acme", "Acme US"))), account(authorized_s), now=NOW)
    (created,) = [c for c in p.changes if c.kind == "create_connection"]
    assert created.store == "Acme US"
    doc = json.loads(render_json(p))
    assert [c["cost"] for c in doc["changes"] if c["kind"] == "create_connection"] == [[BILLED]]
    for text in (render_text(p), render_markdown(p)):
        assert f"cost: {BILLED}" in text, text
    assert p.summary()["billing"]["connections_added"] == 1
