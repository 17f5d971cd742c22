"""A create is verified by a read right after it: when another apply made the same customer
or store first (lower id), this run takes that one and neutralizes its own."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

import httpx

from dropstream_sync import live
from dropstream_sync.apply import AuditLog, Stop, apply_plan
from dropstream_sync.cli.connect import SANDBOX_URL
from dropstream_sync.client import WriteClient
from dropstream_sync.client.settings import BasicCredentials, ClientSettings, Limits, Secret
from dropstream_sync.client.sync import SyncWriteClient
from dropstream_sync.config import load_text
from dropstream_sync.desired import StoreSettings
from dropstream_sync.errors import ApiError
from dropstream_sync.planner import plan
from dropstream_sync.sandbox import create_app, inprocess_transport
from tests.apply.sandbox_clients import on_sandbox

CONFIG = """
version: 1
merchants:
  - name: Acme
    email: ops@acme.example
    stores:
      - name: Acme US
        marketplace: US
"""


class RacedByAnotherApply(WriteClient):
    """Before each of its first creates, "another apply" creates the same object: what two
    machines do when both planned against an account without it."""

    async def create_customer(self, company_name: str, **kwargs: Any) -> int:
        await super().create_customer(company_name)
        return await super().create_customer(company_name, **kwargs)

    async def create_store(
        self,
        customer_id: int,
        name: str,
        marketplace_id: str,
        settings: StoreSettings,
        **kwargs: Any,
    ) -> int:
        await super().create_store(customer_id, name, marketplace_id, settings)
        return await super().create_store(customer_id, name, marketplace_id, settings, **kwargs)


def test_the_run_whose_objects_came_second_takes_the_first_and_neutralizes_its_own(
    tmp_path: Path,
) -> None:
    client, _ = on_sandbox(RacedByAnotherApply, tmp_path / "state")
    desired = load_text(CONFIG, "stores.yaml")
    with client:
        now = client.clock()
        first = plan(desired, client.read_live(), now=now)
        assert [str(c.kind) for c in first.changes] == ["create_merchant", "create_store", "invite"]
        with AuditLog(tmp_path / "audit.jsonl") as audit:
            report = client.run(apply_plan(first, client.aio, audit=audit))
        assert report.ok, [r.line() for r in report.results]
        live = client.read_live()
        again = plan(desired, client.read_live(["Acme"]), now=client.clock())

    customers = sorted(live.customers, key=lambda c: c.id)
    kept, own = customers
    assert kept.company_name == "Acme"
    assert own.company_name == f"Acme [duplicate of {kept.id}, neutralized by dropstream-sync]"
    merchant, store, invite = report.results
    assert merchant.target["id"] == kept.id and merchant.created_id == own.id
    assert merchant.note and f"created customer {kept.id} first" in merchant.note

    # The store was made under the customer taken over, and raced the same way.
    stores = sorted(live.stores, key=lambda s: s.id)
    assert {s.customer_id for s in stores} == {kept.id}
    live_store, neutral = stores
    assert live_store.name == "Acme US"
    assert neutral.name.startswith(f"Acme US [duplicate of {live_store.id},")
    assert not neutral.enabled
    assert store.target["id"] == live_store.id and store.created_id == neutral.id
    # One invitation, to the store that stays.
    assert invite.target["id"] == live_store.id
    assert [r.store_id for r in live.authorization_requests] == [live_store.id]

    lines = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [line["note"] is not None for line in lines] == [True, True, False]
    assert "neutralized" not in (invite.note or "")
    assert "renamed" in merchant.line() and "disabled and renamed" in store.line()
    # Nothing left to do: one live customer and one live store per desired one.
    assert [str(c.kind) for c in again.changes] == []


def test_a_create_that_raced_nobody_keeps_its_own_object(tmp_path: Path) -> None:
    client, _ = on_sandbox(WriteClient, tmp_path / "state")
    desired = load_text(CONFIG, "stores.yaml")
    with client:
        report = client.run(
            apply_plan(plan(desired, client.read_live(), now=client.clock()), client.aio)
        )
        live = client.read_live()
    assert report.ok and all(r.note is None for r in report.results)
    assert [c.company_name for c in live.customers] == ["Acme"]
    assert report.results[0].target["id"] == report.results[0].created_id == live.customers[0].id


def test_duplicates_found_by_the_plan_are_neutralized_by_apply(tmp_path: Path) -> None:
    client, _ = on_sandbox(WriteClient, tmp_path / "state")
    desired = load_text(CONFIG, "stores.yaml")
    c = client.aio
    with client:
        first = client.run(c.create_customer("Acme"))
        second = client.run(c.create_customer("Acme"))
        us = "ATVPDKIKX0DER"
        kept = client.run(c.create_store(first, "Acme US", us, StoreSettings()))
        extra = client.run(c.create_store(first, "Acme US", us, StoreSettings()))
        other = client.run(c.create_store(second, "Acme US", us, StoreSettings()))
        client.run(c.update_store(other, enabled_at=client.clock()))
        for store_id in (kept, extra, other):
            client.run(c.create_authorization_request(store_id, "ops@acme.example"))
        reviewed = plan(desired, client.read_live(["Acme"]), now=client.clock())
        assert sorted(str(x.kind) for x in reviewed.changes) == ["neutralize_duplicate"] * 2
        report = client.run(apply_plan(reviewed, c))
        assert report.ok, [r.line() for r in report.results]
        live = client.read_live()
        after = plan(desired, client.read_live(["Acme"]), now=client.clock())
    names = {x.id: x.company_name for x in live.customers}
    assert names[first] == "Acme" and names[second].startswith(f"Acme [duplicate of {first},")
    stores = {s.id: s for s in live.stores}
    assert stores[kept].name == "Acme US"
    assert stores[extra].name.startswith(f"Acme US [duplicate of {kept},")
    assert not stores[extra].enabled and not stores[other].enabled
    assert [r.store_id for r in live.authorization_requests] == [kept]
    assert [str(x.kind) for x in after.changes] == []


class RenameRefused(RacedByAnotherApply):
    """Raced like above, but the PATCH that would neutralize its own customer is refused."""

    async def rename_customer(self, customer_id: int, company_name: str) -> None:
        raise ApiError(
            "Service Unavailable",
            method="PATCH",
            path=f"/customers/{customer_id}",
            status=503,
        )


class StoppedWhileVerifying(WriteClient):
    """The store's POST ends, then a second Ctrl-C comes while the read that verifies it
    runs (a slow list): the create is cut short after it was made."""

    stop: Stop

    async def list_stores(self, platform: str | None = None, **kwargs: Any) -> Any:
        if kwargs.get("customer_id") is not None:
            self.stop.request(signal.SIGINT)
            self.stop.request(signal.SIGINT)
            await asyncio.Event().wait()
        return await super().list_stores(platform, **kwargs)


def test_a_create_whose_neutralization_failed_names_the_object_it_made(tmp_path: Path) -> None:
    """A customer made, whose change then failed (its neutralization refused), exists: its
    result and audit line name it, as create_connection's do, not `created_id: null`."""
    client, raced = on_sandbox(RenameRefused, tmp_path / "raced")
    desired = load_text(CONFIG, "stores.yaml")
    with client, AuditLog(tmp_path / "raced.jsonl") as audit:
        report = client.run(
            apply_plan(plan(desired, client.read_live(), now=client.clock()), raced, audit=audit)
        )
        customers = sorted(c.id for c in client.read_live().customers)
    merchant = report.results[0]
    assert merchant.outcome == "failed"
    assert merchant.created_id == customers[-1], merchant.line()
    assert merchant.note is not None and f"customer {customers[-1]} was created" in merchant.note
    line = json.loads((tmp_path / "raced.jsonl").read_text().splitlines()[0])
    assert line["created_id"] == customers[-1] and line["outcome"] == "failed"


