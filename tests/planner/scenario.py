"""Literal desired and live states for planner and renderer tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from dropstream_sync.desired import (
    DesiredMerchant,
    DesiredState,
    DesiredStore,
    Safety,
    Source,
    StoreSettings,
)
from dropstream_sync.live import (
    Authorization,
    AuthorizationRequest,
    Channel,
    Connection,
    Customer,
    LiveState,
    Store,
    Warehouse,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
US = "ATVPDKIKX0DER"
CA = "A2EUQ1WTGCTBG2"
UK = "A1F83G8C2ARO7P"
AUTHORIZED = Authorization(
    "authorized", "A1SELLER", NOW - timedelta(days=10), NOW + timedelta(days=355)
)


def store(merchant: str, name: str, marketplace: str = "US", **kw: Any) -> DesiredStore:
    return DesiredStore(
        merchant=merchant,
        name=name,
        marketplace=marketplace,
        source=Source("stores.yaml", 7, 9),
        **kw,
    )


def merchant(
    name: str, *stores: DesiredStore, email: str | None = "ops@acme.example", **kw: object
) -> DesiredMerchant:
    return DesiredMerchant(name=name, email=email, stores=stores, **kw)  # type: ignore[arg-type]


def state(*merchants: DesiredMerchant, **safety: float) -> DesiredState:
    return DesiredState(merchants=merchants, safety=Safety(**safety))  # type: ignore[arg-type]


def live_store(
    sid: int, name: str, customer: int = 1, marketplace: str = US, **kw: object
) -> Store:
    return Store(id=sid, customer_id=customer, name=name, marketplace_id=marketplace, **kw)  # type: ignore[arg-type]


def account(
    *stores: Store,
    connections: tuple[Connection, ...] = (),
    requests: tuple[AuthorizationRequest, ...] = (),
    customers: tuple[Customer, ...] = (Customer(1, "Acme"),),
) -> LiveState:
    warehouses = tuple(Warehouse(c.id, c.id, f"{c.company_name} Warehouse") for c in customers)
    return LiveState(customers, warehouses, stores, connections, requests)


def connected(
    sid: int, name: str, *, enabled: bool = True, customer: int = 1, **kw: object
) -> tuple[Store, Connection]:
    on = NOW - timedelta(days=1) if enabled else None
    kw.setdefault("authorization", AUTHORIZED)
    s = live_store(sid, name, customer, enabled_at=on, **kw)  # type: ignore[arg-type]
    return s, Connection(100 + sid, customer, sid, customer, name, on)


def request(
    rid: int, sid: int, email: str = "ops@acme.example", *, age_days: int = 1, ttl_days: int = 7
) -> AuthorizationRequest:
    created = NOW - timedelta(days=age_days)
    return AuthorizationRequest(
        rid, sid, 1, email, "pending", created, created + timedelta(days=ttl_days)
    )


def rich() -> tuple[DesiredState, LiveState]:
    """Every change kind, every pending kind, a blocked plan and warnings, in one account."""
    us_s, us_c = connected(1, "Acme US")
    ca_s, ca_c = connected(2, "Acme CA Old", marketplace=CA)
    mx_s, mx_c = connected(3, "Acme MX", enabled=False, marketplace="A1AM78C64UM0Y8")
    de_s, de_c = connected(4, "Acme DE", marketplace="A1PA6795UKMFR9")
    pruned_s, pruned_c = connected(5, "Acme FR", marketplace="A13V1IB3VIYZZH")
    renew_s, renew_c = connected(
        11,
        "Acme ES",
        marketplace="A1RKKUPIHCS9HS",
        authorization=replace(AUTHORIZED, expires_at=NOW + timedelta(days=12)),
    )
    live = account(
        us_s,
        replace(ca_s, fulfillment_latency=5),
        mx_s,
        de_s,
        pruned_s,
        live_store(6, "Acme UK", marketplace=UK, authorization=AUTHORIZED),
        live_store(7, "Acme JP", marketplace="A1VC38T7YXB528"),
        # A second "Acme JP", made by a concurrent apply: neutralized, 7 is kept.
        live_store(30, "Acme JP", marketplace="A1VC38T7YXB528"),
        live_store(8, "Acme AU", marketplace="A39IBJ37TRP1C6"),
        live_store(9, "Acme SG", marketplace="A19VAU5U5O7RUS"),
        live_store(
            10, "Acme IT", marketplace="APJ6JRA9NG5V4", authorization=Authorization("expired")
        ),
        renew_s,
        live_store(20, "Solo US", customer=2),
        connections=(
            us_c,
            ca_c,
            mx_c,
            replace(
                de_c,
                name="Acme DE (old)",
                channels=(
                    Channel(301, "sales_order", NOW - timedelta(days=1)),
                    Channel(302, "shipment", None),
                ),
            ),
            pruned_c,
            renew_c,
        ),
        requests=(request(50, 8), request(51, 9, age_days=9), request(52, 5), request(53, 30)),
        customers=(Customer(1, "Acme"), Customer(2, "Solo")),
    )
    desired = state(
        merchant(
            "Acme",
            store("Acme", "Acme US", protect=True, enabled=False),
            store(
                "Acme",
                "Acme CA",
                id=2,
                marketplace="CA",
                settings=StoreSettings(fulfillment_latency=2),
            ),
            store("Acme", "Acme MX", marketplace="MX"),
            store("Acme", "Acme DE", marketplace="DE", channels={"shipment": True}),
            store("Acme", "Acme UK", marketplace="UK"),
            store("Acme", "Acme JP", marketplace="JP"),
            store("Acme", "Acme AU", marketplace="AU"),
            store("Acme", "Acme SG", marketplace="SG"),
            store("Acme", "Acme IT", marketplace="IT"),
            store("Acme", "Acme NL", marketplace="NL"),
            store("Acme", "Acme ES", marketplace="ES"),
            prune=True,
        ),
        merchant(
            "New Co",
            store("New Co", "New Co US"),
            store("New Co", "New Co CA", "CA"),
            email="hello@newco.example",
        ),
        merchant("Solo", store("Solo", "Solo US"), email=None),
        max_invites_per_run=5,
        min_existing=1,
    )
    return desired, live
