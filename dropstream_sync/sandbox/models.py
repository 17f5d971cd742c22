"""The shapes the sandbox answers and accepts, as pydantic models: the OpenAPI document's source.

These models describe; they do not validate requests. Validation stays in validation.py because
its messages are part of the contract (`Validation failed: <field> <reason>.` with every
problem in `details`), which pydantic's own errors would change. What keeps the two in step:
each handler's allowed keys come from its body model (`fields_of`), and the property-based
runs (tests/sandbox/test_openapi_fuzz.py, the schemathesis run) send what the document
describes and check every answer against it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .catalog import MARKETPLACE_IDS, ORDER_STATUSES
from .quirks import PATTERN as QUIRK_PATTERN
from .quirks import QUIRKS

# SQLite integers stop at 2**63: larger ids cannot exist, so the sandbox refuses them.
Id = Annotated[int, Field(ge=1, le=2**62 - 1)]
Ts = datetime | None
Name = Annotated[str, Field(min_length=1, max_length=255, pattern=r"\S")]  # not all spaces
Str255 = Annotated[str, Field(max_length=255)]
NStr255 = Annotated[str | None, Field(max_length=255)]
Description = Annotated[str | None, Field(max_length=1000)]
Url = Annotated[str | None, Field(max_length=2000)]
ChannelCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]
Latency = Annotated[int | None, Field(ge=1, le=30)]
FulfillmentChannel = Literal["MFN", "AFN"]
AuthorizationStatus = Literal["missing", "authorized", "expired", "revoked"]
RequestStatus = Literal["pending", "completed", "expired", "canceled"]
ChannelType = Literal["sales_order", "sales_order_return", "shipment"]
MarketplaceId = Annotated[str, Field(json_schema_extra={"enum": sorted(MARKETPLACE_IDS)})]
OrderStatus = Annotated[str, Field(json_schema_extra={"enum": list(ORDER_STATUSES)})]
Email = Annotated[str, Field(max_length=254, json_schema_extra={"format": "email"})]


class Closed(BaseModel):
    """Every documented field, nothing else: a response drifting from the spec breaks the
    document, and a request with an unknown key is refused (422)."""

    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """Keys beyond the documented ones are ignored (the control surface's bodies)."""

    model_config = ConfigDict(extra="ignore")


# -- answers ---------------------------------------------------------------------------------


class Error(Open):
    error: str
    details: dict[str, list[str]] = Field(default_factory=dict)


class Created(Open):
    id: Id


class Token(Open):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int


class Customer(Closed):
    id: Id
    company_name: str
    street1: str | None
    street2: str | None
    street3: str | None
    city: str | None
    state: str | None
    zipcode: str | None
    country: str | None
    provider: str | None
    created_at: Ts


class Warehouse(Closed):
    id: Id
    customer_id: Id
    description: str | None
    platform: str
    adapter: dict[str, Any]
    created_at: Ts
    enabled_at: Ts
    order_status_imported_at: Ts
    inventory_updated_at: Ts


class Authorization(Open):
    status: AuthorizationStatus
    selling_partner_id: str | None
    authorized_at: Ts
    expires_at: Ts


# The settings of an Amazon store's adapter as a request sets them; the answer's adapter is
# these as stored (a comment, not a docstring: that would enter the document).
class AdapterPatch(Closed):
    marketplace_id: MarketplaceId = "-"
    fulfillment_channel: FulfillmentChannel = "MFN"
    import_order_statuses: Annotated[list[OrderStatus], Field(min_length=1)] = ["Unshipped"]
    fulfillment_latency: Latency = None
    fulfillment_channel_code: ChannelCode = "DEFAULT"


class AdapterCreate(AdapterPatch):
    marketplace_id: MarketplaceId


class AmazonAdapter(AdapterPatch):
    """An Amazon store's adapter (another platform's adapter is any object)."""

    model_config = ConfigDict(extra="ignore")

    marketplace_id: str = ""
    import_order_statuses: Annotated[list[str], Field(min_length=1)] = ["Unshipped"]
    authorization: Authorization | None = None


class Store(Closed):
    id: Id
    customer_id: Id
    name: str
    description: str | None
    url: str | None
    platform: str
    adapter: AmazonAdapter
    created_at: Ts
    enabled_at: Ts
    order_imported_at: Ts
    inventory_updated_at: Ts


class Channel(Closed):
    id: Id
    type: ChannelType
    enabled_at: Ts


class Connection(Closed):
    id: Id
    customer_id: Id
    warehouse_id: Id
    store_id: Id
    name: str
    connection_type: str
    created_at: Ts
    enabled_at: Ts
    locations: list[Any]
    channels: list[Channel]


class AuthorizationRequest(Closed):
    id: Id
    store_id: Id
    customer_id: Id
    email: str
    status: RequestStatus
    created_at: Ts
    expires_at: Ts
    completed_at: Ts


# -- request bodies of the API ---------------------------------------------------------------
# A default here only marks a key optional; the document leaves defaults out.


class CustomerFields(Closed):
    street1: NStr255 = None
    street2: NStr255 = None
    street3: NStr255 = None
    city: NStr255 = None
    state: NStr255 = None
    zipcode: NStr255 = None
    country: NStr255 = None
    provider: NStr255 = None


class CustomerCreate(CustomerFields):
    company_name: Name


class CustomerPatch(CustomerFields):
    company_name: Name = "-"


class WarehouseCreate(Closed):
    customer_id: Id
    description: Name
    platform: Str255 = "dropstream"
    adapter: dict[str, Any] = Field(default_factory=dict)


class WarehousePatch(Closed):
    description: Str255 = "-"
    adapter: dict[str, Any] = Field(default_factory=dict)
    enabled_at: Ts = None


class StoreCreate(Closed):
    customer_id: Id
    name: Name
    description: Description = None
    url: Url = None
    platform: Literal["amazon"]
    adapter: AdapterCreate


class StorePatch(Closed):
    name: Name = "-"
    description: Description = None
    url: Url = None
    adapter: AdapterPatch = Field(default_factory=AdapterPatch)
    enabled_at: Ts = None


class AuthorizationRequestCreate(Closed):
    email: Email


class ConnectionCreate(Closed):
    name: Name
    customer_id: Id
    store_id: Id
    warehouse_id: Id = 1


class ConnectionPatch(Closed):
    name: Name = "-"
    enabled_at: Ts = None


class ChannelPatch(Closed):
    enabled_at: Ts = None


class TokenRequest(Open):
    grant_type: Literal["client_credentials"] = "client_credentials"


# -- the control surface (/_sandbox/) --------------------------------------------------------


class NewUser(Open):
    username: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^:]+$")]
    password: str


