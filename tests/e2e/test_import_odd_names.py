"""`import` of live names that YAML could read back otherwise: the file it writes holds the
same names, so a plan of it renames nothing behind the user's back."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.cli_in_process import run
from tests.seeded import US, seed

# U+0085 (NEL), U+2028 and U+2029 are line breaks to YAML, folded to a space in a plain or
# single-quoted scalar; PyYAML wrote NEL there as it is.
NAMES = ["Acme\x85US", "Acme\u2028CA", "Acme\u2029MX", "Acme\n\nDE", "Acme #1: - x"]


def test_import_writes_names_with_line_breaks_so_they_read_back_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "sb"
    seed(
        state,
        {
            "customers": [{"id": 1, "company_name": "Acme\x85Co"}],
            "stores": [
                {"customer_id": 1, "name": name, "adapter": {"marketplace_id": US}}
                for name in NAMES
            ],
        },
    )
    out = tmp_path / "stores.yaml"
    code, _, err = run(capsys, "import", "--sandbox", str(state), "--output", str(out))
    assert code == 0, err
    written = yaml.safe_load(out.read_text(encoding="utf-8"))
    # Was "Acme Co" and "Acme US": valid names of another merchant and a rename of store 1.
    assert [m["name"] for m in written["merchants"]] == ["Acme\x85Co"]
    assert sorted(s["name"] for s in written["merchants"][0]["stores"]) == sorted(NAMES)
