"""A merchant whose live company name is a look-alike spelling of the config's (NFD for NFC)
is read, matched and applied into, over a served sandbox: never a second customer."""

from __future__ import annotations

import unicodedata

import pytest

from tests.e2e.harness import Account

pytestmark = pytest.mark.e2e


def test_a_decomposed_live_name_is_the_configs_merchant(account: Account) -> None:
    nfc, nfd = (unicodedata.normalize(form, "Café Ltd") for form in ("NFC", "NFD"))
    customer = account.api("POST", "/customers", {"company_name": nfd})["id"]
    account.write_config(
        {
            "version": 1,
            "merchants": [
                {
                    "name": nfc,
                    "email": "ops@cafe.example",
                    "stores": [{"name": "Café US", "marketplace": "US"}],
                }
            ],
        }
    )

    planned = account.plan_json("stores.yaml")
    assert sorted(c["kind"] for c in planned["changes"]) == ["create_store", "invite"]
    assert any(ascii(nfd) in w and ascii(nfc) in w for w in planned["warnings"])

    account.cli("apply", "stores.yaml", "--auto-approve", check=True)
    assert [c["id"] for c in account.api("GET", "/customers")] == [customer]
    assert [s["customer_id"] for s in account.api("GET", "/stores")] == [customer]
    assert account.cli("plan", "stores.yaml", "--detailed-exitcode").returncode == 0
