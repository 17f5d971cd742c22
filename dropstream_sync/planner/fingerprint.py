"""The digest of exactly the live objects a plan read for its merchants.

`apply PLANFILE` re-reads live and recomputes it: any difference means the plan's counts,
thresholds and ids may be wrong, so the plan is stale (like Terraform's stale-plan check).
The index (object key -> short digest) lets apply name what changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection

from dropstream_sync.live import LiveState, name_key


def live_fingerprint(
    live: LiveState, merchant_names: Collection[str]
) -> tuple[str, dict[str, str]]:
    # The customers the planner matched: by name once normalized (live.name_key).
    names = {name_key(n) for n in merchant_names}
    customers = {c.id for c in live.customers if name_key(c.company_name) in names}
    index: dict[str, str] = {}

    def add(key: str, parts: tuple[object, ...]) -> None:
        index[key] = hashlib.sha256(repr(parts).encode()).hexdigest()[:16]

    for c in live.customers:
        if c.id in customers:
            add(f"customer/{c.id}", c.fingerprint())
    for w in live.warehouses:
        if w.customer_id in customers:
            add(f"warehouse/{w.id}", w.fingerprint())
    for s in live.stores:
        if s.customer_id in customers:
            add(f"store/{s.id}", s.fingerprint())
    for n in live.connections:
        if n.customer_id in customers:
            add(f"connection/{n.id}", n.fingerprint())
            for channel_id, parts in n.channel_fingerprints():
                add(f"channel/{channel_id}", parts)
    for r in live.authorization_requests:
        if r.customer_id in customers:
            add(f"authorization_request/{r.id}", r.fingerprint())
    text = "\n".join(f"{k}={v}" for k, v in sorted(index.items()))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest(), index