def test_a_create_interrupted_after_its_post_is_ok_and_names_the_object_it_made(
    tmp_path: Path,
) -> None:
    """A store made, whose change was then cut short (a second Ctrl-C while its verifying
    read ran), exists and is billed: the POST's answer said so, so its result and audit
    line are ok and name it (not "unknown": nothing of it was in flight but a read), and
    say that the check for a concurrent apply's duplicate was not made."""
    desired = load_text(CONFIG, "stores.yaml")
    client, cut = on_sandbox(StoppedWhileVerifying, tmp_path / "cut")
    cut.stop = Stop(grace=5)
    with client, AuditLog(tmp_path / "cut.jsonl") as audit:
        report = client.run(
            apply_plan(
                plan(desired, client.read_live(), now=client.clock()),
                cut,
                audit=audit,
                stop=cut.stop,
            )
        )
        stores = [s.id for s in client.read_live().stores]
    assert [(str(r.change.kind), r.outcome) for r in report.results] == [
        ("create_merchant", "ok"),
        ("create_store", "ok"),
    ]
    store = report.results[1]
    assert len(stores) == 1 and store.created_id == stores[0], store.line()
    assert store.line().startswith(f"✓ create_store Acme / Acme US (store {stores[0]})")
    assert "stopped during the read meant to find a concurrent apply's duplicate" in store.line()
    assert report.interrupted == signal.SIGINT and report.count("unknown") == 0
    line = json.loads((tmp_path / "cut.jsonl").read_text().splitlines()[1])
    assert line["created_id"] == stores[0] and line["target"]["id"] == stores[0]
    assert line["outcome"] == "ok" and line["error"] is None


