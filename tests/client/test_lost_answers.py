"""A POST whose answer is lost is never sent again blindly: the client reads first."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from dropstream_sync.client import WriteClient
from dropstream_sync.desired import StoreSettings
from dropstream_sync.errors import ApiError, ConflictError
from tests.client.client_fakes import FakeDropStream

COMMITTED = ["drop_after", "timeout_after", "500_after"]
NOT_COMMITTED = ["drop_before", 500, 502, 503]


@pytest.mark.parametrize("kind", COMMITTED)
def test_a_store_whose_answer_was_lost_after_commit_is_found_not_created_twice(
    fake: FakeDropStream, make_writer: Callable[..., WriteClient], kind: str
) -> None:
    cid = fake.add_customer("Acme")
    fake.fail("POST", "/stores", kind)

    sid = asyncio.run(make_writer().create_store(cid, "Acme US", "ATVPDKIKX0DER",
                                                 StoreSettings()))

    assert list(fake.stores) == [sid]
    assert len(fake.calls("POST", "/stores")) == 1
    lookup = fake.calls("GET", "/stores")[0].url.params
    assert lookup["customer_id"] == str(cid) and lookup["platform"] == "amazon"


@pytest.mark.parametrize("kind", NOT_COMMITTED)
def test_a_store_whose_post_did_not_commit_is_posted_again_after_checking(
    fake: FakeDropStream, make_writer: Callable[..., WriteClient], kind: str | int
) -> None:
    cid = fake.add_customer("Acme")
    fake.fail("POST", "/stores", kind)

    sid = asyncio.run(make_writer().create_store(cid, "Acme US", "ATVPDKIKX0DER",
                                                 StoreSettings()))

    assert list(fake.stores) == [sid]
    assert len(fake.calls("POST", "/stores")) == 2
    assert len(fake.calls("GET", "/stores")) == 1


def test_a_post_that_never_reached_the_server_is_sent_again_without_a_read(
    fake: FakeDropStream, make_writer: Callable[..., WriteClient]
) -> None:
    cid = fake.add_customer("Acme")
    fake.fail("POST", "/stores", "connect")
    fake.fail("POST", "/stores", 429, headers={"Retry-After": "1"})

    asyncio.run(make_writer().create_store(cid, "Acme US", "ATVPDKIKX0DER", StoreSettings()))

    assert len(fake.stores) == 1
    assert len(fake.calls("POST", "/stores")) == 3
    assert fake.calls("GET") == []


@pytest.mark.parametrize("kind", COMMITTED)
def test_a_customer_whose_answer_was_lost_is_found_by_company_name(
    fake: FakeDropStream, make_writer: Callable[..., WriteClient], kind: str
) -> None:
    fake.add_customer("Someone Else")
    fake.fail("POST", "/customers", kind)

    cid = asyncio.run(make_writer().create_customer("Acme"))

    assert fake.customers[cid]["company_name"] == "Acme"
    assert len(fake.customers) == 2
    assert len(fake.calls("POST", "/customers")) == 1


@pytest.mark.parametrize("kind", COMMITTED)
def test_a_connection_whose_answer_was_lost_is_found_by_its_natural_key(
    fake: FakeDropStream, make_writer: Callable[..., WriteClient], kind: str
) -> None:
    cid = fake.add_customer("Acme")
    sid = fake.add_store(cid, "Acme US", authorized=True)
    wid = next(iter(fake.warehouses))
    fake.fail("POST", "/connections", kind)

    conn = asyncio.run(make_writer().create_connection(cid, sid, wid, "Acme US"))

    assert list(fake.connections) == [conn]
    assert len(fake.calls("POST", "/connections")) == 1
    lookup = fake.calls("GET", "/connections")[0].url.params
    assert (lookup["customer_id"], lookup["store_id"]) == (str(cid), str(sid))


@pytest.mark.parametrize("kind", COMMITTED)
def test_an_invite_whose_answer_was_lost_is_found_pending_for_its_store(
    fake: FakeDropStream, make_writer: Callable[..., WriteClient], kind: str
) -> None:
    cid = fake.add_customer("Acme")
    sid = fake.add_store(cid, "Acme US")
    fake.fail("POST", r"/stores/\d+/authorization_requests", kind)

    request = asyncio.run(make_writer().create_authorization_request(sid, "ops@acme.example"))

    assert list(fake.requests_) == [request.id]
    assert request.status == "pending"
    assert len(fake.calls("POST", r"/stores/\d+/authorization_requests")) == 1


def test_a_connection_that_already_exists_is_success_with_its_id(
    fake: FakeDropStream, make_writer: Callable[..., WriteClient]
) -> None:
    cid = fake.add_customer("Acme")
    sid = fake.add_store(cid, "Acme US", authorized=True)
    wid = next(iter(fake.warehouses))

    async def twice() -> tuple[int, int]:
        client = make_writer()
        return (await client.create_connection(cid, sid, wid, "Acme US"),
                await client.create_connection(cid, sid, wid, "Acme US"))

    first, second = asyncio.run(twice())
    assert first == second
    assert len(fake.connections) == 1


def test_two_concurrent_invites_to_the_same_email_both_succeed_with_one_request(
    fake: FakeDropStream, make_writer: Callable[..., WriteClient]
) -> None:
    cid = fake.add_customer("Acme")
    sid = fake.add_store(cid, "Acme US")

    async def both() -> list[int]:
        a, b = make_writer(), make_writer()
        got = await asyncio.gather(a.create_authorization_request(sid, "ops@acme.example"),
                                   b.create_authorization_request(sid, "OPS@acme.example"))
        return [r.id for r in got]

    ids = asyncio.run(both())
    assert ids[0] == ids[1]
    assert len(fake.requests_) == 1


def test_a_pending_invite_to_another_email_is_a_conflict(
    fake: FakeDropStream, make_writer: Callable[..., WriteClient]
) -> None:
    cid = fake.add_customer("Acme")
    sid = fake.add_store(cid, "Acme US")

    async def scenario() -> None:
        client = make_writer()
        await client.create_authorization_request(sid, "old@acme.example")
        await client.create_authorization_request(sid, "new@acme.example")

    with pytest.raises(ConflictError, match=r"POST /stores/\d+/authorization_requests -> 409"):
        asyncio.run(scenario())


def test_a_cancel_whose_answer_was_lost_is_done_when_the_retry_finds_it_gone(
    fake: FakeDropStream, make_writer: Callable[..., WriteClient]
) -> None:
    cid = fake.add_customer("Acme")
    sid = fake.add_store(cid, "Acme US")

    async def scenario() -> None:
        client = make_writer()
        request = await client.create_authorization_request(sid, "ops@acme.example")
        fake.fail("DELETE", r"/authorization_requests/\d+", "drop_after")
        await client.cancel_authorization_request(request.id)

    asyncio.run(scenario())
    assert [r["status"] for r in fake.requests_.values()] == ["canceled"]
    assert len(fake.calls("DELETE")) == 2


def test_cancelling_an_already_canceled_request_is_done(
    fake: FakeDropStream, make_writer: Callable[..., WriteClient]
) -> None:
    cid = fake.add_customer("Acme")
    sid = fake.add_store(cid, "Acme US")

    async def scenario() -> None:
        client = make_writer()
        request = await client.create_authorization_request(sid, "ops@acme.example")
        await client.cancel_authorization_request(request.id)
        await client.cancel_authorization_request(request.id)

    asyncio.run(scenario())  # the second cancel is done, not a 409 error
    assert [r["status"] for r in fake.requests_.values()] == ["canceled"]
    assert len(fake.calls("DELETE")) == 2
    assert len(fake.calls("GET", r"/authorization_requests/\d+")) == 1  # it checked


def test_cancelling_a_completed_request_is_a_conflict(
    fake: FakeDropStream, make_writer: Callable[..., WriteClient]
) -> None:
    cid = fake.add_customer("Acme")
    sid = fake.add_store(cid, "Acme US")

    async def scenario() -> None:
        client = make_writer()
        request = await client.create_authorization_request(sid, "ops@acme.example")
        fake.requests_[request.id]["status"] = "completed"
        await client.cancel_authorization_request(request.id)

    with pytest.raises(ConflictError, match="not pending"):
        asyncio.run(scenario())


def test_a_create_whose_answer_and_recovery_read_were_both_lost_may_have_committed(
    fake: FakeDropStream, make_writer: Callable[..., WriteClient]
) -> None:
    cid = fake.add_customer("Acme")
    fake.fail("POST", "/stores", "drop_after")
    fake.fail("GET", "/stores", 503, times=100)

    with pytest.raises(ApiError) as caught:
        asyncio.run(make_writer(max_attempts=3).create_store(cid, "Acme US", "ATVPDKIKX0DER",
                                                             StoreSettings()))

    assert caught.value.may_have_committed
    assert str(caught.value).startswith("POST /stores: the answer was lost")
    assert len(fake.stores) == 1  # it did commit; the next run's read will find it


def test_a_write_that_never_got_an_answer_may_have_committed_and_a_read_never_does(
    fake: FakeDropStream, make_writer: Callable[..., WriteClient]
) -> None:
    cid = fake.add_customer("Acme")
    sid = fake.add_store(cid, "Acme US")
    fake.fail("PATCH", r"/stores/\d+", "timeout_after", times=100)
    fake.fail("GET", r"/stores/\d+", "timeout_after", times=100)
    client = make_writer(max_attempts=2)

    with pytest.raises(ApiError) as patch:
        asyncio.run(client.update_store(sid, name="Renamed"))
    with pytest.raises(ApiError) as read:
        asyncio.run(make_writer(max_attempts=2).get_store(sid))

    assert patch.value.may_have_committed and "gave up after 2 attempt(s)" in str(patch.value)
    assert not read.value.may_have_committed


def test_a_write_refused_before_it_was_processed_did_not_commit(
    fake: FakeDropStream, make_writer: Callable[..., WriteClient]
) -> None:
    fake.fail("POST", "/customers", 429, times=100)

    with pytest.raises(ApiError) as caught:
        asyncio.run(make_writer(max_attempts=2).create_customer("Acme"))

    assert not caught.value.may_have_committed  # a 429 is refused before processing
    assert fake.customers == {}
