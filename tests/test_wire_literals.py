"""Every assumed wire detail in one module (issue 14.6): the API's paths, header names, status
words, Amazon adapter keys and platform word are spelled in client/api.py and nowhere else in
the client, the planner, the importer, render, cli, workflows or doctor. Correcting the model
against the real DropStream then means editing api.py (and docs/api-assumptions.md) only.

The list is collected from api.py itself, by what its constants are (every path; every
`*_HEADER`/`*_HEADERS`; every `*_STATUSES` and `PENDING`; the adapter keys; `PLATFORMS`), so
a wire word added there is guarded here without touching this test.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from dropstream_sync import live
from dropstream_sync.client import api
from dropstream_sync.desired import StoreSettings

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dropstream_sync"
SCANNED = sorted(
    [p for p in (PACKAGE / "client").glob("*.py") if p.name != "api.py"]
    + [
        *(PACKAGE / "planner").glob("*.py"),
        *(PACKAGE / "render").glob("*.py"),
        *(PACKAGE / "cli").glob("*.py"),
    ]
    + [PACKAGE / "importer.py", PACKAGE / "workflows.py", PACKAGE / "doctor.py"]
)

# Wire words that are also the model's own words, which the other modules must be free to
# spell: a literal cannot tell which of the two it means.
SHARED_WITH_THE_MODEL = {
    # The settings' names in desired.StoreSettings, which planner and importer use as such;
    # that the adapter spells its keys alike is the [assumed] rule of ADAPTER_SETTING_KEYS.
    *StoreSettings.names(),
    "status",  # the key of every object that has a status, the plan's own included
    "authorization",  # also the HTTP Authorization header, which the client redacts
    "expires_at",  # also an authorization request's field in the plan's pending items
}
# (module path prefix, word): where a wire word means something else.
ELSEWHERE_MEANING = {
    ("planner/model.py", "pending"): "the plan's `pending` section (docs/plan-format.md)",
    ("render/", "pending"): "the plan summary's count of pending items",
    ("planner/wire.py", "missing"): "the plan-file reader's 'missing' field error",
    ("cli/sandbox.py", "link"): "the sandbox outbox email's link (its control surface)",
}


# The status words besides `*_STATUSES`, the platform, and the adapter's keys.
NAMED_GROUPS = (
    "PENDING",
    "AMAZON",
    "PLATFORMS",
    "MARKETPLACE_KEY",
    "SELLING_PARTNER_KEY",
    "ADAPTER_SETTING_KEYS",
    "AUTHORIZATION_FIELDS",
)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, tuple | list | frozenset | set):
        for item in value:
            yield from _strings(item)


def wire_literals() -> dict[str, str]:
    """word -> the api.py constant it comes from; header names in lower case, as they are
    compared (HTTP header names are case-insensitive)."""
    found: dict[str, str] = {}
    for name, value in vars(api).items():
        if not name.isupper() or name.startswith("_"):
            continue
        for word in _strings(value):
            if word.startswith("/"):
                found[word] = name
            elif name.endswith(("_HEADER", "_HEADERS")):
                found[word.lower()] = name  # header names are case-insensitive
            elif name.endswith("_STATUSES") or name in NAMED_GROUPS:
                found[word] = name
    return {w: n for w, n in found.items() if w not in SHARED_WITH_THE_MODEL}


def _literals(tree: ast.AST) -> Iterator[ast.Constant]:
    """String literals, without docstrings and the text parts of f-strings."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
        ):
            skip.add(id(body[0].value))
        if isinstance(node, ast.JoinedStr):
            skip.update(id(part) for part in node.values)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield node


def leaks(path: Path, source: str, words: dict[str, str]) -> list[str]:
    rel = path.relative_to(PACKAGE).as_posix()
    out = []
    for node in _literals(ast.parse(source)):
        word = str(node.value)
        if word not in words and words.get(word.lower(), "").endswith(("_HEADER", "_HEADERS")):
            word = word.lower()
        if word in words and not any(
            rel.startswith(prefix) and word == w for prefix, w in ELSEWHERE_MEANING
        ):
            out.append(f"{rel}:{node.lineno}: {node.value!r} (api.{words[word]})")
    return out


def test_the_wire_words_are_collected_from_api_py() -> None:
    words = wire_literals()
    for expected in (
        "/stores",
        "/auth/token",
        "/authorization_requests",
        "retry-after",
        "x-total-count",
        "link",
        "date",
        "authorized",
        "revoked",
        "pending",
        "canceled",
        "marketplace_id",
        "selling_partner_id",
        "amazon",
    ):
        assert expected in words, expected


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_wire_literal_outside_client_api(path: Path) -> None:
    found = leaks(path, path.read_text(), wire_literals())
    assert not found, (
        "wire literals belong in client/api.py (use its constant, or the "
        "model's enum in live.py):\n" + "\n".join(found)
    )


