"""What a change costs, as DropStream's help centre tells it (product.md §2).

One table of kind -> labels, shared by the JSON document (each change's `cost`, the summary's
`billing`) and the renderers, so every format says the same words about the same change.
A disable keeps the connection billed (only deleting the store in DropStream stops billing)
and loses the orders placed meanwhile; an invite sends an email nobody can take back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from dropstream_sync.planner.details import ChangeKind, Detail, Disable

STILL_BILLED: Final = (
    "still billed: a disabled connection keeps its billing; delete the store "
    "in DropStream to stop it"
)
ORDERS_LOST: Final = "orders placed while disabled are not imported later"
EMAIL_SENT: Final = "sends the merchant an email that cannot be unsent"
BILLED: Final = "a new connection: DropStream bills it from then on, enabled or not"

COSTS: Final[Mapping[ChangeKind, tuple[str, ...]]] = MappingProxyType(
    {
        # The wizard's Finalize: the one change that adds to the bill (product.md §2).
        ChangeKind.CREATE_CONNECTION: (BILLED,),
        ChangeKind.DISABLE: (STILL_BILLED, ORDERS_LOST),
        ChangeKind.INVITE: (EMAIL_SENT,),
        ChangeKind.REINVITE: (EMAIL_SENT,),
    }
)


def cost_of(kind: ChangeKind) -> tuple[str, ...]:
    """The labels of a change of this kind; () when it costs nothing beyond its effect."""
    return COSTS.get(kind, ())


def billing(changes: Iterable[tuple[ChangeKind, Detail]]) -> dict[str, int]:
    """The billing effect of a whole plan: connections it adds (each billed from then on) and
    enabled connections it disables, which stay billed."""
    added = disabled = 0
    for kind, detail in changes:
        if kind is ChangeKind.CREATE_CONNECTION:
            added += 1
        elif isinstance(detail, Disable) and detail.connection:
            disabled += 1
    return {"connections_added": added, "connections_disabled_still_billed": disabled}
