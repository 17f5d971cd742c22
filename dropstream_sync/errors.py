"""The one exception tree of dropstream-sync.

    DropstreamSyncError                 every expected failure; the CLI maps it to exit 1
    ├── ConfigError                     the YAML is invalid: .problems lists every one
    ├── SettingsError                   where/how to connect is wrong (credentials, URL, flags)
    ├── PlanError                       the plan cannot be made (missing warehouse, ...)
    ├── PlanFileError                   a saved plan cannot be read or is of another version
    ├── StalePlanError                  live changed since the saved plan was made
    ├── BlockedPlanError                safety blocked the plan and --force was not given
    ├── ApplyError                      one or more changes failed (.failures)
    └── ApiError                        DropStream answered with an error, or did not answer
        ├── AuthenticationError         401/403, or no usable credentials were accepted
        ├── NotFoundError               404 (also another account's objects)
        ├── ConflictError               409
        ├── ApiValidationError          422 (.details carries the API's field reasons)
        ├── RateLimitedError            429 after the retries ran out
        ├── ServerError                 5xx after the retries ran out
        ├── TransportError              timeouts, resets, dropped connections
        └── PartialReadError            a list answered in a way that may not be all of it

Messages say what went wrong, where, and what to do. None of them ever holds a
credential: the client builds them from method, path, status and the API's sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

# Characters that must not reach a terminal, a log or a pull-request comment as they are: C0
# and C1 controls (a line break forges a line of output, an escape sequence rewrites the
# screen) and the Unicode line and paragraph separators; and bidi controls (they reorder
# what is shown). A config's keys and values are quoted in messages, and may hold any of
# them. The same ranges are refused in names (config/models.py).
CONTROL_RANGES: Final = ((0x00, 0x1F), (0x7F, 0x9F), (0x2028, 0x2029))
BIDI_RANGES: Final = ((0x061C, 0x061C), (0x200E, 0x200F), (0x202A, 0x202E), (0x2066, 0x2069))
_UNPRINTABLE: Final = re.compile(
    "[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in (*CONTROL_RANGES, *BIDI_RANGES)) + "]"
)


def printable(text: str) -> str:
    """`text` with each character above written as its escape (`\\n`, `\\x1b`, `\\u202e`)."""
    if not _UNPRINTABLE.search(text):
        return text
    return _UNPRINTABLE.sub(lambda m: ascii(m.group())[1:-1], text)


class DropstreamSyncError(Exception):
    """Base of every expected failure."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in a configuration file, with its position (1-based line and column)."""

    file: str
    line: int
    column: int
    path: str
    message: str
    severity: str = "error"  # "error" | "warning"

    def in_plan(self) -> str:
        """The warning as a plan keeps it (`warnings` of the JSON plan)."""
        return printable(f"{self.file}:{self.line}:{self.column}: {self.path}: {self.message}")

    def __str__(self) -> str:
        # One line, whatever the file's name, keys and values hold (each is quoted here).
        where = f"{self.file}:{self.line}:{self.column}"
        what = f"{self.path}: {self.message}" if self.path else self.message
        prefix = "warning: " if self.severity == "warning" else ""
        return printable(f"{where}: {prefix}{what}")


class ConfigError(DropstreamSyncError):
    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        super().__init__("\n".join(str(p) for p in errors) or "invalid configuration")


class SettingsError(DropstreamSyncError):
    pass


class PlanError(DropstreamSyncError):
    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = tuple(messages)
        super().__init__("\n".join(self.messages))


class PlanFileError(DropstreamSyncError):
    pass


class StalePlanError(DropstreamSyncError):
    pass


class BlockedPlanError(DropstreamSyncError):
    pass


class ApplyError(DropstreamSyncError):
    def __init__(self, failures: Sequence[str], advice: str = "") -> None:
        self.failures = tuple(failures)
        # `advice`: what to do next, one last line (not counted among the failures).
        self.advice = advice
        lines = [*self.failures, advice] if advice else list(self.failures)
        super().__init__(f"{len(self.failures)} change(s) failed:\n" + "\n".join(lines))


class ApiError(DropstreamSyncError):
    """An error answer (or no answer) from DropStream for one request.

    str() is the whole message: `METHOD path -> status: sentence`, the advice on what to
    try (`what_to_try`, when there is one), then the API's field reasons. `message` is the
    same without the advice, for `doctor`: the advice is mostly to run doctor."""

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        path: str = "",
        status: int | None = None,
        details: dict[str, list[str]] | None = None,
        may_have_committed: bool = False,
        what_to_try: str = "",
    ) -> None:
        self.method = method
        # True when a write was sent and its answer lost (and no read could tell): the change
        # may have taken effect, so apply reports it as unknown, never as failed.
        self.may_have_committed = may_have_committed
        self.path = path
        self.status = status
        self.api_message = message
        # The advice that follows the sentence (". Check the URL, or run `dropstream-sync
        # doctor ...`"), kept apart so that doctor, which is that advice, can leave it out.
        self.what_to_try = what_to_try
        self.details = details or {}
        self.message = self._text("")
        super().__init__(self._text(what_to_try))

    def _text(self, what_to_try: str) -> str:
        """`METHOD path -> status: sentence`, `what_to_try` after the sentence, then the
        API's field reasons."""
        where = f"{self.method} {self.path}".strip()
        code = f" -> {self.status}" if self.status is not None else ""
        said = self.api_message + what_to_try
        text = f"{where}{code}: {said}" if where else said
        if self.details:
            reasons = "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(self.details.items()))
            text = f"{text} ({reasons})"
        return text


class AuthenticationError(ApiError):
    pass


class NotFoundError(ApiError):
    pass


class ConflictError(ApiError):
    pass


class ApiValidationError(ApiError):
    pass


class RateLimitedError(ApiError):
    pass


class ServerError(ApiError):
    pass


class TransportError(ApiError):
    pass


class PartialReadError(ApiError):
    """A list may not have been read whole (a cap with no pagination signal, an envelope
    this client does not read, a page answered twice). A plan made from it would create and
    disable objects it never saw, so the plan stops; `.list_path` names the list."""

    def __init__(self, list_path: str, reason: str) -> None:
        self.list_path = list_path
        self.reason = reason
        super().__init__(
            f"the list {list_path} may not have been read whole: {reason}. Nothing was "
            "planned, imported or reported from it (a plan would create or disable objects "
            "it never read; an import would leave them out of the file); run "
            "`dropstream-sync doctor` to see how this API paginates",
            method="GET",
            path=list_path,
        )
