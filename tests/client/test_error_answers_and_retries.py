"""Every error answer maps to one exception; the transient ones are retried first."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from dropstream_sync.client import ReadClient, WriteClient
from dropstream_sync.errors import (
    ApiError,
    ApiValidationError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from tests.client.client_fakes import FakeDropStream, FakeTime


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, ApiValidationError),
        (403, AuthenticationError),
        (404, NotFoundError),
        (409, ConflictError),
        (418, ApiError),
        (422, ApiValidationError),
    ],
)
def test_final_statuses_raise_their_error_at_once_naming_method_path_status_and_sentence(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient], status: int,
    error: type[ApiError],
) -> None:
    fake.fail("GET", "/customers", status, body={"error": "the API's own sentence"})

    with pytest.raises(error) as caught:
        asyncio.run(make_reader().list_customers())

    assert type(caught.value) is error
    assert caught.value.status == status
    assert str(caught.value).startswith(f"GET /customers -> {status}: the API's own sentence")
    assert len(fake.calls("GET", "/customers")) == 1


def test_an_error_body_that_is_not_json_falls_back_to_the_reason_phrase(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient]
) -> None:
    fake.fail("GET", "/customers", 404, body="<html>nope</html>")

    with pytest.raises(NotFoundError, match=r"GET /customers -> 404: "):
        asyncio.run(make_reader().list_customers())


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_transient_statuses_are_retried_until_they_pass(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient], status: int
) -> None:
    fake.add_customer("Acme")
    fake.fail("GET", "/customers", status, times=3)

    customers = asyncio.run(make_reader().list_customers())

    assert [c.company_name for c in customers] == ["Acme"]
    assert len(fake.calls("GET", "/customers")) == 4


@pytest.mark.parametrize(("status", "error"), [(429, RateLimitedError), (500, ServerError),
                                               (502, ServerError), (503, ServerError)])
def test_transient_statuses_give_up_after_the_attempt_limit(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient], status: int,
    error: type[ApiError],
) -> None:
    fake.fail("GET", "/customers", status, times=100)

    with pytest.raises(error) as caught:
        asyncio.run(make_reader(max_attempts=5).list_customers())

    assert len(fake.calls("GET", "/customers")) == 5
    assert "gave up after 5 attempt(s)" in str(caught.value)
    assert str(caught.value).startswith(f"GET /customers -> {status}: injected {status}")


def test_retry_after_is_honoured(
    fake: FakeDropStream, fake_time: FakeTime, make_reader: Callable[..., ReadClient]
) -> None:
    fake.fail("GET", "/customers", 429, headers={"Retry-After": "7"})

    asyncio.run(make_reader().list_customers())

    assert len(fake_time.sleeps) == 1
    assert 7 <= fake_time.sleeps[0] < 7.5


def test_a_429_without_retry_after_backs_off_exponentially(
    fake: FakeDropStream, fake_time: FakeTime, make_reader: Callable[..., ReadClient]
) -> None:
    fake.fail("GET", "/customers", 429, times=4)

    asyncio.run(make_reader(backoff_base_seconds=1.0, backoff_max_seconds=100).list_customers())

    assert len(fake_time.sleeps) == 4
    for n, slept in enumerate(fake_time.sleeps, start=1):
        assert 0 <= slept <= 2 ** (n - 1)  # full jitter under a doubling cap


def test_a_retry_after_beyond_the_time_budget_fails_without_waiting(
    fake: FakeDropStream, fake_time: FakeTime, make_reader: Callable[..., ReadClient]
) -> None:
    fake.fail("GET", "/customers", 429, headers={"Retry-After": "600"})

    with pytest.raises(RateLimitedError, match="gave up after 1 attempt"):
        asyncio.run(make_reader(max_retry_seconds=60).list_customers())
    assert fake_time.sleeps == []


def test_the_total_retry_time_is_bounded(
    fake: FakeDropStream, fake_time: FakeTime, make_reader: Callable[..., ReadClient]
) -> None:
    fake.fail("GET", "/customers", 503, times=1000)

    with pytest.raises(ServerError):
        asyncio.run(make_reader(max_attempts=1000, max_retry_seconds=30,
                                backoff_base_seconds=4).list_customers())
    assert sum(fake_time.sleeps) <= 30


def test_one_429_slows_every_call_of_the_client_down(
    fake: FakeDropStream, fake_time: FakeTime, make_reader: Callable[..., ReadClient]
) -> None:
    fake.fail("GET", "/customers", 429, headers={"Retry-After": "5"})

    async def both() -> None:
        client = make_reader()
        await client.list_customers()
        start = fake_time.now
        await client.list_warehouses()
        assert fake_time.now == start  # the cool-down was already served

    asyncio.run(both())
    assert sum(fake_time.sleeps) >= 5


@pytest.mark.parametrize("kind", ["connect", "drop_before", "drop_after", "timeout_after"])
def test_reads_survive_timeouts_and_dropped_connections(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient], kind: str
) -> None:
    fake.add_customer("Acme")
    fake.fail("GET", "/customers", kind, times=2)

    customers = asyncio.run(make_reader().list_customers())

    assert len(customers) == 1
    assert len(fake.calls("GET", "/customers")) == 3


def test_a_connection_that_keeps_dropping_is_a_transport_error(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient]
) -> None:
    fake.fail("GET", "/customers", "drop_before", times=100)

    with pytest.raises(TransportError) as caught:
        asyncio.run(make_reader(max_attempts=3).list_customers())

    assert caught.value.status is None
    assert str(caught.value).startswith("GET /customers: no answer (RemoteProtocolError")
    assert "gave up after 3 attempt(s)" in str(caught.value)


def test_patch_is_retried_as_it_is(
    fake: FakeDropStream, make_writer: Callable[..., WriteClient]
) -> None:
    cid = fake.add_customer("Acme")
    sid = fake.add_store(cid, "Acme US")
    fake.fail("PATCH", r"/stores/\d+", "timeout_after")
    fake.fail("PATCH", r"/stores/\d+", 502)

    asyncio.run(make_writer().update_store(sid, name="Renamed"))

    assert fake.stores[sid]["name"] == "Renamed"
    assert len(fake.calls("PATCH")) == 3


def test_an_expired_token_is_renewed_once_and_the_call_repeated(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient]
) -> None:
    async def scenario() -> None:
        client = make_reader()
        await client.list_customers()
        fake.expire_tokens()
        await client.list_customers()

    asyncio.run(scenario())

    assert len(fake.calls("POST", "/auth/token")) == 2
    assert len(fake.calls("GET", "/customers")) == 3


def test_a_401_after_renewing_is_an_authentication_error(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient]
) -> None:
    fake.fail("GET", "/customers", 401, times=2)

    with pytest.raises(AuthenticationError, match=r"GET /customers -> 401"):
        asyncio.run(make_reader().list_customers())
    assert len(fake.calls("POST", "/auth/token")) == 2
    assert len(fake.calls("GET", "/customers")) == 2


def test_a_ready_token_cannot_be_renewed_so_401_is_final(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient]
) -> None:
    with pytest.raises(AuthenticationError, match="DROPSTREAM_TOKEN was refused"):
        asyncio.run(make_reader(token="stale-token-value").list_customers())
    assert fake.calls("POST", "/auth/token") == []
    assert len(fake.calls("GET")) == 1


def test_a_ready_token_is_sent_as_bearer(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient]
) -> None:
    fake.tokens.add("ready-token")
    asyncio.run(make_reader(token="ready-token").list_customers())
    assert fake.calls("GET")[0].headers["authorization"] == "Bearer ready-token"


def test_a_wrong_password_says_which_variables_to_check(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient]
) -> None:
    fake.fail("POST", "/auth/token", 401, body={"error": "invalid username or password"})

    with pytest.raises(AuthenticationError) as caught:
        asyncio.run(make_reader().list_customers())
    text = str(caught.value)
    assert text.startswith("POST /auth/token -> 401: invalid username or password")
    assert "DROPSTREAM_USERNAME" in text and "DROPSTREAM_TOKEN" in text
    assert fake.calls("GET") == []


def test_the_token_request_is_retried_on_server_faults(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient]
) -> None:
    fake.fail("POST", "/auth/token", 503)
    fake.fail("POST", "/auth/token", "drop_after")

    asyncio.run(make_reader().list_customers())
    assert len(fake.calls("POST", "/auth/token")) == 3


def test_concurrent_calls_share_one_token(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient]
) -> None:
    asyncio.run(make_reader().read_live())
    assert len(fake.calls("POST", "/auth/token")) == 1


def test_an_answer_that_is_not_the_documented_shape_is_an_api_error(
    fake: FakeDropStream, make_reader: Callable[..., ReadClient]
) -> None:
    fake.fail("GET", "/customers", 200, body={"not": "a list"})
    with pytest.raises(ApiError, match=r"GET /customers -> 200: unexpected answer"):
        asyncio.run(make_reader().list_customers())
