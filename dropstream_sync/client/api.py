"""Everything the client knows about the DropStream API's wire format, in one place.

docs/api-model.md marks each rule [doc] (DropStream's public reference) or
[assumed] (our model). Every [assumed] rule the client relies on lives in this module and
is tagged ``[assumed]`` where it is used, so that correcting the model against the real
service means editing this file only. docs/api-assumptions.md lists them.

Nothing here does I/O: these are paths, request bodies, JSON -> model mappings, the error
body, the status -> exception table, pagination headers, and the rules that tell a
recovery read which object a lost POST would have created.

The wire words (paths, header names, status words, adapter keys, the platform) are spelled
here and nowhere else in the client, planner, importer, render, cli, workflows or doctor:
tests/test_wire_literals.py collects them from this module (every path, every `*_HEADER(S)`,
every `*_STATUSES`, the adapter keys) and fails when another module spells one. The model
has its own vocabulary (`live.AuthStatus`, `live.RequestStatus`, `live.PLATFORM_AMAZON`);
the mappings below turn the API's words into it, even where the two are spelled alike.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final, TypeVar

from dropstream_sync import errors, live
from dropstream_sync.desired import StoreSettings
from dropstream_sync.timestamps import utc_stamp

# -- basics [doc] ------------------------------------------------------------------------------

DEFAULT_API_URL: Final = "https://api.getdropstream.com"  # [doc]
AMAZON: Final = "amazon"  # [doc] the platform word of an Amazon store
PLATFORMS: Final[Mapping[str, str]] = {AMAZON: live.PLATFORM_AMAZON}

# -- authentication -----------------------------------------------------------------------------

TOKEN_PATH: Final = "/auth/token"  # [doc]
TOKEN_REQUEST_BODY: Final[Mapping[str, str]] = {"grant_type": "client_credentials"}  # [doc]
# [assumed] the docs call the token "ephemeral"; `expires_in` (seconds) is our model. When a
# server leaves it out we assume this lifetime, and refresh this many seconds before the end.
TOKEN_LIFETIME_FALLBACK_SECONDS: Final = 3600.0
TOKEN_REFRESH_MARGIN_SECONDS: Final = 60.0
# [assumed] a 401 on any other call means the token expired: get a new one once, retry once.
REFRESH_ON_401: Final = True
TOKEN_REJECTED_STATUS: Final = 401


def parse_token(body: Any) -> tuple[str, float]:
    """`(access_token, lifetime_seconds)` from the /auth/token answer [doc + assumed]."""
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        raise ValueError("the token answer has no access_token")
    expires_in = body.get("expires_in")
    lifetime = (
        float(expires_in)
        if isinstance(expires_in, int | float) and expires_in > 0
        else TOKEN_LIFETIME_FALLBACK_SECONDS
    )
    return body["access_token"], lifetime


# -- paths [doc, except the GET /x/{id} reads: assumed] ---------------------------------------

CUSTOMERS: Final = "/customers"
WAREHOUSES: Final = "/warehouses"
STORES: Final = "/stores"
CONNECTIONS: Final = "/connections"
AUTHORIZATION_REQUESTS: Final = "/authorization_requests"  # [assumed] the whole resource


def customer_path(customer_id: int) -> str:
    return f"{CUSTOMERS}/{int(customer_id)}"  # GET [assumed], PATCH [doc]


def warehouse_path(warehouse_id: int) -> str:
    return f"{WAREHOUSES}/{int(warehouse_id)}"  # GET [assumed]


def store_path(store_id: int) -> str:
    return f"{STORES}/{int(store_id)}"  # GET [assumed], PATCH [doc]


def connection_path(connection_id: int) -> str:
    return f"{CONNECTIONS}/{int(connection_id)}"  # GET [assumed], PATCH [assumed]


def connection_channels_path(connection_id: int) -> str:
    return f"{connection_path(connection_id)}/channels"  # GET [doc]


def connection_channel_path(connection_id: int, channel_id: int) -> str:
    return f"{connection_channels_path(connection_id)}/{int(channel_id)}"  # PATCH [doc]


def store_authorization_requests_path(store_id: int) -> str:
    return f"{store_path(store_id)}/authorization_requests"  # POST [assumed]


def authorization_request_path(request_id: int) -> str:
    return f"{AUTHORIZATION_REQUESTS}/{int(request_id)}"  # GET, DELETE [assumed]


# -- lists [assumed] --------------------------------------------------------------------------

PAGE_PARAM: Final = "page"  # 1-based
PER_PAGE_PARAM: Final = "per_page"
PER_PAGE: Final = 100  # the maximum the API accepts; default would be 25
TOTAL_COUNT_HEADER: Final = "X-Total-Count"
LINK_HEADER: Final = "Link"

_LINK_RE = re.compile(r"<\s*([^>]*)\s*>((?:\s*;\s*[^;,]+)*)")
_REL_RE = re.compile(r"""rel\s*=\s*"?([^";]+)"?""", re.IGNORECASE)


