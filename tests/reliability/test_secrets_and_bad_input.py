"""Credentials never reach any output; an invalid config sends nothing to the API."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import CLI, Account
from tests.reliability.checks import fleet

pytestmark = pytest.mark.e2e


# Every command, each with the exit it must end with: a credential could leak from a run
# that works as well as from one that fails, so both kinds are here, each for its own reason.
RUNS: list[tuple[tuple[str, ...], int, str]] = [
    (("-vv", "validate", "stores.yaml"), 0, ""),
    (("-vv", "plan", "stores.yaml", "--out", "plan.json", "--format", "json"), 0, ""),
    (("-vv", "show", "plan.json", "--format", "markdown"), 0, ""),
    (("-vv", "apply", "stores.yaml", "--audit-log", "audit.jsonl"), 1, "not on a terminal"),
    # A saved plan was the approval: it applies without asking.
    (("-vv", "apply", "plan.json", "--audit-log", "audit.jsonl"), 0, ""),
    (("-vv", "apply", "stores.yaml", "--auto-approve", "--audit-log", "audit.jsonl"), 0, ""),
    (("-vv", "import", "--output", "imported.yaml"), 0, ""),
    (("-vv", "plan", "stores.yaml", "--api-url", "http://127.0.0.1:1"), 1, "127.0.0.1:1"),
    (("-vv", "schema"), 0, ""),
    (("-vv", "demo", "--approve", "1"), 0, ""),
    (("-v", "apply", "stores.yaml", "--auto-approve", "--format", "json"), 0, ""),
]


def test_no_command_shows_the_password_or_token(tenant: Account) -> None:
    tenant.write_config(fleet(2, 2))
    token = httpx.post(
        tenant.server.url + "/auth/token",
        auth=(tenant.username, tenant.password),
        json={"grant_type": "client_credentials"},
        timeout=30,
    ).json()["access_token"]
    runs = []
    for args, code, says in RUNS:
        result = tenant.cli(*args)
        assert result.returncode == code, f"{args}: exit {result.returncode}\n{result.stderr}"
        assert says in result.stderr, f"{args}: {result.stderr}"
        runs.append(result)
    token_env = {**tenant.env, "DROPSTREAM_TOKEN": token}
    token_env.pop("DROPSTREAM_PASSWORD")
    token_env.pop("DROPSTREAM_USERNAME")
    with_token = subprocess.run(
        [*CLI, "-vv", "plan", "stores.yaml"],
        env=token_env,
        cwd=tenant.workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert with_token.returncode == 0, with_token.stderr
    runs.append(with_token)
    files = [p.read_text() for p in Path(tenant.workdir).iterdir() if p.is_file()]
    assert {"plan.json", "audit.jsonl", "imported.yaml"} <= {
        p.name for p in Path(tenant.workdir).iterdir()
    }
    texts = [r.stdout + r.stderr for r in runs] + files
    for text in texts:
        assert tenant.password not in text
        assert token not in text
    # -vv logs each request, and the requests carried both: the checks above had them to
    # find, in every run that spoke to the account.
    spoke = [
        r
        for r in runs
        if "-vv" in r.args
        and {"plan", "apply", "import"} & set(r.args)
        and "--api-url" not in r.args
    ]
    assert len(spoke) == 6
    for run in spoke:
        assert tenant.server.url in run.stderr, f"-vv logged no request: {run.args}"


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
