"""Quirk modes: the sandbox answering the way a real DropStream might differ from the model.

The model (pagination by `Link` and `X-Total-Count`, the Amazon adapter keys, the invite
endpoint, `expires_in`) is largely assumed, so `doctor` and the plan's partial-read guard must
be tested against a service that does otherwise. A quirk rewrites answers around the real
handlers, which still keep the state: a capped list is the first N rows of the real list,
an envelope wraps the real page. With no quirk set the app never calls into this module.

Set them with `sandbox serve --quirk NAME` (repeatable), `create_app(..., quirks=[...])` or
`POST /_sandbox/quirks {"quirks": [...]}`; like faults and the rate limit they live in the
running app, not in the state folder.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from .context import Reply
from .validation import AMAZON_DEFAULTS

CAP_MAX: Final = 9999
CAP_RE: Final = re.compile(r"cap:([1-9][0-9]{0,3})")
# name -> what it changes; the --quirk help and docs/sandbox.md say the same.
QUIRKS: Final[dict[str, str]] = {
    "no-link": "lists answer without the Link header",
    "no-total": "lists answer without X-Total-Count",
    "cap:N": f"lists answer their first N rows (1 to {CAP_MAX}) whatever page and per_page "
    "say, with no Link and no X-Total-Count",
    "envelope": "lists answer {data, total_count, total_pages} instead of an array, no headers",
    "ignore-per-page": "lists ignore per_page and answer pages of the default 25",
    "repeat-page": "lists ignore page (and the next link's after): every page is page 1",
    "no-authorization-requests": "every authorization-request endpoint answers 404",
    "adapter-keys": "Amazon adapters answer marketplace and channel instead of marketplace_id "
    "and fulfillment_channel",
    "no-expires-in": "the token answer has no expires_in",
    "authorization-key": "Amazon adapters answer their authorization object as "
    "amazon_authorization",
    "adapter-settings": "Amazon adapters answer their four settings inside a settings object",
    "request-status-case": "authorization requests answer their status capitalized "
    "(Pending, Completed)",
    "channel-keys": "connection channels answer channel_type instead of type",
    "patch-ignores-settings": "PATCH /stores/{id} answers 204 but ignores the adapter "
    "settings it is sent",
    "patch-ignores-enabled": "PATCH /connections/{id} answers 204 but ignores enabled_at",
}
# The names hold no regex character but "-", which is literal outside a class.
PATTERN: Final = (
    "^(" + "|".join(name for name in QUIRKS if name != "cap:N") + r"|cap:[1-9][0-9]{0,3})$"
)

DEFAULT_PER_PAGE: Final = 25
_PAGE_SIZE: Final = 100  # the most the handlers answer at once
_ADAPTER_RENAMES: Final = (("marketplace_id", "marketplace"), ("fulfillment_channel", "channel"))
_SETTINGS: Final = tuple(AMAZON_DEFAULTS)  # the four wizard settings of an Amazon adapter
_INVITE_TEMPLATES: Final = frozenset(
    {
        "/authorization_requests",
        "/authorization_requests/{id}",
        "/stores/{id}/authorization_requests",
    }
)

Run = Callable[[dict[str, str]], Reply]


class QuirkError(ValueError):
    """A quirk name the sandbox does not know."""


@dataclass(frozen=True, slots=True)
class Quirks:
    names: frozenset[str]
    cap: int | None = None

    @classmethod
    def parse(cls, given: Iterable[str]) -> Quirks | None:
        """The quirks named, or None for none (the app's fast path); a later cap wins."""
        names: set[str] = set()
        cap: int | None = None
        for name in given:
            match = CAP_RE.fullmatch(name) if isinstance(name, str) else None
            if match:
                cap = int(match.group(1))
            elif isinstance(name, str) and name in QUIRKS and name != "cap:N":
                names.add(name)
            else:
                raise QuirkError(
                    f"Unknown quirk {name!r}: the quirks are "
                    f"{', '.join(QUIRKS).replace('cap:N', f'cap:N (N from 1 to {CAP_MAX})')}."
                )
        return cls(frozenset(names), cap) if names or cap is not None else None

    def as_list(self) -> list[str]:
        """In the table's order, the cap as `cap:N`."""
        return [
            f"cap:{self.cap}" if name == "cap:N" else name
            for name in QUIRKS
            if name in self.names or (name == "cap:N" and self.cap is not None)
        ]

    def hides(self, template: str) -> bool:
        """Whether this endpoint does not exist under the quirks."""
        return "no-authorization-requests" in self.names and template in _INVITE_TEMPLATES

    def token(self, body: dict[str, Any]) -> dict[str, Any]:
        if "no-expires-in" in self.names:
            return {k: v for k, v in body.items() if k != "expires_in"}
        return body

    def request_body(self, method: str, template: str, body: Any) -> Any:
        """The body the handler gets: a PATCH's adapter settings dropped under
        patch-ignores-settings, a connection PATCH's enabled_at under patch-ignores-enabled
        (the answer is the handler's 204 all the same)."""
        if (
            "patch-ignores-enabled" in self.names
            and (method, template) == ("PATCH", "/connections/{id}")
            and isinstance(body, dict)
        ):
            return {k: v for k, v in body.items() if k != "enabled_at"}
        if (
            "patch-ignores-settings" not in self.names
            or (method, template) != ("PATCH", "/stores/{id}")
            or not isinstance(body, dict)
            or not isinstance(body.get("adapter"), dict)
        ):
            return body
        adapter = {k: v for k, v in body["adapter"].items() if k not in _SETTINGS}
        rest = {k: v for k, v in body.items() if k != "adapter"}
        return {**rest, "adapter": adapter} if adapter else rest

    def answer(self, method: str, template: str, query: dict[str, str], run: Run) -> Reply:
        """The answer to one API request, `run` calling the real handler with a query."""
        if method != "GET":
            reply = run(query)
            if template == "/stores/{id}/authorization_requests":
                self._objects(template, [reply.body])
            return reply
        if "{" in template:
            reply = run(query)
            self._objects(template, reply.body if isinstance(reply.body, list) else [reply.body])
            return reply
        if self.cap is not None:
            reply = self._capped(query, run)
        else:
            query = dict(query)
            if "repeat-page" in self.names:
                query.pop("page", None)
                query.pop("after", None)
            if "ignore-per-page" in self.names:
                query.pop("per_page", None)
            reply = run(query)
        if isinstance(reply.body, list):
            self._objects(template, reply.body)
        if "no-link" in self.names:
            reply.headers.pop("Link", None)
        if "no-total" in self.names:
            reply.headers.pop("X-Total-Count", None)
        if "envelope" in self.names and isinstance(reply.body, list):
            total = int(reply.headers.pop("X-Total-Count", len(reply.body)))
            reply.headers.pop("Link", None)
            try:
                per_page = int(query.get("per_page") or DEFAULT_PER_PAGE)
            except ValueError:  # the handler refused it already; kept for the type checker
                per_page = DEFAULT_PER_PAGE
            reply.body = {
                "data": reply.body,
                "total_count": total,
                "total_pages": math.ceil(total / per_page),
            }
        return reply

    def _capped(self, query: dict[str, str], run: Run) -> Reply:
        assert self.cap is not None
        base = {k: v for k, v in query.items() if k not in ("page", "per_page", "after")}
        rows: list[Any] = []
        reply = Reply(200, rows)
        page = 1
        while len(rows) < self.cap:
            reply = run({**base, "page": str(page), "per_page": str(_PAGE_SIZE)})
            rows += reply.body
            if len(reply.body) < _PAGE_SIZE:
                break
            page += 1
        reply.body = rows[: self.cap]
        reply.headers.pop("Link", None)
        reply.headers.pop("X-Total-Count", None)
        return reply

    def _objects(self, template: str, objects: list[Any]) -> None:
        """Rewrite the objects of an answer in place, as the quirks set say."""
        if template.startswith("/stores") and not template.endswith("authorization_requests"):
            for store in objects:
                adapter = store.get("adapter") if isinstance(store, dict) else None
                if isinstance(adapter, dict):
                    self._adapter(adapter)
        elif template.endswith("/channels") and "channel-keys" in self.names:
            self._channels(objects)
        elif template.startswith("/connections") and "channel-keys" in self.names:
            for connection in objects:
                if isinstance(connection, dict) and isinstance(connection.get("channels"), list):
                    self._channels(connection["channels"])
        elif "authorization_requests" in template and "request-status-case" in self.names:
            for request in objects:
                if isinstance(request, dict) and isinstance(request.get("status"), str):
                    request["status"] = request["status"].capitalize()

    def _adapter(self, adapter: dict[str, Any]) -> None:
        names = self.names
        if "adapter-keys" in names and "marketplace_id" in adapter:
            for old, new in _ADAPTER_RENAMES:
                adapter[new] = adapter.pop(old, None)
        if "adapter-settings" in names and "fulfillment_channel_code" in adapter:
            adapter["settings"] = {key: adapter.pop(key, None) for key in _SETTINGS}
        if "authorization-key" in names and "authorization" in adapter:
            adapter["amazon_authorization"] = adapter.pop("authorization")

    @staticmethod
    def _channels(channels: list[Any]) -> None:
        for channel in channels:
            if isinstance(channel, dict) and "type" in channel:
                channel["channel_type"] = channel.pop("type")
