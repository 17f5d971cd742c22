"""Reading a saved plan's JSON values with a path for every problem.

A saved plan is input like any other: it may have been edited, truncated or written by
something else. Each read here checks presence and type and, when it fails, raises
`Invalid` naming the field (`changes[3].detail.email: must be a string`), so the user
never sees a KeyError or a traceback. Nothing here recurses into values of unbounded depth.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import fields
from typing import Any, Final, Union

from dropstream_sync.desired import DesiredMerchant, DesiredStore, Safety, StoreSettings


class Invalid(Exception):
    """One problem in a saved plan, at `path`."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


_MISSING: Final[Any] = object()
_SCALARS: Final = (str, int, float, bool, type(None))


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        int: "an integer",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def check(value: Any, hint: Any, path: str) -> Any:
    """`value` as the type `hint` names (int, str, bool, float, X | None, frozenset[str],
    a settings dataclass), or Invalid. Returns the value in its Python form."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        inner = [o for o in options if o is not type(None)]
        return check(value, inner[0], path)
    by_origin = _BY_ORIGIN.get(origin)
    if by_origin is not None:
        return by_origin(value, path)
    if hint is StoreSettings:
        return StoreSettings.from_dict(check_object(value, path, StoreSettings))
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Invalid(path, f"must be a number, not {_type_name(value)}")
        return value
    if hint in (int, str, bool):
        # bool is an int to Python, never to a plan.
        if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
            raise Invalid(path, f"must be {_type_name(hint())}, not {_type_name(value)}")
        return value
    raise TypeError(f"internal: no check for {hint!r}")  # a new field type: add it above


def _strings(value: Any, path: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise Invalid(path, f"must be a list of strings, not {_type_name(value)}")
    return value


def _channels(value: Any, path: str) -> dict[str, bool]:
    # A channel mapping: type -> on/off.
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, bool) for k, v in value.items()
    ):
        raise Invalid(path, f"must be an object of true/false values, not {_type_name(value)}")
    return dict(value)


# Generic field types (by typing.get_origin) -> their check.
_BY_ORIGIN: dict[Any, Callable[[Any, str], Any]] = {
    tuple: lambda value, path: tuple(_strings(value, path)),
    frozenset: lambda value, path: frozenset(_strings(value, path)),
    Mapping: _channels,
    dict: _channels,
}


def check_object(
    value: Any, path: str, cls: type[Any], *, required: frozenset[str] | None = None
) -> dict[str, Any]:
    """The fields of dataclass `cls` that `value` holds, each checked; `required` (default:
    all of them) must be there, and no other key may be."""
    if not isinstance(value, dict):
        raise Invalid(path, f"must be an object, not {_type_name(value)}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in fields(cls)]
    unknown = sorted(set(value) - set(names))
    if unknown:
        raise Invalid(_join(path, unknown[0]), "unknown field")
    needed = set(names) if required is None else required
    out = {}
    for name in names:
        if name in value:
            out[name] = check(value[name], hints[name], _join(path, name))
        elif name in needed:
            raise Invalid(_join(path, name), "missing")
    return out


class Reader:
    """Typed reads of one JSON object at `where`."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise Invalid(where, f"must be an object, not {_type_name(data)}")
        self.data: Mapping[str, Any] = data
        self.where = where

    @classmethod
    def top(cls, data: Any) -> Reader:
        if not isinstance(data, dict):
            raise Invalid("", f"the document is {_type_name(data)}, not an object")
        return cls(data, "")

    def path(self, key: str) -> str:
        return _join(self.where, key)

    def names(self) -> Iterator[str]:
        return iter(self.data)

    def _get(self, key: str, default: Any) -> Any:
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            raise Invalid(self.path(key), "missing")
        return default

    def typed(self, key: str, hint: Any, default: Any = _MISSING) -> Any:
        if key not in self.data and default is not _MISSING:
            return default
        return check(self._get(key, default), hint, self.path(key))

    def text(self, key: str, default: Any = _MISSING) -> str:
        value: str = self.typed(key, str, default)
        return value

    def optional_text(self, key: str) -> str | None:
        value: str | None = self.typed(key, str | None, None)
        return value

    def optional_int(self, key: str) -> int | None:
        value: int | None = self.typed(key, int | None, None)
        return value

    def value(self, key: str) -> Any:
        """A field's value as a plan writes them: a JSON scalar or a list of scalars."""
        value = self._get(key, _MISSING)
        flat = value if isinstance(value, list) else [value]
        if not all(isinstance(x, _SCALARS) for x in flat):
            raise Invalid(
                self.path(key), "must be a string, number, boolean, null or a list of those"
            )
        return value

    def object(self, key: str, default: Any = _MISSING) -> Reader:
        return Reader(self._get(key, default), self.path(key))

    def _list(self, key: str, default: Any) -> list[Any]:
        value = self._get(key, default)
        if not isinstance(value, list):
            raise Invalid(self.path(key), f"must be a list, not {_type_name(value)}")
        return value

    def objects(self, key: str) -> list[Reader]:
        return [
            Reader(x, f"{self.path(key)}[{i}]") for i, x in enumerate(self._list(key, _MISSING))
        ]

    def texts(self, key: str, default: Any = _MISSING) -> list[str]:
        items = self._list(key, default)
        for i, x in enumerate(items):
            if not isinstance(x, str):
                raise Invalid(f"{self.path(key)}[{i}]", f"must be a string, not {_type_name(x)}")
        return items

    def text_map(self, key: str, default: Any = _MISSING) -> dict[str, str]:
        inner = self.object(key, default)
        return {k: inner.text(k) for k in inner.names()}


