"""The applier against the in-process sandbox: phases, dependencies, failures, audit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dropstream_sync.apply import AuditLog, apply_plan
from dropstream_sync.cli.connect import open_sandbox
from dropstream_sync.desired import StoreSettings
from dropstream_sync.planner.model import (
    Change,
    ChangeKind,
    CreateMerchant,
    CreateStore,
    Invite,
    Plan,
    Target,
    TargetType,
)
from tests.apply.sandbox_clients import CountsOverlap, on_sandbox


def create_merchant(cid: str, name: str) -> Change:
    return Change(
        cid,
        ChangeKind.CREATE_MERCHANT,
        name,
        None,
        Target(TargetType.CUSTOMER),
        detail=CreateMerchant(name),
    )


def create_store(
    cid: str, merchant: str, name: str, after: str | None = None, customer_id: int | None = None
) -> Change:
    detail = CreateStore(customer_id, name, "ATVPDKIKX0DER", StoreSettings(), customer_ref=after)
    return Change(
        cid,
        ChangeKind.CREATE_STORE,
        merchant,
        name,
        Target(TargetType.STORE),
        depends_on=(after,) if after else (),
        detail=detail,
    )


def invite(cid: str, merchant: str, store: str, after: str) -> Change:
    return Change(
        cid,
        ChangeKind.INVITE,
        merchant,
        store,
        Target(TargetType.STORE),
        depends_on=(after,),
        detail=Invite(None, "ops@example.com", store_ref=after),
    )


@pytest.fixture
def sandbox(tmp_path: Path) -> Any:
    client, _app, _transport = open_sandbox(str(tmp_path / "state"))
    with client:
        yield client


def test_created_ids_flow_to_dependent_changes(sandbox: Any) -> None:
    plan = Plan(
        changes=(
            create_merchant("m1", "Acme"),
            create_store("s1", "Acme", "Acme US", after="m1"),
            invite("i1", "Acme", "Acme US", after="s1"),
        )
    )
    report = sandbox.run(apply_plan(plan, sandbox.aio))
    assert [r.outcome for r in report.results] == ["ok", "ok", "ok"]
    live = sandbox.read_live()
    assert [c.company_name for c in live.customers] == ["Acme"]
    assert [(s.name, s.customer_id) for s in live.stores] == [("Acme US", live.customers[0].id)]
    assert [r.store_id for r in live.authorization_requests] == [live.stores[0].id]


def test_failed_change_skips_dependants_but_not_independent_changes(sandbox: Any) -> None:
    plan = Plan(
        changes=(
            create_merchant("m1", "Acme"),
            create_store("bad", "Ghost", "Ghost US", customer_id=999999),
            create_store("s1", "Acme", "Acme US", after="m1"),
            invite("i-bad", "Ghost", "Ghost US", after="bad"),
            invite("i1", "Acme", "Acme US", after="s1"),
        )
    )
    report = sandbox.run(apply_plan(plan, sandbox.aio))
    outcome = {r.change.id: r.outcome for r in report.results}
    assert outcome == {"m1": "ok", "bad": "failed", "s1": "ok", "i-bad": "skipped", "i1": "ok"}
    failure = next(r for r in report.results if r.change.id == "bad")
    assert failure.error and "POST /stores" in failure.error
    assert len(sandbox.read_live().authorization_requests) == 1


@pytest.mark.parametrize("limit", [1, 3])
def test_changes_of_a_phase_run_in_parallel_up_to_the_limit(tmp_path: Path, limit: int) -> None:
    # Each create waits until `limit` creates are in flight together: a run that does not
    # reach the limit at once never finishes; one that went beyond would be counted.
    client, counting = on_sandbox(CountsOverlap, tmp_path / "state", until=limit)
    plan = Plan(changes=tuple(create_merchant(f"m{i}", f"M{i}") for i in range(12)))
    with client:
        report = client.run(apply_plan(plan, client.aio, parallelism=limit))
        assert len({c.company_name for c in client.read_live().customers}) == 12
    assert report.count("ok") == 12
    assert counting.most == limit


def test_audit_log_appends_one_json_line_per_change(sandbox: Any, tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", "sha256:abc")
    plan = Plan(
        changes=(create_merchant("m1", "Acme"), create_store("s1", "Acme", "Acme US", after="m1"))
    )
    sandbox.run(apply_plan(plan, sandbox.aio, on_result=log.write))
    records = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [r["change_id"] for r in records] == ["m1", "s1"]
    assert all(r["outcome"] == "ok" and r["config_digest"] == "sha256:abc" for r in records)
    assert records[1]["target"]["id"] is not None
    assert {"time", "actor", "git_commit", "kind", "fields", "error"} <= set(records[0])


def test_parallelism_below_one_is_refused() -> None:
    from dropstream_sync.apply import Applier
    from dropstream_sync.errors import DropstreamSyncError

    with pytest.raises(DropstreamSyncError):
        Applier(None, parallelism=0)  # type: ignore[arg-type]


@pytest.mark.parametrize("parallelism", [1, 4])
def test_the_creates_of_one_merchant_are_verified_by_one_read(
    tmp_path: Path, parallelism: int
) -> None:
    # Every create is verified by a read that started after its POST ended; one read can do
    # that for all of a key's creates once the last has posted. A read per `parallelism`
    # creates (or per create) would spend the account's rate limit on reads.
    client, app, _admin = open_sandbox(str(tmp_path / "state"))
    stores = [create_store(f"s{i}", "Acme", f"Acme {i}", after="m1") for i in range(12)]
    others = [create_merchant(f"n{i}", f"Other {i}") for i in range(5)]
    plan = Plan(changes=(create_merchant("m1", "Acme"), *others, *stores))
    with client:
        before = dict(app.stats)
        report = client.run(apply_plan(plan, client.aio, parallelism=parallelism))
        spent = {k: n - before.get(k, 0) for k, n in app.stats.items() if n != before.get(k, 0)}
        live = client.read_live()
    assert report.ok, [r.line() for r in report.results]
    assert len(live.customers) == 6 and len(live.stores) == 12
    assert spent["POST /customers"] == 6 and spent["POST /stores"] == 12
    assert spent["GET /customers"] == 1  # after the six customers' POSTs
    assert spent["GET /stores"] == 1  # after the twelve stores' POSTs
