"""The Plan: what `plan` found and `apply` will do, and its one serialisable form.

A Plan is data. The JSON document of product.md §5 (the `--format json` output and the
saved plan of `--out`) is `Plan.to_dict()`; `Plan.from_dict()` reads it back exactly,
so `apply PLANFILE` needs no YAML. Renderers and the fingerprint read the same view.

Each Change carries, in `detail`, everything apply needs to make its API calls; ids of
objects that a change earlier in the same plan creates are given as `refs`
(`{"customer_id": "<change id>"}`): apply fills them in from that change's result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from dropstream_sync.desired import DesiredState

FORMAT_VERSION: Final = "1"

# Apply phases, in order (product.md §6). A kind's phase is its index here.
PHASES: Final[tuple[tuple[str, ...], ...]] = (
    ("create_merchant",),
    ("create_store",),
    ("update_store",),
    ("cancel_invite",),
    ("invite", "reinvite"),
    ("create_connection",),
    ("update_connection",),
    ("enable",),
    ("disable",),
)
CHANGE_KINDS: Final[tuple[str, ...]] = tuple(k for phase in PHASES for k in phase)
PHASE_OF: Final[dict[str, int]] = {k: i for i, phase in enumerate(PHASES) for k in phase}

# Pending items: not changes, but shown, counted and kept.
PENDING_KINDS: Final[tuple[str, ...]] = (
    "awaiting_merchant",  # a pending request still waiting for the merchant
    "queued",  # an invite held back by max_invites_per_run
    "needs_ui_authorization",  # no email: the merchant authorizes in the DropStream UI
)


@dataclass(frozen=True, slots=True)
class Target:
    type: str  # customer | store | connection | authorization_request
    id: int | None = None  # None: created by a change in this plan

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id}


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: str
    before: Any
    after: Any

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after}


@dataclass(frozen=True, slots=True)
class Change:
    id: str
    kind: str
    merchant: str
    store: str | None
    target: Target
    fields: tuple[FieldChange, ...] = ()
    depends_on: tuple[str, ...] = ()
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def phase(self) -> int:
        return PHASE_OF[self.kind]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "merchant": self.merchant,
            "store": self.store,
            "target": self.target.to_dict(),
            "fields": [f.to_dict() for f in self.fields],
            "depends_on": list(self.depends_on),
            "detail": dict(self.detail),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Change:
        return cls(
            id=d["id"],
            kind=d["kind"],
            merchant=d["merchant"],
            store=d.get("store"),
            target=Target(d["target"]["type"], d["target"].get("id")),
            fields=tuple(FieldChange(f["path"], f["before"], f["after"]) for f in d["fields"]),
            depends_on=tuple(d.get("depends_on", ())),
            detail=dict(d.get("detail", {})),
        )


@dataclass(frozen=True, slots=True)
class Pending:
    kind: str
    merchant: str
    store: str
    message: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "merchant": self.merchant,
            "store": self.store,
            "message": self.message,
            "detail": dict(self.detail),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Pending:
        return cls(d["kind"], d["merchant"], d["store"], d["message"], dict(d.get("detail", {})))


@dataclass(frozen=True, slots=True)
class Plan:
    changes: tuple[Change, ...] = ()
    pending: tuple[Pending, ...] = ()
    warnings: tuple[str, ...] = ()
    blocked_reasons: tuple[str, ...] = ()
    desired: DesiredState = field(default_factory=DesiredState)
    merchants: tuple[str, ...] = ()  # the merchants in scope (after --merchant)
    config_digest: str = ""
    live_fingerprint: str = ""
    live_index: Mapping[str, str] = field(default_factory=dict)  # object key -> short digest
    created_at: str = ""
    api_url: str = ""
    tool_version: str = ""

    @property
    def blocked(self) -> bool:
        return bool(self.blocked_reasons)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def summary(self) -> dict[str, Any]:
        counts = {kind: 0 for kind in CHANGE_KINDS}
        for change in self.changes:
            counts[change.kind] += 1
        pending = {kind: 0 for kind in PENDING_KINDS}
        for item in self.pending:
            pending[item.kind] += 1
        return {
            "changes": len(self.changes),
            **counts,
            "pending": len(self.pending),
            "pending_by_kind": pending,
            "connections_billed": counts["create_connection"],
            "blocked": self.blocked,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "tool_version": self.tool_version,
            "created_at": self.created_at,
            "api_url": self.api_url,
            "config_digest": self.config_digest,
            "live_fingerprint": self.live_fingerprint,
            "live_index": dict(sorted(self.live_index.items())),
            "merchants": list(self.merchants),
            "summary": self.summary(),
            "blocked_reasons": list(self.blocked_reasons),
            "changes": [c.to_dict() for c in self.changes],
            "pending": [p.to_dict() for p in self.pending],
            "warnings": list(self.warnings),
            "desired": self.desired.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Plan:
        """Read a saved plan; raises KeyError/TypeError/ValueError on a malformed one
        (the CLI turns those into PlanFileError)."""
        if d.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"plan format_version {d.get('format_version')!r} is not {FORMAT_VERSION!r}"
            )
        return cls(
            changes=tuple(Change.from_dict(c) for c in d["changes"]),
            pending=tuple(Pending.from_dict(p) for p in d["pending"]),
            warnings=tuple(d.get("warnings", ())),
            blocked_reasons=tuple(d.get("blocked_reasons", ())),
            desired=DesiredState.from_dict(d["desired"]),
            merchants=tuple(d.get("merchants", ())),
            config_digest=d["config_digest"],
            live_fingerprint=d["live_fingerprint"],
            live_index=dict(d.get("live_index", {})),
            created_at=d.get("created_at", ""),
            api_url=d.get("api_url", ""),
            tool_version=d.get("tool_version", ""),
        )
