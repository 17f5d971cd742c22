"""Pydantic models of the configuration, format version 1 (product.md §1).

They check types and ranges, and carry the titles and descriptions that go into
schemas/stores.schema.json for editors. Values that have several spellings (order statuses,
marketplaces) are checked here and canonicalized later, in one step (loader.resolve).
Models are strict: `"true"` is not a boolean and `"2"` is not a number.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from dropstream_sync import catalog
from dropstream_sync.desired import CHANNEL_TYPES
from dropstream_sync.errors import BIDI_RANGES, CONTROL_RANGES

# Spaces and line breaks spelled out rather than as \s, which Python's re and ECMA 262 (the
# schema's pattern, for editors and check-jsonschema) read differently; the pattern is
# matched in full, as JSON Schema's anchors mean (Python's $ also matches before a final
# line break, so "ops@acme.example\n" passed).
_EMAIL_SPACE: Final = (
    r"\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a"
    r"\u2028\u2029\u202f\u205f\u3000\ufeff"
)
EMAIL_PATTERN: Final = f"^[^@{_EMAIL_SPACE}]+@[^@{_EMAIL_SPACE}]+\\.[A-Za-z0-9-]{{2,}}$"
EMAIL_RE = re.compile(EMAIL_PATTERN)


def _hint(value: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(value.upper(), [c.upper() for c in choices], n=1)
        close = [c for c in choices if c.upper() in close]
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check_status(value: str) -> str:
    if catalog.canonical_status(value) is None:
        names = list(catalog.ORDER_STATUSES)
        raise ValueError(
            f"unknown order status '{value}'{_hint(value, names)}; one of {', '.join(names)}"
        )
    return value


def _check_marketplace(value: str) -> str:
    # catalog.canonical_marketplace forgives surrounding spaces; the schema's pattern does not,
    # and a config must mean the same to both.
    if value != value.strip() or catalog.canonical_marketplace(value) is None:
        codes = [m.code for m in catalog.MARKETPLACES]
        alpha3 = catalog.ALPHA3.get(value.strip().upper())
        hint = f" (did you mean '{alpha3}'?)" if alpha3 else _hint(value.strip(), codes)
        raise ValueError(
            f"unknown marketplace '{value}'{hint}; one of {', '.join(codes)} (GB = UK)"
        )
    return value


# RFC 5321's limit on an address, and DropStream's: a longer one passed validate and then
# failed the invite at apply (422), after the merchant and the store had been created.
EMAIL_MAX_LEN: Final = 254


def is_email(value: str) -> bool:
    """Whether a config can hold `value` as an email (import asks it of live invitations)."""
    return len(value) <= EMAIL_MAX_LEN and EMAIL_RE.fullmatch(value) is not None


def _check_email(value: str) -> str:
    if len(value) > EMAIL_MAX_LEN:
        raise ValueError(
            f"is {len(value)} characters long; an email address has at most {EMAIL_MAX_LEN}"
        )
    if not EMAIL_RE.fullmatch(value):
        raise ValueError(f"'{value}' is not an email address")
    return value


def _any_case(text: str, between: str = "") -> str:
    """A JSON Schema (ECMA 262) pattern for `text` in any letter case: it has no (?i) flag."""
    parts = [f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in text]
    return between.join(parts)


def _status_pattern() -> str:
    # Exactly the spellings catalog.canonical_status accepts: any case, any '_' or '-' between
    # letters, and Cancelled with two l's. A test checks the two agree.
    sep = "[_-]*"
    options = []
    for status in catalog.ORDER_STATUSES:
        key = status.lower()
        body = _any_case(key, sep)
        if key == "canceled":
            body = _any_case("cancel", sep) + sep + f"(?:[Ll]{sep})?" + _any_case("ed", sep)
        options.append(body)
    return f"^{sep}(?:{'|'.join(options)}){sep}$"


def _marketplace_pattern() -> str:
    codes = [m.code for m in catalog.MARKETPLACES] + list(catalog.MARKETPLACE_ALIASES)
    return f"^(?:{'|'.join(_any_case(c) for c in codes)})$"


STATUS_PATTERN: Final = _status_pattern()
MARKETPLACE_PATTERN: Final = _marketplace_pattern()

_STATUS_SCHEMA: dict[str, Any] = {
    # The enum is what editors offer for completion; the pattern admits the other spellings.
    "anyOf": [
        {"enum": list(catalog.ORDER_STATUSES)},
        {"type": "string", "pattern": STATUS_PATTERN},
    ],
    "description": "An Amazon order status (Orders API v0 name; 2026 names such as "
    "PARTIALLY_SHIPPED and any letter case are accepted).",
}
_MARKETPLACE_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"enum": [m.code for m in catalog.MARKETPLACES] + list(catalog.MARKETPLACE_ALIASES)},
        {"type": "string", "pattern": MARKETPLACE_PATTERN},
    ],
}

OrderStatus = Annotated[str, AfterValidator(_check_status), WithJsonSchema(_STATUS_SCHEMA)]
MarketplaceCode = Annotated[
    str, AfterValidator(_check_marketplace), WithJsonSchema(_MARKETPLACE_SCHEMA)
]
# Control characters and line breaks: a name is printed on one line of a plan, a PR comment
# and an audit log, where a newline could forge a line of its own.
_CONTROL: Final = CONTROL_RANGES
# Characters that show nothing, or reorder what is shown: "Acme" + U+200B or a name wrapped in
# U+202E looks like another merchant's name and would create (and bill, and email) a new one.
# Unicode's Default_Ignorable_Code_Point set, plus the interlinear annotation marks.
_BIDI: Final = BIDI_RANGES
_INVISIBLE: Final = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200D),
    (0x2060, 0x2065),
    (0x206A, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFFB),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
# Spaces a name may hold inside but not at either end ("Acme " and "Acme" are one merchant).
_SPACE: Final = (
    (0x20, 0x20),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
)


def _char_class(*ranges: tuple[tuple[int, int], ...]) -> str:
    """A character class body that Python's re and ECMA 262 (editors, check-jsonschema) read
    alike: backslash-u escapes in the BMP; the characters themselves above it, as neither
    backslash-U nor backslash-u-brace is understood by both."""

    def one(code: int) -> str:
        return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)

    return "".join(one(a) if a == b else f"{one(a)}-{one(b)}" for group in ranges for a, b in group)


_FORBIDDEN: Final = _char_class(_CONTROL, _BIDI, _INVISIBLE)
_EDGE: Final = _FORBIDDEN + _char_class(_SPACE)
NAME_PATTERN: Final = f"^[^{_EDGE}](?:[^{_FORBIDDEN}]*[^{_EDGE}])?$"
_CONTROL_RE: Final = re.compile(f"[{_char_class(_CONTROL)}]")
_BIDI_RE: Final = re.compile(f"[{_char_class(_BIDI)}]")
_INVISIBLE_RE: Final = re.compile(f"[{_char_class(_INVISIBLE)}]")
_SPACE_RE: Final = re.compile(f"[{_char_class(_SPACE)}]")
# The schema's own pattern: a name it matches passes every check below, so the one match
# spares most names (thousands in a large file) the search for each kind of fault.
_NAME_RE: Final = re.compile(NAME_PATTERN)
# DropStream refuses longer names (company_name, store and warehouse names) at apply time.
NAME_MAX_LEN: Final = 255


def name_key(name: str) -> str:
    """What two names are compared by: "Café" typed as one character or as e + a combining
    accent (NFC and NFD) is one name."""
    return unicodedata.normalize("NFC", name)


def _describe(char: str, at: int) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed character')} at character {at + 1}"


def is_name(value: str) -> bool:
    """Whether a config can hold `value` as a name (import asks it of live descriptions)."""
    return len(value) <= NAME_MAX_LEN and _NAME_RE.fullmatch(value) is not None


def _check_name(value: str) -> str:
    if is_name(value):
        return value
    if len(value) > NAME_MAX_LEN:
        raise ValueError(
            f"is {len(value)} characters long; DropStream takes at most {NAME_MAX_LEN}"
        )
    bad = _CONTROL_RE.search(value)
    if bad:
        raise ValueError(
            f"cannot contain control characters or line breaks "
            f"(U+{ord(bad.group()):04X} at character {bad.start() + 1}); "
            "write it as one line of plain text"
        )
    bad = _BIDI_RE.search(value)
    if bad:
        raise ValueError(
            f"cannot contain bidi-control characters "
            f"({_describe(bad.group(), bad.start())}): they change the order in "
            "which a name is shown, so it reads as another; delete it"
        )
    bad = _INVISIBLE_RE.search(value)
    if bad:
        raise ValueError(
            f"cannot contain invisible characters "
            f"({_describe(bad.group(), bad.start())}): the name would look like "
            "another but not match it; delete it"
        )
    if value and not _SPACE_RE.sub("", value):
        raise ValueError("must not be empty (it holds only spaces)")
    if value and (_SPACE_RE.fullmatch(value[0]) or _SPACE_RE.fullmatch(value[-1])):
        end = "start" if _SPACE_RE.fullmatch(value[0]) else "end"
        raise ValueError(
            f"must not {end} with a space: '{value.strip()}' is meant "
            "(a space would make it another merchant or store)"
        )
    return value


Name = Annotated[
    str,
    AfterValidator(_check_name),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": NAME_MAX_LEN, "pattern": NAME_PATTERN}
    ),
]
Email = Annotated[
    str,
    AfterValidator(_check_email),
    WithJsonSchema(
        {"type": "string", "format": "email", "maxLength": EMAIL_MAX_LEN, "pattern": EMAIL_PATTERN}
    ),
]


def _whole(value: Any) -> Any:
    # JSON Schema's "integer" is any number with no fraction (2.0 and 1e1 included), and so is
    # it for editors: read such a float as the integer it is, so that both accept the same
    # files. A bool stays a bool, and the strict int check refuses it.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# defer_build: a model's validator is built when first used, not on import. Only
# StoresFile's is ever used (it holds the others, built into it): building the other four
# too, each with a validator of its own, was most of the cost of importing this module.
_STRICT = ConfigDict(extra="forbid", strict=True, defer_build=True)


def _check_channel_type(kind: str) -> str:
    # A check of each key, not of the whole mapping: pydantic then reports every unknown type
    # (each at its own key), where one check of the mapping stopped at the first.
    if kind not in CHANNEL_TYPES:
        names = list(CHANNEL_TYPES)
        raise ValueError(
            f"unknown channel type '{kind}'{_hint(kind, names)}; one of {', '.join(names)}"
        )
    return kind


ChannelType = Annotated[str, AfterValidator(_check_channel_type)]


Channels = Annotated[
    dict[ChannelType, bool],
    WithJsonSchema(
        {
            "type": "object",
            "properties": {kind: {"type": "boolean"} for kind in CHANNEL_TYPES},
            "additionalProperties": False,
            "description": "Channel type (as the API names it) -> true (enabled) / false "
            "(disabled). A type left out is left as it is.",
        }
    ),
]

# Settings whose null would mean nothing: leaving them out already means "inherit".
_NOT_NULL: Final = ("fulfillment_channel", "import_order_statuses", "fulfillment_channel_code")


def _not_null_in_schema(schema: dict[str, Any]) -> None:
    """Drop the null that `X | None` puts into the schema: the models refuse an explicit null."""
    options = [o for o in schema.pop("anyOf", []) if o != {"type": "null"}]
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options
    schema.pop("default", None)


def _optional(title: str, description: str, **constraints: Any) -> Any:
    """A field that may be left out: None then."""
    return Field(None, title=title, description=description, **constraints)


def _unset(title: str, description: str, **constraints: Any) -> Any:
    """A field that may be left out, to inherit, but not written as null (a validator refuses
    the null, and the schema leaves it out)."""
    return _optional(title, description, json_schema_extra=_not_null_in_schema, **constraints)


def _named(default: Any, title: str, description: str) -> Any:
    """A field holding a Name (of a merchant, store or warehouse): never empty."""
    return Field(default, min_length=1, title=title, description=description)


def _listed(title: str, description: str) -> Any:
    return Field(default_factory=list, title=title, description=description)


class StoreSettings(BaseModel):
    """The four settings of DropStream's Amazon wizard. Unset means: inherit."""

    model_config = _STRICT

    fulfillment_channel: Literal["MFN", "AFN"] | None = _unset(
        "Fulfillment channel",
        "MFN: you (the 3PL) ship the orders. AFN: Fulfilled by Amazon. Default MFN.",
    )
    import_order_statuses: list[OrderStatus] | None = _unset(
        "Import order statuses",
        "Amazon order statuses to import, as a set (order and spelling do not matter). "
        "Default [Unshipped, PartiallyShipped].",
        min_length=1,
    )
    fulfillment_latency: int | None = _optional(
        "Fulfillment latency",
        "Handling time in days (1..30); null: the marketplace default. Means nothing for AFN.",
        ge=catalog.LATENCY_MIN,
        le=catalog.LATENCY_MAX,
    )
    fulfillment_channel_code: str | None = _unset(
        "Fulfillment channel code",
        "Where inventory is pushed: DEFAULT (single location), or a Multi-Location Inventory "
        "supply source (US only, not for AFN). 1..64 of A-Z a-z 0-9 _ - .",
        pattern=catalog.CHANNEL_CODE_PATTERN,
    )

    channels: Channels | None = _unset(
        "Channels",
        "The connection's channels to switch on (true) or off (false), by type: "
        f"{', '.join(CHANNEL_TYPES)}. Left out: not managed. Per type, a store's value wins "
        "over the merchant's defaults, then the file's.",
    )

    @field_validator(*_NOT_NULL, "channels", mode="before")
    @classmethod
    def _refuse_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null: leave the key out to inherit the default")
        return value

    _latency_whole = field_validator("fulfillment_latency", mode="before")(_whole)


