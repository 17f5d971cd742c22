"""The report made from a live account whose names and seller ids hold escape sequences,
bidi controls, mentions and very long words: the issue body and the page show them as
text, as the plan writes them, and keep their layout."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from tests.cli_in_process import run
from tests.report.test_browser import FLAGS, Dom, chromium
from tests.seeded import US, seed

ESCAPES = "\x1b[2J\x1b]0;owned\x07"
BIDI = "abc\u202edcba"
AUTHORIZED = {
    "status": "authorized",
    "selling_partner_id": f"A1{ESCAPES} @octocat",
    "authorized_at": "2026-01-10T00:00:00Z",
    "expires_at": "2099-01-01T00:00:00Z",
}


def _account(tmp_path: Path) -> tuple[str, str]:
    state = tmp_path / "sb"
    seed(
        state,
        {
            "customers": [{"id": 1, "company_name": "Acme"}],
            "warehouses": [{"id": 1, "customer_id": 1, "description": "Acme WH"}],
            "stores": [
                {
                    "id": 1,
                    "customer_id": 1,
                    "name": "Acme US",
                    "adapter": {"marketplace_id": US, "authorization": AUTHORIZED},
                },
            ],
            "connections": [
                {
                    "customer_id": 1,
                    "warehouse_id": 1,
                    "store_id": 1,
                    # Not the store's name: drift, so the store is listed in the issue.
                    "name": f"Acme US {ESCAPES}{BIDI} @octocat",
                }
            ],
        },
    )
    config = tmp_path / "stores.yaml"
    config.write_text(
        "version: 1\nmerchants:\n  - name: Acme\n    stores:\n"
        "      - name: Acme US\n        marketplace: US\n"
    )
    return str(state), str(config)


def test_the_markdown_report_writes_escapes_and_mentions_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, config = _account(tmp_path)
    code, out, _ = run(capsys, "report", config, "--sandbox", state, "--format", "markdown")
    assert code == 0
    # Printed on a terminal, the raw sequences cleared the screen and retitled the window;
    # in the drift issue the bidi control reversed the text after it.
    assert not {"\x1b", "\x07", "\u202e"} & set(out)
    html = MarkdownIt("commonmark").enable("table").render(out)
    assert "A1\\x1b[2J\\x1b]0;owned\\x07 @\u200boctocat" in html  # the seller id
    assert "abc\\u202edcba" in html  # the connection's name, in the drift cell
    assert "@octocat" not in html  # the issue would notify octocat


def test_a_markdown_report_of_many_invitations_to_long_live_names_stays_under_its_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 200 listed invitations, each to a store of 250 "<" (written "&lt;"), made an issue
    # body of 212,000 characters, which GitHub refuses (65,536).
    n = 250
    state = tmp_path / "sb"
    seed(
        state,
        {
            "customers": [{"id": 1, "company_name": "Acme"}],
            "stores": [
                {"id": i, "customer_id": 1, "name": "<" * 250, "adapter": {"marketplace_id": US}}
                for i in range(n)
            ],
            "authorization_requests": [
                {"store_id": i, "email": "ops@acme.example", "expires_at": "2099-01-01T00:00:00Z"}
                for i in range(n)
            ],
        },
    )
    config = tmp_path / "stores.yaml"
    config.write_text(
        "version: 1\nmerchants:\n  - name: Acme\n    stores:\n"
        "      - name: Acme US\n        marketplace: US\n"
    )
    code, out, _ = run(
        capsys, "report", str(config), "--sandbox", str(state), "--format", "markdown"
    )
    assert code == 0
    assert len(out) <= 60_000
    assert "more: see the HTML or JSON report" in out
    assert "#### Acme" in out  # the merchant's block (its store to create) is still there


@pytest.mark.browser
def test_a_very_long_live_store_name_wraps_inside_its_cell_in_the_browser(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A name of 2,000 letters with no space (a server allows more than the 255 the config
    # does) made its table 20,000 px wide: every other column off the page, and on paper.
    state = tmp_path / "sb"
    seed(
        state,
        {
            "customers": [{"id": 1, "company_name": "Acme"}],
            "stores": [{"customer_id": 1, "name": "L" * 2000, "adapter": {"marketplace_id": US}}],
        },
    )
    config = tmp_path / "stores.yaml"
    config.write_text("version: 1\nmerchants:\n  - name: Acme\n    stores: []\n")
    page = tmp_path / "report.html"
    code, _, err = run(
        capsys, "report", str(config), "--sandbox", state.as_posix(), "--out", str(page)
    )
    assert code == 0, err
    # A probe of the laid-out width, added for the test (the page's policy would refuse it).
    probe = (
        "<script>addEventListener('load',function(){var h=document.documentElement;"
        "h.setAttribute('data-width',h.scrollWidth);"
        "h.setAttribute('data-view',innerWidth);});</script>"
    )
    text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page.read_text())
    page.write_text(text.replace("</body>", probe + "</body>"))
    result = subprocess.run(
        [
            chromium(),
            *FLAGS,
            "--window-size=1280,800",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = Dom()
    dom.feed(result.stdout)
    root = dom.all("html")[0]
    assert int(root["data-width"]) <= int(root["data-view"]), root


def test_the_html_report_writes_escape_sequences_and_bidi_controls_as_escapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, config = _account(tmp_path)
    page = tmp_path / "report.html"
    code, _, err = run(capsys, "report", config, "--sandbox", state, "--out", str(page))
    assert code == 0, err
    text = page.read_text()
    # Raw, U+202E showed the rest of the connection's name reversed ("abcd" for "dcba").
    assert not {"\x1b", "\x07", "\u202e"} & set(text)
    assert "Acme US \\x1b[2J\\x1b]0;owned\\x07abc\\u202edcba @octocat" in text
