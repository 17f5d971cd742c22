"""What the report says of a merchant's live stores that the config does not list: they
need nobody, but they are not "authorized" either."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_in_process import run
from tests.seeded import JP, US, seed


def test_unlisted_unauthorized_stores_are_not_counted_as_authorized(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "sb"
    seed(
        state,
        {
            "customers": [{"id": 1, "company_name": "Acme"}],
            "stores": [
                {"customer_id": 1, "name": "Old JP", "adapter": {"marketplace_id": JP}},
                {"customer_id": 1, "name": "Old US", "adapter": {"marketplace_id": US}},
            ],
        },
    )
    config = tmp_path / "stores.yaml"
    config.write_text(
        "version: 1\nmerchants:\n  - name: Acme\n    stores:\n"
        "      - name: Acme UK\n        marketplace: UK\n"
    )
    code, out, err = run(
        capsys, "report", str(config), "--sandbox", str(state), "--format", "markdown"
    )
    assert code == 0, err
    # Both never authorized: the issue said "2 other store(s) authorized".
    assert "other store(s) authorized" not in out
    assert "2 other store(s) not in the config or switched off in it" in out

    config.write_text("version: 1\nmerchants:\n  - name: Acme\n    stores: []\n")
    code, out, err = run(
        capsys, "report", str(config), "--sandbox", str(state), "--format", "markdown"
    )
    assert code == 0, err
    assert "Every store is authorized" not in out
    assert "Every store the config wants is authorized" in out
