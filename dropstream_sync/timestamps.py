"""The one UTC timestamp format the tool writes: the API's, the plan's and the audit log's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"


def utc_stamp(moment: datetime) -> str:
    """`moment` as the API writes times: UTC, whole seconds, a trailing Z."""
    return moment.astimezone(UTC).strftime(FORMAT)
