"""Loading: defaults resolution, spellings, folders, cross-file checks, warnings, schema."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dropstream_sync.config import load, yamlsafe
from dropstream_sync.config.schema import generate_schema
from dropstream_sync.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def write(tmp: Path, text: str, name: str = "stores.yaml") -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_store_value_beats_merchant_beats_file_beats_builtin(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
version: 1
defaults: {fulfillment_latency: 5, fulfillment_channel_code: FILE}
merchants:
  - name: Acme
    defaults: {fulfillment_latency: 4, import_order_statuses: [Shipped]}
    stores:
      - {name: A, marketplace: US, fulfillment_latency: 3}
      - {name: B, marketplace: US}
  - name: Beta
    stores:
      - {name: C, marketplace: CA}
""",
    )
    merchants = {m.name: m for m in load([path]).desired.merchants}
    a, b = merchants["Acme"].stores
    c = merchants["Beta"].stores[0]
    assert (a.settings.fulfillment_latency, b.settings.fulfillment_latency) == (3, 4)
    assert b.settings.import_order_statuses == frozenset({"Shipped"})
    assert c.settings.fulfillment_latency == 5
    assert c.settings.fulfillment_channel_code == "FILE"
    assert c.settings.fulfillment_channel == "MFN"
    assert c.settings.import_order_statuses == frozenset({"Unshipped", "PartiallyShipped"})


def test_explicit_null_latency_overrides_an_inherited_value(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\ndefaults: {fulfillment_latency: 5}\nmerchants:\n"
        "  - name: A\n    stores:\n      - {name: S, marketplace: US, "
        "fulfillment_latency: null}\n",
    )
    assert load([path]).desired.merchants[0].stores[0].settings.fulfillment_latency is None


@pytest.mark.parametrize("spelling", ["UNSHIPPED", "unshipped", "Unshipped"])
def test_status_spellings_are_one_status(tmp_path: Path, spelling: str) -> None:
    path = write(
        tmp_path,
        f"version: 1\nmerchants:\n  - name: A\n    stores:\n"
        f"      - name: S\n        marketplace: US\n"
        f"        import_order_statuses: [{spelling}, PARTIALLY_SHIPPED, "
        f"CANCELLED]\n",
    )
    statuses = load([path]).desired.merchants[0].stores[0].settings.import_order_statuses
    assert statuses == frozenset({"Unshipped", "PartiallyShipped", "Canceled"})


def test_gb_and_uk_are_one_marketplace(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\nmerchants:\n  - name: A\n    stores:\n      - {name: S, marketplace: gb}\n",
    )
    assert load([path]).desired.merchants[0].stores[0].marketplace == "UK"


def test_a_folder_merges_its_yaml_files_in_sorted_order(tmp_path: Path) -> None:
    write(tmp_path, "version: 1\nmerchants:\n  - name: Zed\n    stores: []\n", "b/zed.yml")
    write(
        tmp_path, "version: 1\nprune: true\nmerchants:\n  - name: Acme\n    stores: []\n", "a.yaml"
    )
    write(tmp_path, "not: a config\n", "notes.txt")
    result = load([tmp_path])
    assert [Path(f).name for f in result.files] == ["a.yaml", "zed.yml"]
    prune = {m.name: m.prune for m in result.desired.merchants}
    assert prune == {"Acme": True, "Zed": False}


def test_duplicate_merchant_across_files_names_both_places(tmp_path: Path) -> None:
    one = write(tmp_path, "version: 1\nmerchants:\n  - name: Acme\n", "one.yaml")
    two = write(tmp_path, "version: 1\nmerchants:\n  - name: Other\n  - name: Acme\n", "two.yaml")
    with pytest.raises(ConfigError) as caught:
        load([tmp_path])
    text = str(caught.value)
    assert f"{two}:4:" in text and f"already defined at {one}:3:" in text