def next_link(headers: Mapping[str, str]) -> str | None:
    """The URL of `Link: <url>; rel="next"`, or None when there is no next page."""
    value = headers.get(LINK_HEADER)
    if not value:
        return None
    for match in _LINK_RE.finditer(value):
        url, params = match.group(1), match.group(2)
        for rel in _REL_RE.findall(params):
            if "next" in rel.lower().split():
                return url.strip()
    return None


def total_count(headers: Mapping[str, str]) -> int | None:
    value = headers.get(TOTAL_COUNT_HEADER)
    try:
        total = int(value) if value is not None else None
    except ValueError:
        return None
    return total if total is not None and total >= 0 else None


# [assumed] guards against a server that paginates otherwise than the model (pages.py):
# body keys that say a list answer is one page of more (DropStream documents
# {page, limit, total_count, total_pages} for /products) ...
ENVELOPE_KEYS: Final = frozenset(
    {
        "data",
        "items",
        "results",
        "page",
        "limit",
        "per_page",
        "total_count",
        "total_pages",
        "next",
        "next_page",
        "has_more",
    }
)
# ... a list answered with no Link and no X-Total-Count: the next page tells whether there
# are more. An empty page ends the list, as does one of these statuses, which some servers
# answer for a page past the last. A page 2 that answers only page 1's items again means the
# server ignores `page`: what lies past the first answer cannot be read, and no length tells
# a whole list from one cut at a cap (30 as well as 100), so such a read is refused.
PAST_LAST_PAGE_STATUSES: Final = frozenset({404})


def envelope_keys(body: Any) -> list[str]:
    """The pagination keys of a JSON object answered where a list was expected."""
    return sorted(ENVELOPE_KEYS.intersection(body)) if isinstance(body, dict) else []


def page_count(total: int, first_page_len: int) -> int:
    """How many pages `total` items make, sized like the first page the server gave.

    The server may cap per_page below what we asked; its first page shows the real size.
    """
    if total <= 0 or first_page_len <= 0:
        return 1
    return max(1, math.ceil(total / first_page_len))


# -- status words [assumed] -------------------------------------------------------------------

# The authorization object's status (the store adapter's read-only `authorization`).
AUTHORIZATION_STATUSES: Final[Mapping[str, live.AuthStatus]] = {
    "missing": live.AuthStatus.MISSING,
    "authorized": live.AuthStatus.AUTHORIZED,
    "expired": live.AuthStatus.EXPIRED,
    "revoked": live.AuthStatus.REVOKED,
}
# An authorization request's status; `expired` is computed by the server from expires_at.
PENDING: Final = "pending"
EXPIRED: Final = "expired"  # a request's status once its link lapsed unanswered [assumed]
REQUEST_STATUSES: Final[Mapping[str, live.RequestStatus]] = {
    PENDING: live.RequestStatus.PENDING,
    "completed": live.RequestStatus.COMPLETED,
    EXPIRED: live.RequestStatus.EXPIRED,
    "canceled": live.RequestStatus.CANCELED,
}


# -- what `doctor` checks the answers against [assumed unless marked] --------------------

