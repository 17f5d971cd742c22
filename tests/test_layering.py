"""The architecture, checked: which layer may import which.

Walks every module's import statements (static, so lazy imports inside functions count
too) and fails on an import that crosses a layer boundary the wrong way.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dropstream_sync"

# layer -> the layers of ours it must never import
FORBIDDEN: dict[str, set[str]] = {
    "catalog": {"config", "planner", "render", "client", "apply", "importer", "cli", "sandbox"},
    "errors": {"config", "planner", "render", "client", "apply", "importer", "cli", "sandbox"},
    "desired": {"config", "planner", "render", "client", "apply", "importer", "cli", "sandbox"},
    "live": {"config", "planner", "render", "client", "apply", "importer", "cli", "sandbox"},
    # The garbage-collector pause that loading and planning share: a leaf, like catalog.
    "heap": {"config", "planner", "render", "client", "apply", "importer", "cli", "sandbox"},
    "config": {"planner", "render", "client", "apply", "importer", "cli", "sandbox"},
    "planner": {"config", "render", "client", "apply", "importer", "cli", "sandbox"},
    "render": {"config", "client", "apply", "importer", "cli", "sandbox"},
    "client": {"config", "planner", "render", "apply", "importer", "cli", "sandbox"},
    "apply": {"config", "render", "cli", "sandbox"},
    "importer": {"planner", "render", "apply", "cli", "sandbox"},
    # The report is pure like the planner and the renderers: a function of (plan, live, now).
    "report": {"config", "client", "apply", "importer", "workflows", "cli", "sandbox"},
    # The commands' workflows: no printing (render) and no knowledge of a command line.
    "workflows": {"render", "cli", "sandbox"},
    # The read-only probe: the client only, and no printing of its own.
    "doctor": {"config", "planner", "render", "apply", "importer", "cli", "sandbox"},
}

# Only these layers speak HTTP: the client, and the sandbox that emulates the API.
HTTP_LAYERS = {"client", "sandbox"}
HTTP_LIBRARIES = {"httpx", "httpcore", "h11", "requests", "urllib3", "aiohttp", "urllib.request"}


def _layer(module_path: Path) -> str:
    rel = module_path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = path.parent.relative_to(PACKAGE.parent).parts
                base = base[: len(base) - node.level + 1]
                found.add(".".join([*base, node.module or ""]).rstrip("."))
            elif node.module:
                found.add(node.module)
    return found


def _our_layers(imported: set[str]) -> set[str]:
    layers = set()
    for name in imported:
        parts = name.split(".")
        if parts[0] == "dropstream_sync" and len(parts) > 1:
            layers.add(parts[1])
    return layers


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_respects_layering(path: Path) -> None:
    layer = _layer(path)
    used = _our_layers(_imports(path))
    if layer == "sandbox":
        assert used <= {"sandbox"}, f"the sandbox must import nothing of the tool, got {used}"
        return
    bad = used & FORBIDDEN.get(layer, set())
    assert not bad, f"{layer} must not import {sorted(bad)}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_client_and_sandbox_speak_http(path: Path) -> None:
    if _layer(path) in HTTP_LAYERS:
        return
    http = {
        name
        for name in _imports(path)
        if any(name == lib or name.startswith(lib + ".") for lib in HTTP_LIBRARIES)
    }
    assert not http, f"{_layer(path)} imports {sorted(http)}: only client/ and sandbox/ speak HTTP"


def test_every_layer_of_the_package_is_known() -> None:
    # A new top-level module must be given its rules here, not slip past them unchecked.
    # __main__ (`python -m dropstream_sync`) is an entry point, like cli.
    known = set(FORBIDDEN) | {"cli", "sandbox", "__init__", "__main__", "timestamps"}
    assert {_layer(path) for path in MODULES} <= known


def test_sandbox_module_imports_nothing_else_even_for_dunder_init() -> None:
    for path in (PACKAGE / "sandbox").rglob("*.py"):
        imported = _imports(path)
        assert not any(
            name == "dropstream_sync"
            or (
                name.startswith("dropstream_sync.")
                and not name.startswith("dropstream_sync.sandbox")
            )
            for name in imported
        ), path
