"""The desired state: what the configuration asks for, normalized and fully resolved.

The loader (config/) produces it from YAML; a saved plan carries it as JSON so that
`apply PLANFILE` needs no YAML. The planner reads only this, never the raw config:
every default is already applied, every status set is canonical, every marketplace is
a catalog code. Equal desired states therefore serialize to equal bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True, slots=True)
class Source:
    """Where a merchant or store was declared, for messages that point at the YAML."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """The settings of the wizard, as the adapter stores them, and their defaults (the one
    place of both: the loader, planner, apply and import iterate over these fields)."""

    fulfillment_channel: str = "MFN"
    import_order_statuses: frozenset[str] = frozenset({"Unshipped", "PartiallyShipped"})
    fulfillment_latency: int | None = None
    fulfillment_channel_code: str = "DEFAULT"

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The setting names, in the wizard's order."""
        # Computed once: a plan asks for them twice per store.
        return _SETTING_NAMES

    @staticmethod
    def wire_value(value: Any) -> Any:
        """A setting's value as JSON holds it: a status set as a sorted list."""
        return sorted(value) if isinstance(value, _COLLECTIONS) else value

    def to_dict(self) -> dict[str, Any]:
        return {
            name: (sorted(v) if isinstance(v := getattr(self, name), _COLLECTIONS) else v)
            for name in _SETTING_NAMES
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StoreSettings:
        """From the wire form; a setting left out keeps its default."""
        values = {name: d[name] for name in cls.names() if name in d}
        if "import_order_statuses" in values:
            values["import_order_statuses"] = frozenset(values["import_order_statuses"])
        return cls(**values)


# The channel types a config may name, as the API names them [doc: the API reference's
# examples]. The help centre lists more kinds (inventory, products, catalogs, purchase
# orders), each offered only when both platforms support it; add them here once their API
# names are known.
CHANNEL_TYPES: tuple[str, ...] = ("sales_order", "shipment", "sales_order_return")
_SETTING_NAMES: tuple[str, ...] = tuple(f.name for f in fields(StoreSettings))
# A tuple, not a union type: isinstance checks a tuple of classes faster.
_COLLECTIONS = (frozenset, set, tuple, list)


@dataclass(frozen=True, slots=True)
class DesiredStore:
    merchant: str
    name: str
    marketplace: str  # catalog code, e.g. "US", "UK" (never "GB")
    settings: StoreSettings = field(default_factory=StoreSettings)
    id: int | None = None
    warehouse: str | None = None  # a warehouse description; None: the merchant's default
    enabled: bool = True
    protect: bool = False
    source: Source | None = None
    # Several warehouses, one connection to each (then `warehouse` is None); empty: the
    # one-warehouse form above.
    warehouses: tuple[str, ...] = ()
    # Channel type -> wanted on/off; a type left out is not managed (left as it is).
    channels: Mapping[str, bool] = field(default_factory=dict, hash=False)

    def warehouse_names(self) -> tuple[str, ...]:
        """The warehouses the config names for this store; empty when it names none."""
        return self.warehouses or ((self.warehouse,) if self.warehouse is not None else ())


@dataclass(frozen=True, slots=True)
class DesiredMerchant:
    name: str  # the customer's company_name
    email: str | None = None
    prune: bool = False
    reauthorize_days: int = 30
    stores: tuple[DesiredStore, ...] = ()
    source: Source | None = None
    selling_partner_id: str | None = None  # the Amazon seller expected to authorize; None: any


@dataclass(frozen=True, slots=True)
class Safety:
    max_update_percent: float = 30
    max_disable_percent: float = 10
    min_existing: int = 10
    max_invites_per_run: int = 50


@dataclass(frozen=True, slots=True)
class DesiredState:
    merchants: tuple[DesiredMerchant, ...] = ()
    safety: Safety = field(default_factory=Safety)
    account: str | None = None  # the account the config names (`account:`); None: any
    account_source: Source | None = None
    # digest(), kept once computed: the state is frozen, so it cannot change, and hashing
    # ten thousand stores' JSON costs a fifth of a plan. Not part of the state itself.
    _digest: str | None = field(default=None, init=False, repr=False, compare=False)

    def merchant_names(self) -> frozenset[str]:
        return frozenset(m.name for m in self.merchants)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready, deterministic form (sources left out: they are not desired state)."""
        # `account` only when named, so the digest of every config without it stays as it was.
        named = {} if self.account is None else {"account": self.account}
        return {
            **named,
            "safety": {
                "max_update_percent": self.safety.max_update_percent,
                "max_disable_percent": self.safety.max_disable_percent,
                "min_existing": self.safety.min_existing,
                "max_invites_per_run": self.safety.max_invites_per_run,
            },
            "merchants": [
                {
                    "name": m.name,
                    "email": m.email,
                    "prune": m.prune,
                    "reauthorize_days": m.reauthorize_days,
                    "stores": [_store_to_dict(s) for s in m.stores],
                    # Only when pinned: the digest of a config without it stays as it was.
                    **(
                        {}
                        if m.selling_partner_id is None
                        else {"selling_partner_id": m.selling_partner_id}
                    ),
                }
                for m in self.merchants
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DesiredState:
        safety = Safety(**data.get("safety", {}))
        merchants = tuple(
            DesiredMerchant(
                name=m["name"],
                email=m.get("email"),
                prune=bool(m.get("prune", False)),
                reauthorize_days=int(m.get("reauthorize_days", 30)),
                stores=tuple(_store_from_dict(m["name"], s) for s in m.get("stores", [])),
                selling_partner_id=m.get("selling_partner_id"),
            )
            for m in data.get("merchants", [])
        )
        return cls(merchants=merchants, safety=safety, account=data.get("account"))

    def digest(self) -> str:
        """sha256 of the canonical JSON form: the plan's `config_digest`."""
        digest = self._digest
        if digest is None:
            # Imported here: `validate` loads a config and never needs a digest.
            import hashlib
            import json

            text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
            digest = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
            object.__setattr__(self, "_digest", digest)
        return digest


def _store_to_dict(s: DesiredStore) -> dict[str, Any]:
    return {
        "name": s.name,
        "id": s.id,
        "marketplace": s.marketplace,
        **s.settings.to_dict(),
        "warehouse": s.warehouse,
        "enabled": s.enabled,
        "protect": s.protect,
        # Only when given: the desired state (and its digest) of a file without them is
        # what it always was.
        **({"warehouses": list(s.warehouses)} if s.warehouses else {}),
        **({"channels": dict(sorted(s.channels.items()))} if s.channels else {}),
    }


def _store_from_dict(merchant: str, d: dict[str, Any]) -> DesiredStore:
    return DesiredStore(
        merchant=merchant,
        name=d["name"],
        id=d.get("id"),
        marketplace=d["marketplace"],
        settings=StoreSettings.from_dict(d),
        warehouse=d.get("warehouse"),
        enabled=bool(d.get("enabled", True)),
        protect=bool(d.get("protect", False)),
        warehouses=tuple(d.get("warehouses", ())),
        channels={str(k): bool(v) for k, v in dict(d.get("channels", {})).items()},
    )