def _warehouses_in_schema(schema: dict[str, Any]) -> None:
    _not_null_in_schema(schema)
    # What the validator below refuses, as far as JSON Schema can say it (not NFC forms).
    schema["uniqueItems"] = True


# `warehouse` (a text, not null) and `warehouses` together are refused by Store._one_form;
# said here at `warehouses`, where validate reports it, so editors flag the same key.
_ONE_WAREHOUSE_FORM: Final[dict[str, Any]] = {
    "if": {"required": ["warehouse"], "properties": {"warehouse": {"type": "string"}}},
    # {"not": {}} rather than false: jsonschema reports a false schema at the store, not the key.
    "then": {
        "properties": {
            "warehouses": {
                "not": {},
                "description": "Give either 'warehouse' (one) or 'warehouses' (several), not both.",
            }
        }
    },
}


class Store(StoreSettings):
    """One Amazon store in one marketplace (one billed connection)."""

    model_config = ConfigDict(**_STRICT, json_schema_extra=_ONE_WAREHOUSE_FORM)

    name: Name = _named(
        ..., "Store name", "Unique within the merchant; the connection is named after it."
    )
    id: int | None = _optional(
        "Store id", "Pins a live store by its DropStream id, so a rename is an update.", gt=0
    )
    platform: Literal["amazon"] = Field(
        "amazon", title="Platform", description="Only amazon is managed."
    )
    marketplace: MarketplaceCode = Field(
        ...,
        title="Marketplace",
        description="Amazon marketplace code: US, CA, MX, BR, UK (or GB), DE, FR, IT, ES, NL, "
        "SE, PL, BE, IE, TR, AE, SA, EG, ZA, IN, JP, AU, SG.",
    )
    warehouse: Name | None = _named(
        None,
        "Warehouse",
        "Description of the merchant's warehouse to connect to; default: the merchant's "
        "warehouse, else its first (default) warehouse.",
    )
    warehouses: list[Name] | None = _optional(
        "Warehouses",
        "Several warehouse descriptions: one connection to each (instead of `warehouse`). "
        "Live connections to other warehouses are reported, and disabled under prune.",
        min_length=1,
        json_schema_extra=_warehouses_in_schema,
    )
    enabled: bool = Field(
        True,
        title="Enabled",
        description="false: keep the store and its connections, switched off.",
    )
    protect: bool = Field(
        False,
        title="Protect",
        description="Never disabled by prune; disabling it blocks the plan unless --force.",
    )

    _id_whole = field_validator("id", mode="before")(_whole)

    @field_validator("warehouses", mode="before")
    @classmethod
    def _warehouses_not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null: leave the key out for the merchant's warehouse")
        return value

    @field_validator("warehouses")
    @classmethod
    def _one_form(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if value is None:
            return value
        if info.data.get("warehouse") is not None:
            raise ValueError("give either 'warehouse' (one) or 'warehouses' (several), not both")
        seen: set[str] = set()
        for name in value:
            if name_key(name) in seen:
                raise ValueError(f"warehouse '{name}' is listed twice")
            seen.add(name_key(name))
        return value


class Merchant(BaseModel):
    """A DropStream customer of the 3PL, and its Amazon stores."""

    model_config = _STRICT

    name: Name = _named(..., "Merchant name", "The DropStream customer's company_name.")
    email: Email | None = _optional(
        "Authorization email",
        "Receives the Amazon authorization invites. Leave out when the merchant runs its own "
        "DropStream account and authorizes in the UI.",
    )
    warehouse: Name | None = _named(
        None,
        "Warehouse",
        "Description of the warehouse its stores connect to; default: the merchant's first "
        "(default) warehouse.",
    )
    selling_partner_id: str | None = _optional(
        "Selling partner id",
        "The Amazon seller (merchant token) expected to authorize this merchant's stores. A "
        "store authorized by another seller gets no connection, and is not enabled, until "
        "someone reviews it.",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Z0-9]+$",
    )
    defaults: StoreSettings | None = _optional(
        "Merchant defaults",
        "Store settings for this merchant's stores, unless a store sets its own.",
    )
    stores: list[Store] = _listed("Stores", "The merchant's Amazon stores.")


