"""A create whose answer was lost, and whose object a read then found, cannot tell whether
its own POST made that object or a concurrent apply's did (the API has no idempotency key).
Two runners whose logs both said "made" (an email sent, a connection billed) would count
one object twice; the record says instead that it may be either run's.

The answer is lost after the sandbox processed the POST, which is what the client sees
when another runner's POST made the object and its own never arrived: the other runner's
log claims it, and the two logs together must still count it once."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from dropstream_sync import workflows
from dropstream_sync.client import WriteClient
from dropstream_sync.client.limiter import Timing
from dropstream_sync.client.sync import SyncWriteClient
from dropstream_sync.sandbox import control, create_app, inprocess_transport
from tests.apply.record_check import Truth, problems, read_audit
from tests.apply.sandbox_clients import sandbox_settings
from tests.client.on_sandbox import ScriptedFaults

CONFIG = {
    "version": 1,
    "merchants": [
        {
            "name": "Acme",
            "email": "ops@acme.example",
            "stores": [{"name": "Acme US", "marketplace": "US"}],
        }
    ],
}


async def _no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


@pytest.mark.parametrize(
    ("kind", "path", "table"),
    [
        ("create_merchant", r"/customers", "customers"),
        ("create_store", r"/stores", "stores"),
        ("invite", r"/stores/\d+/authorization_requests", "requests"),
        ("create_connection", r"/connections", "connections"),
    ],
)
def test_a_create_found_after_a_lost_answer_is_not_counted_as_surely_this_runs(
    tmp_path: Path, kind: str, path: str, table: str
) -> None:
    state = tmp_path / "state"
    app = create_app(state)
    wire = ScriptedFaults(inprocess_transport(app))
    settings = sandbox_settings(app, lock_scope=str(state))
    client = SyncWriteClient(WriteClient(settings, transport=wire, timing=Timing(sleep=_no_wait)))
    config = tmp_path / "stores.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    audit = tmp_path / "audit.jsonl"
    with client:
        if kind == "create_connection":
            workflows.apply(client, [str(config)])
            with app.db.read() as conn:
                (request,) = [
                    r["id"] for r in conn.execute("SELECT id FROM authorization_requests")
                ]
            control.complete(app, {}, {}, request)
        before = Truth.read(state)
        wire.fail("POST", path, "drop_after")
        report = workflows.apply(client, [str(config)], audit_log=audit).report
    after = Truth.read(state)
    assert report is not None
    (result,) = [r for r in report.results if r.change.kind == kind]
    (made,) = getattr(after, table).keys() - getattr(before, table).keys()
    assert result.created_id == made, result.line()
    # What the other runner's log would say of it, had its POST made the object.
    other: dict[str, Any] = {
        **json.loads(json.dumps(next(r for r in read_audit(audit) if r["kind"] == kind))),
        "created_id": made,
        "note": None,
        "outcome": "ok",
    }
    records = read_audit(audit)
    assert problems(before, after, [*records, other]) == []
    assert problems(before, after, records) == []
    assert "or a concurrent apply did" in (result.note or ""), result.line()
    assert "its answer was lost" in result.line()


class AnotherRunnerRightAfter(httpx.AsyncBaseTransport):
    """The first POST of `path` is made, then another runner's same POST right after it;
    then this run's answer is lost. Its read finds two objects, the newest the other's."""

    def __init__(self, inner: httpx.AsyncBaseTransport, path: str) -> None:
        self._inner = inner
        self._path = path
        self._done = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._done or request.method != "POST" or request.url.path != self._path:
            return await self._inner.handle_async_request(request)
        self._done = True
        body = await request.aread()
        for _ in range(2):
            copy = httpx.Request("POST", request.url, headers=request.headers, content=body)
            await (await self._inner.handle_async_request(copy)).aread()
        raise httpx.RemoteProtocolError("server disconnected", request=request)


@pytest.mark.parametrize(
    ("kind", "path"), [("create_merchant", "/customers"), ("create_store", "/stores")]
)
def test_a_create_that_cannot_tell_which_of_two_look_alikes_it_made_says_so(
    tmp_path: Path, kind: str, path: str
) -> None:
    """Before, it named the other runner's object as its own and said a concurrent apply
    made the one it had made itself."""
    state = tmp_path / "state"
    app = create_app(state)
    settings = sandbox_settings(app, lock_scope=str(state))
    wire = AnotherRunnerRightAfter(inprocess_transport(app), path)
    client = SyncWriteClient(WriteClient(settings, transport=wire, timing=Timing(sleep=_no_wait)))
    config = tmp_path / "stores.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    audit = tmp_path / "audit.jsonl"
    before = Truth.read(state)
    with client:
        report = workflows.apply(client, [str(config)], audit_log=audit).report
    after = Truth.read(state)
    assert report is not None
    (result,) = [r for r in report.results if r.change.kind == kind]
    assert result.outcome == "ok" and result.target_id == 1 and result.created_id == 2
    assert "a concurrent apply created" not in (result.note or ""), result.line()
    assert "a read found" in (result.note or "") and "or a concurrent apply did" in (
        result.note or ""
    ), result.line()
    # The other runner's log: it made 2, and yielded to 1 (made, it would think, by us).
    other = {
        **next(r for r in read_audit(audit) if r["kind"] == kind),
        "created_id": 2,
        "note": "a concurrent apply created it first",
    }
    assert problems(before, after, [*read_audit(audit), other]) == []
