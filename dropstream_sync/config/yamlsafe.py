"""YAML with positions, and without its traps.

PyYAML composes a node tree (with marks) and we build plain data from it ourselves, so that:
- every value and key keeps its line and column (1-based) for messages;
- a duplicate key in a mapping is an error (PyYAML keeps the last one silently);
- only the safe tags construct (no Python objects);
- alias expansion is bounded: aliases share nodes, so a "billion laughs" file composes
  instantly, and walking it stops once repeated visits outgrow the file's own size;
- plain scalars are typed by the YAML 1.2 core schema, as editors (yaml-language-server) and
  check-jsonschema read them, not by PyYAML's YAML 1.1 rules: only `true`/`false` are
  booleans (`yes`, `no`, `on`, `off` stay text, so a store named "No" is not a boolean),
  `036` is 36 (not octal 30), `0o17` and `0x1F` are numbers, and `1_000`, `1:30` and dates
  stay text;
- files over 10 MB, and files nested deeper than MAX_DEPTH, are refused before they are
  composed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Final

import yaml

MAX_BYTES: Final = 10 * 1024 * 1024
# Repeated visits allowed beyond twice the number of distinct nodes: a config that reuses an
# anchor once per store stays linear in its own size, while a "billion laughs" file (a hundred
# nodes, 10^9 visits) stops after about ten thousand.
MAX_ALIAS_VISITS: Final = 10_000
# Lists and mappings inside each other: the format itself needs 6 (merchants, a merchant, its
# stores, a store, its statuses, in the file's mapping).
MAX_DEPTH: Final = 50

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Loader(_BaseLoader):  # type: ignore[misc]
    """The safe loader with the YAML 1.2 core schema's implicit types (and `<<`, so that a
    merge key is reported as unsupported rather than as an unknown key)."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {}


# The core schema's tags, as the resolver gives them and the builders below compare them.
_STR, _INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP, _SEQ, _MAP, _MERGE = (
    f"tag:yaml.org,2002:{kind}"
    for kind in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map", "merge")
)
_PLAIN: Final = frozenset({_MAP, _SEQ})

