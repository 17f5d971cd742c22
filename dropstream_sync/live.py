"""Models of live DropStream objects, as the client returns them.

Only what the tool reads is kept. Timestamps are aware UTC datetimes; `enabled_at`
None means disabled. The client maps API JSON to these in one place (client/api.py),
so the planner never sees a response.

The vocabulary below (authorization and request statuses, the Amazon platform) is the
model's: planner, importer, render and cli compare against these. Their values equal the API's
words today, but only client/api.py knows how the API spells them and maps one to the other.
"""

from __future__ import annotations

import dataclasses
import operator
import unicodedata
from dataclasses import field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, TypeVar, dataclass_transform

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


def loose_name_key(name: str) -> str:
    """A `name_key` without letter case, runs of spaces or compatibility forms (full-width
    letters, ligatures): names equal in this form look like one name to a person, though
    they are two (the spec compares after NFC only). Used to warn, never to match."""
    return " ".join(unicodedata.normalize("NFKC", name_key(name)).casefold().split())


class AuthStatus(StrEnum):
    """A store's Amazon authorization."""

    MISSING = "missing"  # never authorized
    AUTHORIZED = "authorized"
    EXPIRED = "expired"  # the 365 days ran out
    REVOKED = "revoked"  # the merchant removed the app in Seller Central


class RequestStatus(StrEnum):
    """An authorization request ("Send to merchant")."""

    PENDING = "pending"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELED = "canceled"


# The request status words the model knows; another one is kept and warned of, not dropped.
REQUEST_WORDS: Final = frozenset(RequestStatus)
# The authorization status words it knows; another one (or AUTH_UNREADABLE) invites nobody.
AUTH_WORDS: Final = frozenset(AuthStatus)


def listed_as(request: AuthorizationRequest, status: RequestStatus) -> bool:
    """Whether a request read from the API's list of `status` (`?status=pending`,
    `?status=expired`) counts as one of that list: its word is that status, or a word the
    model does not know, kept as the API spelled it (doctor names it). Dropped, a "Pending"
    link would be invited over, and an "Expired" one would make a store's reinvite a first
    invite and leave the report's repeated expiries empty. A known word of another status
    is dropped: a server ignoring the filter cannot pass one list off as the other."""
    return request.status == status or request.status not in REQUEST_WORDS


PLATFORM_AMAZON: Final = "amazon"
# A store's authorization whose status the answer did not give (no authorization object in
# the adapter, or no status word in it): not `missing`, which would invite a merchant who may
# well be authorized. Not an API word; client/api.py sets it, the planner invites nobody.
AUTH_UNREADABLE: Final = "unreadable"
# Why a setting is in Store.unread_settings, and what a person does about it: the plan's
# warning and import's note both say it (client/api.py decides which settings those are).
UNREAD_SETTINGS_WHY: Final = (
    "could not be read from the live store (missing from its adapter, or not of the kind "
    "DropStream validates for it)"
)
UNREAD_SETTINGS_CHECK: Final = (
    "check the store's settings in DropStream (`dropstream-sync doctor` lists the adapter's keys)"
)

_Model = TypeVar("_Model")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def model(cls: type[_Model]) -> type[_Model]:
    """A live model: frozen to the type checker, a plain slots dataclass at run time.

    Nothing assigns to a live object: mypy --strict refuses it, as for a frozen dataclass.
    The run-time freeze is left out because a frozen dataclass's __init__ sets every field
    through object.__setattr__, about five times the cost of a plain one, and a plan of a
    large account builds tens of thousands of these (docs/benchmarks.md). Equal and hashed
    by value, as a frozen one is.
    """
    return dataclasses.dataclass(slots=True, unsafe_hash=True)(cls)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else utc_stamp(value)


@model
class Customer:
    id: int
    company_name: str

    def fingerprint(self) -> tuple[Any, ...]:
        return ("customer", self.id, self.company_name)


@model
class Warehouse:
    id: int
    customer_id: int
    description: str
    enabled_at: datetime | None = None

    def fingerprint(self) -> tuple[Any, ...]:
        return ("warehouse", self.id, self.customer_id, self.description)


