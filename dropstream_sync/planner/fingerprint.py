"""The digest of exactly the live objects a plan read for its merchants.

`apply PLANFILE` re-reads live and recomputes it: any difference means the plan's counts,
thresholds and ids may be wrong, so the plan is stale (like Terraform's stale-plan check).
The index (object key -> short digest) lets apply name what changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection

from dropstream_sync.live import (
    AuthorizationRequest,
    Connection,
    LiveState,
    Store,
    Warehouse,
    name_key,
)


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