EXPIRES_IN_KEY: Final = "expires_in"
ID_KEY: Final = "id"
ENABLED_AT_KEY: Final = "enabled_at"  # [doc] a timestamp when enabled, null when disabled
ADAPTER_KEY: Final = "adapter"
MARKETPLACE_KEY: Final = "marketplace_id"
AUTHORIZATION_KEY: Final = "authorization"
AUTHORIZATION_STATUS_KEY: Final = "status"
REQUEST_STATUS_KEY: Final = "status"  # an authorization request's
SELLING_PARTNER_KEY: Final = "selling_partner_id"
AUTHORIZATION_FIELDS: Final = (
    AUTHORIZATION_STATUS_KEY,
    SELLING_PARTNER_KEY,
    "authorized_at",
    "expires_at",
)
# The fields each list's objects must carry for the tool to use them ([doc] fields, except
# the authorization request, which is [assumed] whole); keys ending in `id` are integers.
REQUIRED_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "/customers": ("id", "company_name"),
    "/warehouses": ("id", "customer_id", "enabled_at"),
    "/stores": ("id", "customer_id", "name", "platform", "adapter", "enabled_at"),
    "/connections": ("id", "customer_id", "store_id", "warehouse_id", "name", "enabled_at"),
    "/authorization_requests": (
        "id",
        "store_id",
        "customer_id",
        "email",
        "status",
        "created_at",
        "expires_at",
    ),
}
# [doc] a connection lists its channels as `[{id, type, enabled_at}]`.
CHANNELS_KEY: Final = "channels"
CHANNEL_FIELDS: Final = ("id", "type", "enabled_at")
# Rate headers a server might send (best effort; the client depends on none of them).
RATE_HEADERS: Final = (
    "x-amzn-RateLimit-Limit",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit",
    "RateLimit-Policy",
    "Retry-After",
)
# [assumed] a list endpoint that does not exist answers one of these.
MISSING_ENDPOINT_STATUSES: Final = frozenset({404, 405})


# -- filters [assumed] ------------------------------------------------------------------------


def stores_query(
    *, platform: str | None = AMAZON, customer_id: int | None = None
) -> dict[str, Any]:
    """`platform` as the API spells it (`AMAZON`)."""
    return _query(platform=platform, customer_id=customer_id)


def warehouses_query(*, customer_id: int | None = None) -> dict[str, Any]:
    """[assumed] not in the documented filters: a server that ignores it answers the whole
    list, which the client filters again (so it costs pages, never correctness)."""
    return _query(customer_id=customer_id)


def connections_query(
    *, customer_id: int | None = None, store_id: int | None = None
) -> dict[str, Any]:
    return _query(customer_id=customer_id, store_id=store_id)


def authorization_requests_query(
    *, status: str | None = PENDING, store_id: int | None = None
) -> dict[str, Any]:
    return _query(status=status, store_id=store_id)


def _query(**params: Any) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


# -- errors [assumed] -------------------------------------------------------------------------

_MAX_SENTENCE = 500


def _writable(text: str) -> str:
    """`text` with any lone surrogate (JSON's `"\\ud800"`, no character) as its escape: the
    API's message is written to a terminal, a JSON document and an audit log, and UTF-8
    cannot encode one."""
    return text if text.isascii() else text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_sentence(body: Any, fallback: str) -> tuple[str, dict[str, list[str]]]:
    """The API's sentence and field details from `{"error": ..., "details": {...}}`."""
    if not isinstance(body, dict):
        return fallback, {}
    sentence = body.get("error")
    text = sentence.strip()[:_MAX_SENTENCE] if isinstance(sentence, str) and sentence else fallback
    details: dict[str, list[str]] = {}
    raw = body.get("details")
    if isinstance(raw, dict):
        for key, reasons in raw.items():
            if isinstance(reasons, list):
                details[_writable(str(key))] = [_writable(str(r)[:_MAX_SENTENCE]) for r in reasons]
            elif reasons is not None:
                details[_writable(str(key))] = [_writable(str(reasons)[:_MAX_SENTENCE])]
    return _writable(text), details


