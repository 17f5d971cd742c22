"""Credentials never reach any output; an invalid config sends nothing to the API."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import Account
from tests.reliability.checks import fleet

pytestmark = pytest.mark.e2e


def test_no_command_shows_the_password_or_token(tenant: Account) -> None:
    tenant.write_config(fleet(2, 2))
    token = httpx.post(
        tenant.server.url + "/auth/token", auth=(tenant.username, tenant.password),
        json={"grant_type": "client_credentials"}, timeout=30,
    ).json()["access_token"]
    runs = [
        tenant.cli("-vv", "validate", "stores.yaml"),
        tenant.cli("-vv", "plan", "stores.yaml", "--out", "plan.json", "--format", "json"),
        tenant.cli("-vv", "show", "plan.json", "--format", "markdown"),
        tenant.cli("-vv", "apply", "plan.json", "--audit-log", "audit.jsonl"),
        tenant.cli("-vv", "apply", "stores.yaml", "--auto-approve", "--audit-log", "audit.jsonl"),
        tenant.cli("-vv", "import", "--output", "imported.yaml"),
        tenant.cli("-vv", "plan", "stores.yaml", "--api-url", "http://127.0.0.1:1"),
        tenant.cli("-vv", "schema"),
        tenant.cli("-vv", "demo", "--approve", "1"),
        tenant.cli("-v", "apply", "stores.yaml", "--auto-approve", "--format", "json"),
    ]
    token_env = {**tenant.env, "DROPSTREAM_TOKEN": token}
    token_env.pop("DROPSTREAM_PASSWORD")
    token_env.pop("DROPSTREAM_USERNAME")
    import subprocess

    from tests.e2e.harness import CLI

    runs.append(subprocess.run([*CLI, "-vv", "plan", "stores.yaml"], env=token_env,
                               cwd=tenant.workdir, capture_output=True, text=True, timeout=120))
    assert any(r.returncode == 0 for r in runs)
    files = [p.read_text() for p in Path(tenant.workdir).iterdir() if p.is_file()]
    texts = [r.stdout + r.stderr for r in runs] + files
    for text in texts:
        assert tenant.password not in text
        assert token not in text
    assert any("DEBUG" in r.stderr for r in runs), "-vv produced no debug log to check"


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_invalid_config_sends_nothing_to_the_api(tenant: Account, command: str) -> None:
    config = fleet(1, 1)
    config["merchants"][0]["stores"][0]["fulfilment_latency"] = 2
    tenant.write_config(config)
    before = api_requests(tenant)
    args = ["--auto-approve"] if command == "apply" else []
    result = tenant.cli(command, "stores.yaml", *args)
    assert result.returncode == 1
    assert "stores.yaml:" in result.stderr and "fulfilment_latency" in result.stderr
    assert api_requests(tenant) == before, "an invalid config must not reach the API"


def api_requests(tenant: Account) -> int:
    """Requests to the API proper (the control surface's own calls left out)."""
    stats = tenant.control("GET", "/_sandbox/stats")["requests"]
    return sum(n for key, n in stats.items() if "/_sandbox" not in key)
