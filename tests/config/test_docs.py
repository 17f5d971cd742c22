"""docs/config.md is the reference of the format: every key of the schema is described there."""

from __future__ import annotations

from pathlib import Path

from dropstream_sync import catalog
from dropstream_sync.config.schema import generate_schema

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "config.md").read_text()


def test_every_schema_key_is_documented() -> None:
    schema = generate_schema()
    for definition in [schema, *schema["$defs"].values()]:
        for key in definition["properties"]:
            assert f"`{key}`" in DOCS, f"docs/config.md does not describe `{key}`"


def test_every_marketplace_and_status_is_documented() -> None:
    for market in catalog.MARKETPLACES:
        assert market.code in DOCS
    for status in catalog.ORDER_STATUSES:
        assert f"`{status}`" in DOCS