def _share(default: float, change: str) -> Any:
    """A threshold in percent of the existing managed stores that a plan may `change`."""
    return Field(
        default,
        ge=0,
        le=100,
        title=f"Max {change} percent",
        description=f"Block when more than this share of existing managed stores is {change}d.",
    )


def _count(default: int, title: str, description: str) -> Any:
    return Field(default, ge=0, title=title, description=description)


class Safety(BaseModel):
    """Thresholds that block a surprising plan (apply needs --force)."""

    model_config = _STRICT

    max_update_percent: float = _share(30, "update")
    max_disable_percent: float = _share(10, "disable")
    min_existing: int = _count(
        10, "Min existing", "Thresholds apply only from this many existing managed stores."
    )
    max_invites_per_run: int = _count(
        50, "Max invites per run", "Invites beyond this stay queued for the next run."
    )

    _counts_whole = field_validator("min_existing", "max_invites_per_run", mode="before")(_whole)


class StoresFile(BaseModel):
    """A dropstream-sync configuration file: Amazon stores in DropStream, as code."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        title="dropstream-sync stores",
        defer_build=True,
    )

    version: Literal[1] = Field(..., title="Format version", description="Must be 1.")
    account: str | None = _optional(
        "Account",
        "The DropStream account this file belongs to: the login name that `dropstream-sync "
        "doctor` shows (or its `token:` digest for a ready token). plan and apply refuse to "
        "run the file against another account.",
        min_length=1,
        max_length=255,
    )
    prune: bool = Field(
        False,
        title="Prune",
        description="true: Amazon stores of the merchants in this file that it does not list "
        "get disabled (never deleted).",
    )
    reauthorize_days: int = Field(
        30,
        ge=0,
        le=365,
        title="Reauthorize days",
        description="Invite again this many days before an authorization expires (365-day "
        "Amazon authorizations).",
    )
    safety: Safety | None = _optional(
        "Safety", "Thresholds; the strictest value across files wins."
    )
    defaults: StoreSettings | None = _optional(
        "Defaults", "Store settings unless a merchant or store sets its own."
    )
    merchants: list[Merchant] = _listed("Merchants", "The merchants and their stores.")

    _days_whole = field_validator("reauthorize_days", mode="before")(_whole)

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_a_number(cls, value: Any) -> Any:
        # Literal[1] lets True through (True == 1 in Python); the schema's integer does not.
        if isinstance(value, bool):
            raise ValueError(f"expected 1, got {str(value).lower()} (the number 1)")
        return value


FIELDS_BY_SHAPE: dict[str, list[str]] = {
    "file": list(StoresFile.model_fields),
    "safety": list(Safety.model_fields),
    "settings": list(StoreSettings.model_fields),
    "merchant": list(Merchant.model_fields),
    "store": list(Store.model_fields),
}