@model
class Authorization:
    # A word the model does not know stays as the API spelled it (doctor points it out).
    status: AuthStatus | str = AuthStatus.MISSING
    selling_partner_id: str | None = None
    authorized_at: datetime | None = None
    expires_at: datetime | None = None


@model
class Store:
    id: int
    customer_id: int
    name: str
    platform: str = PLATFORM_AMAZON
    marketplace_id: str | None = None
    fulfillment_channel: str | None = "MFN"
    import_order_statuses: tuple[str, ...] = ("Unshipped", "PartiallyShipped")
    fulfillment_latency: int | None = None
    fulfillment_channel_code: str | None = "DEFAULT"
    authorization: Authorization = field(default_factory=Authorization)
    enabled_at: datetime | None = None
    # The settings (StoreSettings' names) the answer did not give at all: their values above
    # are defaults, not what DropStream holds, and the plan must not "update" them.
    unread_settings: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return self.enabled_at is not None

    def fingerprint(self) -> tuple[Any, ...]:
        a = self.authorization
        # str(): the digest covers the word, as it did before the enums, not an enum's repr.
        return (
            "store",
            self.id,
            self.customer_id,
            self.name,
            self.platform,
            self.marketplace_id,
            self.fulfillment_channel,
            tuple(sorted(self.import_order_statuses)),
            self.fulfillment_latency,
            self.fulfillment_channel_code,
            str(a.status),
            a.selling_partner_id,
            _iso(a.authorized_at),
            _iso(a.expires_at),
            self.enabled,
        )


@model
class Channel:
    """One of a connection's channels (sales_order, shipment, ...), as the connection
    object lists them [doc]."""

    id: int
    type: str
    enabled_at: datetime | None = None

    @property
    def enabled(self) -> bool:
        return self.enabled_at is not None


@model
class Connection:
    id: int
    customer_id: int
    store_id: int
    warehouse_id: int
    name: str
    enabled_at: datetime | None = None
    # None: the API's object carried no `channels` (unknown, never fetched one by one).
    channels: tuple[Channel, ...] | None = ()

    @property
    def enabled(self) -> bool:
        return self.enabled_at is not None

    def fingerprint(self) -> tuple[Any, ...]:
        return ("connection", *_CONNECTION_PRINT(self))

    def channel_fingerprints(self) -> tuple[tuple[int, tuple[Any, ...]], ...]:
        """(channel id, its fingerprint) for each channel: index entries of their own, so
        that a plan without channels digests as it always did."""
        return tuple(
            (ch.id, ("channel", ch.id, self.id, ch.type, ch.enabled)) for ch in self.channels or ()
        )


# What a connection's fingerprint covers, in the order saved plans digest it.
_CONNECTION_PRINT: Final = operator.attrgetter(
    "id", "customer_id", "store_id", "warehouse_id", "name", "enabled"
)


@model
class AuthorizationRequest:
    id: int
    store_id: int
    customer_id: int
    email: str
    status: RequestStatus | str  # an unknown word stays as the API spelled it
    created_at: datetime
    expires_at: datetime
    completed_at: datetime | None = None

    def fingerprint(self) -> tuple[Any, ...]:
        return (
            "authorization_request",
            self.id,
            self.store_id,
            self.email,
            str(self.status),
            _iso(self.expires_at),
        )


@model
class LiveState:
    """What a plan reads: every list once. `stores` holds Amazon stores only;
    `authorization_requests` holds the pending ones, `expired_authorization_requests` the
    expired ones."""

    customers: tuple[Customer, ...] = ()
    warehouses: tuple[Warehouse, ...] = ()
    stores: tuple[Store, ...] = ()
    connections: tuple[Connection, ...] = ()
    authorization_requests: tuple[AuthorizationRequest, ...] = ()
    # Requests whose link lapsed unanswered: a store with one is invited again (`reinvite`),
    # not for the first time. Read as one list, like the others; not part of the stale check
    # (a request only ever leaves `pending` for it, and that the pending list shows).
    expired_authorization_requests: tuple[AuthorizationRequest, ...] = ()
    # The API has no authorization-request endpoint (404/405 on its list): invites cannot be
    # sent through it, so a plan turns them into pending items for the DropStream UI.
    authorization_requests_missing: bool = False
