"""An account for the report tests, made of literal models and planned by the real planner:
one store of each authorization state, a drifted one, invitations of several ages, expired
invitations (twice for one merchant), channels, and names with HTML in them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from dropstream_sync import catalog
from dropstream_sync.desired import DesiredMerchant, DesiredState, DesiredStore, StoreSettings
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
from dropstream_sync.planner import plan
from dropstream_sync.report import Report, build_report

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
EVIL = "<script>alert(1)</script>"
DAY = timedelta(days=1)


def market(code: str) -> str:
    return catalog.BY_CODE[code].marketplace_id


def authorized(days_left: int, seller: str = "A1SELLER") -> Authorization:
    return Authorization("authorized", seller, NOW - (365 - days_left) * DAY, NOW + days_left * DAY)


def request(
    rid: int, store: int, customer: int, age: int, status: str = "pending", ttl: int = 30
) -> AuthorizationRequest:
    created = NOW - age * DAY
    return AuthorizationRequest(
        rid, store, customer, "ops@example.com", status, created, created + ttl * DAY
    )


def account() -> tuple[DesiredState, LiveState, tuple[AuthorizationRequest, ...]]:
    on = NOW - 40 * DAY
    live = LiveState(
        customers=(Customer(1, "Acme"), Customer(2, "Fish & <b>Chips</b>")),
        warehouses=(Warehouse(1, 1, "Acme WH"), Warehouse(2, 2, "Fish WH")),
        stores=(
            # due for renewal in 10 days (inside the 30-day window); drifted latency
            Store(
                11,
                1,
                "Acme US",
                marketplace_id=market("US"),
                fulfillment_latency=4,
                authorization=authorized(10),
                enabled_at=on,
            ),
            # fine: 200 days left
            Store(
                12,
                1,
                "Acme CA",
                marketplace_id=market("CA"),
                authorization=authorized(200, "A2OTHER"),
                enabled_at=on,
            ),
            # authorization lapsed 3 days ago
            Store(
                13,
                1,
                "Acme UK",
                marketplace_id=market("UK"),
                authorization=Authorization(
                    "authorized", "A1SELLER", NOW - 368 * DAY, NOW - 3 * DAY
                ),
                enabled_at=on,
            ),
            # revoked by the merchant
            Store(
                14,
                1,
                "Acme DE",
                marketplace_id=market("DE"),
                authorization=Authorization("revoked", "A1SELLER"),
            ),
            # invitations waiting, 9 and 2 days
            Store(21, 2, EVIL, marketplace_id=market("FR")),
            Store(22, 2, "Fish IT", marketplace_id=market("IT")),
            # a live store the config does not list
            Store(23, 2, "Fish ES", marketplace_id=market("ES")),
        ),
        connections=(
            Connection(
                111,
                1,
                11,
                1,
                "Acme US",
                on,
                channels=(Channel(1, "sales_order", on), Channel(2, "shipment", None)),
            ),
            Connection(112, 1, 12, 1, "Acme CA", on),
            Connection(113, 1, 13, 1, "Acme UK", on),
        ),
        authorization_requests=(request(71, 21, 2, 9), request(72, 22, 2, 2)),
    )
    expired = (
        request(61, 21, 2, 80, "expired"),
        request(62, 21, 2, 45, "expired"),
        request(63, 14, 1, 50, "expired"),
    )
    desired = DesiredState(
        merchants=(
            DesiredMerchant(
                "Acme",
                email="ops@acme.example",
                stores=(
                    DesiredStore("Acme", "Acme US", "US", StoreSettings(fulfillment_latency=2)),
                    DesiredStore("Acme", "Acme CA", "CA"),
                    DesiredStore("Acme", "Acme UK", "UK"),
                    DesiredStore("Acme", "Acme DE", "DE"),
                    DesiredStore("Acme", "Acme MX", "MX"),  # not created yet
                ),
            ),
            DesiredMerchant(
                "Fish & <b>Chips</b>",
                email="ops@example.com",
                stores=(
                    DesiredStore("Fish & <b>Chips</b>", EVIL, "FR"),
                    DesiredStore("Fish & <b>Chips</b>", "Fish IT", "IT"),
                ),
            ),
        )
    )
    return desired, live, expired


def report() -> Report:
    desired, live, expired = account()
    the_plan = plan(
        desired,
        live,
        now=NOW,
        created_at="2026-11-26T12:00:00Z",
        api_url="https://api.getdropstream.com",
        tool_version="0.1.0",
    )
    return build_report(the_plan, replace(live, expired_authorization_requests=expired), NOW)
