"""Hand-written request validation (422 with every problem at once in `details`).

Hand-written rather than pydantic models because it is cheap per request and it lets the
messages follow the spec's error shape exactly. Unknown fields are refused: a client that sends
a field the API does not have has a bug worth hearing about.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from .catalog import (
    FULFILLMENT_CHANNELS,
    MARKETPLACE_IDS,
    canonical_order_status,
)
from .errors import ApiError
from .store import fmt_ts, parse_ts


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CHANNEL_CODE_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
PLATFORM_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
AMAZON_ADAPTER_KEYS = (
    "marketplace_id",
    "fulfillment_channel",
    "import_order_statuses",
    "fulfillment_latency",
    "fulfillment_channel_code",
)
AMAZON_DEFAULTS: dict[str, Any] = {
    "fulfillment_channel": "MFN",
    "import_order_statuses": ["Unshipped", "PartiallyShipped"],
    "fulfillment_latency": None,
    "fulfillment_channel_code": "DEFAULT",
}


def require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(422, "The request body must be a JSON object.")
    return body


class Fields:
    """Reads the fields of one JSON object body, collecting every problem before failing."""

    def __init__(
        self, body: Any, allowed: tuple[str, ...], read_only: tuple[str, ...] = ()
    ) -> None:
        self.body = require_object(body)
        self.errors: dict[str, list[str]] = {}
        for key in self.body:
            if key in read_only:
                self.add(key, "is read-only")
            elif key not in allowed:
                self.add(key, "is not a known field")

    def add(self, field: str, reason: str) -> None:
        self.errors.setdefault(field, []).append(reason)

    def string(
        self,
        key: str,
        *,
        required: bool = False,
        nullable: bool = True,
        max_len: int = 255,
        nonempty: bool | None = None,
    ) -> Any:
        if key not in self.body:
            if required:
                self.add(key, "is required")
            return MISSING
        value = self.body[key]
        if value is None:
            if nullable and not required:
                return None
            self.add(key, "must not be null")
            return MISSING
        if not isinstance(value, str):
            self.add(key, "must be a string")
            return MISSING
        if (required if nonempty is None else nonempty) and not value.strip():
            self.add(key, "must not be empty")
            return MISSING
        if len(value) > max_len:
            self.add(key, f"must be at most {max_len} characters")
            return MISSING
        return value

    def ident(self, key: str, *, required: bool = False) -> Any:
        if key not in self.body:
            if required:
                self.add(key, "is required")
            return MISSING
        value = self.body[key]
        # SQLite integers stop at 2**63: larger ids cannot exist, so they are invalid, not 500s.
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**62:
            self.add(key, "must be a positive integer id")
            return MISSING
        return value

    def timestamp(self, key: str) -> Any:
        """`enabled_at`-style: an ISO 8601 instant or null. Stored normalized to UTC `Z`."""
        if key not in self.body:
            return MISSING
        value = self.body[key]
        if value is None:
            return None
        if not isinstance(value, str):
            self.add(key, "must be an ISO 8601 timestamp or null")
            return MISSING
        try:
            return fmt_ts(parse_ts(value))
        except (ValueError, OverflowError):
            self.add(key, "must be an ISO 8601 timestamp or null")
            return MISSING

    def json_object(self, key: str) -> Any:
        if key not in self.body:
            return MISSING
        value = self.body[key]
        if not isinstance(value, dict):
            self.add(key, "must be an object")
            return MISSING
        return value

    def done(self) -> None:
        if self.errors:
            field, reasons = next(iter(self.errors.items()))
            raise ApiError(422, f"Validation failed: {field} {reasons[0]}.", self.errors)


def valid_email(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 254 and bool(EMAIL_RE.match(value))


def amazon_adapter(
    given: Any, fields: Fields, current: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """The stored Amazon adapter (no `authorization`) after applying `given`, or None if invalid.

    `current` is None on create (then `marketplace_id` is required) and the stored adapter on
    PATCH (then the given keys are merged over it and `marketplace_id` cannot change).
    """
    if not isinstance(given, dict):
        fields.add("adapter", "must be an object")
        return None
    errors_before = sum(len(v) for v in fields.errors.values())
    result: dict[str, Any] = dict(AMAZON_DEFAULTS) if current is None else dict(current)
    for key in given:
        if key == "authorization":
            fields.add("adapter.authorization", "is read-only")
        elif key not in AMAZON_ADAPTER_KEYS:
            fields.add(f"adapter.{key}", "is not a known field")
    _marketplace(given, fields, current, result)
    for key, check in _SETTING_CHECKS.items():
        if key in given:
            value = check(given[key], fields)
            if value is not _INVALID:
                result[key] = value
    if sum(len(v) for v in fields.errors.values()) != errors_before:
        return None
    # A seeded adapter may lack settings (the seed stores what it is given): a PATCH sets
    # the keys it names and leaves the others absent, as they were, rather than fail.
    return {key: result[key] for key in AMAZON_ADAPTER_KEYS if key in result}


_INVALID: Any = object()  # a setting's check refused the value (and said why in `fields`)


def _marketplace(
    given: dict[str, Any], fields: Fields, current: dict[str, Any] | None, result: dict[str, Any]
) -> None:
    if "marketplace_id" not in given:
        if current is None:
            fields.add("adapter.marketplace_id", "is required")
        return
    mid = given["marketplace_id"]
    if current is not None:
        if mid != current.get("marketplace_id"):
            fields.add(
                "adapter.marketplace_id", "cannot change: another marketplace is another store"
            )
    elif not isinstance(mid, str) or mid not in MARKETPLACE_IDS:
        fields.add("adapter.marketplace_id", "is not an Amazon marketplace id")
    else:
        result["marketplace_id"] = mid


def _fulfillment_channel(channel: Any, fields: Fields) -> Any:
    if not isinstance(channel, str) or channel not in FULFILLMENT_CHANNELS:
        fields.add("adapter.fulfillment_channel", "must be MFN or AFN")
        return _INVALID
    return channel


def _import_order_statuses(statuses: Any, fields: Fields) -> Any:
    if not isinstance(statuses, list) or not statuses:
        fields.add("adapter.import_order_statuses", "must be a non-empty list of statuses")
        return _INVALID
    names: list[str] = []
    for item in statuses:
        name = canonical_order_status(item) if isinstance(item, str) else None
        if name is None:
            fields.add("adapter.import_order_statuses", f"{item!r} is not an order status")
        elif name not in names:
            names.append(name)
    return names


def _fulfillment_latency(latency: Any, fields: Fields) -> Any:
    if latency is not None and (
        isinstance(latency, bool) or not isinstance(latency, int) or not 1 <= latency <= 30
    ):
        fields.add("adapter.fulfillment_latency", "must be null or an integer 1..30")
        return _INVALID
    return latency


def _fulfillment_channel_code(code: Any, fields: Fields) -> Any:
    if not isinstance(code, str) or not CHANNEL_CODE_RE.match(code):
        fields.add(
            "adapter.fulfillment_channel_code", "must be 1..64 characters of A-Z a-z 0-9 _ - ."
        )
        return _INVALID
    return code


# The sandbox's own check of each store setting (it shares no code with the tool's config).
_SETTING_CHECKS: dict[str, Callable[[Any, Fields], Any]] = {
    "fulfillment_channel": _fulfillment_channel,
    "import_order_statuses": _import_order_statuses,
    "fulfillment_latency": _fulfillment_latency,
    "fulfillment_channel_code": _fulfillment_channel_code,
}


def int_param(
    query: dict[str, str], name: str, default: int | None, lo: int, hi: int
) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(
            422, f"Validation failed: {name} must be an integer.", {name: ["must be an integer"]}
        ) from None
    if not lo <= value <= hi:
        raise ApiError(
            422,
            f"Validation failed: {name} must be between {lo} and {hi}.",
            {name: [f"must be between {lo} and {hi}"]},
        )
    return value
