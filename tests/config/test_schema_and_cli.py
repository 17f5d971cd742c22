"""The JSON Schema agrees with the loader, and `validate` / `schema` behave as documented."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dropstream_sync import catalog
from dropstream_sync.cli import cli
from dropstream_sync.config import load, yamlsafe
from dropstream_sync.config.models import MARKETPLACE_PATTERN, STATUS_PATTERN, _check_name
from dropstream_sync.config.schema import generate_schema
from dropstream_sync.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "stores.yaml"
SCHEMA = generate_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def _respell(word: str, data: st.DataObject) -> str:
    """`word` with random letter case and separators, as people write statuses."""
    out = ""
    for char in word:
        out += char.upper() if data.draw(st.booleans()) else char.lower()
        out += data.draw(st.sampled_from(["", "", "", "_", "-", " ", "__"]))
    return out


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_status_pattern_accepts_exactly_what_the_loader_accepts(data: st.DataObject) -> None:
    base = data.draw(st.sampled_from([*catalog.ORDER_STATUSES, "Cancelled", "Shiped", "Pend"]))
    text = data.draw(
        st.one_of(
            st.just(base), st.builds(_respell, st.just(base), st.just(data)), st.text(max_size=12)
        )
    )
    accepted = catalog.canonical_status(text) is not None
    assert (re.fullmatch(STATUS_PATTERN, text) is not None) == accepted, text


@settings(max_examples=200, deadline=None)
@given(
    text=st.one_of(
        st.sampled_from([m.code for m in catalog.MARKETPLACES] + ["GB"]),
        st.text(alphabet="ABCDEGIKLMNPRSTUZabegklnprsuz ", max_size=3),
    )
)
def test_marketplace_pattern_accepts_exactly_what_the_loader_accepts(text: str) -> None:
    accepted = catalog.canonical_marketplace(text) is not None and text == text.strip()
    assert (re.fullmatch(MARKETPLACE_PATTERN, text) is not None) == accepted, repr(text)


setting_values = st.fixed_dictionaries(
    {},
    optional={
        "fulfillment_channel": st.sampled_from(["MFN", "AFN", "mfn", None]),
        "import_order_statuses": st.lists(
            st.sampled_from(["Unshipped", "UNSHIPPED", "partially_shipped", "CANCELLED", "Shiped"]),
            max_size=3,
        ),
        "fulfillment_latency": st.one_of(st.none(), st.integers(-1, 32), st.just("2")),
        "fulfillment_channel_code": st.sampled_from(["DEFAULT", "LOC-1", "", "two words"]),
    },
)
store_values = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["S1", "S2", ""]),
        "marketplace": st.sampled_from(["US", "gb", "Uk", "XX", "DE"]),
    },
    optional={
        "id": st.integers(-1, 3),
        "enabled": st.sampled_from([True, False, "true"]),
        "protect": st.booleans(),
        "warehouse": st.sampled_from(["W", ""]),
        "platform": st.sampled_from(["amazon", "ebay"]),
    },
).flatmap(lambda s: setting_values.map(lambda d: {**s, **d}))
config_values = st.fixed_dictionaries(
    {
        "version": st.sampled_from([1, 1, 1, 2, "1"]),
        "merchants": st.lists(
            st.fixed_dictionaries(
                {
                    "name": st.sampled_from(["A", "B", "C"]),
                    "stores": st.lists(store_values, max_size=3),
                },
                optional={
                    "email": st.sampled_from(["a@b.example", "nope"]),
                    "defaults": setting_values,
                },
            ),
            max_size=3,
        ),
    },
    optional={
        "prune": st.sampled_from([True, False, "no"]),
        "reauthorize_days": st.integers(-1, 400),
        "defaults": setting_values,
        "safety": st.fixed_dictionaries(
            {},
            optional={
                "max_update_percent": st.floats(-1, 120, allow_nan=False),
                "min_existing": st.integers(-1, 20),
            },
        ),
    },
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(config=config_values)
def test_every_config_the_loader_accepts_passes_the_schema(
    tmp_path: Path, config: dict[str, Any]
) -> None:
    path = tmp_path / "stores.yaml"
    path.write_text(yamlsafe.dump(config))
    try:
        load([path])
    except ConfigError:
        return
    errors = [e.message for e in VALIDATOR.iter_errors(config)]
    assert not errors, errors


def test_schema_command_prints_the_committed_schema() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    assert result.output == (ROOT / "schemas" / "stores.schema.json").read_text()
    assert result.output.endswith("}\n") and '\n  "$defs"' in result.output
    assert json.loads(result.output)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_validate_of_the_example_prints_one_summary_line() -> None:
    result = CliRunner().invoke(cli, ["validate", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "OK: 1 file(s), 4 merchant(s), 13 store(s) in 10 marketplace(s), 0 warning(s)\n"
    )
    assert result.stderr == ""


def test_validate_prints_warnings_to_stderr_and_still_succeeds(tmp_path: Path) -> None:
    path = tmp_path / "stores.yaml"
    path.write_text(
        "version: 1\nmerchants:\n  - name: A\n    stores:\n"
        "      - {name: S1, marketplace: DE, fulfillment_channel_code: LOC-1}\n"
    )
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 0
    assert result.stdout.startswith(
        "OK: 1 file(s), 1 merchant(s), 1 store(s) in 1 marketplace(s), 1 warning(s)"
    )
    assert result.stderr.startswith(
        f"{path}:5:63: warning: merchants[0].stores[0].fulfillment_channel_code: custom "
        "fulfillment_channel_code 'LOC-1' outside the US"
    )


def test_validate_of_an_invalid_file_fails_with_the_problems(tmp_path: Path) -> None:
    path = tmp_path / "stores.yaml"
    path.write_text("version: 1\nprune: maybe\n")
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1
    assert isinstance(result.exception, ConfigError)
    assert [str(p) for p in result.exception.problems] == [
        f"{path}:2:8: prune: expected true or false, got the text 'maybe'"
    ]
    assert result.stdout == ""


_LOOKALIKE = (
    "\u200b\u200c\u200d\u00ad\ufeff\u2060\u202a\u202e\u2066\u2069\u200e\u200f\u061c"
    "\u034f\ufe0f\U000e0041\U0001d173 \u00a0\u3000\t\u2028"
)


@settings(max_examples=400, deadline=None)
@given(
    text=st.text(
        alphabet=st.sampled_from(list("Acme Café\u0301") + list(_LOOKALIKE)), min_size=1, max_size=8
    )
)
def test_name_pattern_refuses_exactly_what_the_loader_refuses(text: str) -> None:
    doc = {"version": 1, "merchants": [{"name": text, "stores": []}]}
    accepted = not list(VALIDATOR.iter_errors(doc))
    try:
        _check_name(text)
    except ValueError:
        assert not accepted, repr(text)
    else:
        assert accepted, repr(text)
