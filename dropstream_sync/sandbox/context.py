"""What a handler receives (`Ctx`) and returns (`Reply`), independent of ASGI."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class Html:
    """A text/html answer body (the merchant's authorization page)."""

    text: str


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-able, Html, or None for an empty answer
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    invite_ttl_seconds: float
    token_ttl_seconds: int
    # False emulates the spec's stricter model: 422 for a request on an authorized store.
    renewals: bool = True


@dataclass
class Ctx:
    conn: sqlite3.Connection
    now: dt.datetime
    now_s: str
    account_id: int
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    base_url: str
    path: str
    settings: Settings
    count: Callable[[str, tuple[Any, ...]], int]
    # For a list query: position in the id order (rows up to and including it) -> that row's
    # id, as far as answered pages have shown it since the last write.
    positions: Callable[[tuple[Any, ...]], dict[int, int]]
    form: dict[str, str] = field(default_factory=dict)

    def int_param(self, name: str) -> int:
        """A path id; the router only matches digits, so this cannot fail."""
        return int(self.params[name])


@dataclass(frozen=True)
class Op:
    """One API operation: what serves it and what the OpenAPI document says about it.

    `answer` is the model of the success body (a list of it for a list endpoint), `body` the
    model of the request body; the other answers follow from the method and the template.
    """

    method: str
    template: str
    handler: Callable[[Ctx], Reply]
    answer: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    filters: tuple[str, ...] = ()
