"""Three applies of one config at once, as three CI runners would start them: different lock
folders, different spellings of the server's URL, a login and a token of that login. The
local lock cannot keep them apart; the read after each create must. Afterwards the account
has one live customer and one live store per desired one, at most one pending request per
store, and a plan has nothing to do."""

from __future__ import annotations

import json
import random
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import CLI, Account, Server, new_account, start_server, stop_server
from tests.reliability.checks import all_pages, fleet

pytestmark = pytest.mark.e2e

MARK = "neutralized by dropstream-sync]"


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose every request takes a while, so that the applies overlap."""
    srv = start_server(tmp_path_factory.mktemp("concurrent-state"), "--latency-ms", "15")
    yield srv
    stop_server(srv)


def token_of(account: Account) -> str:
    answer = httpx.post(
        account.server.url + "/auth/token",
        auth=(account.username, account.password),
        json={"grant_type": "client_credentials"},
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def runners(account: Account, tmp: Path) -> list[tuple[list[str], dict[str, str]]]:
    """Three ways to run the same apply, each with its own lock folder."""
    port = account.server.url.rsplit(":", 1)[1]
    login = account.env
    by_token = {
        k: v for k, v in login.items() if k not in ("DROPSTREAM_USERNAME", "DROPSTREAM_PASSWORD")
    }
    by_token["DROPSTREAM_TOKEN"] = token_of(account)
    out = []
    for i, (env, url) in enumerate(
        (
            (login, f"http://127.0.0.1:{port}"),
            (by_token, f"http://localhost:{port}"),
            (login, f"http://localhost:{port}/"),
        )
    ):
        folder = tmp / f"runner-{i}"
        folder.mkdir()
        out.append((["--api-url", url], {**env, "XDG_RUNTIME_DIR": str(folder)}))
    return out


def assert_one_live_object_per_desired_one(account: Account, config: dict[str, Any]) -> None:
    customers = all_pages(account, "/customers")
    live_customers = [c for c in customers if MARK not in c["company_name"]]
    names = Counter(c["company_name"] for c in live_customers)
    assert max(names.values()) == 1, f"two live customers of one name: {names}"
    wanted = {m["name"] for m in config["merchants"]}
    assert set(names) == wanted

    live_ids = {c["id"] for c in live_customers}
    stores = all_pages(account, "/stores")
    live_stores = [s for s in stores if MARK not in s["name"]]
    assert all(s["customer_id"] in live_ids for s in live_stores), "a live store of a duplicate"
    per_name = Counter((s["customer_id"], s["name"]) for s in live_stores)
    assert max(per_name.values()) == 1, f"two live stores of one name: {per_name}"
    assert len(live_stores) == sum(len(m["stores"]) for m in config["merchants"])

    pending = Counter(
        r["store_id"] for r in all_pages(account, "/authorization_requests", status="pending")
    )
    assert not pending or max(pending.values()) == 1, "two pending requests for one store"
    neutralized = {s["id"] for s in stores if MARK in s["name"]}
    assert not neutralized & set(pending), "a neutralized store still has a pending invite"
    assert all(s["enabled_at"] is None for s in stores if s["id"] in neutralized)
    assert set(pending) == {s["id"] for s in live_stores}, "a store was not invited"


def three_applies_at_once(account: Account, tmp: Path, seed: int, merchants: int) -> None:
    config = fleet(merchants, 3)
    account.write_config(config)
    rng = random.Random(seed)
    processes = []
    for extra, env in rng.sample(runners(account, tmp), 3):
        processes.append(
            subprocess.Popen(
                [*CLI, "apply", "stores.yaml", "--auto-approve", *extra],
                env=env,
                cwd=account.workdir,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                stdin=subprocess.DEVNULL,
            )
        )
        time.sleep(rng.uniform(0, 0.3))  # the runners start a moment apart, as CI's do
    outputs = [p.communicate(timeout=300) for p in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert "Traceback" not in err, err
        # A run may refuse (its plan saw the others' duplicates beyond a safety threshold),
        # but says why; none may fail a change.
        assert process.returncode in (0, 1), err
        if process.returncode:
            assert "blocked" in err, f"{out}\n{err}"
    assert any(p.returncode == 0 for p in processes), [e for _o, e in outputs]
    assert_one_live_object_per_desired_one(account, config)
    assert account.cli("plan", "stores.yaml", "--detailed-exitcode").returncode == 0
    # Each invitation email went to a store that stays, once per store.
    sent = Counter(m["authorization_request_id"] for m in account.outbox())
    assert max(sent.values()) == 1


@pytest.fixture
def tenant(slow_server: Server, tmp_path: Path) -> Account:
    work = tmp_path / "work"
    work.mkdir()
    return new_account(slow_server, work, "trio")


def test_three_applies_with_other_lock_folders_urls_and_credentials_leave_no_duplicates(
    tenant: Account, tmp_path: Path
) -> None:
    three_applies_at_once(tenant, tmp_path, seed=1, merchants=3)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2, 3, 4, 5, 6])
def test_three_applies_at_once_converge_for_any_start_order(
    tenant: Account, tmp_path: Path, seed: int
) -> None:
    three_applies_at_once(tenant, tmp_path, seed=seed, merchants=6)


def saved_plan_applied_by_two_runners(account: Account, tmp: Path, seed: int) -> None:
    """`apply plan.json` of one reviewed plan on two runners at once (each its own lock
    folder), then once more: each run applies it whole or refuses it as stale, and the
    account ends as one apply of it would leave it."""
    config = fleet(2, 2)
    account.write_config(config)
    account.cli("plan", "stores.yaml", "--out", "plan.json", check=True)
    rng = random.Random(seed)
    # Slow enough that both runs have read (and found the plan fresh) before either's
    # first write lands: the race the stale check cannot see.
    account.control("POST", "/_sandbox/faults", {"rate": 0, "latency_ms": 250})
    try:
        outputs = _two_runners_apply(account, tmp, rng)
    finally:
        account.control("POST", "/_sandbox/faults", {"rate": 0, "latency_ms": 15})
    assert all(code == 0 for code, _, _ in outputs), outputs
    again = account.cli("apply", "plan.json")
    assert again.returncode == 1 and "plan is stale" in again.stderr, again.stderr

    assert_one_live_object_per_desired_one(account, config)
    assert account.cli("plan", "stores.yaml", "--detailed-exitcode").returncode == 0
    stores = {s["id"]: s["name"] for s in all_pages(account, "/stores")}
    requests = {r["id"]: r["store_id"] for r in all_pages(account, "/authorization_requests")}
    emails = Counter(stores[requests[m["authorization_request_id"]]] for m in account.outbox())
    assert set(emails.values()) == {1} and len(emails) == len(requests), emails
    # The two audit logs together claim each email once: a run whose invite met the other's
    # (409) says it sent none.
    claimed = [
        line["created_id"]
        for i in range(2)
        if (log := account.workdir / f"audit-{i}.jsonl").exists()
        for line in map(json.loads, log.read_text().splitlines())
        if line["kind"] == "invite" and "this apply sent no email" not in (line["note"] or "")
    ]
    assert sorted(claimed) == sorted(requests), claimed


def _two_runners_apply(
    account: Account, tmp: Path, rng: random.Random
) -> list[tuple[int, str, str]]:
    """`apply plan.json` on two runners, a moment apart, each with its own lock folder."""
    processes = []
    # A saved plan is applied only at the URL it names (one spelling), by its login.
    for i in range(2):
        folder = tmp / f"saved-runner-{i}"
        folder.mkdir()
        env = {**account.env, "XDG_RUNTIME_DIR": str(folder)}
        processes.append(
            subprocess.Popen(
                [*CLI, "apply", "plan.json", "--audit-log", f"audit-{i}.jsonl"],
                env=env,
                cwd=account.workdir,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                stdin=subprocess.DEVNULL,
            )
        )
        time.sleep(rng.uniform(0, 0.2))
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert "Traceback" not in err, err
        outputs.append((process.returncode, out, err))
    return outputs


def test_one_saved_plan_applied_by_two_runners_at_once_is_applied_once(
    tenant: Account, tmp_path: Path
) -> None:
    saved_plan_applied_by_two_runners(tenant, tmp_path, seed=1)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2, 3, 4, 5])
def test_one_saved_plan_applied_by_two_runners_for_any_start_order(
    tenant: Account, tmp_path: Path, seed: int
) -> None:
    saved_plan_applied_by_two_runners(tenant, tmp_path, seed=seed)
