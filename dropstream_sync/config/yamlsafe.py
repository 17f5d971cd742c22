"""YAML with positions, and without its traps.

PyYAML composes a node tree (with marks) and we build plain data from it ourselves, so that:
- every value and key keeps its line and column (1-based) for messages;
- a duplicate key in a mapping is an error (PyYAML keeps the last one silently);
- only the safe tags construct (no Python objects);
- alias expansion is bounded: aliases share nodes, so a "billion laughs" file composes
  instantly, and walking it stops after a budget of repeated visits;
- files over 10 MB are refused before they are read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

MAX_BYTES: Final = 10 * 1024 * 1024
MAX_ALIAS_VISITS: Final = 10_000

Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CONSTRUCTOR = yaml.constructor.SafeConstructor()

PathKey = tuple[str | int, ...]
_PLAIN: Final = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


@dataclass
class YamlProblem(Exception):
    line: int
    column: int
    path: PathKey
    message: str


@dataclass
class Positions:
    """Where each value (and each mapping key) of a document was written."""

    values: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    keys: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def of(self, path: PathKey, *, key: bool = False) -> tuple[int, int]:
        """The position of `path`, or of its nearest written ancestor."""
        table = self.keys if key else self.values
        probe = path
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), (1, 1))


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def read_text(path: Path) -> str:
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise YamlProblem(1, 1, (), f"file is {size / 1024 / 1024:.1f} MB; the limit is 10 MB")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise YamlProblem(1, 1, (), f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def load(text: str) -> tuple[Any, Positions, list[YamlProblem]]:
    """Plain data, positions, and the problems found (duplicate keys, bad tags, ...).
    A syntax error or an alias bomb raises YamlProblem (nothing useful can follow)."""
    try:
        node = yaml.compose(text, Loader=Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise YamlProblem(line, column, (), f"YAML syntax error: {what}") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(1, 1, (), f"YAML error: {exc}") from None
    positions = Positions()
    if node is None:
        return None, positions, []
    walker = _Walker(positions)
    data = walker.build(node, ())
    return data, positions, walker.problems


class _Walker:
    def __init__(self, positions: Positions) -> None:
        self.positions = positions
        self.problems: list[YamlProblem] = []
        self._seen: set[int] = set()
        self._repeats = 0

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        if id(node) in self._seen:
            self._repeats += 1
            if self._repeats > MAX_ALIAS_VISITS:
                line, column = _mark(node)
                raise YamlProblem(line, column, path,
                                  "too many alias expansions (a YAML 'billion laughs' file?)")
        else:
            self._seen.add(id(node))
        self.positions.values.setdefault(path, _mark(node))
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _PLAIN:
            line, column = _mark(node)
            self.problems.append(YamlProblem(line, column, path,
                                             f"unsupported YAML value: tag '{node.tag}'"))
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        first: dict[Any, tuple[int, int]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                line, column = _mark(key_node)
                self.problems.append(YamlProblem(line, column, path,
                                                 "merge keys (<<) are not supported"))
                continue
            key = self._scalar(key_node, path) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str | int | float | bool) and key is not None:
                line, column = _mark(key_node)
                self.problems.append(YamlProblem(line, column, path, "a key must be a plain value"))
                continue
            child = (*path, key if isinstance(key, str | int) else str(key))
            if key in first:
                line, column = _mark(key_node)
                was = first[key]
                self.problems.append(YamlProblem(
                    line, column, child,
                    f"duplicate key '{key}' (first at line {was[0]}, column {was[1]})"))
                continue
            first[key] = _mark(key_node)
            self.positions.keys[child] = _mark(key_node)
            out[key] = self.build(value_node, child)
        return out

    def _scalar(self, node: yaml.Node, path: PathKey) -> Any:
        if node.tag == "tag:yaml.org,2002:timestamp":
            return str(node.value)  # dates stay text: no field of ours is a date
        try:
            return _CONSTRUCTOR.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            line, column = _mark(node)
            self.problems.append(YamlProblem(line, column, path,
                                             f"unsupported YAML value: {exc.problem}"))
            return None
