"""Load configuration files into the desired state, reporting every problem at once.

    files/folders -> YAML with positions (yamlsafe) -> models (pydantic) -> checks across
    stores and files -> resolve defaults -> DesiredState

Each problem names FILE:LINE:COLUMN and a path like `merchants[0].stores[2].marketplace`.
"""

from __future__ import annotations

import difflib
import functools
import os
import shlex
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from dropstream_sync import catalog
from dropstream_sync.config import models
from dropstream_sync.config.yamlsafe import PathKey, Positions, YamlProblem, load, read_text
from dropstream_sync.desired import (
    DesiredMerchant,
    DesiredState,
    DesiredStore,
    Safety,
    Source,
    StoreSettings,
)
from dropstream_sync.errors import ConfigError, Problem
from dropstream_sync.heap import collector_paused

# What a config folder holds, and what `apply` reads as a config, never as a saved plan.
YAML_SUFFIXES: Final = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class LoadResult:
    desired: DesiredState
    warnings: tuple[Problem, ...]
    files: tuple[str, ...]


def dotted(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def expand(paths: Sequence[str | Path]) -> tuple[list[Path], list[Problem]]:
    files: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        if not str(raw):
            # Path("") is the current folder: `plan "$CONFIG"` with the variable unset would
            # read (and apply) every YAML file below it.
            problems.append(
                Problem(
                    "''", 1, 1, "", "an empty path names no file or folder (an unset variable?)"
                )
            )
            continue
        path = Path(raw)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            what = (
                f"broken symlink (it points to {os.readlink(path)}, which does not exist)"
                if path.is_symlink()
                else "no such file or folder"
            )
            problems.append(Problem(str(path), 1, 1, "", what))
            continue
        except OSError as exc:
            problems.append(Problem(str(path), 1, 1, "", f"cannot read: {exc.strerror}"))
            continue
        if stat.S_ISDIR(mode):
            found = _folder(path, problems)
            if not found and not any(p.file.startswith(str(path)) for p in problems):
                problems.append(Problem(str(path), 1, 1, "", "folder has no *.yaml or *.yml file"))
            files.extend(found)
        elif stat.S_ISREG(mode):
            files.append(path)
        else:
            problems.append(Problem(str(path), 1, 1, "", _not_a_file(mode)))
    return _once(_named_in_utf8(files, problems)), problems


def _named_in_utf8(files: list[Path], problems: list[Problem]) -> list[Path]:
    """The files whose names are UTF-8 text. A name is quoted in every position the plan,
    its JSON and the report give, all UTF-8: a byte of another encoding in it (Python keeps
    it as a lone surrogate) made `plan --out` and `report` fail with a UnicodeEncodeError."""
    out = []
    for path in files:
        name = str(path)
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            problems.append(
                Problem(shown, 1, 1, "", "the file name is not UTF-8 text: rename the file")
            )
            continue
        out.append(path)
    return out


def _once(files: list[Path]) -> list[Path]:
    """Each file once, as first named: `validate stores/ stores/acme.yaml` (or a file and a
    symlink to it) names one file twice, and read twice its merchants were reported as
    defined twice, at the very same place."""
    seen: set[tuple[int, int]] = set()
    out = []
    for path in files:
        try:
            st = path.stat()
        except OSError:
            out.append(path)  # reported when it is read
            continue
        if (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            out.append(path)
    return out


def _not_a_file(mode: int) -> str:
    kind = (
        "a named pipe (FIFO)"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a special file"
    )
    return f"is {kind}, not a file or folder: give the path of a YAML file or of a folder of them"


def _folder(folder: Path, problems: list[Problem]) -> list[Path]:
    """Every *.yaml/*.yml below `folder`. A symlink inside it is reported, not followed: it
    could point outside the repository (a pull request would then read files it should not
    reach) or back at a parent folder."""
    found: list[Path] = []

    def unreadable(exc: OSError) -> None:
        problems.append(Problem(str(exc.filename), 1, 1, "", f"cannot read: {exc.strerror}"))

    for top, folders, names in os.walk(folder, onerror=unreadable):
        here = Path(top)
        for name in folders:
            if (here / name).is_symlink():
                problems.append(Problem(str(here / name), 1, 1, "", _link(here / name, "folder")))
        for name in names:
            path = here / name
            if path.suffix not in YAML_SUFFIXES:
                continue
            if path.is_symlink():
                problems.append(Problem(str(path), 1, 1, "", _link(path, "file")))
                continue
            try:
                mode = path.stat().st_mode
            except OSError as exc:
                problems.append(Problem(str(path), 1, 1, "", f"cannot read: {exc.strerror}"))
                continue
            if stat.S_ISREG(mode):
                found.append(path)
            else:
                problems.append(Problem(str(path), 1, 1, "", _not_a_file(mode)))
    return sorted(found)


def _link(path: Path, kind: str) -> str:
    return (
        f"a symlinked {kind} inside a config folder is not followed (it points to "
        f"{os.readlink(path)}): give its target as a path of its own, or replace the link "
        "with the files"
    )


@dataclass
class _File:
    name: str
    model: models.StoresFile
    positions: Positions

    def at(
        self, path: PathKey, message: str, *, key: bool = False, severity: str = "error"
    ) -> Problem:
        line, column = self.positions.of(path, key=key)
        return Problem(self.name, line, column, dotted(path), message, severity)


@dataclass(frozen=True, slots=True)
class _Named:
    """A merchant's name where a file gives it. Kept also from a file that fails its checks,
    so that a merchant defined in two files is reported with that file's other problems,
    not only once they are fixed ("every problem at once")."""

    holder: _File
    index: int
    name: str


@dataclass(frozen=True, slots=True)
class _Pin:
    """A store's pinned `id:` where a file gives it, kept like _Named."""

    holder: _File
    store: PathKey
    id: int


@dataclass(slots=True)
class _Declared:
    """What must be unique across the files: merchant names and pinned store ids."""

    names: list[_Named] = field(default_factory=list)
    pins: list[_Pin] = field(default_factory=list)

    def add_model(self, f: _File) -> None:
        for mi, m in enumerate(f.model.merchants):
            self.names.append(_Named(f, mi, m.name))
            self.pins.extend(
                _Pin(f, ("merchants", mi, "stores", si), s.id)
                for si, s in enumerate(m.stores)
                if s.id is not None
            )

    def add_raw(self, holder: _File, data: dict[str, Any], refused: set[str]) -> None:
        self.names.extend(_raw_names(holder, data, refused))
        merchants = data.get("merchants")
        for mi, m in enumerate(merchants if isinstance(merchants, list) else []):
            stores = m.get("stores") if isinstance(m, dict) else None
            for si, store in enumerate(stores if isinstance(stores, list) else []):
                pin = store.get("id") if isinstance(store, dict) else None
                where = ("merchants", mi, "stores", si)
                # bool is an int to Python, never an id to the models.
                if (
                    isinstance(pin, int)
                    and not isinstance(pin, bool)
                    and dotted((*where, "id")) not in refused
                ):
                    self.pins.append(_Pin(holder, where, pin))

    def problems(self) -> Iterable[Problem]:
        yield from _duplicate_merchants(self.names)
        first: dict[int, _Pin] = {}
        for pin in self.pins:
            other = first.setdefault(pin.id, pin)
            if other is pin:
                continue
            line, column = other.holder.positions.of((*other.store, "id"))
            yield pin.holder.at(
                (*pin.store, "id"),
                f"store id {pin.id} is pinned twice (also {other.holder.name}:{line}:{column})",
            )


def _raw_names(holder: _File, data: dict[str, Any], refused: set[str]) -> list[_Named]:
    """The names of a file the models refused, read from its YAML: those that are text and
    drew no problem of their own (a refused name is reported as such, not as a duplicate)."""
    merchants = data.get("merchants")
    if not isinstance(merchants, list):
        return []
    return [
        _Named(holder, mi, m["name"])
        for mi, m in enumerate(merchants)
        if isinstance(m, dict)
        and isinstance(m.get("name"), str)
        and dotted(("merchants", mi, "name")) not in refused
    ]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """Valid files, counted: what `validate` says of them, without building the desired
    state (a third of the work for a large file, and nothing it prints needs it)."""

    warnings: tuple[Problem, ...]
    files: tuple[str, ...]
    merchants: int
    stores: int
    marketplaces: int


def load_paths(paths: Sequence[str | Path]) -> LoadResult:
    # Every value read becomes an object that lives on in the result (heap.py).
    with collector_paused():
        files, parsed, settings, warnings = _checked(paths)
        return LoadResult(_resolve(parsed, settings), warnings, files)


def check_paths(paths: Sequence[str | Path]) -> CheckResult:
    """What load_paths checks, and raises, without the desired state."""
    with collector_paused():
        files, parsed, _, warnings = _checked(paths)
    stores = [s for f in parsed for m in f.model.merchants for s in m.stores]
    merchants = sum(len(f.model.merchants) for f in parsed)
    markets = {_marketplace(s) for s in stores}
    return CheckResult(warnings, files, merchants, len(stores), len(markets))


def _checked(
    paths: Sequence[str | Path],
) -> tuple[tuple[str, ...], list[_File], dict[int, StoreSettings], tuple[Problem, ...]]:
    """The files read and checked, each store's resolved settings, and the warnings; raises
    ConfigError on any error."""
    files, problems = expand(paths)
    parsed: list[_File] = []
    declared = _Declared()
    for path in files:
        result = _load_file(path, problems, declared=declared)
        if result is not None:
            parsed.append(result)
    settings: dict[int, StoreSettings] = {}
    problems.extend(declared.problems())
    problems.extend(_cross_checks(parsed, settings))
    order = {str(f): i for i, f in enumerate(files)}
    problems.sort(key=lambda p: (order.get(p.file, -1), p.line, p.column))
    if any(p.severity == "error" for p in problems):
        raise ConfigError(problems)
    return tuple(str(f) for f in files), parsed, settings, tuple(problems)


def load_text(text: str, name: str) -> DesiredState:
    """One config held in memory (as `import` writes it), checked like a file called `name`;
    its problems name `name`. Raises ConfigError."""
    problems: list[Problem] = []
    parsed = _load_file(Path(name), problems, text=text)
    settings: dict[int, StoreSettings] = {}
    declared = _Declared()
    if parsed is not None:
        declared.add_model(parsed)
    problems.extend(declared.problems())
    problems.extend(_cross_checks([parsed] if parsed else [], settings))
    if parsed is None or any(p.severity == "error" for p in problems):
        raise ConfigError(sorted(problems, key=lambda p: (p.line, p.column)))
    return _resolve([parsed], settings)


def _load_file(
    path: Path,
    problems: list[Problem],
    *,
    text: str | None = None,
    declared: _Declared | None = None,
) -> _File | None:
    """The file's model, or None when it has problems (added to `problems`); its merchants'
    names and pinned ids go to `declared` either way, as far as they can be read."""
    name = str(path)
    try:
        text = read_text(path) if text is None else text
        data, positions, yaml_problems = load(text)
    except YamlProblem as exc:
        problems.append(Problem(name, exc.line, exc.column, dotted(exc.path), exc.message))
        return None
    except OSError as exc:
        problems.append(Problem(name, 1, 1, "", f"cannot read: {exc.strerror}"))
        return None
    for p in yaml_problems:
        problems.append(Problem(name, p.line, p.column, dotted(p.path), p.message))
    if data is None:
        problems.append(Problem(name, 1, 1, "", "empty file: a config needs at least 'version: 1'"))
        return None
    if not isinstance(data, dict):
        problems.append(
            Problem(
                name, 1, 1, "", "a config file is a mapping with 'version: 1', 'merchants', ..."
            )
        )
        return None
    if "format_version" in data and "version" not in data:
        # A saved plan (`plan --out`) given where a config goes (`plan plan.json`) was a
        # dozen unknown keys, one per key of the plan, none of them saying what it was.
        problems.append(Problem(name, 1, 1, "", _saved_plan_here(path)))
        return None
    if _not_a_config(data):
        # A workflow, compose or pre-commit file in the config folder (or `validate .`) was
        # an error per key ("on: unknown key 'on' (did you mean 'version'?)"), for each file.
        keys = ", ".join(str(key) for key in list(data)[:3]) + (", ..." if len(data) > 3 else "")
        problems.append(
            Problem(
                name,
                1,
                1,
                "",
                f"not a dropstream-sync config (its keys: {keys}; a config has 'version: 1' "
                "and 'merchants'): give only config files, and folders that hold nothing else",
            )
        )
        return None
    try:
        model = models.StoresFile.model_validate(data)
    except ValidationError as exc:
        holder = _File(name, models.StoresFile.model_construct(), positions)
        # A value the YAML layer already refused would only be reported again as "None".
        refused = {p.path for p in yaml_problems}
        found = [
            p
            for p in _from_pydantic(holder, exc, data)
            if not any(
                p.path == dotted(r)
                or p.path.startswith(dotted(r) + ".")
                or p.path.startswith(dotted(r) + "[")
                for r in refused
            )
        ]
        problems.extend(found)
        bad = {p.path for p in found} | {dotted(r) for r in refused}
        problems.extend(_raw_duplicate_stores(holder, data, bad))
        if declared is not None:
            declared.add_raw(holder, data, bad)
        return None
    checked = _File(name, model, positions)
    if declared is not None:
        declared.add_model(checked)
    if yaml_problems:
        return None
    return checked


def _saved_plan_here(path: Path) -> str:
    name = shlex.quote(str(path))
    said = f"a saved plan, not a config: `dropstream-sync show {name}` shows it"
    if path.suffix not in YAML_SUFFIXES:
        return f"{said}, `dropstream-sync apply {name}` applies it"
    # `plan --out plan.yaml`: apply reads a YAML name as a config (docs/cli.md), so
    # `apply plan.yaml` would only print this line again.
    renamed = shlex.quote(str(path.with_suffix(".json")))
    return (
        f"{said}; apply reads a .yaml or .yml file as a config, so rename it "
        f"(`mv {name} {renamed}`) and run `dropstream-sync apply {renamed}`"
    )


def _not_a_config(data: dict[Any, Any]) -> bool:
    """No key of the config's, and none a misspelling of `version` or `merchants` (which
    keep their own "did you mean" errors): a YAML file of another tool."""
    if not data or any(key in models.StoresFile.model_fields for key in data):
        return False
    return not any(
        difflib.get_close_matches(str(key).lower(), ("version", "merchants"), n=1, cutoff=0.75)
        for key in data
    )


def _shape(path: PathKey) -> str:
    if not path:
        return "file"
    if path[-1] == "defaults":
        return "settings"
    if path == ("safety",):
        return "safety"
    if len(path) == 2 and path[0] == "merchants":
        return "merchant"
    if len(path) == 4 and path[2] == "stores":
        return "store"
    return ""


# What a number must be, by field, for messages that say the range instead of one bound.
_RANGES: dict[str, str] = {
    "fulfillment_latency": f"{catalog.LATENCY_MIN}..{catalog.LATENCY_MAX} (days), or null",
    "reauthorize_days": "0..365 (days)",
    "max_update_percent": "0..100 (percent)",
    "max_disable_percent": "0..100 (percent)",
    "min_existing": "a whole number, 0 or more",
    "max_invites_per_run": "a whole number, 0 or more",
    "id": "a positive whole number (a DropStream store id)",
}
# Other names people use for a value: the hint names the value they meant.
_SYNONYMS: dict[str, str] = {"fba": "AFN", "fbm": "MFN", "1.0": "1"}
_CHOICES: dict[str, tuple[str, ...]] = {
    "fulfillment_channel": catalog.FULFILLMENT_CHANNELS,
    "platform": ("amazon",),
    "version": ("1",),
}


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _number_hint(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    if value.isdigit():
        return " (remove the quotes)"
    if "_" in value and value.replace("_", "").lstrip("+-").isdigit():
        # YAML 1.1 (and check-jsonschema's reader) take 1_000 for 1000; YAML 1.2, which
        # editors follow, takes it for text. Written without '_' it means the same to all.
        return f" (write {value.replace('_', '')}: in YAML 1.2 a number has no '_')"
    return ""


def _message(error: Any, field: str) -> str:
    """pydantic's error as a person reads it: what was expected, what was found, a hint."""
    kind = error["type"]
    for kinds, say in _MESSAGES:
        if kind in kinds:
            text = say(error.get("input"), field, error)
            if text is not None:
                return text
    return str(error["msg"]).removeprefix("Value error, ")


def _bool(value: Any, field: str, error: Any) -> str:
    text = str(value).lower()
    hint = (
        " (remove the quotes)"
        if text in ("true", "false")
        else " (yes, no, on and off are text in YAML 1.2)"
        if text in ("yes", "no", "on", "off", "y", "n")
        else ""
    )
    return f"expected true or false, got {_show(value)}{hint}"


def _text(value: Any, field: str, error: Any) -> str:
    return f"expected text, got {_show(value)}" + (
        f" (write it in quotes: '{value}')" if isinstance(value, int | float) else ""
    )


def _list(value: Any, field: str, error: Any) -> str:
    if value is None:
        return "expected a list, got nothing (write [] for an empty list)"
    return f"expected a list, got {_show(value)}"


def _choice(value: Any, field: str, error: Any) -> str:
    import difflib  # only for a value that is wrong: `validate` of a good file never needs it

    choices = _CHOICES.get(field, ())
    text = str(value)
    close = (
        [c for c in choices if c.lower() == text.lower()]
        or [c for c in choices if c == _SYNONYMS.get(text.lower())]
        or (difflib.get_close_matches(text, choices, n=1, cutoff=0.6))
    )
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    if field == "version":
        hint = " (the number 1, without quotes)" if text == "1" else " (the only format version)"
    return f"expected {' or '.join(choices) or 'another value'}, got {_show(value)}{hint}"


def _range(value: Any, field: str, error: Any) -> str:
    return (
        f"must be {_RANGES[field]}, got {_show(value)}" if field in _RANGES else str(error["msg"])
    )


def _pattern(value: Any, field: str, error: Any) -> str | None:
    if field == "selling_partner_id":
        # pydantic's own message names a regular expression and not the value.
        hint = (
            f" (upper case: '{value.upper()}')"
            if isinstance(value, str) and value.upper() != value and value.upper().isalnum()
            else ""
        )
        return (
            "expected an Amazon seller id (merchant token): 1..64 characters of A-Z 0-9, "
            f"got {_show(value)}{hint}"
        )
    if field != "fulfillment_channel_code":
        return None
    return (
        f"expected 1..{catalog.CHANNEL_CODE_MAX_LEN} characters of A-Z a-z 0-9 _ - ., "
        f"got {_show(value)}"
    )


def _too_long(value: Any, field: str, error: Any) -> str:
    limit = error.get("ctx", {}).get("max_length")
    return f"is {len(value)} characters long; at most {limit}"


def _empty(value: Any, field: str, error: Any) -> str:
    if field == "import_order_statuses":
        return "must list at least one order status"
    return "must not be empty"


# pydantic error types -> the message for them (None: fall through to pydantic's own).
_MESSAGES: tuple[tuple[frozenset[str], Callable[[Any, str, Any], str | None]], ...] = (
    (frozenset({"bool_type"}), _bool),
    (
        frozenset({"int_type", "int_from_float", "int_parsing"}),
        lambda v, f, e: f"expected a whole number, got {_show(v)}{_number_hint(v)}",
    ),
    (
        frozenset({"float_type", "float_parsing"}),
        lambda v, f, e: f"expected a number, got {_show(v)}{_number_hint(v)}",
    ),
    (frozenset({"string_type"}), _text),
    (frozenset({"list_type"}), _list),
    (
        frozenset({"model_type", "dict_type", "model_attributes_type"}),
        lambda v, f, e: f"expected a mapping (key: value), got {_show(v)}",
    ),
    (frozenset({"literal_error"}), _choice),
    (frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"}), _range),
    (frozenset({"string_pattern_mismatch"}), _pattern),
    (frozenset({"too_short", "string_too_short"}), _empty),
    (frozenset({"string_too_long"}), _too_long),
)


def _from_pydantic(holder: _File, exc: ValidationError, data: Any) -> Iterable[Problem]:
    import difflib

    for error in exc.errors(include_url=False):
        loc: PathKey = tuple(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            choices = models.FIELDS_BY_SHAPE.get(_shape(loc[:-1]), [])
            if not isinstance(error.get("input"), dict):
                # `channel: MFN` means fulfillment_channel, not the channels mapping.
                choices = [c for c in choices if c != "channels"]
            close = difflib.get_close_matches(key, choices, n=1, cutoff=0.6) or [
                c for c in choices if key.lower() in c
            ]
            hint = (
                f" (did you mean '{close[0]}'?)"
                if close
                else f"; expected one of: {', '.join(choices)}"
                if choices
                else ""
            )
            yield holder.at(loc, f"unknown key '{key}'{hint}", key=True)
        elif kind == "missing":
            field = str(loc[-1])
            line, column = holder.positions.of(loc[:-1])
            needed = (
                "'version: 1' is required" if loc == ("version",) else (f"'{field}' is required")
            )
            yield Problem(holder.name, line, column, dotted(loc), needed)
        elif loc and loc[-1] == "[key]":
            # pydantic's mark for a bad mapping key (a channel type): point at the key itself.
            yield holder.at(loc[:-1], _message(error, ""), key=True)
        else:
            fields = [part for part in loc if isinstance(part, str)]
            yield holder.at(loc, _message(error, fields[-1] if fields else ""))


def _account(files: list[_File]) -> tuple[str | None, Source | None]:
    """The account the files name (the cross checks made sure they agree), and where."""
    for f in files:
        if f.model.account is not None:
            line, column = f.positions.of(("account",))
            return f.model.account, Source(f.name, line, column)
    return None, None


def _accounts_agree(files: list[_File]) -> Iterable[Problem]:
    first: tuple[_File, str] | None = None
    for f in files:
        named = f.model.account
        if named is None:
            continue
        if first is None:
            first = (f, named)
        elif named != first[1]:
            line, column = first[0].positions.of(("account",))
            yield f.at(
                ("account",),
                f"account '{named}' differs from account '{first[1]}' "
                f"named at {first[0].name}:{line}:{column}: the files of "
                "one config belong to one account",
            )


def _renewal_window(f: _File) -> Iterable[Problem]:
    """A renewal window of more than half an authorization's life asks merchants again soon
    after they approve; one as long as the life asks again at once (product.md allows it)."""
    days = f.model.reauthorize_days
    life = catalog.AUTHORIZATION_LIFETIME_DAYS
    if days * 2 <= life:
        return
    if days >= life:
        when = "as soon as they authorize: every approval makes the next apply email them again"
    else:
        when = f"{life - days} days after they authorize"
    yield f.at(
        ("reauthorize_days",),
        f"an Amazon authorization lasts {life} days, so a window of {days} asks merchants "
        f"to renew {when} (the default is "
        f"{models.StoresFile.model_fields['reauthorize_days'].default})",
        severity="warning",
    )


def _duplicate_merchants(named: list[_Named]) -> Iterable[Problem]:
    first: dict[str, _Named] = {}
    for n in named:
        key = models.name_key(n.name)
        other = first.setdefault(key, n)
        if other is n:
            continue
        line, column = other.holder.positions.of(("merchants", other.index, "name"))
        yield n.holder.at(
            ("merchants", n.index, "name"),
            f"merchant '{n.name}' is already defined at "
            f"{other.holder.name}:{line}:{column}{_other_form(n.name, other.name)}",
        )


def _duplicate_stores(
    f: _File, mi: int, merchant: str, stores: Sequence[str | None]
) -> Iterable[Problem]:
    """Two stores of one merchant with one name; None is a store whose name is not readable."""
    names: dict[str, int] = {}
    for si, name in enumerate(stores):
        if name is None:
            continue
        first = names.setdefault(models.name_key(name), si)
        if first == si:
            continue
        line, _ = f.positions.of(("merchants", mi, "stores", first))
        yield f.at(
            ("merchants", mi, "stores", si, "name"),
            f"duplicate store name '{name}' in merchant '{merchant}' (also line {line})"
            f"{_other_form(name, stores[first] or name)}",
        )


def _raw_duplicate_stores(
    holder: _File, data: dict[str, Any], refused: set[str]
) -> Iterable[Problem]:
    """Duplicate store names in a file the models refused, read from its YAML, so that they
    are reported with its other problems rather than in a second round."""
    for named in _raw_names(holder, data, refused):
        stores = data["merchants"][named.index].get("stores")
        if not isinstance(stores, list):
            continue
        names = [s.get("name") if isinstance(s, dict) else None for s in stores]
        yield from _duplicate_stores(
            holder,
            named.index,
            named.name,
            [
                n
                if isinstance(n, str)
                and dotted(("merchants", named.index, "stores", si, "name")) not in refused
                else None
                for si, n in enumerate(names)
            ],
        )


def _cross_checks(files: list[_File], resolved: dict[int, StoreSettings]) -> Iterable[Problem]:
    yield from _accounts_agree(files)
    for f in files:
        yield from _renewal_window(f)
        for mi, merchant in enumerate(f.model.merchants):
            yield from _duplicate_stores(f, mi, merchant.name, [s.name for s in merchant.stores])
            markets: dict[str, int] = {}
            for si, store in enumerate(merchant.stores):
                spath = ("merchants", mi, "stores", si)
                code = _marketplace(store)
                if code in markets:
                    yield f.at(
                        (*spath, "marketplace"),
                        f"merchant '{merchant.name}' has two stores in marketplace "
                        f"{code} (also stores[{markets[code]}])",
                        severity="warning",
                    )
                markets.setdefault(code, si)
                settings = _settings(f.model, merchant, store)
                resolved[id(store)] = settings
                # Point at the store's own key when it sets one; else at the store, whose
                # value came from a `defaults`.
                own = store.model_fields_set
                latency_at = (
                    (*spath, "fulfillment_latency") if ("fulfillment_latency" in own) else spath
                )
                code_at = (
                    (*spath, "fulfillment_channel_code")
                    if ("fulfillment_channel_code" in own)
                    else spath
                )
                if settings.fulfillment_channel == "AFN":
                    if settings.fulfillment_latency is not None:
                        yield f.at(
                            latency_at,
                            "fulfillment_latency means nothing for AFN (Amazon ships those orders)",
                            severity="warning",
                        )
                    # `default` in another case gets the spelling warning below instead:
                    # one value, one warning.
                    if settings.fulfillment_channel_code.upper() != "DEFAULT":
                        yield f.at(
                            code_at,
                            "a custom fulfillment_channel_code is not used for FBA (AFN) stock",
                            severity="warning",
                        )
                channel_code = settings.fulfillment_channel_code
                if channel_code != "DEFAULT" and channel_code.upper() == "DEFAULT":
                    # Only `DEFAULT` itself means single-location inventory; any other
                    # spelling is sent as a location code, where the merchant probably has
                    # no supply source, and its stock would go nowhere.
                    yield f.at(
                        code_at,
                        f"fulfillment_channel_code '{channel_code}' is taken as a custom "
                        "Multi-Location Inventory location, not as merchant-fulfilled "
                        "single-location inventory, which is spelt 'DEFAULT'",
                        severity="warning",
                    )
                elif channel_code != "DEFAULT" and code not in catalog.MLI_MARKETPLACES:
                    yield f.at(
                        code_at,
                        f"custom fulfillment_channel_code "
                        f"'{settings.fulfillment_channel_code}' outside the US: "
                        "Multi-Location Inventory is US only",
                        severity="warning",
                    )


def _marketplace(store: models.Store) -> str:
    """The store's marketplace as a catalog code (the models let only known ones through)."""
    return catalog.canonical_marketplace(store.marketplace) or store.marketplace


def _other_form(name: str, other: str) -> str:
    if name == other:
        return ""
    return (
        " (written in another Unicode form: the same characters, composed differently, "
        "are one name)"
    )


@functools.lru_cache(maxsize=4096)
def _status_set(statuses: tuple[str, ...]) -> frozenset[str]:
    # Thousands of stores list the same few statuses: canonicalize each spelling list once.
    return frozenset(catalog.canonical_status(s) or s for s in statuses)


_DEFAULT_SETTINGS = StoreSettings()


def _settings(
    file: models.StoresFile, merchant: models.Merchant, store: models.Store
) -> StoreSettings:
    # Each layer's set fields read once (a property of pydantic's), not once per setting.
    layers = [
        (layer, layer.model_fields_set)
        for layer in (store, merchant.defaults, file.defaults)
        if layer is not None
    ]

    def pick(name: str) -> Any:
        for layer, given in layers:
            if name in given:
                return getattr(layer, name)
        return getattr(_DEFAULT_SETTINGS, name)

    return _shared_settings(
        pick("fulfillment_channel"),
        _status_set(tuple(pick("import_order_statuses"))),
        pick("fulfillment_latency"),
        pick("fulfillment_channel_code"),
    )


def _channels(
    file: models.StoresFile, merchant: models.Merchant, store: models.Store
) -> dict[str, bool]:
    """Per channel type, the store's value, else the merchant's defaults', else the file's."""
    out: dict[str, bool] = {}
    for layer in (file.defaults, merchant.defaults, store):
        if layer is not None and layer.channels:
            out.update(layer.channels)
    return dict(sorted(out.items()))


def _warehouses(merchant: models.Merchant, store: models.Store) -> dict[str, Any]:
    """`warehouse` for one, `warehouses` for several; the store's own over the merchant's."""
    names = list(dict.fromkeys(store.warehouses or ()))
    if len(names) > 1:
        return {"warehouse": None, "warehouses": tuple(names)}
    return {"warehouse": (names[0] if names else store.warehouse or merchant.warehouse)}


@functools.lru_cache(maxsize=4096, typed=True)
def _shared_settings(
    channel: str, statuses: frozenset[str], latency: int | None, code: str
) -> StoreSettings:
    # Thousands of stores resolve to the same few settings: one (frozen) instance each.
    return StoreSettings(
        fulfillment_channel=channel,
        import_order_statuses=statuses,
        fulfillment_latency=latency,
        fulfillment_channel_code=code,
    )


def _resolve(files: list[_File], resolved: dict[int, StoreSettings]) -> DesiredState:
    merchants: list[DesiredMerchant] = []
    for f in files:
        for mi, m in enumerate(f.model.merchants):
            line, column = f.positions.of(("merchants", mi))
            stores = []
            for si, s in enumerate(m.stores):
                sl, sc = f.positions.of(("merchants", mi, "stores", si))
                stores.append(
                    DesiredStore(
                        merchant=m.name,
                        name=s.name,
                        marketplace=_marketplace(s),
                        settings=resolved.get(id(s)) or _settings(f.model, m, s),
                        id=s.id,
                        **_warehouses(m, s),
                        enabled=s.enabled,
                        protect=s.protect,
                        source=Source(f.name, sl, sc),
                        channels=_channels(f.model, m, s),
                    )
                )
            merchants.append(
                DesiredMerchant(
                    name=m.name,
                    email=m.email,
                    selling_partner_id=m.selling_partner_id,
                    prune=f.model.prune,
                    reauthorize_days=f.model.reauthorize_days,
                    stores=tuple(sorted(stores, key=lambda st: st.name)),
                    source=Source(f.name, line, column),
                )
            )
    account, account_source = _account(files)
    return DesiredState(
        merchants=tuple(sorted(merchants, key=lambda mm: mm.name)),
        safety=_strictest([f.model.safety for f in files if f.model.safety is not None]),
        account=account,
        account_source=account_source,
    )


def _strictest(blocks: list[models.Safety]) -> Safety:
    """Each threshold at the lowest value any file wrote; a threshold no file wrote keeps its
    built-in default (a file's unwritten key must not outvote another file's written one)."""
    values: dict[str, Any] = {}
    for name in models.Safety.model_fields:
        given = [getattr(b, name) for b in blocks if name in b.model_fields_set]
        if given:
            values[name] = min(given)
    return Safety(**values)
