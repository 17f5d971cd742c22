"""Models of live DropStream objects, as the client returns them.

Only what the tool reads is kept. Timestamps are aware UTC datetimes; `enabled_at`
None means disabled. The client maps API JSON to these in one place (client/api.py),
so the planner never sees a response.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dropstream_sync.timestamps import utc_stamp


def name_key(name: str) -> str:
    """The form in which two customer or store names are the same name: Unicode NFC, without
    invisible format characters (zero-width spaces and joiners, bidi controls, a BOM) and
    without surrounding whitespace. "Café" typed precomposed and with a combining accent,
    or with a trailing space, look alike to a person and must never be two merchants."""
    if name.isascii():
        # NFC leaves ASCII alone and no ASCII character is a format (Cf) one; a plan asks
        # this of every live and desired name, nearly all of them ASCII.
        return name.strip()
    composed = unicodedata.normalize("NFC", name)
    return "".join(ch for ch in composed if unicodedata.category(ch) != "Cf").strip()


def _iso(value: datetime | None) -> str | None:
    return None if value is None else utc_stamp(value)


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    company_name: str

    def fingerprint(self) -> tuple[Any, ...]:
        return ("customer", self.id, self.company_name)


@dataclass(frozen=True, slots=True)
class Warehouse:
    id: int
    customer_id: int
    description: str
    enabled_at: datetime | None = None

    def fingerprint(self) -> tuple[Any, ...]:
        return ("warehouse", self.id, self.customer_id, self.description)


@dataclass(frozen=True, slots=True)
class Authorization:
    status: str = "missing"  # missing | authorized | expired | revoked
    selling_partner_id: str | None = None
    authorized_at: datetime | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Store:
    id: int
    customer_id: int
    name: str
    platform: str = "amazon"
    marketplace_id: str | None = None
    fulfillment_channel: str | None = "MFN"
    import_order_statuses: tuple[str, ...] = ("Unshipped", "PartiallyShipped")
    fulfillment_latency: int | None = None
    fulfillment_channel_code: str | None = "DEFAULT"
    authorization: Authorization = field(default_factory=Authorization)
    enabled_at: datetime | None = None

    @property
    def enabled(self) -> bool:
        return self.enabled_at is not None

    def fingerprint(self) -> tuple[Any, ...]:
        a = self.authorization
        return (
            "store", self.id, self.customer_id, self.name, self.platform, self.marketplace_id,
            self.fulfillment_channel, tuple(sorted(self.import_order_statuses)),
            self.fulfillment_latency, self.fulfillment_channel_code,
            a.status, a.selling_partner_id, _iso(a.authorized_at), _iso(a.expires_at),
            self.enabled,
        )


@dataclass(frozen=True, slots=True)
class Channel:
    """One of a connection's channels (sales_order, shipment, ...). Read for the report;
    the planner does not manage channels, so they are not in the fingerprint."""

    id: int
    type: str
    enabled_at: datetime | None = None

    @property
    def enabled(self) -> bool:
        return self.enabled_at is not None


@dataclass(frozen=True, slots=True)
class Connection:
    id: int
    customer_id: int
    store_id: int
    warehouse_id: int
    name: str
    enabled_at: datetime | None = None
    channels: tuple[Channel, ...] = ()

    @property
    def enabled(self) -> bool:
        return self.enabled_at is not None

    def fingerprint(self) -> tuple[Any, ...]:
        return ("connection", self.id, self.customer_id, self.store_id, self.warehouse_id,
                self.name, self.enabled)


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    id: int
    store_id: int
    customer_id: int
    email: str
    status: str  # pending | completed | expired | canceled
    created_at: datetime
    expires_at: datetime
    completed_at: datetime | None = None

    def fingerprint(self) -> tuple[Any, ...]:
        return ("authorization_request", self.id, self.store_id, self.email, self.status,
                _iso(self.expires_at))


@dataclass(frozen=True, slots=True)
class LiveState:
    """What a plan reads: every list once. `stores` holds Amazon stores only;
    `authorization_requests` holds the pending ones."""

    customers: tuple[Customer, ...] = ()
    warehouses: tuple[Warehouse, ...] = ()
    stores: tuple[Store, ...] = ()
    connections: tuple[Connection, ...] = ()
    authorization_requests: tuple[AuthorizationRequest, ...] = ()
    # The API has no authorization-request endpoint (404/405 on its list): invites cannot be
    # sent through it, so a plan turns them into pending items for the DropStream UI.
    authorization_requests_missing: bool = False
