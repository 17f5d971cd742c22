"""The JSON Schema of the configuration (draft 2020-12), generated from the models.

`python -m dropstream_sync.config.schema > schemas/stores.schema.json` regenerates the
committed copy; a test fails when they differ.
"""

from __future__ import annotations

import json
from typing import Any

from dropstream_sync.config.models import StoresFile

SCHEMA_ID = "https://dropstream-sync.example/schemas/stores.schema.json"


def generate_schema() -> dict[str, Any]:
    schema = StoresFile.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "description": "Amazon store connections in DropStream, as code (dropstream-sync, "
        "format version 1).",
    }


def schema_text() -> str:
    return json.dumps(generate_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")