# The merchant's own fields (its stores are checked one by one, its source is not saved).
_MERCHANT_KEYS: Final = tuple(
    f.name for f in fields(DesiredMerchant) if f.name not in ("stores", "source")
)
_STORE_KEYS: Final = (
    "name",
    "id",
    "marketplace",
    "warehouse",
    "enabled",
    "protect",
    "warehouses",
    "channels",
)


def check_desired(desired: Reader) -> None:
    """The saved desired state has the shape `DesiredState.from_dict` reads."""
    if "account" in desired.data:
        desired.typed("account", str | None)
    if "safety" in desired.data:
        check_object(desired.data["safety"], desired.path("safety"), Safety, required=frozenset())
    merchant_hints = typing.get_type_hints(DesiredMerchant)
    store_hints = {**typing.get_type_hints(DesiredStore), **typing.get_type_hints(StoreSettings)}
    settings = StoreSettings.names()
    for m in desired.objects("merchants") if "merchants" in desired.data else ():
        _check_keys(m, _MERCHANT_KEYS, merchant_hints, ("stores",), {"name"})
        for s in m.objects("stores") if "stores" in m.data else ():
            _check_keys(s, (*_STORE_KEYS, *settings), store_hints, (), {"name", "marketplace"})


def _check_keys(
    r: Reader,
    names: tuple[str, ...],
    hints: Mapping[str, Any],
    other: tuple[str, ...],
    required: set[str],
) -> None:
    for key in r.names():
        if key not in names and key not in other:
            raise Invalid(r.path(key), "unknown field")
    for name in names:
        if name in r.data or name in required:
            r.typed(name, hints[name])


_TOKEN: Final = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def line_column(text: str, offset: int) -> tuple[int, int]:
    """Line and column (1-based) of the character at `offset` of `text`."""
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


def position_beyond(text: str, limit: int) -> tuple[int, int]:
    """Line and column (1-based) of the first bracket nested deeper than `limit` (only
    called for a document already known to be that deep; strings are skipped whole)."""
    depth = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return line_column(text, match.start())
        elif token in "]}":
            depth -= 1
    return 1, 1