_INT_RE: Final = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT_RE: Final = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)
for _tag, _pattern, _first in (
    (_BOOL, r"true|True|TRUE|false|False|FALSE", "tTfF"),
    (_INT, _INT_RE.pattern, "-+0123456789"),
    (_FLOAT, _FLOAT_RE.pattern, "-+0123456789."),
    (_NULL, r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    (_MERGE, r"<<", "<"),
):
    Loader.add_implicit_resolver(_tag, re.compile(f"^(?:{_pattern})$"), list(_first))

_RESOLVERS: Final[dict[str, list[tuple[str, re.Pattern[str]]]]] = Loader.yaml_implicit_resolvers


def _resolve(
    self: Any, kind: type[yaml.Node], value: str | None, implicit: tuple[bool, bool]
) -> str:
    """PyYAML's Resolver.resolve for our loader (no path resolvers, no wildcard resolvers),
    in fewer steps: the composer calls it once per node, and in a large file it cost as much
    as the C parser itself."""
    if kind is yaml.ScalarNode:
        if implicit[0] and value is not None:
            for tag, regexp in _RESOLVERS.get(value[:1], ()):
                if regexp.match(value):
                    return tag
        return _STR
    return _SEQ if kind is yaml.SequenceNode else _MAP


Loader.resolve = _resolve

_CONSTRUCTOR = yaml.constructor.SafeConstructor()


class Dumper(yaml.SafeDumper):
    """Quotes every text that YAML 1.1 *or* YAML 1.2 would read as something else (`0o17`,
    `1e3`, `1_000`, `yes`), so that a written file reads the same in PyYAML, editors and here."""


for _first, _resolvers in Loader.yaml_implicit_resolvers.items():
    for _tag, _regexp in _resolvers:
        Dumper.add_implicit_resolver(_tag, _regexp, [_first])


# A text with a line break or another control in it is written double-quoted, where each is
# an escape (`\\n`, `\\N`): in a plain or single-quoted scalar YAML folds line breaks, and
# PyYAML writes U+0085 (NEL) there as a break, so "a\\x85b" read back as "a b", another name.
_QUOTED: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


def _text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = '"' if _QUOTED.search(text) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


Dumper.add_representer(str, _text)


def dump(data: Any, **options: Any) -> str:
    return str(yaml.dump(data, Dumper=Dumper, **options))


PathKey = tuple[str | int, ...]


@dataclass
class YamlProblem(Exception):
    line: int
    column: int
    path: PathKey
    message: str


def _at(mark: Any) -> int:
    """A 1-based line and column in one int (`_line_column` takes it apart): a large file has
    hundreds of thousands of positions, and an int is a third of the memory of a pair."""
    at: int = ((mark.line + 1) << 32) | (mark.column + 1)
    return at


def _line_column(at: int) -> tuple[int, int]:
    return at >> 32, at & 0xFFFFFFFF


@dataclass
class Positions:
    """Where each value (and each mapping key) of a document was written."""

    values: dict[PathKey, int] = field(default_factory=dict)
    keys: dict[PathKey, int] = field(default_factory=dict)

    def of(self, path: PathKey, *, key: bool = False) -> tuple[int, int]:
        """The position of `path` (line, column), or of its nearest written ancestor."""
        table = self.keys if key else self.values
        probe = path
        while probe:
            if probe in table:
                return _line_column(table[probe])
            if probe in self.values:
                return _line_column(self.values[probe])
            probe = probe[:-1]
        return _line_column(self.values[()]) if () in self.values else (1, 1)


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
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlProblem(
            line, column, (), f"not UTF-8 text ({exc.reason}): save the file as UTF-8"
        ) from None


def load(text: str) -> tuple[Any, Positions, list[YamlProblem]]:
    """Plain data, positions, and the problems found (duplicate keys, bad tags, ...).
    A syntax error or an alias bomb raises YamlProblem (nothing useful can follow)."""
    try:
        _check_depth(text)
        if "*" not in text and "&" not in text:
            # No alias and no anchor (each is written with its sign): the data is built from
            # the parser's events, without the node tree, which for a large file takes twice
            # the time and several times the memory of the data itself.
            return _Events(text).document()
        node = yaml.compose(text, Loader=Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        index = getattr(mark, "index", -1)
        if 0 <= index < len(text) and text[index] == "\t":
            what += " (a tab: YAML indents with spaces only)"
        raise YamlProblem(line, column, (), f"YAML syntax error: {what}") from None
    except yaml.reader.ReaderError as exc:
        # A character YAML never allows (a control character such as NUL or BEL): PyYAML's
        # own message is two lines with an offset instead of a line and column.
        line, column = _offset_position(text, exc.position)
        raise YamlProblem(
            line,
            column,
            (),
            f"control character U+{exc.character:04X} is not allowed in YAML: remove it",
        ) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(1, 1, (), f"YAML error: {exc}") from None
    positions = Positions()
    if node is None:
        return None, positions, []
    # An alias is written `*name`: a text without `*` has none.
    walker = _Walker(positions, aliases="*" in text)
    data = walker.build(node, ())
    return data, positions, walker.problems


def _offset_position(text: str, offset: int) -> tuple[int, int]:
    """The line and column of a reader error's offset: libyaml counts bytes of the UTF-8
    text, PyYAML's own reader characters."""
    if _BaseLoader is not yaml.SafeLoader:
        offset = len(text.encode("utf-8")[:offset].decode("utf-8", "ignore"))
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


# Where a line's block content starts: its indentation, then any compact `- `, `? `, `: `
# (`- - - x` nests three sequences on one line) or `--- `.
_BLOCK_START: Final = re.compile(r"^ *(?:(?:---|[-?:]) +)*", re.MULTILINE)


def _may_nest_deeper(text: str) -> bool:
    """A cheap upper bound: each flow level needs a bracket, and block levels need growing
    columns (a block sequence may share its mapping's column once, never twice in a row)."""
    flow = text.count("[") + text.count("{")
    if flow >= MAX_DEPTH:
        return True
    column = max(map(len, _BLOCK_START.findall(text)), default=0)
    return 1 + flow + 2 * (column + 1) > MAX_DEPTH


def _check_depth(text: str) -> None:
    """Refuse a file nested deeper than MAX_DEPTH before composing it: libyaml's composer
    recurses in C (100,000 levels crash the process) and so does the walk below. The event
    stream is flat, so counting its depth costs one parse and no recursion; most files are
    shallow by a cheaper bound and skip even that."""
    if not _may_nest_deeper(text):
        return
    try:
        _count_depth(text, Loader)
    except yaml.MarkedYAMLError as exc:
        if "nesting depth" not in str(exc.problem):
            raise
        # libyaml 0.2.6 (PyYAML 6.0.4's wheels) refuses 1,000 levels itself, and its scanner
        # reads that far ahead of the events: the Python parser finds the first level too
        # deep, where it is (this file is refused either way).
        _count_depth(text, yaml.SafeLoader)


def _count_depth(text: str, loader: Any) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
                raise YamlProblem(
                    line,
                    column,
                    (),
                    f"nested deeper than {MAX_DEPTH} levels (a config needs 6): "
                    "is a bracket or an indentation wrong?",
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


class _Walker:
    def __init__(self, positions: Positions, *, aliases: bool = True) -> None:
        self.positions = positions
        self.problems: list[YamlProblem] = []
        # Without aliases every node is visited once: nothing to count, and a text value can
        # be read in place rather than through build() (a large file has ~100,000 of them).
        self._aliases = aliases
        self._seen: set[int] = set()
        self._repeats = 0
        # The collections being built, each an ancestor of the next: through an alias a node
        # can contain itself (`a: &a [*a]`), which no count of visits would ever stop.
        self._open: set[int] = set()

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        if self._aliases:
            key = id(node)
            if key in self._seen:
                self._repeats += 1
                if self._repeats > MAX_ALIAS_VISITS + 2 * len(self._seen):
                    line, column = _mark(node)
                    raise YamlProblem(
                        line,
                        column,
                        path,
                        "too many alias expansions (a YAML 'billion laughs' file?)",
                    )
            else:
                self._seen.add(key)
        mark = node.start_mark
        values = self.positions.values
        if path not in values:
            values[path] = _at(mark)
        if isinstance(node, yaml.ScalarNode):
            return node.value if node.tag == _STR else self._scalar(node, path)
        if node.tag not in _PLAIN:
            self.problems.append(
                YamlProblem(
                    mark.line + 1,
                    mark.column + 1,
                    path,
                    f"unsupported YAML value: tag '{node.tag}'",
                )
            )
            return None
        if self._aliases:
            return self._aliased_collection(node, path)
        return self._collection(node, path)

    def _collection(self, node: yaml.Node, path: PathKey) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        items = node.value
        out = []
        for i, item in enumerate(items):
            out.append(self.build(item, (*path, i)))
            if not self._aliases:
                items[i] = None  # see _mapping
        return out

    def _aliased_collection(self, node: yaml.Node, path: PathKey) -> Any:
        """A collection of a file with aliases: _check_depth read the file as written, but an
        alias puts a whole anchored collection (itself perhaps holding aliases) at the depth
        where it is used, and may name a collection it is inside of. Either would recurse
        until Python gives up, so both are refused here, where the depth is the one built."""
        line, column = _mark(node)
        if id(node) in self._open:
            raise YamlProblem(
                line,
                column,
                path,
                "an alias refers to the anchored value it is inside of (a value that "
                "contains itself)",
            )
        if len(path) >= MAX_DEPTH:
            raise YamlProblem(
                line,
                column,
                path,
                f"nested deeper than {MAX_DEPTH} levels once its aliases are expanded "
                "(a config needs 6)",
            )
        self._open.add(id(node))
        out = self._collection(node, path)
        self._open.discard(id(node))
        return out

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        first: dict[Any, int] = {}
        keys = self.positions.keys
        values = self.positions.values
        inline = not self._aliases
        pairs = node.value
        for index, (key_node, value_node) in enumerate(pairs):
            if key_node.tag == _MERGE:
                line, column = _mark(key_node)
                self.problems.append(
                    YamlProblem(line, column, path, "merge keys (<<) are not supported")
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                line, column = _mark(key_node)
                self.problems.append(YamlProblem(line, column, path, "a key must be a plain value"))
                continue
            # Every key of the format is a word: `1:` or `null:` is kept as the text written, so
            # that it is reported as an unknown key rather than as a type error.
            key = str(key_node.value)
            child = (*path, key)
            if key in first:
                line, column = _mark(key_node)
                was = _line_column(first[key])
                self.problems.append(
                    YamlProblem(
                        line,
                        column,
                        child,
                        f"duplicate key '{key}' (first at line {was[0]}, column {was[1]})",
                    )
                )
                continue
            first[key] = keys[child] = _at(key_node.start_mark)
            if inline and value_node.tag == _STR and type(value_node) is yaml.ScalarNode:
                if child not in values:
                    values[child] = _at(value_node.start_mark)
                out[key] = value_node.value
            else:
                out[key] = self.build(value_node, child)
            if inline:
                # A node read is dropped from the tree (without aliases nothing else refers to
                # it): the tree, with two marks per node, outweighs the data built from it
                # several times, and need not be held whole while that data grows.
                pairs[index] = None
        return out

    def _scalar(self, node: yaml.ScalarNode, path: PathKey) -> Any:
        # The common tags are read directly: going through the constructor for each of the
        # ~100,000 scalars of a large file costs more than parsing it.
        tag = node.tag
        if tag == _STR:
            return node.value
        if tag == _NULL:
            return None
        if tag == _BOOL:
            if node.value.lower() in ("true", "false"):
                return node.value.lower() == "true"
            return node.value  # yes/no/on/off: text, as in YAML 1.2
        if tag == _TIMESTAMP:
            return str(node.value)  # dates stay text: no field of ours is a date
        try:
            if tag == _INT:
                return _int12(node.value)
            if tag == _FLOAT:
                return _float12(node.value)
            return _CONSTRUCTOR.construct_object(node, deep=True)
        except (yaml.constructor.ConstructorError, ValueError) as exc:
            line, column = _mark(node)
            reason = getattr(exc, "problem", None) or str(exc)
            self.problems.append(
                YamlProblem(line, column, path, f"unsupported YAML value: {reason}")
            )
            return None


def _int12(text: str) -> int:
    """An integer of the YAML 1.2 core schema: decimal (leading zeros are decimal), 0o, 0x."""
    if not _INT_RE.fullmatch(text):
        raise ValueError(f"'{text}' is not a YAML 1.2 integer")
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    try:
        return int(text, 10)
    except ValueError:
        # Python reads at most 4,300 decimal digits; its message names a Python setting.
        raise ValueError(f"a number of {len(text.lstrip('+-'))} digits is too large") from None


def _float12(text: str) -> float:
    if not _FLOAT_RE.fullmatch(text):
        raise ValueError(f"'{text}' is not a YAML 1.2 number")
    if text.lower().endswith(".nan"):
        return math.nan
    if text.lower().endswith(".inf"):
        return -math.inf if text.startswith("-") else math.inf
    return float(text)


class _Events:
    """The data, positions and problems of a document without anchors or aliases, read from
    the parser's events in one pass: what `_Walker` makes of the composed tree, the same
    values, positions and problems, but each node only as long as it is being read."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.positions = Positions()
        # Problems are found and values read exactly as the walker does (it holds no tree).
        self.walker = _Walker(self.positions, aliases=False)

    def document(self) -> tuple[Any, Positions, list[YamlProblem]]:
        loader = Loader(self.text)
        try:
            self.get, self.peek = loader.get_event, loader.peek_event
            self.get()  # the stream's start
            if isinstance(self.peek(), yaml.StreamEndEvent):
                return None, self.positions, []
            self.get()  # the document's start
            root = self.peek().start_mark
            data = self.build(())
            self.get()  # the document's end
            if not isinstance(self.peek(), yaml.StreamEndEvent):
                raise yaml.composer.ComposerError(
                    "expected a single document in the stream",
                    root,
                    "but found another document",
                    self.get().start_mark,
                )
            return data, self.positions, self.walker.problems
        finally:
            loader.dispose()

    def build(self, path: PathKey) -> Any:
        event: Any = self.get()
        values = self.positions.values
        if path not in values:
            values[path] = _at(event.start_mark)
        if type(event) is yaml.ScalarEvent:
            tag = _event_tag(event, yaml.ScalarNode)
            if tag == _STR:
                return event.value
            # The rarer tags (numbers, booleans, null, anything else) are read as the walker
            # reads them, from a node of their own.
            return self.walker._scalar(_scalar_node(event, tag), path)
        mapping = type(event) is yaml.MappingStartEvent
        tag = _event_tag(event, yaml.MappingNode if mapping else yaml.SequenceNode)
        if tag not in _PLAIN:
            mark = event.start_mark
            self.walker.problems.append(
                YamlProblem(
                    mark.line + 1, mark.column + 1, path, f"unsupported YAML value: tag '{tag}'"
                )
            )
            self.skip_rest()
            return None
        if mapping:
            return self.mapping(path)
        out: list[Any] = []
        while type(self.peek()) is not yaml.SequenceEndEvent:
            out.append(self.build((*path, len(out))))
        self.get()
        return out

    def mapping(self, path: PathKey) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        first: dict[Any, int] = {}
        keys, values = self.positions.keys, self.positions.values
        problems = self.walker.problems
        while type(event := self.peek()) is not yaml.MappingEndEvent:
            mark = event.start_mark
            if type(event) is not yaml.ScalarEvent:
                problems.append(
                    YamlProblem(mark.line + 1, mark.column + 1, path, "a key must be a plain value")
                )
                self.skip()
                self.skip()
                continue
            self.get()
            tag = event.tag
            # `<<` resolves to the merge tag only when written plain (the one resolver of `<`).
            merge = (
                (event.implicit[0] and event.value == "<<")
                if tag is None or tag == "!"
                else tag == _MERGE
            )
            if merge:
                problems.append(
                    YamlProblem(
                        mark.line + 1, mark.column + 1, path, "merge keys (<<) are not supported"
                    )
                )
                self.skip()
                continue
            key = str(event.value)
            child = (*path, key)
            if key in first:
                was = _line_column(first[key])
                problems.append(
                    YamlProblem(
                        mark.line + 1,
                        mark.column + 1,
                        child,
                        f"duplicate key '{key}' (first at line {was[0]}, column {was[1]})",
                    )
                )
                self.skip()
                continue
            first[key] = keys[child] = _at(mark)
            value = self.peek()
            if type(value) is not yaml.ScalarEvent:
                out[key] = self.build(child)
                continue
            # A scalar value read in place, as build() reads it: most values are.
            self.get()
            if child not in values:
                values[child] = _at(value.start_mark)
            tag = _event_tag(value, yaml.ScalarNode)
            out[key] = (
                value.value if tag == _STR else self.walker._scalar(_scalar_node(value, tag), child)
            )
        self.get()
        return out

    def skip(self) -> None:
        """Past one node, read for nothing (as the walker never visits it)."""
        event = self.get()
        if isinstance(event, yaml.CollectionStartEvent):
            self.skip_rest()

    def skip_rest(self) -> None:
        """Past the end of the collection just started."""
        depth = 1
        while depth:
            event = self.get()
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1


def _scalar_node(event: Any, tag: str) -> yaml.ScalarNode:
    return yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)


def _event_tag(event: Any, kind: type[yaml.Node]) -> str:
    """A node's tag as the composer gives it: the one written, else the resolved one."""
    tag: str | None = event.tag
    if tag is None or tag == "!":
        return _resolve(
            None, kind, event.value if kind is yaml.ScalarNode else None, event.implicit
        )
    return tag
