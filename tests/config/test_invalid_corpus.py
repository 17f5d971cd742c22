"""Every malformed config in the corpus: exit 1, FILE:LINE:COLUMN, the message, no traceback.

One file per failure, named after it; tests/config/invalid/expected.json gives the line and
a message fragment for each.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "invalid"
EXPECTED: dict[str, dict[str, object]] = json.loads((CORPUS / "expected.json").read_text())
CLI = [sys.executable, "-c", "from dropstream_sync.cli import main; main()"]


def test_corpus_has_a_file_per_expectation_and_at_least_forty() -> None:
    files = {p.stem for p in CORPUS.glob("*.yaml")}
    assert files == set(EXPECTED)
    assert len(files) >= 40


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_config_is_reported_with_its_position(name: str) -> None:
    path = CORPUS / f"{name}.yaml"
    result = subprocess.run([*CLI, "validate", str(path)], capture_output=True, text=True,
                            timeout=60)
    expected = EXPECTED[name]
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith(f"{path}:")]
    assert any(ln.startswith(f"{path}:{expected['line']}:") and str(expected["message"]) in ln
               for ln in lines), result.stderr


def test_file_over_ten_megabytes_is_refused_before_parsing(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("version: 1\n# " + "x" * (10 * 1024 * 1024) + "\n")
    result = subprocess.run([*CLI, "validate", str(big)], capture_output=True, text=True)
    assert result.returncode == 1
    assert f"{big}:1:1:" in result.stderr and "limit is 10 MB" in result.stderr


def test_all_problems_of_a_file_are_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text(
        "version: 1\nmerchants:\n  - name: Acme\n    email: nope\n    stores:\n"
        "      - name: A\n        marketplace: XX\n        fulfilment_latency: 3\n"
    )
    result = subprocess.run([*CLI, "validate", str(path)], capture_output=True, text=True)
    assert f"{path}:4:" in result.stderr
    assert f"{path}:7:" in result.stderr
    assert f"{path}:8:" in result.stderr
    assert "3 error(s)" in result.stderr
