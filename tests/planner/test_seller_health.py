"""Authorization health covers the Amazon seller account (issue 15.5)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from dropstream_sync.config import load_text
from dropstream_sync.errors import ConfigError
from dropstream_sync.live import Authorization
from dropstream_sync.planner import Plan, plan
from dropstream_sync.render import render_json
from tests.planner.scenario import (
    AUTHORIZED,
    CA,
    NOW,
    account,
    connected,
    live_store,
    merchant,
    state,
    store,
)

OTHER = Authorization("authorized", "A2OTHER", NOW - timedelta(days=1), NOW + timedelta(days=364))


def authorized_unconnected(auth: Authorization, seller: str | None) -> Plan:
    s = live_store(1, "Acme US", authorization=auth)
    m = merchant("Acme", store("Acme", "Acme US"), selling_partner_id=seller)
    return plan(state(m), account(s), now=NOW)


def test_a_store_authorized_by_another_seller_than_the_pinned_one_gets_no_connection() -> None:
    p = authorized_unconnected(OTHER, "A1SELLER")
    assert p.changes == ()
    [warning] = p.warnings
    assert (
        "store 'Acme US' (id 1) of merchant 'Acme' is authorized by Amazon seller A2OTHER, "
        "not A1SELLER" in warning
    )
    assert "change selling_partner_id" in warning and "revoke the authorization" in warning


def test_the_pinned_seller_or_no_pin_connects_as_before() -> None:
    assert [c.kind for c in authorized_unconnected(AUTHORIZED, "A1SELLER").changes] == [
        "create_connection"
    ]
    assert [c.kind for c in authorized_unconnected(OTHER, None).changes] == ["create_connection"]


def test_a_disabled_store_of_another_seller_is_not_enabled() -> None:
    s, c = connected(1, "Acme US", enabled=False, authorization=OTHER)
    m = merchant("Acme", store("Acme", "Acme US"), selling_partner_id="A1SELLER")
    p = plan(state(m), account(s, connections=(c,)), now=NOW)
    assert p.changes == () and "A2OTHER" in p.warnings[0]
    unpinned = plan(
        state(replace(m, selling_partner_id=None)), account(s, connections=(c,)), now=NOW
    )
    assert [ch.kind for ch in unpinned.changes] == ["enable"]


def test_stores_of_one_merchant_authorized_by_different_sellers_are_warned_about() -> None:
    us_s, us_c = connected(1, "Acme US")
    ca_s, ca_c = connected(2, "Acme CA", marketplace=CA)
    mx_s, mx_c = connected(3, "Acme MX", marketplace="A1AM78C64UM0Y8", authorization=OTHER)
    desired = state(
        merchant(
            "Acme",
            store("Acme", "Acme US"),
            store("Acme", "Acme CA", "CA"),
            store("Acme", "Acme MX", "MX"),
        )
    )
    p = plan(desired, account(us_s, ca_s, mx_s, connections=(us_c, ca_c, mx_c)), now=NOW)
    assert p.changes == ()
    [warning] = p.warnings
    assert "authorized by 2 different Amazon sellers (2 by A1SELLER; store 3 by A2OTHER)" in warning
    assert "`selling_partner_id: A1SELLER`" in warning


def test_the_config_key_is_checked_and_kept_in_a_saved_plan() -> None:
    text = (
        "version: 1\nmerchants:\n  - name: Acme\n    selling_partner_id: A1SELLER\n"
        "    stores: [{name: Acme US, marketplace: US}]\n"
    )
    desired = load_text(text, "stores.yaml")
    assert desired.merchants[0].selling_partner_id == "A1SELLER"
    p = plan(desired, account(live_store(1, "Acme US", authorization=OTHER)), now=NOW)
    again = Plan.from_json(render_json(p), "plan.json")
    assert again.desired.merchants[0].selling_partner_id == "A1SELLER"
    with pytest.raises(ConfigError) as bad:
        load_text(text.replace("A1SELLER", "a1 seller"), "stores.yaml")
    assert "stores.yaml:4:25: merchants[0].selling_partner_id" in str(bad.value)
