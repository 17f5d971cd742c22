"""Checks of a plan that look across stores: pure, like the rest of the planner.

- A `create_store` in a marketplace where the merchant already has a live Amazon store that
  the config does not match (renamed in the DropStream UI, or a file written before `id:`)
  is most likely that store again: a second billed connection later. It is warned about,
  naming the live store, and counted as suspicious for the safety thresholds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dropstream_sync import catalog
from dropstream_sync.desired import DesiredMerchant, DesiredStore
from dropstream_sync.live import Store


def marketplace_code(ls: Store) -> str | None:
    entry = catalog.BY_ID.get(ls.marketplace_id or "")
    return entry.code if entry is not None else ls.marketplace_id


@dataclass(frozen=True, slots=True)
class SecondStore:
    """A store the plan would create beside an unmatched live store in its marketplace."""

    desired: DesiredStore
    live: tuple[Store, ...]  # the merchant's unmatched live stores in that marketplace

    def warning(self, m: DesiredMerchant) -> str:
        s = self.desired
        named = ", ".join(f"{ls.id} ({ls.name!r})" for ls in self.live)
        pin = self.live[0].id
        where = f"{s.source}: " if s.source else ""
        prune = (" (and prune would disable that one)" if m.prune else "")
        return (f"{where}store '{s.name}' of merchant '{m.name}' would be created in "
                f"marketplace {s.marketplace}, where the merchant already has live Amazon "
                f"store {named} that the config does not match (renamed in the DropStream UI, "
                f"or a file without `id:`?): a second store, and a second billed connection "
                f"once authorized{prune}. If it is the same store, pin it with `id: {pin}`")


def second_stores(created: Iterable[DesiredStore], unmatched: Sequence[Store]
                  ) -> list[SecondStore]:
    """Each created store whose marketplace holds one of the `unmatched` live stores."""
    by_market: dict[str, list[Store]] = {}
    for ls in unmatched:
        code = marketplace_code(ls)
        if code is not None:
            by_market.setdefault(code, []).append(ls)
    return [SecondStore(s, tuple(by_market[s.marketplace])) for s in created
            if s.marketplace in by_market]