class UserCreated(Open):
    username: str


class OutboxEmail(Open):
    to: str
    subject: str
    link: str
    authorization_request_id: Id
    sent_at: Ts
    # The request's status now: the link works only while it is pending.
    status: RequestStatus


class Approval(Open):
    selling_partner_id: Annotated[str | None, Field(max_length=255)] = None


class Approved(Open):
    id: Id
    status: Literal["completed"]
    selling_partner_id: str


class ClockAdvance(Open):
    advance_seconds: Annotated[float, Field(ge=0, le=100 * 365 * 86400)] = 0


class ClockState(Open):
    now: datetime
    offset_seconds: float


class FaultSettings(Open):
    rate: Annotated[float, Field(ge=0, le=1)] = 0
    after_commit_share: Annotated[float, Field(ge=0, le=1)] = 0
    latency_ms: Annotated[int, Field(ge=0, le=60_000)] = 0
    seed: int | None = None


class RateLimit(Open):
    rps: Annotated[float, Field(ge=0, le=1e6)] = 0
    burst: Annotated[int, Field(ge=1, le=1_000_000)] = 10


class QuirkSettings(Open):
    quirks: list[Annotated[str, Field(pattern=QUIRK_PATTERN)]] = Field(
        description="; ".join(f"{name}: {text}" for name, text in QUIRKS.items())
    )


class Stats(Open):
    requests: dict[str, int]
    total_requests: int
    rate_limited: int
    faults: int


class SeedCustomer(Open):
    company_name: str


class SeedWarehouse(Open):
    customer_id: int


class SeedStore(Open):
    customer_id: int
    name: str


class SeedConnection(Open):
    customer_id: int
    warehouse_id: int
    store_id: int
    name: str


class SeedRequest(Open):
    store_id: int
    email: str
    expires_at: str


class SeedDocument(Open):
    """Whole objects in the API's shapes (the keys each needs at least are listed); their ids
    only tie references together."""

    # null or "" load into the sandbox's main login
    username: Annotated[str, Field(max_length=255, pattern=r"^[^:]*$")] | None = None
    customers: list[SeedCustomer] = Field(default_factory=list)
    warehouses: list[SeedWarehouse] = Field(default_factory=list)
    stores: list[SeedStore] = Field(default_factory=list)
    connections: list[SeedConnection] = Field(default_factory=list)
    authorization_requests: list[SeedRequest] = Field(default_factory=list)


class SeedCounts(Open):
    customers: int
    warehouses: int
    stores: int
    connections: int
    authorization_requests: int


def fields_of(model: type[BaseModel]) -> tuple[str, ...]:
    """The keys a body may carry: what the document says it accepts."""
    return tuple(model.model_fields)