def test_a_file_named_twice_is_read_once(tmp_path: Path) -> None:
    # A folder and a file in it, the same file twice, or a file and a symlink to it: read
    # twice, its merchant was "already defined" at its own position.
    one = write(tmp_path, "version: 1\nmerchants:\n  - name: Acme\n", "stores/one.yaml")
    (tmp_path / "link.yaml").symlink_to(one)
    for paths in (
        [tmp_path / "stores", one],
        [one, tmp_path / "stores" / ".." / "stores" / "one.yaml"],
        [one, tmp_path / "link.yaml"],
    ):
        result = load(paths)
        assert result.files == (str(paths[0] if paths[0].is_file() else one),)
        assert [m.name for m in result.desired.merchants] == ["Acme"]


def test_strictest_safety_value_across_files_wins(tmp_path: Path) -> None:
    write(
        tmp_path,
        "version: 1\nsafety: {max_update_percent: 50, max_invites_per_run: 5}\nmerchants: []\n",
        "a.yaml",
    )
    write(tmp_path, "version: 1\nsafety: {max_update_percent: 20}\nmerchants: []\n", "b.yaml")
    safety = load([tmp_path]).desired.safety
    assert (safety.max_update_percent, safety.max_invites_per_run) == (20, 5)


@pytest.mark.parametrize(
    ("days", "said"),
    [
        (365, "as soon as they authorize: every approval makes the next apply email them again"),
        (200, "to renew 165 days after they authorize"),
        (182, None),
        (30, None),
    ],
)
def test_a_renewal_window_over_half_an_authorization_is_warned_of_at_its_key(
    tmp_path: Path, days: int, said: str | None
) -> None:
    # With 365, an approval restarts the 365 days and is at once due again: an email loop.
    path = write(
        tmp_path,
        f"version: 1\nreauthorize_days: {days}\nmerchants:\n  - name: A\n    stores:\n"
        "      - {name: S1, marketplace: US}\n",
    )
    warnings = load([path]).warnings
    if said is None:
        assert warnings == ()
    else:
        (warning,) = warnings
        assert said in warning.message and (warning.line, warning.column) == (2, 19)
        assert warning.severity == "warning"


@pytest.mark.parametrize("spelt", ["default", "Default"])
def test_default_in_another_case_is_warned_of_as_a_custom_location(
    tmp_path: Path, spelt: str
) -> None:
    path = write(
        tmp_path,
        "version: 1\nmerchants:\n  - name: A\n    stores:\n"
        f"      - {{name: S1, marketplace: US, fulfillment_channel_code: {spelt}}}\n"
        f"      - {{name: S2, marketplace: DE, fulfillment_channel_code: {spelt}}}\n"
        "      - {name: S3, marketplace: CA, fulfillment_channel: AFN,"
        f" fulfillment_channel_code: {spelt}}}\n",
    )
    loaded = load([path])
    # Sent as written: a warning, not a silent rewrite of the user's value.
    codes = [s.settings.fulfillment_channel_code for s in loaded.desired.merchants[0].stores]
    assert codes == [spelt, spelt, spelt]
    said = [(w.line, w.message) for w in loaded.warnings]
    assert [line for line, _ in said] == [5, 6, 7]  # one warning a value, AFN or not
    assert all(f"'{spelt}' is taken as a custom" in m and "'DEFAULT'" in m for _, m in said)


def test_warnings_are_reported_but_not_fatal(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """version: 1
merchants:
  - name: A
    stores:
      - {name: S1, marketplace: US, fulfillment_channel: AFN, fulfillment_latency: 2}
      - {name: S2, marketplace: DE, fulfillment_channel_code: LOC-1}
      - {name: S3, marketplace: US}
""",
    )
    warnings = [w.message for w in load([path]).warnings]
    assert any("means nothing for AFN" in w for w in warnings)
    assert any("outside the US" in w for w in warnings)
    assert any("two stores in marketplace US" in w for w in warnings)


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file or folder"):
        load([tmp_path / "nope.yaml"])


