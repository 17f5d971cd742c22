"""The planner: pure. `plan(desired, live, now=...) -> Plan`; no I/O, no clock."""

from dropstream_sync.planner.model import (
    CHANGE_KINDS,
    PENDING_KINDS,
    PHASES,
    Change,
    ChangeKind,
    Detail,
    FieldChange,
    Pending,
    PendingKind,
    Plan,
    Target,
    TargetType,
)
from dropstream_sync.planner.plan import plan

__all__ = [
    "CHANGE_KINDS",
    "PENDING_KINDS",
    "PHASES",
    "Change",
    "ChangeKind",
    "Detail",
    "FieldChange",
    "Pending",
    "PendingKind",
    "Plan",
    "Target",
    "TargetType",
    "plan",
]
