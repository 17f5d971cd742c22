"""A file read with or without anchors gives the same values, messages and positions.

Files without anchors and aliases are read straight from the parser's events, files with
them through the composed tree (which shares aliased nodes); both must say the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from dropstream_sync.config import load
from dropstream_sync.errors import ConfigError

PLAIN = """\
version: 1
merchants:
  - name: Acme
    stores:
      - name: Acme US
        marketplace: US
        fulfillment_latency: 99
        import_order_statuses: [Unshipped]
      - name: Acme US
        marketplace: US
        import_order_statuses: [Unshipped]
        colour: red
"""
# The same file with its statuses list anchored once and aliased once.
ANCHORED = PLAIN.replace(
    "import_order_statuses: [Unshipped]", "import_order_statuses: &statuses [Unshipped]", 1
).replace("import_order_statuses: [Unshipped]", "import_order_statuses: *statuses", 1)


def problems(tmp: Path, name: str, text: str) -> list[str]:
    path = tmp / name
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load([path])
    return [str(p).removeprefix(str(path)) for p in caught.value.problems]


def test_anchors_change_no_message_and_no_position(tmp_path: Path) -> None:
    assert ANCHORED != PLAIN
    plain = problems(tmp_path, "plain.yaml", PLAIN)
    assert any(":7:" in p and "fulfillment_latency" in p for p in plain)
    assert any(":12:" in p and "colour" in p for p in plain)
    assert problems(tmp_path, "anchored.yaml", ANCHORED) == plain


def test_a_second_document_is_refused_with_or_without_anchors(tmp_path: Path) -> None:
    for name, text in (
        ("plain.yaml", "version: 1\n---\nversion: 1\n"),
        ("anchored.yaml", "version: &v 1\n---\nversion: 1\n"),
    ):
        (message,) = problems(tmp_path, name, text)
        assert message.startswith(":2:1:") and "a single document" in message