def test_committed_schema_is_the_generated_one() -> None:
    committed = json.loads((ROOT / "schemas" / "stores.schema.json").read_text())
    assert committed == generate_schema(), (
        "regenerate: python -m dropstream_sync.config.schema > schemas/stores.schema.json"
    )


def test_schema_is_valid_draft_2020_12_with_descriptions_everywhere() -> None:
    schema = generate_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for name, definition in schema["$defs"].items():
        for key, prop in definition["properties"].items():
            assert prop.get("description"), f"{name}.{key} has no description"
            assert prop.get("title"), f"{name}.{key} has no title"


@pytest.mark.parametrize("example", sorted((ROOT / "examples").rglob("*.yaml")), ids=str)
def test_examples_are_valid_against_the_schema_and_the_loader(example: Path) -> None:
    jsonschema.validate(yamlsafe.load(example.read_text())[0], generate_schema())
    result = load([example])
    assert not result.warnings


def test_example_is_a_realistic_3pl() -> None:
    desired = load([ROOT / "examples" / "stores.yaml"]).desired
    stores = [s for m in desired.merchants for s in m.stores]
    from dropstream_sync import catalog

    regions = {catalog.BY_CODE[s.marketplace].region for s in stores}
    assert len(desired.merchants) >= 4 and len(stores) >= 10
    assert regions == {"NA", "EU", "FE"}
    assert any(m.email is None for m in desired.merchants)
    assert any(not s.enabled for s in stores) and any(s.protect for s in stores)
    assert (
        (ROOT / "examples" / "stores.yaml")
        .read_text()
        .startswith("# yaml-language-server: $schema=../schemas/stores.schema.json")
    )


def test_packaged_demo_config_is_the_example() -> None:
    packaged = ROOT / "dropstream_sync" / "data" / "stores.yaml"
    assert packaged.read_text() == (ROOT / "examples" / "stores.yaml").read_text()


BASE = {
    "version": 1,
    "merchants": [
        {
            "name": "A",
            "email": "a@b.example",
            "stores": [{"name": "S", "marketplace": "US", "fulfillment_latency": 2}],
        }
    ],
}
yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 40) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=200))
def test_loader_never_crashes_on_random_text(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with contextlib.suppress(ConfigError):
        load([path])


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    key=st.sampled_from(
        [
            "version",
            "prune",
            "merchants",
            "name",
            "email",
            "stores",
            "marketplace",
            "fulfillment_latency",
            "enabled",
            "id",
            "x",
        ]
    ),
    value=yaml_values,
    depth=st.integers(0, 2),
)
def test_loader_never_crashes_on_near_valid_configs(
    tmp_path: Path, key: str, value: object, depth: int
) -> None:
    doc = json.loads(json.dumps(BASE))
    target = [doc, doc["merchants"][0], doc["merchants"][0]["stores"][0]][depth]
    target[key] = value
    path = write(tmp_path, yamlsafe.dump(doc))
    try:
        load([path])
    except ConfigError as exc:
        assert exc.problems


def test_a_threshold_one_file_leaves_out_does_not_outvote_another_files(tmp_path: Path) -> None:
    write(tmp_path, "version: 1\nsafety: {max_disable_percent: 20}\nmerchants: []\n", "a.yaml")
    write(tmp_path, "version: 1\nsafety: {max_update_percent: 50}\nmerchants: []\n", "b.yaml")
    safety = load([tmp_path]).desired.safety
    assert (safety.max_disable_percent, safety.max_update_percent) == (20, 50)
    assert (safety.min_existing, safety.max_invites_per_run) == (10, 50)


