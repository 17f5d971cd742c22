"""Amazon facts the sandbox validates against.

Duplicated from the tool's own catalog on purpose: the sandbox must not import the tool, so that
it can never simply agree with the client's assumptions (the source is Amazon's SP-API
marketplace ids page, as for the tool's catalog.py).
"""

from __future__ import annotations

# The two tables keep `# fmt: skip`: laid out by SP-API region, four or three ids a line, they
# read against amazon.md's table; one id per line (the formatter's layout) would hide that.
MARKETPLACE_IDS: frozenset[str] = frozenset(
    {
        # NA
        "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8", "A2Q3Y263D00KWC",
        # EU
        "A1F83G8C2ARO7P", "A1PA6795UKMFR9", "A13V1IB3VIYZZH", "APJ6JRA9NG5V4",
        "A1RKKUPIHCS9HS", "A1805IZSGTT6HS", "A2NODRKZP88ZB9", "A1C3SOZRARQ6R3",
        "AMEN7PMS3EDWL", "A28R8C7NBKEWEA", "A33AVAJ2PDY3EV", "A2VIGQ35RCS4UG",
        "A17E79C6D8DWNP", "ARBP9OOSHTCHU", "AE08WJ6YKNBMC", "A21TJRUUN4KGV",
        # FE
        "A1VC38T7YXB528", "A39IBJ37TRP1C6", "A19VAU5U5O7RUS",
    }
)  # fmt: skip

MARKETPLACE_NAMES: dict[str, str] = {
    "ATVPDKIKX0DER": "US", "A2EUQ1WTGCTBG2": "CA", "A1AM78C64UM0Y8": "MX",
    "A2Q3Y263D00KWC": "BR", "A1F83G8C2ARO7P": "UK", "A1PA6795UKMFR9": "DE",
    "A13V1IB3VIYZZH": "FR", "APJ6JRA9NG5V4": "IT", "A1RKKUPIHCS9HS": "ES",
    "A1805IZSGTT6HS": "NL", "A2NODRKZP88ZB9": "SE", "A1C3SOZRARQ6R3": "PL",
    "AMEN7PMS3EDWL": "BE", "A28R8C7NBKEWEA": "IE", "A33AVAJ2PDY3EV": "TR",
    "A2VIGQ35RCS4UG": "AE", "A17E79C6D8DWNP": "SA", "ARBP9OOSHTCHU": "EG",
    "AE08WJ6YKNBMC": "ZA", "A21TJRUUN4KGV": "IN", "A1VC38T7YXB528": "JP",
    "A39IBJ37TRP1C6": "AU", "A19VAU5U5O7RUS": "SG",
}  # fmt: skip

# Orders API v0 names, in the order Amazon's model lists them.
ORDER_STATUSES: tuple[str, ...] = (
    "Pending",
    "Unshipped",
    "PartiallyShipped",
    "Shipped",
    "Canceled",
    "Unfulfillable",
    "InvoiceUnconfirmed",
    "PendingAvailability",
)

# Lower-cased, underscore-free spelling -> v0 name. The 2026 API writes UNSHIPPED,
# PARTIALLY_SHIPPED, CANCELLED...; any case of either spelling is accepted.
_STATUS_ALIASES: dict[str, str] = {s.lower(): s for s in ORDER_STATUSES} | {"cancelled": "Canceled"}


def canonical_order_status(value: str) -> str | None:
    """The v0 name of an order status in any accepted spelling, or None."""
    return _STATUS_ALIASES.get(value.replace("_", "").lower())


FULFILLMENT_CHANNELS: frozenset[str] = frozenset({"MFN", "AFN"})
CHANNEL_TYPES: tuple[str, ...] = ("sales_order", "sales_order_return", "shipment")
AUTHORIZATION_DAYS = 365
