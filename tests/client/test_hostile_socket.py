"""plan and apply, as a user runs them, against a served sandbox behind a hostile proxy on
loopback (tests/hostile.py): what comes back on a real socket, not what httpx is told to
raise. Each test checks the exit code, that stderr is one line and no traceback, and what
the account and the audit log hold afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.doctor.on_sandbox import Served
from tests.hostile import Hostile, Rule

CONFIG = """\
version: 1
merchants:
  - name: Acme
    email: ops@acme.example
    stores:
      - name: Acme US
        marketplace: US
"""


def cli(
    served: Served, proxy: Hostile, tmp_path: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "stores.yaml").write_text(CONFIG)
    return subprocess.run(
        [sys.executable, "-c", "from dropstream_sync.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={
            **os.environ,
            "PYTHONPATH": str(Path(__file__).parents[2]),
            "DROPSTREAM_API_URL": proxy.url,
            "DROPSTREAM_USERNAME": served.username,
            "DROPSTREAM_PASSWORD": served.password,
        },
    )


def one(served: Served, path: str) -> int:
    """The id of the one object of the list at `path`, read from the sandbox directly."""
    token = httpx.post(
        served.url + "/auth/token",
        auth=(served.username, served.password),
        json={"grant_type": "client_credentials"},
    ).json()["access_token"]
    rows = httpx.get(served.url + path, headers={"Authorization": f"Bearer {token}"}).json()
    assert len(rows) == 1, rows
    return int(rows[0]["id"])


def audit(tmp_path: Path) -> dict[str, dict[str, object]]:
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    return {entry["kind"]: entry for entry in map(json.loads, lines)}


def test_a_redirect_to_another_origin_gets_neither_request_nor_token(
    served: Served, proxy: Hostile, tmp_path: Path
) -> None:
    with Hostile(None) as elsewhere:
        proxy.add(Rule("GET", "/customers", "redirect", f"{elsewhere.url}/customers", times=9))
        result = cli(served, proxy, tmp_path, "plan", "stores.yaml")
        assert elsewhere.seen == []
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: GET /customers -> 302: redirected to {elsewhere.url}/customers, not followed "
        "(the API does not redirect, and following could send the token elsewhere); "
        "check the API URL"
    ]


def test_a_create_whose_answer_is_cut_mid_body_is_made_once_and_logged_with_its_id(
    served: Served, proxy: Hostile, tmp_path: Path
) -> None:
    proxy.add(Rule("POST", "/customers", "cut_after"))
    proxy.add(Rule("POST", "/stores", "cut_after"))

    result = cli(
        served, proxy, tmp_path, "apply", "stores.yaml", "--auto-approve", "--audit-log",
        "audit.jsonl",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    served_requests = served.admin("GET", "/_sandbox/stats")["requests"]
    assert served_requests["POST /customers"] == served_requests["POST /stores"] == 1
    logged = audit(tmp_path)
    assert {entry["outcome"] for entry in logged.values()} == {"ok"}
    assert logged["create_merchant"]["created_id"] == one(served, "/customers")
    assert logged["create_store"]["created_id"] == one(served, "/stores")


def test_creates_answered_with_an_html_page_are_logged_ok_with_the_ids_they_got(
    served: Served, proxy: Hostile, tmp_path: Path
) -> None:
    proxy.add(Rule("POST", "/customers", "html_after"))
    proxy.add(Rule("POST", "/stores", "html_after"))
    proxy.add(Rule("POST", r"/stores/\d+/authorization_requests", "html_after"))

    result = cli(
        served, proxy, tmp_path, "apply", "stores.yaml", "--auto-approve", "--audit-log",
        "audit.jsonl",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    outbox = served.admin("GET", "/_sandbox/outbox")
    assert len(outbox) == 1  # one email, not two
    logged = audit(tmp_path)
    assert {entry["outcome"] for entry in logged.values()} == {"ok"}
    assert logged["invite"]["created_id"] == outbox[0]["authorization_request_id"]


def test_the_proxy_forwards_lists_of_several_pages_whole(
    served: Served, proxy: Hostile, tmp_path: Path
) -> None:
    # The fixture's own check: next-page links name the proxy, so the tests above see the
    # tool as it is, not refusing links to the sandbox behind.
    served.admin(
        "POST", "/_sandbox/seed", {"customers": [{"company_name": f"C{i}"} for i in range(150)]}
    )

    result = cli(served, proxy, tmp_path, "plan", "stores.yaml")

    assert result.returncode == 0, result.stderr
    assert [s.path for s in proxy.seen].count("/customers") >= 2
