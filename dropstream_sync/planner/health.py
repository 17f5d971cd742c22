"""Checks of a plan that look across stores: pure, like the rest of the planner.

- A `create_store` in a marketplace where the merchant already has a live Amazon store that
  the config does not match (renamed in the DropStream UI, or a file written before `id:`)
  is most likely that store again: a second billed connection later. It is warned about,
  naming the live store, and counted as suspicious for the safety thresholds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from dropstream_sync import catalog
from dropstream_sync.desired import DesiredMerchant, DesiredStore
from dropstream_sync.live import AuthStatus, Store


def marketplace_code(ls: Store) -> str | None:
    entry = catalog.BY_ID.get(ls.marketplace_id or "")
    return entry.code if entry is not None else ls.marketplace_id


@dataclass(frozen=True, slots=True)
class SecondStore:
    """A store the plan would create beside an unmatched live store in its marketplace."""

    desired: DesiredStore
    live: tuple[Store, ...]  # the merchant's unmatched live stores in that marketplace

    def warning(self, m: DesiredMerchant, pruned: bool = False) -> str:
        """`pruned`: this plan disables one of the live stores (prune, and it is on)."""
        s = self.desired
        named = ", ".join(f"{ls.id} ({ls.name!r})" for ls in self.live)
        pin = self.live[0].id
        where = f"{s.source}: " if s.source else ""
        prune = " (and prune would disable that one)" if pruned else ""
        return (
            f"{where}store '{s.name}' of merchant '{m.name}' would be created in "
            f"marketplace {s.marketplace}, where the merchant already has live Amazon "
            f"store {named} that the config does not match (renamed in the DropStream UI, "
            f"or a file without `id:`?): a second store, and a second billed connection "
            f"once authorized{prune}. If it is the same store, pin it with `id: {pin}`"
        )


def second_stores(created: Iterable[DesiredStore], unmatched: Sequence[Store]) -> list[SecondStore]:
    """Each created store whose marketplace holds one of the `unmatched` live stores."""
    by_market: dict[str, list[Store]] = {}
    for ls in unmatched:
        code = marketplace_code(ls)
        if code is not None:
            by_market.setdefault(code, []).append(ls)
    return [
        SecondStore(s, tuple(by_market[s.marketplace]))
        for s in created
        if s.marketplace in by_market
    ]


# -- authorizations by Amazon seller ---------------------------------------------------------


_AUTHORIZED: Final = AuthStatus.AUTHORIZED


def seller_of(ls: Store) -> str | None:
    a = ls.authorization
    authorized = a.status == AuthStatus.AUTHORIZED
    return a.selling_partner_id if authorized and a.selling_partner_id else None


def seller_mismatch(m: DesiredMerchant, ls: Store) -> str | None:
    """Why store `ls`'s connection must not be created or enabled: it was authorized by
    another Amazon seller than the merchant's pinned `selling_partner_id`. None: it may."""
    seller = seller_of(ls)
    if m.selling_partner_id is None or seller is None or seller == m.selling_partner_id:
        return None
    return (
        f"store '{ls.name}' (id {ls.id}) of merchant '{m.name}' is authorized by Amazon "
        f"seller {seller}, not {m.selling_partner_id} (the merchant's "
        "selling_partner_id): the plan creates or enables no connection for it until "
        "someone reviews it. If that seller is right, change selling_partner_id in the "
        "config; if not, revoke the authorization in DropStream and have the merchant "
        "authorize again with the right seller account"
    )


def mixed_sellers(m: DesiredMerchant, stores: Iterable[Store]) -> list[str]:
    """Warnings when one merchant's stores are authorized by different Amazon sellers (and
    no `selling_partner_id` pins which one is right): a renewal completed by the wrong
    seller account, most likely, which routes the orders of that account."""
    if m.selling_partner_id is not None:
        return []
    # The status first: nearly every store of a first run is not authorized at all.
    sellers = {
        ls.id: seller
        for ls in stores
        if ls.authorization.status == _AUTHORIZED and (seller := seller_of(ls)) is not None
    }
    if len(set(sellers.values())) < 2:
        return []  # the usual case, asked of every merchant: no Counter to build
    counts = Counter(sellers.values())
    # The seller of most stores is taken as the usual one; ties by id, for a stable output.
    usual = min(counts, key=lambda x: (-counts[x], x))
    odd = sorted(sid for sid, seller in sellers.items() if seller != usual)
    listed = ", ".join(f"{sid} by {sellers[sid]}" for sid in odd)
    return [
        f"merchant '{m.name}': its stores are authorized by {len(counts)} different Amazon "
        f"sellers ({counts[usual]} by {usual}; store {listed}): was an authorization "
        f"renewed or completed by another seller account? Pin the expected one with "
        f"`selling_partner_id: {usual}` on the merchant to block connections of any other"
    ]
