"""What a large or hostile file costs, and that the JSON Schema and the loader agree.

An editor validating with schemas/stores.schema.json must never flag a file that
`dropstream-sync validate` accepts (aliases, letter case, GB for UK included), and must flag,
at the same place, every file it refuses for a type, value, range, unknown or missing key.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import tracemalloc
from pathlib import Path
from typing import Any, Final

import jsonschema  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dropstream_sync import catalog
from dropstream_sync.config import load, yamlsafe
from dropstream_sync.config.models import StoresFile
from dropstream_sync.config.schema import generate_schema
from dropstream_sync.errors import ConfigError

VALIDATOR = jsonschema.Draft202012Validator(generate_schema())


def big_config(stores: int) -> str:
    markets = [m.code for m in catalog.MARKETPLACES]
    lines = [
        "version: 1",
        "defaults:",
        "  import_order_statuses: [Unshipped, PartiallyShipped]",
        "merchants:",
    ]
    per_merchant = len(markets)
    for m in range(stores // per_merchant + 1):
        lines += [f"  - name: Merchant {m}", f"    email: ops@merchant-{m}.example", "    stores:"]
        for s, market in enumerate(markets):
            if m * per_merchant + s >= stores:
                break
            lines += [
                f"      - name: Merchant {m} {market}",
                f"        marketplace: {market}",
                "        fulfillment_latency: 2",
                f"        id: {m * per_merchant + s + 1}",
            ]
    return "\n".join(lines) + "\n"


def test_ten_thousand_stores_load_each_with_its_own_position(tmp_path: Path) -> None:
    # How fast: benchmarks/run.py ("validate of a 10000-store file").
    path = tmp_path / "big.yaml"
    path.write_text(big_config(10_000))
    result = load([path])
    stores = [s for m in result.desired.merchants for s in m.stores]
    assert len(stores) == 10_000 == len({s.id for s in stores})
    first, last = stores[0].source, stores[-1].source
    assert first is not None and last is not None and last.line > first.line


def test_billion_laughs_fails_fast(tmp_path: Path) -> None:
    lines = ["version: 1", "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n")
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError) as caught:
            load([path])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert any("alias" in p.message for p in caught.value.problems)
    assert peak < 8 * 1024 * 1024, "the aliases were expanded before being refused"


def test_an_anchor_reused_by_many_stores_is_not_a_bomb(tmp_path: Path) -> None:
    stores = "\n".join(
        f"      - {{name: S{i}, marketplace: US, import_order_statuses: *st}}" for i in range(500)
    )
    path = tmp_path / "anchors.yaml"
    path.write_text(
        "version: 1\ndefaults:\n  import_order_statuses: &st [Unshipped]\n"
        f"merchants:\n  - name: Acme\n    stores:\n{stores}\n"
    )
    assert len(load([path]).desired.merchants[0].stores) == 500


def spelled(text: str, draw: st.DrawFn) -> str:
    return "".join(c.upper() if draw(st.booleans()) else c.lower() for c in text)


@st.composite
def status_spelling(draw: st.DrawFn) -> str:
    status = draw(st.sampled_from(catalog.ORDER_STATUSES))
    if draw(st.booleans()):
        return status
    # The 2026 Orders API spelling: PARTIALLY_SHIPPED, CANCELLED.
    snake = "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(status))
    snake = snake.replace("Canceled", "Cancelled")
    return spelled(snake, draw)


@st.composite
def marketplace_spelling(draw: st.DrawFn) -> str:
    code = draw(st.sampled_from([m.code for m in catalog.MARKETPLACES] + ["GB"]))
    return spelled(code, draw)


names = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz ABC-0123456789", min_size=1, max_size=12
).filter(lambda s: s.strip() == s and s[0].isalpha())


@st.composite
def store_settings(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["import_order_statuses"] = draw(st.lists(status_spelling(), min_size=1, max_size=4))
    if draw(st.booleans()):
        out["fulfillment_latency"] = draw(st.none() | st.integers(1, 30))
    if draw(st.booleans()):
        out["fulfillment_channel_code"] = draw(st.from_regex(r"\A[A-Za-z0-9_.\-]{1,64}\Z"))
    if draw(st.booleans()):
        out["fulfillment_channel"] = draw(st.sampled_from(["MFN", "AFN"]))
    return out


@st.composite
def valid_configs(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {"version": 1}
    if draw(st.booleans()):
        doc["prune"] = draw(st.booleans())
    if draw(st.booleans()):
        doc["reauthorize_days"] = draw(st.integers(0, 365))
    if draw(st.booleans()):
        doc["safety"] = {
            "max_update_percent": draw(st.integers(0, 100) | st.floats(0, 100)),
            "min_existing": draw(st.integers(0, 1000)),
        }
    if draw(st.booleans()):
        doc["defaults"] = draw(store_settings())
    merchants = []
    for name in draw(st.lists(names, max_size=3, unique=True)):
        merchant: dict[str, Any] = {"name": name}
        if draw(st.booleans()):
            merchant["email"] = "ops@merchant.example"
        if draw(st.booleans()):
            merchant["defaults"] = draw(store_settings())
        stores = []
        for store_name in draw(st.lists(names, max_size=3, unique=True)):
            store = {
                "name": store_name,
                "marketplace": draw(marketplace_spelling()),
                **draw(store_settings()),
            }
            if draw(st.booleans()):
                store["enabled"] = draw(st.booleans())
            if draw(st.booleans()):
                store["protect"] = draw(st.booleans())
            stores.append(store)
        merchant["stores"] = stores
        merchants.append(merchant)
    doc["merchants"] = merchants
    return doc


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(doc=valid_configs())
def test_every_config_the_loader_accepts_passes_the_schema(
    tmp_path: Path, doc: dict[str, Any]
) -> None:
    path = tmp_path / "stores.yaml"
    path.write_text(yamlsafe.dump(doc, sort_keys=False))
    load([path])  # raises if the generator made something invalid
    errors = [e.message for e in VALIDATOR.iter_errors(yamlsafe.load(path.read_text())[0])]
    assert not errors, errors


@pytest.mark.parametrize(
    "text",
    [
        "UNSHIPPED",
        "unshipped",
        "PARTIALLY_SHIPPED",
        "CANCELLED",
        "partially-shipped",
        "Canceled",
        "InvoiceUnconfirmed",
    ],
)
def test_schema_and_loader_agree_on_status_spellings(text: str) -> None:
    assert catalog.canonical_status(text) is not None
    doc = {"version": 1, "defaults": {"import_order_statuses": [text]}}
    assert not list(VALIDATOR.iter_errors(doc))


@pytest.mark.parametrize("text", ["Shipped!", "Unshipped Now", "Pendings"])
def test_schema_refuses_a_status_the_loader_refuses(text: str) -> None:
    assert catalog.canonical_status(text) is None
    doc = {"version": 1, "defaults": {"import_order_statuses": [text]}}
    assert list(VALIDATOR.iter_errors(doc))


# --- The tool and check-jsonschema read every file alike -----------------------------------
# A file an editor marks as fine must validate, and one it marks as wrong must fail at the same
# place: both the invalid corpus and the near misses (numbers, booleans and text as YAML 1.1
# and YAML 1.2 read them differently) go through `check-jsonschema` with the committed schema,
# and through the loader.

ROOT = Path(__file__).resolve().parents[2]
INVALID = Path(__file__).parent / "invalid"
NEAR_MISS = Path(__file__).parent / "near_miss"
NEAR_MISS_EXPECTED: dict[str, dict[str, Any]] = json.loads(
    (NEAR_MISS / "expected.json").read_text()
)
# What JSON Schema cannot say, or what check-jsonschema's YAML reader (ruamel.yaml) reads
# otherwise than YAML 1.2; each is an error of the tool's own, with its reason.
BEYOND_THE_SCHEMA: dict[str, str] = {
    "duplicate_merchant_name": "uniqueness of a field across list items",
    "duplicate_store_name": "uniqueness of a field across list items",
    "duplicate_pinned_id": "uniqueness of a field across list items",
    "duplicate_merchant_nfc_nfd": "uniqueness of a field (after NFC) across list items",
    "duplicate_store_name_nfc_nfd": "uniqueness of a field (after NFC) across list items",
    "merge_key": "ruamel.yaml applies YAML 1.1 merge keys; the tool refuses them",
    "store_id_underscore_4_211": "ruamel.yaml reads 4_211 as 4211; YAML 1.2 and "
    "yaml-language-server as text, and the tool refuses it",
    "latency_binary_0b11": "ruamel.yaml reads 0b11 as 3; YAML 1.2 as text",
    "not_a_config_github_workflow": "another tool's file is one error of the file, where the "
    "schema has one per key",
}


# check-jsonschema expands the first for minutes and crashes on the second and the third
# (RecursionError) and on the fifth (Python's 4,300-digit limit); the fourth is too deep only
# once expanded, which a schema cannot say. The tool refuses each at once (their own tests).
NOT_FOR_CHECK_JSONSCHEMA: Final = frozenset(
    {
        "alias_bomb",
        "nested_500_levels",
        "alias_recursive",
        "alias_nested_too_deep",
        "store_id_5000_digits",
    }
)


def _schema_error_paths(files: list[Path]) -> tuple[dict[str, set[str]], set[str]]:
    checker = shutil.which("check-jsonschema")
    if checker is None:
        pytest.fail("check-jsonschema is missing: it is a test dependency (pip install -e .[test])")
    result = subprocess.run(
        [
            checker,
            "-o",
            "json",
            "--schemafile",
            str(ROOT / "schemas" / "stores.schema.json"),
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(result.stdout)
    paths: dict[str, set[str]] = {str(f): set() for f in files}
    for error in report["errors"]:
        # anyOf(X, null) reports at the parent; the deepest match names the key itself.
        deep = error.get("best_deep_match", error)
        where = deep["path"].removeprefix("$").removeprefix(".")
        unexpected = re.search(
            r"\((.*) (?:was|were) unexpected\)|^(.*) is a required property", deep["message"]
        )
        keys = (
            ast.literal_eval(f"({unexpected.group(1) or unexpected.group(2)},)")
            if (unexpected)
            else ()
        )
        # The tool reports a key that is not a plain word (`? [a, b]`) at its mapping.
        paths[error["filename"]] |= {
            (f"{where}.{k}" if where else k) if re.fullmatch(r"\w+", k) else where for k in keys
        } or {where}
    return paths, {e["filename"] for e in report["parse_errors"]}


def _tool_error_paths(path: Path) -> set[str]:
    try:
        load([path])
    except ConfigError as exc:
        return {p.path for p in exc.problems if p.severity == "error"}
    return set()


def test_check_jsonschema_and_validate_agree_on_every_corpus_and_near_miss_file() -> None:
    files = [
        f
        for f in sorted(INVALID.glob("*.yaml")) + sorted(NEAR_MISS.glob("*.yaml"))
        if f.stem not in NOT_FOR_CHECK_JSONSCHEMA
    ]
    assert len(list(NEAR_MISS.glob("*.yaml"))) == len(NEAR_MISS_EXPECTED) >= 30
    schema, unreadable = _schema_error_paths(files)
    disagree = []
    for f in files:
        tool = _tool_error_paths(f)
        if str(f) in unreadable:
            # check-jsonschema cannot read it (syntax, duplicate key, tag, encoding, ...).
            if not tool:
                disagree.append(f"{f.name}: unreadable for check-jsonschema, valid for the tool")
            continue
        if f.stem in BEYOND_THE_SCHEMA:
            assert tool and tool != schema[str(f)], f"{f.name} no longer needs its exception"
            continue
        if tool != schema[str(f)]:
            disagree.append(f"{f.name}: validate {sorted(tool)}, schema {sorted(schema[str(f)])}")
    assert not disagree, "\n".join(disagree)


def _at(model: Any, path: str) -> Any:
    for part in re.findall(r"\w+|\[\d+\]", path):
        model = model[int(part[1:-1])] if part.startswith("[") else getattr(model, part)
    return model


@pytest.mark.parametrize("name", sorted(NEAR_MISS_EXPECTED))
def test_near_miss_reads_as_yaml_1_2_does(name: str) -> None:
    expected = NEAR_MISS_EXPECTED[name]
    path = NEAR_MISS / f"{name}.yaml"
    if "error" in expected:
        with pytest.raises(ConfigError) as caught:
            load([path])
        messages = [f"{p.path}: {p.message}" for p in caught.value.problems]
        assert [
            m for m in messages if m.startswith(f"{expected['path']}: ") and expected["error"] in m
        ], messages
        assert len(messages) == 1, messages
    else:
        data, _, problems = yamlsafe.load(path.read_text())
        assert not problems
        value = _at(StoresFile.model_validate(data), expected["path"])
        assert value == expected["value"] and type(value) is type(expected["value"]), value
        load([path])


@pytest.mark.parametrize(
    "body",
    [
        "".join("  " * i + f"k{i}:\n" for i in range(60)) + "  " * 60 + "1\n",  # block mappings
        "- " * 60 + "x\n",  # compact nested sequences on one line
        "".join("  " * i + f"- k{i}:\n" for i in range(40)) + "  " * 40 + "- 1\n",  # `- k:` chains
        "  " + "[" * 30 + "{a: " * 30 + "1" + "}" * 30 + "]" * 30 + "\n",  # flow
    ],
)
def test_nesting_over_fifty_levels_is_refused_in_every_style(tmp_path: Path, body: str) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("version: 1\nx:\n" + body)
    with pytest.raises(ConfigError) as caught:
        load([path])
    assert [p.message for p in caught.value.problems if "nested deeper than 50" in p.message]
