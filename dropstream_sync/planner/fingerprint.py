"""The digest of exactly the live objects a plan read for its merchants.

`apply PLANFILE` re-reads live and recomputes it: any difference means the plan's counts,
thresholds and ids may be wrong, so the plan is stale (like Terraform's stale-plan check).
The index (object key -> short digest) lets apply name what changed.

A plan carries a `LiveFingerprint`, worked out the first time something asks for it: a plan
that is only shown never needs it (a third of `plan()`'s time at 10,000 stores), one that is
saved, rendered as JSON or markdown, or applied does, and gets the same value it would have
had (the live read is immutable).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping

from dropstream_sync.live import (
    AuthorizationRequest,
    Connection,
    LiveState,
    Store,
    Warehouse,
    name_key,
)


class LiveFingerprint:
    """The digest and index of a live read: given (a saved plan's), or worked out from the
    read on first use."""

    __slots__ = ("_live", "_merchants", "_value")

    def __init__(self, digest: str = "", index: Mapping[str, str] | None = None) -> None:
        self._live: LiveState | None = None
        self._merchants: tuple[str, ...] = ()
        self._value: tuple[str, Mapping[str, str]] | None = (digest, index or {})

    @classmethod
    def of(cls, live: LiveState, merchant_names: Collection[str]) -> LiveFingerprint:
        fingerprint = cls()
        fingerprint._live, fingerprint._merchants = live, tuple(merchant_names)
        fingerprint._value = None
        return fingerprint

    def _worked_out(self) -> tuple[str, Mapping[str, str]]:
        if self._value is None:
            assert self._live is not None
            self._value = live_fingerprint(self._live, self._merchants)
            self._live = None  # the read is not kept alive for the digest's sake
        return self._value

    @property
    def digest(self) -> str:
        return self._worked_out()[0]

    @property
    def index(self) -> Mapping[str, str]:
        return self._worked_out()[1]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LiveFingerprint):
            return NotImplemented
        return self._worked_out() == other._worked_out()

    __hash__ = None  # type: ignore[assignment]  # the index is a dict, as a Plan's was

    def __repr__(self) -> str:
        state = "not worked out" if self._value is None else repr(self._value[0])
        return f"LiveFingerprint({state})"


def live_fingerprint(
    live: LiveState, merchant_names: Collection[str]
) -> tuple[str, dict[str, str]]:
    # The customers the planner matched: by name once normalized (live.name_key).
    names = {name_key(n) for n in merchant_names}
    customers = {c.id for c in live.customers if name_key(c.company_name) in names}
    index: dict[str, str] = {}
    # Each object's digest is sha256(repr(its fingerprint tuple)): saved plans carry them, so
    # the recipe is fixed. The loop is written out (no helper call, the hash bound locally)
    # because it runs once per live object of the merchants planned.
    sha256 = hashlib.sha256
    for c in live.customers:
        if c.id in customers:
            index[f"customer/{c.id}"] = sha256(repr(c.fingerprint()).encode()).hexdigest()[:16]
    # Every other kind belongs to a customer by its customer_id.
    owned: tuple[
        tuple[str, tuple[Warehouse | Store | Connection | AuthorizationRequest, ...]], ...
    ] = (
        ("warehouse/", live.warehouses),
        ("store/", live.stores),
        ("connection/", live.connections),
        ("authorization_request/", live.authorization_requests),
    )
    for prefix, objects in owned:
        for o in objects:
            if o.customer_id in customers:
                index[prefix + str(o.id)] = sha256(repr(o.fingerprint()).encode()).hexdigest()[:16]
    for n in live.connections:
        if n.customer_id in customers:
            for channel_id, parts in n.channel_fingerprints():
                index[f"channel/{channel_id}"] = sha256(repr(parts).encode()).hexdigest()[:16]
    text = "\n".join([f"{k}={v}" for k, v in sorted(index.items())])
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest(), index
