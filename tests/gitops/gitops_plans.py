"""Plans for the GitOps tests, made by the real planner from literal models.

The workflows and the Markdown checks read what `plan()` really produces (field names,
pending details, the renderer's layout), so a change in the plan format shows up here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dropstream_sync import catalog
from dropstream_sync.desired import (
    DesiredMerchant,
    DesiredState,
    DesiredStore,
    Safety,
    StoreSettings,
)
from dropstream_sync.live import (
    Authorization,
    AuthorizationRequest,
    Connection,
    Customer,
    LiveState,
    Store,
    Warehouse,
)
from dropstream_sync.planner import Plan, plan
from dropstream_sync.report import Report, build_report

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
MARKETS = ("US", "CA", "MX", "UK", "DE", "FR", "IT", "ES")


def _market_id(code: str) -> str:
    return next(m.marketplace_id for m in catalog.MARKETPLACES if m.code == code)


def _authorized(days_left: int = 335) -> Authorization:
    return Authorization(
        "authorized",
        "A1SELLER",
        NOW - timedelta(days=365 - days_left),
        NOW + timedelta(days=days_left),
    )


def make_plan(desired: DesiredState, live: LiveState) -> Plan:
    return plan(
        desired,
        live,
        now=NOW,
        created_at="2026-11-26T12:00:00Z",
        api_url="https://api.getdropstream.com",
        tool_version="0.1.0",
    )


def rich_plan() -> Plan:
    """Several merchants; creates, updates, invites, a disable, pending items, warnings,
    and names with Markdown and HTML in them (the comment must not break on them)."""
    on = NOW - timedelta(days=3)
    live = LiveState(
        customers=(Customer(1, "Acme <Outdoors> | *Co*"), Customer(2, "Bella")),
        warehouses=(Warehouse(1, 1, "Acme WH"), Warehouse(2, 2, "Bella WH")),
        stores=(
            Store(
                11,
                1,
                "Acme US",
                marketplace_id=_market_id("US"),
                fulfillment_latency=5,
                authorization=_authorized(),
                enabled_at=on,
            ),
            Store(12, 1, "Acme CA", marketplace_id=_market_id("CA")),
            Store(
                13,
                1,
                "Acme UK",
                marketplace_id=_market_id("UK"),
                authorization=_authorized(),
                enabled_at=on,
            ),
            Store(21, 2, "Bella FR", marketplace_id=_market_id("FR")),
        ),
        connections=(
            Connection(111, 1, 11, 1, "Acme US", on),
            Connection(113, 1, 13, 1, "Acme UK", on),
        ),
        authorization_requests=(
            AuthorizationRequest(
                71,
                21,
                2,
                "ops@bella.example",
                "pending",
                NOW - timedelta(days=9),
                NOW + timedelta(days=5),
            ),
        ),
    )
    desired = DesiredState(
        merchants=(
            DesiredMerchant(
                "Acme <Outdoors> | *Co*",
                email="ops@acme.example",
                stores=(
                    DesiredStore(
                        "Acme <Outdoors> | *Co*",
                        "Acme US",
                        "US",
                        StoreSettings(fulfillment_latency=2),
                    ),
                    DesiredStore("Acme <Outdoors> | *Co*", "Acme CA", "CA"),
                    DesiredStore("Acme <Outdoors> | *Co*", "Acme UK", "UK", enabled=False),
                    DesiredStore("Acme <Outdoors> | *Co*", "Acme `DE` <b>", "DE"),
                ),
            ),
            DesiredMerchant(
                "Bella",
                email="ops@bella.example",
                stores=(DesiredStore("Bella", "Bella FR", "FR"),),
            ),
            DesiredMerchant("Newco", stores=(DesiredStore("Newco", "Newco US", "US"),)),
        ),
        safety=Safety(min_existing=100),
    )
    return make_plan(desired, live)


def big_plan(merchants: int = 400, stores_each: int = 8) -> Plan:
    """New merchants with many stores each: far more than one 60,000-character comment."""
    desired = DesiredState(
        merchants=tuple(
            DesiredMerchant(
                f"Merchant {i:04d}",
                email=f"ops{i}@example.com",
                stores=tuple(
                    DesiredStore(f"Merchant {i:04d}", f"Merchant {i:04d} {code}", code)
                    for code in MARKETS[:stores_each]
                ),
            )
            for i in range(merchants)
        ),
        safety=Safety(max_invites_per_run=10_000),
    )
    return make_plan(desired, LiveState())


def audit_plan(*, drift: bool, invite_age_days: int | None, renewal: bool = False) -> Plan:
    """One connected store, optionally with a setting changed live (drift) or an authorization
    due for renewal, and optionally a second store whose invite has waited `invite_age_days`."""
    return make_plan(*audit_account(drift, invite_age_days, renewal))


def audit_report(*, drift: bool, invite_age_days: int | None, renewal: bool = False) -> Report:
    """The report of `audit_plan`'s account, made from the same reads."""
    desired, live = audit_account(drift, invite_age_days, renewal)
    return build_report(make_plan(desired, live), live, NOW)


def audit_account(
    drift: bool, invite_age_days: int | None, renewal: bool
) -> tuple[DesiredState, LiveState]:
    on = NOW - timedelta(days=40)
    latency = 4 if drift else 2
    stores = [
        Store(
            11,
            1,
            "Acme US",
            marketplace_id=_market_id("US"),
            fulfillment_latency=latency,
            authorization=_authorized(10 if renewal else 335),
            enabled_at=on,
        )
    ]
    wanted = [DesiredStore("Acme", "Acme US", "US", StoreSettings(fulfillment_latency=2))]
    requests: list[AuthorizationRequest] = []
    if invite_age_days is not None:
        stores.append(Store(12, 1, "Acme CA", marketplace_id=_market_id("CA")))
        wanted.append(DesiredStore("Acme", "Acme CA", "CA"))
        created = NOW - timedelta(days=invite_age_days)
        requests.append(
            AuthorizationRequest(
                70, 12, 1, "ops@acme.example", "pending", created, created + timedelta(days=30)
            )
        )
    live = LiveState(
        customers=(Customer(1, "Acme"),),
        warehouses=(Warehouse(1, 1, "Acme WH"),),
        stores=tuple(stores),
        connections=(Connection(111, 1, 11, 1, "Acme US", on),),
        authorization_requests=tuple(requests),
    )
    desired = DesiredState(
        merchants=(DesiredMerchant("Acme", email="ops@acme.example", stores=tuple(wanted)),)
    )
    return desired, live