class AnotherApplyFirst(WriteClient):
    """Before each invite and each connection, "another apply" (a runner with another lock
    folder, applying the same plan) sends the same one: this run's POST answers 409."""

    async def create_authorization_request(
        self, store_id: int, email: str, **kwargs: Any
    ) -> live.AuthorizationRequest:
        await super().create_authorization_request(store_id, email)
        return await super().create_authorization_request(store_id, email, **kwargs)

    async def create_connection(
        self, customer_id: int, store_id: int, warehouse_id: int, name: str, **kwargs: Any
    ) -> int:
        await super().create_connection(customer_id, store_id, warehouse_id, name)
        return await super().create_connection(customer_id, store_id, warehouse_id, name, **kwargs)


def test_an_invite_or_connection_another_apply_made_first_says_this_run_made_none(
    tmp_path: Path,
) -> None:
    """The run whose invite (or connection) met the other runner's (409) takes that one, as
    documented, and says it sent no email (made no connection): two runners' audit logs
    would otherwise both read as having sent the one email."""
    app = create_app(tmp_path / "state")
    info = app.sandbox_info
    transport = inprocess_transport(app)
    settings = ClientSettings(
        SANDBOX_URL,
        BasicCredentials(info.username, Secret(info.password)),
        Limits(rate_limit_rps=None),
    )
    client = SyncWriteClient(AnotherApplyFirst(settings, transport=transport))
    admin = httpx.AsyncClient(
        transport=transport, base_url=SANDBOX_URL, headers={"X-Sandbox-Admin": info.admin_key}
    )
    desired = load_text(CONFIG, "stores.yaml")
    with client, AuditLog(tmp_path / "audit.jsonl") as audit:
        first = plan(desired, client.read_live(), now=client.clock())
        invited = client.run(apply_plan(first, client.aio, audit=audit)).results[-1]
        outbox = client.run(admin.get("/_sandbox/outbox")).json()
        request_id = outbox[0]["authorization_request_id"]
        client.run(admin.post(f"/_sandbox/authorization_requests/{request_id}/complete", json={}))
        second = plan(desired, client.read_live(), now=client.clock())
        connected = client.run(apply_plan(second, client.aio, audit=audit)).results[-1]
        connections = client.read_live().connections
        client.run(admin.aclose())

    assert len(outbox) == 1
    assert str(invited.change.kind) == "invite" and invited.outcome == "ok"
    assert invited.created_id == request_id
    assert "this apply sent no email" in invited.line()
    assert (
        invited.note and f"request {request_id} to this email was already pending" in invited.note
    )
    assert str(connected.change.kind) == "create_connection" and connected.outcome == "ok"
    assert len(connections) == 1 and connected.target["id"] == connections[0].id
    assert connected.created_id == connections[0].id
    assert connected.note and "already existed (another apply made it)" in connected.note
    lines = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(x["kind"], x["created_id"]) for x in lines if x["note"]] == [
        ("invite", request_id),
        ("create_connection", connections[0].id),
    ]