def test_warnings_point_at_the_stores_own_setting_or_at_the_store(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """version: 1
defaults: {fulfillment_channel: AFN}
merchants:
  - name: A
    stores:
      - name: S1
        marketplace: US
        fulfillment_latency: 2
      - name: S2
        marketplace: CA
        fulfillment_channel: MFN
    defaults: {fulfillment_channel_code: LOC-1}
""",
    )
    warnings = [(w.line, w.column, w.path) for w in load([path]).warnings]
    assert (8, 30, "merchants[0].stores[0].fulfillment_latency") in warnings
    assert (6, 9, "merchants[0].stores[0]") in warnings  # the inherited LOC-1 with AFN
    assert (9, 9, "merchants[0].stores[1]") in warnings  # LOC-1 outside the US


def test_relative_paths_are_reported_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "version: 1\nprune: 1\n", "conf/stores.yaml")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load(["conf"])
    assert str(caught.value).startswith("conf/stores.yaml:2:8: prune:")


def test_yes_and_no_are_text_so_a_store_may_be_named_no(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\nmerchants:\n  - name: Yes\n    stores:\n      - {name: No, marketplace: US}\n",
    )
    merchant = load([path]).desired.merchants[0]
    assert (merchant.name, merchant.stores[0].name) == ("Yes", "No")


def test_every_store_records_where_it_was_declared(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\nmerchants:\n  - name: A\n    stores:\n      - {name: S, marketplace: US}\n",
    )
    merchant = load([path]).desired.merchants[0]
    assert str(merchant.source) == f"{path}:3:5"
    assert str(merchant.stores[0].source) == f"{path}:5:9"


def test_store_warehouse_falls_back_to_the_merchants(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\nmerchants:\n  - name: A\n    warehouse: Main\n"
        "    stores:\n      - {name: S1, marketplace: US}\n"
        "      - {name: S2, marketplace: CA, warehouse: North}\n"
        "  - name: B\n    stores:\n      - {name: S3, marketplace: US}\n",
    )
    stores = {s.name: s.warehouse for m in load([path]).desired.merchants for s in m.stores}
    assert stores == {"S1": "Main", "S2": "North", "S3": None}


EXAMPLE_LINES = (ROOT / "examples" / "stores.yaml").read_text().splitlines()


@st.composite
def mutated_example(draw: st.DrawFn) -> str:
    """The example with a few lines deleted, repeated, re-indented, tabbed or cut short."""
    lines = list(EXAMPLE_LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "repeat", "indent", "dedent", "tab", "cut", "swap"]))
        if op == "delete":
            del lines[i]
        elif op == "repeat":
            lines.insert(i, lines[i])
        elif op == "indent":
            lines[i] = "  " + lines[i]
        elif op == "dedent":
            lines[i] = lines[i][2:]
        elif op == "tab":
            lines[i] = "\t" + lines[i].lstrip()
        elif op == "cut":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        elif i + 1 < len(lines):
            lines[i], lines[i + 1] = lines[i + 1], lines[i]
        if not lines:
            break
    return "\n".join(lines) + "\n"


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=mutated_example())
def test_mutated_example_loads_or_fails_with_positioned_problems(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    lines = text.count("\n") + 1
    try:
        load([path])
    except ConfigError as exc:
        errors = [p for p in exc.problems if p.severity == "error"]
        assert errors
        for problem in exc.problems:
            assert problem.file == str(path)
            assert 1 <= problem.line <= lines and problem.column >= 1, problem


@pytest.mark.parametrize(
    "text",
    [
        "0o17",
        "0x1F",
        "1e3",
        "1_000",
        "036",
        "yes",
        "No",
        "on",
        "~",
        "1:30",
        "2026-01-31",
        ".inf",
        "True",
        "+3",
    ],
)
def test_written_text_reads_back_as_the_same_text(text: str) -> None:
    # `import` writes with yamlsafe.dump: a live store named "0o17" must not come back as 15.
    written = yamlsafe.dump({"name": text})
    assert yamlsafe.load(written)[0] == {"name": text}
    assert yaml.safe_load(written) == {"name": text}
