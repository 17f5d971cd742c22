"""The plan comment made from a live account whose names hold Markdown: a pull-request
reader sees the names as typed, never a link, an image or a mention made of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from tests.cli_in_process import run
from tests.seeded import JP, US, seed

# A store renamed in the DropStream UI by anyone with access to the account.
PHISH = "[Reauthorize here](https://evil.example) ![p](https://evil.example/p.png) @octocat"


def _config(tmp_path: Path) -> str:
    path = tmp_path / "stores.yaml"
    path.write_text(
        "version: 1\nmerchants:\n  - name: Acme\n    stores:\n"
        "      - name: Acme US\n        marketplace: US\n"
        "      - name: Acme JP\n        marketplace: JP\n"
    )
    return str(path)


def test_a_live_store_name_in_a_warning_is_text_not_a_link_image_or_mention(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "sb"
    seed(
        state,
        {
            "customers": [{"id": 1, "company_name": "Acme"}],
            "stores": [
                {"customer_id": 1, "name": "Acme US", "adapter": {"marketplace_id": US}},
                # Unmatched in JP, where the config creates a store: the plan warns, naming it.
                {"customer_id": 1, "name": PHISH, "adapter": {"marketplace_id": JP}},
            ],
        },
    )
    code, out, _ = run(
        capsys, "plan", _config(tmp_path), "--sandbox", str(state), "--format", "markdown"
    )
    assert code == 0
    html = MarkdownIt("commonmark").enable("table").render(out)
    assert "Reauthorize here" in html  # the warning is there
    assert "<a " not in html and "<img" not in html
    assert "@octocat" not in html  # GitHub would notify octocat
    assert PHISH.replace("@", "@\u200b") in html  # the name as spelt, a zero-width space after @


def test_warnings_naming_long_live_names_still_leave_the_comment_under_its_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Each warning names the merchant's live JP store, 250 "<" long: clipped to 300
    # characters and then escaped ("&lt;"), 100 of them made a comment of 78,000
    # characters, which GitHub refuses (65,536), with no merchant's block left in it.
    n = 120
    state = tmp_path / "sb"
    seed(
        state,
        {
            "customers": [{"id": i, "company_name": f"M{i}"} for i in range(n)],
            "stores": [
                {"customer_id": i, "name": "<" * 250, "adapter": {"marketplace_id": JP}}
                for i in range(n)
            ],
        },
    )
    config = tmp_path / "stores.yaml"
    config.write_text(
        "version: 1\nmerchants:\n"
        + "".join(
            f"  - name: M{i}\n    stores:\n      - name: New JP\n        marketplace: JP\n"
            for i in range(n)
        )
    )
    code, out, _ = run(capsys, "plan", str(config), "--sandbox", str(state), "--format", "markdown")
    assert code == 0
    assert len(out) <= 60_000
    assert "more warning(s): see" in out
    assert out.count("<details>") > 0  # the changes are still there to review