def test_a_planted_literal_is_caught() -> None:
    source = (
        '"""Docstring with /stores."""\n'
        "def f(r, s):\n"
        '    """pending"""\n'
        '    wait = r.headers.get("retry-after")\n'
        '    return s.status == "authorized" and f"x {wait} /stores" and "X-Total-Count"\n'
    )
    found = leaks(PACKAGE / "planner" / "example.py", source, wire_literals())
    assert sorted(line.split(": ", 1)[1].split(" (")[0] for line in found) == [
        "'X-Total-Count'",
        "'authorized'",
        "'retry-after'",
    ]


def test_the_model_vocabulary_is_mapped_from_the_wire_words() -> None:
    assert set(api.AUTHORIZATION_STATUSES.values()) == set(live.AuthStatus)
    assert set(api.REQUEST_STATUSES.values()) == set(live.RequestStatus)
    assert api.PLATFORMS[api.AMAZON] == live.PLATFORM_AMAZON
    store = api.store(
        {
            "id": 1,
            "customer_id": 2,
            "name": "S",
            "platform": api.AMAZON,
            "adapter": {api.AUTHORIZATION_KEY: {api.AUTHORIZATION_STATUS_KEY: "revoked"}},
        }
    )
    assert store.authorization.status is live.AuthStatus.REVOKED
    odd = api.authorization({api.AUTHORIZATION_STATUS_KEY: "suspended"})
    assert odd.status == "suspended"  # a word the model does not know is kept as it came


# -- docs/api-assumptions.md names only what exists ------------------------------------------

DOC = ROOT / "docs" / "api-assumptions.md"
CLIENT_MODULES: dict[str, ModuleType] = {
    p.stem: importlib.import_module(f"dropstream_sync.client.{p.stem}")
    for p in sorted((PACKAGE / "client").glob("*.py"))
    if p.stem != "__init__"
}
OTHER_MODULES: dict[str, ModuleType] = {
    "live": live,
    "errors": importlib.import_module("dropstream_sync.errors"),
}
DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*\*?)+")


def _owner(name: str) -> Any:
    modules = {**OTHER_MODULES, **CLIENT_MODULES}
    if name in modules:
        return modules[name]
    for module in modules.values():
        found = getattr(module, name, None)
        if inspect.isclass(found):
            return found
    return None


def _has(owner: Any, part: str) -> bool:
    if part.endswith("*"):
        return any(n.startswith(part[:-1]) for n in dir(owner))
    if hasattr(owner, part):
        return True
    # An attribute an instance sets in __init__ (grep-level).
    return (
        inspect.isclass(owner)
        and re.search(rf"self\.{part}\b\s*[:=]", inspect.getsource(owner)) is not None
    )


def resolves(reference: str) -> bool:
    head, *parts = reference.split(".")
    owner = _owner(head)
    for i, part in enumerate(parts):
        if owner is None or not _has(owner, part):
            return False
        owner = getattr(owner, part, None) if i < len(parts) - 1 else owner
    return owner is not None


def _cited() -> tuple[list[str], list[str]]:
    """Dotted names anywhere in the doc, and the bare names of the [assumed] table's
    "where in client/api.py" column."""
    dotted, bare = [], []
    for line in DOC.read_text().splitlines():
        ticks = re.findall(r"`([^`]+)`", line)
        dotted += [t for t in ticks if DOTTED.fullmatch(t) and not t.endswith((".py", ".md"))]
        cells = line.split(" | ")
        if line.startswith("| ") and len(cells) == 3:
            bare += [
                t for t in re.findall(r"`([^`]+)`", cells[1]) if re.fullmatch(r"[A-Za-z_]\w*\*?", t)
            ]
    return dotted, bare


def test_every_name_the_assumptions_doc_cites_exists() -> None:
    dotted, bare = _cited()
    assert len(dotted) > 10 and len(bare) > 30  # the doc's two tables were read
    missing = [name for name in dotted if not resolves(name)]
    missing += [name for name in bare if not _has(api, name)]
    assert not missing, f"docs/api-assumptions.md cites names that do not exist: {missing}"


def test_every_assumed_wire_word_is_in_the_assumptions_doc() -> None:
    text = DOC.read_text()
    constants = sorted(set(wire_literals().values()))
    assert [c for c in constants if c not in text] == []


def test_a_plan_saved_before_the_enums_still_matches_its_live_digest() -> None:
    # The stale-plan check digests repr() of these tuples: an enum must digest as its word.
    as_enum = live.Store(1, 2, "S", authorization=live.Authorization(live.AuthStatus.REVOKED))
    as_word = live.Store(1, 2, "S", authorization=live.Authorization("revoked"))
    assert repr(as_enum.fingerprint()) == repr(as_word.fingerprint())
    when = api.parse_time("2026-01-01T00:00:00Z")
    assert when is not None
    request = live.AuthorizationRequest(
        1, 2, 3, "a@b.example", live.RequestStatus.PENDING, when, when
    )
    assert "'pending'" in repr(request.fingerprint())
