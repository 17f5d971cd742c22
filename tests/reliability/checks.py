"""What 'no duplicates' means, checked against the live account after a rough apply."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.e2e.harness import Account


def fleet(merchants: int, stores: int, *, email: bool = True) -> dict[str, Any]:
    codes = ["US", "CA", "MX", "UK", "DE", "FR", "JP", "AU", "IT", "ES"]
    return {
        "version": 1,
        "safety": {"max_invites_per_run": 10000},
        "merchants": [
            {
                "name": f"Merchant {m:03d}",
                **({"email": f"ops{m}@merchant.example"} if email else {}),
                "stores": [
                    {"name": f"Merchant {m:03d} {codes[s % 10]}", "marketplace": codes[s % 10]}
                    for s in range(stores)
                ],
            }
            for m in range(merchants)
        ],
    }


def all_pages(account: Account, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        batch = account.api("GET", path, params={**params, "per_page": 100, "page": page})
        items.extend(batch)
        if len(batch) < 100:
            return items
        page += 1


def assert_exactly_one_of_each(account: Account, config: dict[str, Any]) -> None:
    customers = Counter(c["company_name"] for c in all_pages(account, "/customers"))
    wanted = [m["name"] for m in config["merchants"]]
    assert {name: customers[name] for name in wanted} == dict.fromkeys(wanted, 1)

    stores = all_pages(account, "/stores")
    per_store = Counter((s["customer_id"], s["name"]) for s in stores)
    assert max(per_store.values()) == 1, "a store was created twice"
    assert len(stores) == sum(len(m["stores"]) for m in config["merchants"])

    connections = Counter(c["store_id"] for c in all_pages(account, "/connections"))
    assert not connections or max(connections.values()) == 1, "a connection was created twice"

    pending = Counter(
        r["store_id"] for r in all_pages(account, "/authorization_requests", status="pending")
    )
    assert not pending or max(pending.values()) == 1, "two pending requests for one store"
    authorized = {
        s["id"] for s in stores if s["adapter"]["authorization"]["status"] == "authorized"
    }
    for store in stores:
        has_request = store["id"] in pending
        has_connection = store["id"] in connections
        if store["id"] in authorized:
            assert has_connection and not has_request, store
        else:
            assert has_request and not has_connection, store


def approve_some(account: Account, share: float) -> int:
    pending = all_pages(account, "/authorization_requests", status="pending")
    chosen = pending[: int(len(pending) * share)]
    for request in chosen:
        account.control("POST", f"/_sandbox/authorization_requests/{request['id']}/complete", {})
    return len(chosen)