# 400 is a request the API could not read; for a user it is as final as a 422, so both are
# ApiValidationError. 403 is treated like 401: this login may not do that.
STATUS_ERRORS: Final[Mapping[int, type[errors.ApiError]]] = {
    400: errors.ApiValidationError,
    401: errors.AuthenticationError,
    403: errors.AuthenticationError,
    404: errors.NotFoundError,
    409: errors.ConflictError,
    422: errors.ApiValidationError,
    429: errors.RateLimitedError,
}


def error_class(status: int) -> type[errors.ApiError]:
    if status in STATUS_ERRORS:
        return STATUS_ERRORS[status]
    if status >= 500:
        return errors.ServerError
    return errors.ApiError


RATE_LIMITED_STATUS: Final = 429
RETRY_AFTER_HEADER: Final = "Retry-After"  # on a 429: how long to wait [assumed: seconds]
DATE_HEADER: Final = "Date"  # [doc, HTTP] the server's clock, which its timestamps are on


# [doc, HTTP: RFC 9110 15.6.2, 15.6.6] 501 Not Implemented and 505 HTTP Version Not
# Supported say the server does not do this at all: another try gets the same answer. A
# newcomer meets 501 from a web server that is not DropStream (`python -m http.server`
# answers a POST so), which was retried for twenty seconds.
NEVER_RETRIED_5XX: Final = frozenset({501, 505})


def retryable_status(status: int) -> bool:
    """429 and a 5xx but 501 and 505 are worth another try [assumed]; other statuses are
    final."""
    return status == RATE_LIMITED_STATUS or (
        500 <= status <= 599 and status not in NEVER_RETRIED_5XX
    )


# [assumed] a 429 is refused before the request is processed, so a POST answered 429 did not
# take effect and may be sent again without a recovery read. A 5xx may come after a commit.
POST_429_IS_UNCOMMITTED: Final = True
# [assumed] a DELETE retried after an attempt whose answer was lost, answered 404 (gone) or
# 409 (no longer pending): the lost attempt did the work.
DELETE_ALREADY_DONE_STATUSES: Final = frozenset({404, 409})


# [assumed, best effort] an Amazon-style header carrying the sustained rate of the login's
# bucket in requests per second. Used to pace the client when a server sends it; nothing
# depends on it being present (it is never sent on a 429).
RATE_LIMIT_HEADER: Final = "x-amzn-RateLimit-Limit"


def rate_limit_hint(headers: Mapping[str, str]) -> float | None:
    value = headers.get(RATE_LIMIT_HEADER)
    if value is None:
        return None
    try:
        rate = float(value.strip())
    except ValueError:
        return None
    return rate if math.isfinite(rate) and rate > 0 else None


def http_date(value: str | None) -> datetime | None:
    """An HTTP-date (RFC 9110), as `Date` and `Retry-After` carry it, in UTC; None if unreadable."""
    return _http_date(value) if value else None


