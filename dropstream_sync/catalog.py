"""Amazon facts the configuration is checked against (Amazon SP-API docs; docs/config.md).

Data only: the loader, the planner and the importer look things up here so that a
marketplace or an order status is spelled one way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final


@dataclass(frozen=True, slots=True)
class Marketplace:
    code: str
    marketplace_id: str
    region: str
    endpoint: str


_NA = "sellingpartnerapi-na.amazon.com"
_EU = "sellingpartnerapi-eu.amazon.com"
_FE = "sellingpartnerapi-fe.amazon.com"

MARKETPLACES: Final[tuple[Marketplace, ...]] = (
    Marketplace("US", "ATVPDKIKX0DER", "NA", _NA),
    Marketplace("CA", "A2EUQ1WTGCTBG2", "NA", _NA),
    Marketplace("MX", "A1AM78C64UM0Y8", "NA", _NA),
    Marketplace("BR", "A2Q3Y263D00KWC", "NA", _NA),
    Marketplace("UK", "A1F83G8C2ARO7P", "EU", _EU),
    Marketplace("DE", "A1PA6795UKMFR9", "EU", _EU),
    Marketplace("FR", "A13V1IB3VIYZZH", "EU", _EU),
    Marketplace("IT", "APJ6JRA9NG5V4", "EU", _EU),
    Marketplace("ES", "A1RKKUPIHCS9HS", "EU", _EU),
    Marketplace("NL", "A1805IZSGTT6HS", "EU", _EU),
    Marketplace("SE", "A2NODRKZP88ZB9", "EU", _EU),
    Marketplace("PL", "A1C3SOZRARQ6R3", "EU", _EU),
    Marketplace("BE", "AMEN7PMS3EDWL", "EU", _EU),
    Marketplace("IE", "A28R8C7NBKEWEA", "EU", _EU),
    Marketplace("TR", "A33AVAJ2PDY3EV", "EU", _EU),
    Marketplace("AE", "A2VIGQ35RCS4UG", "EU", _EU),
    Marketplace("SA", "A17E79C6D8DWNP", "EU", _EU),
    Marketplace("EG", "ARBP9OOSHTCHU", "EU", _EU),
    Marketplace("ZA", "AE08WJ6YKNBMC", "EU", _EU),
    Marketplace("IN", "A21TJRUUN4KGV", "EU", _EU),
    Marketplace("JP", "A1VC38T7YXB528", "FE", _FE),
    Marketplace("AU", "A39IBJ37TRP1C6", "FE", _FE),
    Marketplace("SG", "A19VAU5U5O7RUS", "FE", _FE),
)

BY_CODE: Final[dict[str, Marketplace]] = {m.code: m for m in MARKETPLACES}
BY_ID: Final[dict[str, Marketplace]] = {m.marketplace_id: m for m in MARKETPLACES}

# Amazon writes the United Kingdom as UK; ISO says GB. Both name one marketplace.
MARKETPLACE_ALIASES: Final[dict[str, str]] = {"GB": "UK"}

# ISO 3166 alpha-3 country codes, for the hint only: `AUS` is closest to `US` as text, but the
# person meant Australia. Not accepted as codes, so that the config means the same to the
# JSON Schema (and editors) as to the tool.
ALPHA3: Final[dict[str, str]] = {
    "USA": "US",
    "CAN": "CA",
    "MEX": "MX",
    "BRA": "BR",
    "GBR": "UK",
    "DEU": "DE",
    "FRA": "FR",
    "ITA": "IT",
    "ESP": "ES",
    "NLD": "NL",
    "SWE": "SE",
    "POL": "PL",
    "BEL": "BE",
    "IRL": "IE",
    "TUR": "TR",
    "ARE": "AE",
    "SAU": "SA",
    "EGY": "EG",
    "ZAF": "ZA",
    "IND": "IN",
    "JPN": "JP",
    "AUS": "AU",
    "SGP": "SG",
}

# Orders API v0 OrderStatus values, in the order Amazon documents them.
ORDER_STATUSES: Final[tuple[str, ...]] = (
    "Pending",
    "Unshipped",
    "PartiallyShipped",
    "Shipped",
    "Canceled",
    "Unfulfillable",
    "InvoiceUnconfirmed",
    "PendingAvailability",
)

FULFILLMENT_CHANNELS: Final[tuple[str, ...]] = ("MFN", "AFN")
LATENCY_MIN: Final = 1
LATENCY_MAX: Final = 30
CHANNEL_CODE_MAX_LEN: Final = 64
CHANNEL_CODE_PATTERN: Final = r"^[A-Za-z0-9_.\-]{1,64}$"
# Multi-Location Inventory (custom channel codes) exists only in this marketplace.
MLI_MARKETPLACES: Final[frozenset[str]] = frozenset({"US"})
AUTHORIZATION_LIFETIME_DAYS: Final = 365


def _status_key(text: str) -> str:
    # The 2026 Orders API writes PARTIALLY_SHIPPED and CANCELLED; v0 writes PartiallyShipped
    # and Canceled. Folding case and underscores, and the British double l, makes one key.
    return text.replace("_", "").replace("-", "").lower().replace("cancelled", "canceled")


_STATUS_BY_KEY: Final[dict[str, str]] = {_status_key(s): s for s in ORDER_STATUSES}


@lru_cache(maxsize=1024)
def canonical_status(text: str) -> str | None:
    """The v0 spelling of an order status in any accepted spelling, or None if unknown."""
    return _STATUS_BY_KEY.get(_status_key(text))


@lru_cache(maxsize=256)
def canonical_statuses(statuses: tuple[str, ...]) -> tuple[str, ...]:
    """A set of order statuses as it compares: v0 spellings (an unknown one as given), sorted
    and without repeats; order and spelling never make a change (product.md)."""
    # An account has a handful of distinct status lists, shared by thousands of stores.
    return tuple(sorted({canonical_status(x) or x for x in statuses}))


@lru_cache(maxsize=1024)
def canonical_marketplace(code: str) -> str | None:
    """The catalog code of a marketplace given in any case (GB -> UK), or None if unknown."""
    upper = code.strip().upper()
    upper = MARKETPLACE_ALIASES.get(upper, upper)
    return upper if upper in BY_CODE else None
