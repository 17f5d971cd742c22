"""One frozen detail type per change kind: what apply needs for that change's API calls.

Field names are the wire's `detail` keys. A field made with `ref(key)` is the id of a change
earlier in the plan whose result fills `key` (on the wire: `refs: {key: change id}`); one
made with `omitted()` is left out of the wire when None, as plans have always written it.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, ClassVar, Final, Self, TypeVar, dataclass_transform

from dropstream_sync.desired import StoreSettings
from dropstream_sync.planner import wire


class ChangeKind(StrEnum):
    """The kinds of change, their values the wire's strings (in apply's phase order)."""

    CREATE_MERCHANT = "create_merchant"
    CREATE_STORE = "create_store"
    UPDATE_STORE = "update_store"
    CANCEL_INVITE = "cancel_invite"
    NEUTRALIZE_DUPLICATE = "neutralize_duplicate"
    INVITE = "invite"
    REINVITE = "reinvite"
    CREATE_CONNECTION = "create_connection"
    UPDATE_CONNECTION = "update_connection"
    UPDATE_CHANNEL = "update_channel"
    ENABLE = "enable"
    DISABLE = "disable"


D = TypeVar("D", bound="Detail")


@dataclass_transform(frozen_default=True)
def detail(kind: ChangeKind) -> Callable[[type[D]], type[D]]:
    """A detail type: a frozen dataclass with slots, for changes of `kind`."""

    def make(cls: type[D]) -> type[D]:
        cls.KIND = kind
        return dataclass(frozen=True, slots=True)(cls)

    return make


def ref(key: str) -> Any:
    return field(default=None, metadata={"ref": key})


def omitted() -> Any:
    return field(default=None, metadata={"omit_none": True})


class Detail:
    """Base of the detail types; serialises and reads any of them from its fields."""

    __slots__ = ()
    KIND: ClassVar[ChangeKind]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        refs: dict[str, str] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if "ref" in f.metadata:
                if value is not None:
                    refs[f.metadata["ref"]] = value
            elif value is not None or not f.metadata.get("omit_none"):
                out[f.name] = _to_wire(value)
        if refs:
            out["refs"] = refs
        return out

    # Fields holding live ids that their name's suffix does not type (model.ID_FIELD_TYPES):
    # `other_ids()` names their objects instead.
    OTHER_ID_FIELDS: ClassVar[frozenset[str]] = frozenset()

    def other_ids(self) -> tuple[str, ...]:
        """The live objects (`store/12`) named by OTHER_ID_FIELDS."""
        return ()

    def refs(self) -> dict[str, str]:
        """Wire key -> the id of the change whose result fills it."""
        return {
            f.metadata["ref"]: getattr(self, f.name)
            for f in fields(self)  # type: ignore[arg-type]
            if "ref" in f.metadata and getattr(self, f.name) is not None
        }

    @classmethod
    def from_dict(cls, r: wire.Reader) -> Self:
        hints = typing.get_type_hints(cls)
        refs = r.object("refs", default={})
        known = {"refs"}
        values: dict[str, Any] = {}
        for f in fields(cls):  # type: ignore[arg-type]
            if "ref" in f.metadata:
                values[f.name] = refs.optional_text(f.metadata["ref"])
                continue
            known.add(f.name)
            default = None if f.metadata.get("omit_none") else wire._MISSING
            values[f.name] = cls._read(r, f.name, hints[f.name], default)
        unknown = sorted(set(r.names()) - known)
        if unknown:
            raise wire.Invalid(r.path(unknown[0]), f"unknown field of a {cls.KIND} change")
        return cls(**values)

    @classmethod
    def _read(cls, r: wire.Reader, name: str, hint: Any, default: Any) -> Any:
        return r.typed(name, hint, default)


def _to_wire(value: Any) -> Any:
    if isinstance(value, StoreSettings):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {k: _to_wire(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return list(value)
    return value


@detail(ChangeKind.CREATE_MERCHANT)
class CreateMerchant(Detail):
    company_name: str


@detail(ChangeKind.CREATE_STORE)
class CreateStore(Detail):
    customer_id: int | None  # None: the merchant is created in this plan (customer_ref)
    name: str
    marketplace_id: str
    settings: StoreSettings
    customer_ref: str | None = ref("customer_id")


@detail(ChangeKind.UPDATE_STORE)
class UpdateStore(Detail):
    settings_patch: Mapping[str, Any]  # setting name -> its new wire value
    name: str | None = omitted()  # None: the name stays

    @classmethod
    def _read(cls, r: wire.Reader, name: str, hint: Any, default: Any) -> Any:
        if name != "settings_patch":
            return r.typed(name, hint, default)
        patch = wire.check_object(
            r.data.get(name), r.path(name), StoreSettings, required=frozenset()
        )
        # The patch keeps the wire's form (a sorted list of statuses), as the planner made it.
        return {k: sorted(v) if isinstance(v, frozenset) else v for k, v in patch.items()}


@detail(ChangeKind.CANCEL_INVITE)
class CancelInvite(Detail):
    request_id: int
    store_id: int
    email: str
    reason: str


NAME_LIMIT: Final = 255  # the API's limit on names [assumed], in characters


def neutralized_name(name: str, kept_id: int) -> str:
    """The name a duplicate gets so that it never matches a desired name again: the suffix
    always survives, the name is shortened to fit the API's limit."""
    suffix = f" [duplicate of {kept_id}, neutralized by dropstream-sync]"
    return name[: NAME_LIMIT - len(suffix)] + suffix