# Every answer carries a `Date`, the same one for all the answers of a second.
@functools.lru_cache(maxsize=64)
def _http_date(value: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` in seconds [assumed: seconds]; an HTTP-date is accepted too."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        when = http_date(text)
        if when is None:
            return None
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


# -- timestamps [doc] -------------------------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    return _parse_time_text(value)


# A plan maps tens of thousands of timestamps, most of them repeated (whole batches are
# created or enabled in the same second); parsing each distinct string once is much cheaper.
@functools.lru_cache(maxsize=8192)
def _parse_time_text(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return utc_stamp(value)


# -- JSON -> live models ----------------------------------------------------------------------


def _int(d: Mapping[str, Any], key: str) -> int:
    value = d[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} is not an integer id")
    return value


def _str(d: Mapping[str, Any], key: str, default: str = "") -> str:
    value = d.get(key)
    return value if isinstance(value, str) else default


def _key_str(d: Mapping[str, Any], key: str) -> str:
    """A field the plan matches objects by: read as "" when missing, it would match nothing,
    and the plan would create the object again (a second store, billed)."""
    value = d.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key} is {'missing' if value is None else 'not a string'}")
    return value


def customer(d: Mapping[str, Any]) -> live.Customer:
    return live.Customer(id=_int(d, "id"), company_name=_key_str(d, "company_name"))


def warehouse(d: Mapping[str, Any]) -> live.Warehouse:
    return live.Warehouse(
        id=_int(d, "id"),
        customer_id=_int(d, "customer_id"),
        description=_str(d, "description"),
        enabled_at=parse_time(d.get("enabled_at")),
    )


_NO_AUTHORIZATION: Final = live.Authorization()
_UNREAD_AUTHORIZATION: Final = live.Authorization(status=live.AUTH_UNREADABLE)
_MISSING_WORD: Final = next(
    w for w, s in AUTHORIZATION_STATUSES.items() if s is live.AuthStatus.MISSING
)


def authorization(d: Any) -> live.Authorization:
    """The store adapter's read-only `authorization` [assumed]. An adapter without that
    object, or an object without a status word, reads as unreadable, not as `missing`: the
    model says every Amazon store has one, so its absence means the API names or nests it
    otherwise, and reading "missing" would email an invite to a merchant who may well be
    authorized already."""
    # JSON objects decode to dict; the exact check is much cheaper than the Mapping ABC's,
    # and a plan builds ten thousand of these.
    if not isinstance(d, dict):
        return _UNREAD_AUTHORIZATION
    partner = d.get(SELLING_PARTNER_KEY)
    word = d.get(AUTHORIZATION_STATUS_KEY)
    if not isinstance(word, str) or not word:
        return _UNREAD_AUTHORIZATION
    if (
        word == _MISSING_WORD
        and partner is None
        and d.get("authorized_at") is None
        and d.get("expires_at") is None
    ):
        return _NO_AUTHORIZATION  # frozen, so one instance serves every unauthorized store
    return live.Authorization(
        status=AUTHORIZATION_STATUSES.get(word, word),
        selling_partner_id=partner if isinstance(partner, str) else None,
        authorized_at=parse_time(d.get("authorized_at")),
        expires_at=parse_time(d.get("expires_at")),
    )


def store(d: Mapping[str, Any]) -> live.Store:
    """A store; for Amazon, the settings come from the adapter [assumed shape]."""
    adapter = d.get("adapter")
    a: Mapping[str, Any] = adapter if isinstance(adapter, dict) else _NO_ADAPTER
    # What _int and _str would read, spelled out: a large account has tens of thousands
    # of stores.
    store_id, customer_id = d["id"], d["customer_id"]
    if type(store_id) is not int:
        store_id = _int(d, "id")
    if type(customer_id) is not int:
        customer_id = _int(d, "customer_id")
    name, platform, enabled, marketplace = (
        d.get("name"),
        d.get("platform"),
        d.get("enabled_at"),
        a.get(MARKETPLACE_KEY),
    )
    # Positional, in the model's field order (checked below at import).
    if type(name) is not str:
        name = _key_str(d, "name")
    if type(platform) is not str:
        platform = _key_str(d, "platform")
    # The four settings in StoreSettings' order (checked below at import). Nearly every
    # adapter carries all four, each of its kind: read here in one pass of type checks; any
    # other adapter is read setting by setting (_settings_read_otherwise).
    channel, statuses, latency, code = (
        a.get(_SETTING_1, _ABSENT),
        a.get(_SETTING_2, _ABSENT),
        a.get(_SETTING_3, _ABSENT),
        a.get(_SETTING_4, _ABSENT),
    )
    unread: tuple[str, ...] = ()
    if (
        type(channel) is str
        and type(statuses) is list
        and (latency is None or type(latency) is int)
        and type(code) is str
        and (read := _statuses(statuses)) is not None
    ):
        statuses = read
    else:
        channel, statuses, latency, code, unread = _settings_read_otherwise(a)
    return live.Store(
        store_id,
        customer_id,
        name,
        PLATFORMS.get(platform, platform),
        marketplace if isinstance(marketplace, str) else None,
        channel,
        statuses,
        latency,
        code,
        authorization(a.get(AUTHORIZATION_KEY)),
        None if enabled is None else parse_time(enabled),
        unread,
    )


_ABSENT: Final = object()  # a setting the adapter does not carry
_WRONG: Final = object()  # a setting's reader: a value of another kind than the setting's


def _settings_read_otherwise(adapter: Mapping[str, Any]) -> tuple[Any, ...]:
    """The four settings of an adapter that lacks one or holds one of another kind, and
    the names of those it lacks or holds so (Store.unread_settings) [assumed: every Amazon
    adapter has all four, of the kinds DropStream validates]. Each such setting holds the
    model's "no value" (None, or no statuses) and is named unread: read as a value, `"3"`
    or `2.5` for the latency would be null, `5` for the channel none, `"Unshipped"` for
    the statuses none, and the plan would "update" from a value DropStream does not hold,
    or see no change where there is one. Unread, the plan neither compares nor sends them
    (it warns)."""
    values: list[Any] = []
    unread: list[str] = []
    for key, read, unknown in _SETTING_READERS:
        value = read(adapter[key]) if key in adapter else _ABSENT
        if value is _ABSENT or value is _WRONG:
            unread.append(key)
            value = unknown
        values.append(value)
    return (*values, tuple(unread))


_NO_ADAPTER: Final[Mapping[str, Any]] = {}


def _text(value: Any) -> Any:
    """A text setting: a string, or null (a value DropStream may hold; the plan sets it)."""
    return value if value is None or isinstance(value, str) else _WRONG


def _number(value: Any) -> Any:
    """A number setting (the latency): an integer or null; not a bool, a float or a string."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return _WRONG


def _status_list(value: Any) -> Any:
    """The statuses: a list of strings; null, a string or a list of anything else is not."""
    read = _statuses(value) if isinstance(value, list) else None
    return _WRONG if read is None else read


def _reader(default: Any) -> Callable[[Any], Any]:
    """How to read a setting from the adapter, told by its StoreSettings default's kind."""
    if isinstance(default, frozenset):
        return _status_list
    return _text if isinstance(default, str) else _number


# Each store setting, by its StoreSettings name [assumed: the adapter key is that name], its
# reader, and what it reads as when unknown (the model's "no value" of its kind).
_SETTING_READERS: Final = tuple(
    (f.name, reader, () if reader is _status_list else None)
    for f in dataclasses.fields(StoreSettings)
    for reader in [_reader(getattr(StoreSettings(), f.name))]
)
# store() reads the settings in StoreSettings' order, spelled out rather than looped over
# (a third of its time), with the checks of these readers inlined: a fifth setting, or one
# of another kind, fails this line at import, not silently.
(_SETTING_1, _SETTING_2, _SETTING_3, _SETTING_4) = (key for key, _, _ in _SETTING_READERS)
if tuple(reader for _, reader, _ in _SETTING_READERS) != (_text, _status_list, _number, _text):
    raise TypeError("api.store() no longer checks the kinds of StoreSettings: update it")
# store() passes live.Store's fields by position: it must follow the model.
if tuple(f.name for f in dataclasses.fields(live.Store)) != (
    "id",
    "customer_id",
    "name",
    "platform",
    "marketplace_id",
    *StoreSettings.names(),
    "authorization",
    "enabled_at",
    "unread_settings",
):
    raise TypeError("api.store() no longer reads every field of live.Store: update it")


def _statuses(values: list[Any]) -> tuple[str, ...] | None:
    """The statuses of a list of strings (None if an entry is not one)."""
    try:
        return _status_tuple(tuple(values))
    except TypeError:  # an entry that cannot be hashed (a list, an object): not a status
        return None


@functools.lru_cache(maxsize=1024)
def _status_tuple(values: tuple[Any, ...]) -> tuple[str, ...] | None:
    # Few distinct status sets exist; sharing their tuples saves time and memory.
    return values if all(type(v) is str for v in values) else None


def connection(d: Mapping[str, Any]) -> live.Connection:
    return live.Connection(
        id=_int(d, "id"),
        customer_id=_int(d, "customer_id"),
        store_id=_int(d, "store_id"),
        warehouse_id=_int(d, "warehouse_id"),
        name=_str(d, "name"),
        enabled_at=parse_time(d.get("enabled_at")),
        channels=_channels(d.get(CHANNELS_KEY)),
    )


def _channels(value: Any) -> tuple[live.Channel, ...] | None:
    """A connection's channels [doc: `[{id, type, enabled_at}]` in the connection object].
    An object without the list reads as unknown (None): the plan then leaves the channels
    alone and warns, rather than reading each connection's channels one by one."""
    if not isinstance(value, list):
        return None
    try:
        return tuple(channel(c) for c in value)
    except (ValueError, TypeError, KeyError):
        # Entries of another shape (the type under another key, a bare string, `enabled`
        # for `enabled_at`) are channels all the same: read as none, the plan would say
        # the connection has none and plan to enable ones it cannot see.
        return None


def channel(d: Any) -> live.Channel:
    """One entry of `GET /connections/{id}/channels` [doc]; another shape is a ValueError
    (an unexpected answer), never a channel of no type."""
    if not isinstance(d, dict):
        raise ValueError("a channel is not an object")
    if ENABLED_AT_KEY not in d:
        raise ValueError("a channel has no enabled_at")
    return live.Channel(
        id=_int(d, "id"), type=_key_str(d, "type"), enabled_at=parse_time(d[ENABLED_AT_KEY])
    )


def _request_status(word: str) -> live.RequestStatus | str:
    return REQUEST_STATUSES.get(word, word)


def authorization_request(d: Mapping[str, Any]) -> live.AuthorizationRequest:
    """The "Send to merchant" request [assumed: the whole object and its statuses]."""
    created = parse_time(d.get("created_at"))
    expires = parse_time(d.get("expires_at"))
    if created is None or expires is None:
        raise ValueError("an authorization request needs created_at and expires_at")
    return live.AuthorizationRequest(
        id=_int(d, "id"),
        store_id=_int(d, "store_id"),
        customer_id=_int(d, "customer_id"),
        email=_key_str(d, "email"),
        status=_request_status(_str(d, "status")),
        created_at=created,
        expires_at=expires,
        completed_at=parse_time(d.get("completed_at")),
    )


def created_id(body: Any) -> int:
    """The id from a create's `201 {"id": N}` [doc]."""
    if not isinstance(body, Mapping):
        raise ValueError("a create answered without a JSON object")
    return _int(body, "id")


# -- our values -> request bodies -------------------------------------------------------------


def customer_body(company_name: str) -> dict[str, Any]:
    return {"company_name": company_name}  # [doc]


def adapter_settings(settings: StoreSettings) -> dict[str, Any]:
    """The wizard settings as adapter keys [assumed: named as StoreSettings' fields];
    statuses sorted for stable bodies."""
    return adapter_patch({key: getattr(settings, key) for key in ADAPTER_SETTING_KEYS})


def store_create_body(
    customer_id: int, name: str, marketplace_id: str, settings: StoreSettings
) -> dict[str, Any]:
    """`POST /stores` [doc fields; assumed Amazon adapter]. Stores are created disabled
    [assumed], so the body carries no enabled_at; `description` is optional and left out."""
    return {
        "customer_id": customer_id,
        "name": name,
        "platform": AMAZON,
        "adapter": {MARKETPLACE_KEY: marketplace_id, **adapter_settings(settings)},
    }


# [assumed] the adapter stores each of the wizard's settings under its StoreSettings name.
ADAPTER_SETTING_KEYS: Final = tuple(f.name for f in dataclasses.fields(StoreSettings))


def adapter_patch(settings_patch: Mapping[str, Any]) -> dict[str, Any]:
    """Adapter keys to merge [assumed: PATCH merges the keys it is given]. Only the four
    settings may be sent: marketplace_id cannot change and authorization is read-only."""
    unknown = set(settings_patch).difference(ADAPTER_SETTING_KEYS)
    if unknown:
        raise ValueError(f"not a store setting: {', '.join(sorted(unknown))}")
    # A set-valued setting (the statuses) goes as a sorted list: stable bodies, valid JSON.
    return {
        key: sorted(value) if isinstance(value, set | frozenset | list | tuple) else value
        for key, value in settings_patch.items()
    }


def patch_body(
    *,
    name: str | None = None,
    adapter: Mapping[str, Any] | None = None,
    enabled_at: datetime | None,
    set_enabled_at: bool,
) -> dict[str, Any]:
    """A PATCH body: only the keys that change. `enabled_at: null` disables [doc]."""
    body: dict[str, Any] = {}
    if name is not None:
        body["name"] = name
    if adapter:
        body["adapter"] = dict(adapter)
    if set_enabled_at:
        body["enabled_at"] = format_time(enabled_at)
    return body


def connection_create_body(
    customer_id: int, store_id: int, warehouse_id: int | None, name: str
) -> dict[str, Any]:
    """`POST /connections` [doc]; leaving warehouse_id out means the default warehouse."""
    body: dict[str, Any] = {"name": name, "customer_id": customer_id, "store_id": store_id}
    if warehouse_id is not None:
        body["warehouse_id"] = warehouse_id
    return body


def authorization_request_body(email: str) -> dict[str, Any]:
    return {"email": email}  # [assumed]


# -- rules about objects ----------------------------------------------------------------------


def default_warehouse(
    warehouses: Iterable[live.Warehouse], customer_id: int
) -> live.Warehouse | None:
    """A customer's default warehouse: its first warehouse by id [assumed]."""
    own = [w for w in warehouses if w.customer_id == customer_id]
    return min(own, key=lambda w: w.id) if own else None


# After a POST whose answer was lost, these decide which object it would have created. The
# API promises no idempotency keys [assumed], so identity is the object's natural key. When
# several match (the API does not make customer names or store names unique), the newest
# (highest id) is the one a lost POST could have made.


def find_customer(customers: Iterable[live.Customer], company_name: str) -> live.Customer | None:
    return _newest(c for c in customers if c.company_name == company_name)


def find_store(
    stores: Iterable[live.Store], customer_id: int, name: str, marketplace_id: str | None = None
) -> live.Store | None:
    """A store whose marketplace could not be read (no `marketplace_id` in its adapter) is
    not of another marketplace, as in the planner: after a lost answer it is the store that
    POST made, not a reason to post a second one (billed, and in no record)."""
    return _newest(
        s
        for s in stores
        if s.customer_id == customer_id
        and s.name == name
        and s.platform == live.PLATFORM_AMAZON
        and (marketplace_id is None or s.marketplace_id in (marketplace_id, None))
    )


def find_connection(
    connections: Iterable[live.Connection], customer_id: int, store_id: int, warehouse_id: int
) -> live.Connection | None:
    """(customer_id, store_id, warehouse_id) is unique [doc]."""
    return _newest(
        c
        for c in connections
        if (c.customer_id, c.store_id, c.warehouse_id) == (customer_id, store_id, warehouse_id)
    )


def same_email(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def find_pending_request(
    requests: Iterable[live.AuthorizationRequest], store_id: int, email: str | None = None
) -> live.AuthorizationRequest | None:
    """At most one request per store is pending [assumed: a second POST answers 409].
    A status word the model does not know counts as pending, as in the client's pending
    list (live.listed_as) and the planner: after a lost answer, a request answered
    `Pending` is the one that POST made (its email was sent), not a reason to post again
    into a 409 and say failed."""
    return _newest(
        r
        for r in requests
        if r.store_id == store_id
        and live.listed_as(r, live.RequestStatus.PENDING)
        and (email is None or same_email(r.email, email))
    )


# [assumed] DELETE of a request that is no longer pending answers 409; if it reads canceled or
# expired, "no pending request" (what a cancel wants) already holds.
CANCEL_ALREADY_DONE_STATUSES: Final = frozenset(
    {live.RequestStatus.CANCELED, live.RequestStatus.EXPIRED}
)


_Obj = TypeVar("_Obj", live.Customer, live.Store, live.Connection, live.AuthorizationRequest)


def _newest(items: Iterable[_Obj]) -> _Obj | None:
    found = list(items)
    return max(found, key=lambda x: x.id) if found else None
