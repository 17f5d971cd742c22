"""A POST whose answer is lost is never sent again blindly: the client reads first.

Against the real sandbox; the fault layer in front of it (on_sandbox.py) loses the one
answer each test is about."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from dropstream_sync import live
from dropstream_sync.client import ReadClient, WriteClient
from dropstream_sync.desired import StoreSettings
from dropstream_sync.errors import ApiError, ConflictError
from tests.client.on_sandbox import US, Box

COMMITTED = ["drop_after", "timeout_after", "500_after"]
NOT_COMMITTED = ["drop_before", 500, 502, 503]
R = TypeVar("R")


def see(box: Box, read: Callable[[ReadClient], Awaitable[R]]) -> R:
    async def run() -> R:
        async with box.observer() as client:
            return await read(client)

    return asyncio.run(run())


def setup(box: Box, *, store: bool = False, authorized: bool = False) -> tuple[int, int]:
    async def run() -> tuple[int, int]:
        async with box.observer_writer() as client:
            cid = await client.create_customer("Acme")
            if not store:
                return cid, 0
            sid = await client.create_store(cid, "Acme US", US, StoreSettings())
            if authorized:
                invite = await client.create_authorization_request(sid, "ops@acme.example")
                await box.admin(
                    "POST",
                    f"/_sandbox/authorization_requests/{invite.id}/complete",
                    {"selling_partner_id": "A1ACME"},
                )
            return cid, sid

    return asyncio.run(run())


def _store(box: Box, cid: int, writer: WriteClient) -> int:
    return asyncio.run(writer.create_store(cid, "Acme US", US, StoreSettings()))


async def _stores(client: ReadClient) -> list[live.Store]:
    return await client.list_stores()


async def _requests(client: ReadClient) -> list[live.AuthorizationRequest]:
    return await client.list_authorization_requests(None)


@pytest.mark.parametrize("kind", COMMITTED)
def test_a_store_whose_answer_was_lost_after_commit_is_found_not_created_twice(
    box: Box, kind: str
) -> None:
    cid, _ = setup(box)
    box.wire.fail("POST", "/stores", kind)

    sid = _store(box, cid, box.writer())

    assert [s.id for s in see(box, _stores)] == [sid]
    assert len(box.wire.calls("POST", "/stores")) == 1
    lookup = box.wire.calls("GET", "/stores")[0].url.params
    assert lookup["customer_id"] == str(cid) and lookup["platform"] == "amazon"


@pytest.mark.parametrize("kind", NOT_COMMITTED)
def test_a_store_whose_post_did_not_commit_is_posted_again_after_checking(
    box: Box, kind: str | int
) -> None:
    cid, _ = setup(box)
    box.wire.fail("POST", "/stores", kind)

    sid = _store(box, cid, box.writer())

    assert [s.id for s in see(box, _stores)] == [sid]
    assert len(box.wire.calls("POST", "/stores")) == 2
    assert len(box.wire.calls("GET", "/stores")) == 1


def test_a_post_that_never_reached_the_server_is_sent_again_without_a_read(box: Box) -> None:
    cid, _ = setup(box)
    box.wire.fail("POST", "/stores", "connect")
    box.wire.fail("POST", "/stores", 429, headers={"Retry-After": "1"})

    _store(box, cid, box.writer())

    assert len(see(box, _stores)) == 1
    assert len(box.wire.calls("POST", "/stores")) == 3
    assert box.wire.calls("GET") == []


@pytest.mark.parametrize("kind", COMMITTED)
def test_a_customer_whose_answer_was_lost_is_found_by_company_name(box: Box, kind: str) -> None:
    asyncio.run(box.observer_writer().create_customer("Someone Else"))
    box.wire.fail("POST", "/customers", kind)

    cid = asyncio.run(box.writer().create_customer("Acme"))

    customers = see(box, lambda c: c.list_customers())
    assert [c.company_name for c in customers if c.id == cid] == ["Acme"]
    assert len(customers) == 2
    assert len(box.wire.calls("POST", "/customers")) == 1


@pytest.mark.parametrize("kind", COMMITTED)
def test_a_connection_whose_answer_was_lost_is_found_by_its_natural_key(
    box: Box, kind: str
) -> None:
    cid, sid = setup(box, store=True, authorized=True)
    wid = see(box, lambda c: c.list_warehouses())[0].id
    box.wire.fail("POST", "/connections", kind)

    conn = asyncio.run(box.writer().create_connection(cid, sid, wid, "Acme US"))

    assert [c.id for c in see(box, lambda c: c.list_connections())] == [conn]
    assert len(box.wire.calls("POST", "/connections")) == 1
    lookup = box.wire.calls("GET", "/connections")[0].url.params
    assert (lookup["customer_id"], lookup["store_id"]) == (str(cid), str(sid))


@pytest.mark.parametrize("kind", COMMITTED)
def test_an_invite_whose_answer_was_lost_is_found_pending_for_its_store(
    box: Box, kind: str
) -> None:
    _, sid = setup(box, store=True)
    box.wire.fail("POST", r"/stores/\d+/authorization_requests", kind)

    request = asyncio.run(box.writer().create_authorization_request(sid, "ops@acme.example"))

    assert [r.id for r in see(box, _requests)] == [request.id]
    assert request.status == "pending"
    assert len(box.wire.calls("POST", r"/stores/\d+/authorization_requests")) == 1


def test_a_connection_that_already_exists_is_success_with_its_id(box: Box) -> None:
    cid, sid = setup(box, store=True, authorized=True)
    wid = see(box, lambda c: c.list_warehouses())[0].id

    async def twice() -> tuple[int, int]:
        client = box.writer()
        return (
            await client.create_connection(cid, sid, wid, "Acme US"),
            await client.create_connection(cid, sid, wid, "Acme US"),
        )

    first, second = asyncio.run(twice())
    assert first == second
    assert len(see(box, lambda c: c.list_connections())) == 1


def test_two_concurrent_invites_to_the_same_email_both_succeed_with_one_request(
    box: Box,
) -> None:
    _, sid = setup(box, store=True)

    async def both() -> list[int]:
        a, b = box.writer(), box.writer()
        got = await asyncio.gather(
            a.create_authorization_request(sid, "ops@acme.example"),
            b.create_authorization_request(sid, "OPS@acme.example"),
        )
        return [r.id for r in got]

    ids = asyncio.run(both())
    assert ids[0] == ids[1]
    assert len(see(box, _requests)) == 1


def test_a_pending_invite_to_another_email_is_a_conflict(box: Box) -> None:
    _, sid = setup(box, store=True)

    async def scenario() -> None:
        client = box.writer()
        await client.create_authorization_request(sid, "old@acme.example")
        await client.create_authorization_request(sid, "new@acme.example")

    with pytest.raises(ConflictError, match=r"POST /stores/\d+/authorization_requests -> 409"):
        asyncio.run(scenario())


def test_a_cancel_whose_answer_was_lost_is_done_when_the_retry_finds_it_gone(
    box: Box,
) -> None:
    _, sid = setup(box, store=True)

    async def scenario() -> None:
        client = box.writer()
        request = await client.create_authorization_request(sid, "ops@acme.example")
        box.wire.fail("DELETE", r"/authorization_requests/\d+", "drop_after")
        await client.cancel_authorization_request(request.id)

    asyncio.run(scenario())
    assert [r.status for r in see(box, _requests)] == ["canceled"]
    assert len(box.wire.calls("DELETE")) == 2


def test_cancelling_an_already_canceled_request_is_done(box: Box) -> None:
    _, sid = setup(box, store=True)

    async def scenario() -> None:
        client = box.writer()
        request = await client.create_authorization_request(sid, "ops@acme.example")
        await client.cancel_authorization_request(request.id)
        await client.cancel_authorization_request(request.id)

    asyncio.run(scenario())  # the second cancel is done, not a 409 error
    assert [r.status for r in see(box, _requests)] == ["canceled"]
    assert len(box.wire.calls("DELETE")) == 2
    assert len(box.wire.calls("GET", r"/authorization_requests/\d+")) == 1  # it checked


def test_cancelling_a_completed_request_is_a_conflict(box: Box) -> None:
    _, sid = setup(box, store=True)

    async def scenario() -> None:
        client = box.writer()
        request = await client.create_authorization_request(sid, "ops@acme.example")
        await box.admin("POST", f"/_sandbox/authorization_requests/{request.id}/complete", {})
        await client.cancel_authorization_request(request.id)

    with pytest.raises(ConflictError, match="409"):
        asyncio.run(scenario())


def test_a_create_whose_answer_and_recovery_read_were_both_lost_may_have_committed(
    box: Box,
) -> None:
    cid, _ = setup(box)
    box.wire.fail("POST", "/stores", "drop_after")
    box.wire.fail("GET", "/stores", 503, times=100)

    with pytest.raises(ApiError) as caught:
        _store(box, cid, box.writer(max_attempts=3))

    assert caught.value.may_have_committed
    assert str(caught.value).startswith("POST /stores: the answer was lost")
    assert len(see(box, _stores)) == 1  # it did commit; the next run's read will find it


def test_a_write_that_never_got_an_answer_may_have_committed_and_a_read_never_does(
    box: Box,
) -> None:
    _, sid = setup(box, store=True)
    box.wire.fail("PATCH", r"/stores/\d+", "timeout_after", times=100)
    box.wire.fail("GET", r"/stores/\d+", "timeout_after", times=100)

    with pytest.raises(ApiError) as patch:
        asyncio.run(box.writer(max_attempts=2).update_store(sid, name="Renamed"))
    with pytest.raises(ApiError) as read:
        asyncio.run(box.writer(max_attempts=2).get_store(sid))

    assert patch.value.may_have_committed and "gave up after 2 attempt(s)" in str(patch.value)
    assert not read.value.may_have_committed


def test_a_write_refused_before_it_was_processed_did_not_commit(box: Box) -> None:
    box.wire.fail("POST", "/customers", 429, times=100)

    with pytest.raises(ApiError) as caught:
        asyncio.run(box.writer(max_attempts=2).create_customer("Acme"))

    assert not caught.value.may_have_committed  # a 429 is refused before processing
    assert see(box, lambda c: c.list_customers()) == []


# A success status whose body says nothing usable: an HTML page from a proxy, an id that is
# a string, an object without its fields. The POST did take effect (its status says so).
GARBLED = ["<html><body>Created</body></html>", {"id": "7"}, {"id": None}, ["ok"]]


@pytest.mark.parametrize("body", GARBLED)
def test_a_customer_created_with_an_unreadable_answer_is_found_with_its_real_id(
    box: Box, body: object
) -> None:
    box.wire.fail("POST", "/customers", "garbled_after", body=body)

    cid = asyncio.run(box.writer().create_customer("Acme"))

    assert [c.id for c in see(box, lambda c: c.list_customers())] == [cid]
    assert len(box.wire.calls("POST", "/customers")) == 1


def test_an_invite_created_with_an_unreadable_answer_is_the_pending_request_not_a_failure(
    box: Box,
) -> None:
    _, sid = setup(box, store=True)
    path = r"/stores/\d+/authorization_requests"
    box.wire.fail("POST", path, "garbled_after", body={"id": 99, "status": "pending"})

    request = asyncio.run(box.writer().create_authorization_request(sid, "ops@acme.example"))

    assert [r.id for r in see(box, _requests)] == [request.id]
    assert len(box.wire.calls("POST", path)) == 1  # one email, not two


def test_an_unreadable_success_whose_read_fails_too_may_have_committed(box: Box) -> None:
    cid, _ = setup(box)
    box.wire.fail("POST", "/stores", "garbled_after", body="<html>OK</html>")
    box.wire.fail("GET", "/stores", 503, times=100)

    with pytest.raises(ApiError) as caught:
        _store(box, cid, box.writer(max_attempts=2))

    assert caught.value.may_have_committed
    assert "answered 201 (done)" in str(caught.value)
    assert len(box.wire.calls("POST", "/stores")) == 1


# Redirects are never followed (one could carry the token to another host), so a write
# answered with one did whatever the server did before it redirected.


def test_a_redirect_is_not_followed_and_the_error_says_where_it_pointed(box: Box) -> None:
    box.wire.fail("GET", "/customers", 302, headers={"Location": "https://elsewhere.example/c"})

    with pytest.raises(ApiError) as caught:
        asyncio.run(box.reader().list_customers())

    assert str(caught.value).startswith(
        "GET /customers -> 302: redirected to https://elsewhere.example/c, not followed"
    )
    assert {r.url.host for r in box.wire.log} == {"sandbox.local"}


def test_a_create_answered_303_after_it_was_done_is_found_by_a_read(box: Box) -> None:
    box.wire.fail("POST", "/customers", "303_after", headers={"Location": "/customers/1"})

    cid = asyncio.run(box.writer().create_customer("Acme"))

    assert [c.id for c in see(box, lambda c: c.list_customers())] == [cid]
    assert len(box.wire.calls("POST", "/customers")) == 1


def test_a_create_redirected_before_it_was_done_fails_and_is_not_posted_again(box: Box) -> None:
    box.wire.fail("POST", "/customers", 303, headers={"Location": "/customers/1"})

    with pytest.raises(ApiError) as caught:
        asyncio.run(box.writer().create_customer("Acme"))

    assert not caught.value.may_have_committed  # the read found nothing made
    assert see(box, lambda c: c.list_customers()) == []
    assert len(box.wire.calls("POST", "/customers")) == 1


def test_a_patch_answered_with_a_redirect_may_have_committed(box: Box) -> None:
    _, sid = setup(box, store=True)
    box.wire.fail("PATCH", r"/stores/\d+", 302, headers={"Location": "/login"})

    with pytest.raises(ApiError) as caught:
        asyncio.run(box.writer().update_store(sid, name="Renamed"))

    assert caught.value.may_have_committed


def test_a_write_whose_first_answer_was_lost_stays_uncertain_when_a_token_renewal_fails(
    box: Box,
) -> None:
    # The PATCH committed and its answer was lost; the retry met a 401, and the token
    # endpoint then failed: the error that ends the call must still say it may have been done.
    _, sid = setup(box, store=True)
    box.wire.fail("PATCH", r"/stores/\d+", "timeout_after")
    box.wire.fail("PATCH", r"/stores/\d+", 401)
    writer = box.writer(max_attempts=3)
    asyncio.run(writer.get_store(sid))  # the first token, before the token endpoint fails
    box.wire.fail("POST", "/auth/token", 503, times=100)

    with pytest.raises(ApiError) as caught:
        asyncio.run(writer.update_store(sid, name="Renamed"))

    assert caught.value.may_have_committed
    assert see(box, lambda c: c.get_store(sid)).name == "Renamed"