@detail(ChangeKind.NEUTRALIZE_DUPLICATE)
class NeutralizeDuplicate(Detail):
    """A second live customer or store matching one desired object: the lowest id is kept,
    this one is made harmless (requests canceled, stores disabled, then renamed)."""

    object_type: str  # "customer" or "store"
    object_id: int  # the duplicate
    kept_id: int  # the one kept, which the rest of the plan uses
    name: str  # the duplicate's name now
    new_name: str
    store_ids: tuple[int, ...]  # enabled Amazon stores to disable (the store, or the customer's)
    request_ids: tuple[int, ...]  # pending authorization requests to cancel

    OBJECT_TYPES: ClassVar[tuple[str, ...]] = ("customer", "store")
    OTHER_ID_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"object_id", "kept_id", "store_ids", "request_ids"}
    )

    def other_ids(self) -> tuple[str, ...]:
        # Every one of these is written to (or, for the kept one, relied on) by apply, so a
        # saved plan naming any outside the stale check's read is refused like a target.
        return (
            f"{self.object_type}/{self.object_id}",
            f"{self.object_type}/{self.kept_id}",
            *(f"store/{i}" for i in self.store_ids),
            *(f"authorization_request/{i}" for i in self.request_ids),
        )

    @classmethod
    def _read(cls, r: wire.Reader, name: str, hint: Any, default: Any) -> Any:
        if name == "object_type":
            value = r.text(name)
            if value not in cls.OBJECT_TYPES:
                raise wire.Invalid(r.path(name), f"must be one of {', '.join(cls.OBJECT_TYPES)}")
            return value
        if name not in ("store_ids", "request_ids"):
            return r.typed(name, hint, default)
        items = r.data.get(name)
        if not isinstance(items, list) or not all(
            isinstance(x, int) and not isinstance(x, bool) for x in items
        ):
            raise wire.Invalid(r.path(name), "must be a list of integers")
        return tuple(items)


@detail(ChangeKind.INVITE)
class Invite(Detail):
    store_id: int | None  # None: the store is created in this plan (store_ref)
    email: str
    reason: str | None = omitted()
    store_ref: str | None = ref("store_id")


@detail(ChangeKind.REINVITE)
class Reinvite(Detail):
    store_id: int
    email: str
    cancel_request_id: int | None  # the pending request to cancel first, if any
    reason: str
    authorization_expires_at: str | None = omitted()  # a renewal: when the old one lapses


@detail(ChangeKind.CREATE_CONNECTION)
class CreateConnection(Detail):
    customer_id: int
    store_id: int
    warehouse_id: int
    name: str
    enable: bool
    # The channels the config manages, type -> on/off: the new connection's channels are
    # known only once it exists, so apply reads them back and sets these (left out: none).
    channels: Mapping[str, bool] | None = omitted()


@detail(ChangeKind.UPDATE_CONNECTION)
class UpdateConnection(Detail):
    name: str


@detail(ChangeKind.UPDATE_CHANNEL)
class UpdateChannel(Detail):
    """PATCH /connections/{connection_id}/channels/{channel_id} `enabled_at` [doc]."""

    connection_id: int
    channel_id: int
    type: str  # sales_order, shipment, ...
    enable: bool


@dataclass(frozen=True, slots=True)
class _Switch(Detail):
    """A store and its connection switched on or off together (the store's `enabled:`)."""

    store_id: int
    connection_id: int | None
    store: bool  # the store needs switching
    connection: bool  # the connection needs switching


@detail(ChangeKind.ENABLE)
class Enable(_Switch):
    connection_id: int  # an enable always names the connection it finalizes


@detail(ChangeKind.DISABLE)
class Disable(_Switch):
    reason: str


DETAIL_TYPES: dict[ChangeKind, type[Detail]] = {
    cls.KIND: cls
    for cls in (
        CreateMerchant,
        CreateStore,
        UpdateStore,
        CancelInvite,
        NeutralizeDuplicate,
        Invite,
        Reinvite,
        CreateConnection,
        UpdateConnection,
        UpdateChannel,
        Enable,
        Disable,
    )
}
