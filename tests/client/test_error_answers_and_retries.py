"""Every error answer maps to one exception; the transient ones are retried first.

Against the real sandbox. Its own refusals (wrong login, expired or unknown token, its rate
limit) are used as they come; a chosen status on one chosen request, which the sandbox's
random faults cannot aim, comes from the fault layer in front of it (on_sandbox.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from dropstream_sync.desired import StoreSettings
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
from tests.client.on_sandbox import URL, Box

ACME = {"customers": [{"id": 1, "company_name": "Acme"}]}


def _acme_store(box: Box) -> tuple[int, int]:
    box.seed(
        {
            **ACME,
            "stores": [
                {
                    "id": 1,
                    "customer_id": 1,
                    "name": "Acme US",
                    "adapter": {"marketplace_id": "ATVPDKIKX0DER"},
                }
            ],
        }
    )
    store = asyncio.run(box.observer().list_stores())[0]
    return store.customer_id, store.id


def _use_up_the_burst(box: Box) -> None:
    # One read of another list takes the one token the sandbox's bucket holds.
    asyncio.run(box.observer().list_warehouses())


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
    box: Box,
    status: int,
    error: type[ApiError],
) -> None:
    # Every status on the one list, from the fault layer: the sandbox answers 404 and 422 on
    # its own (next test) but has no 400, 403 or 418 for a well-formed read.
    box.wire.fail("GET", "/customers", status, body={"error": "the API's own sentence"})

    with pytest.raises(error) as caught:
        asyncio.run(box.reader().list_customers())

    assert type(caught.value) is error
    assert caught.value.status == status
    assert str(caught.value).startswith(f"GET /customers -> {status}: the API's own sentence")
    assert len(box.wire.calls("GET", "/customers")) == 1


def test_the_sandboxs_own_refusals_map_the_same_way(box: Box) -> None:
    cid, sid = _acme_store(box)

    async def refused() -> list[BaseException]:
        client = box.writer()
        wid = (await client.list_warehouses())[0].id
        got: list[BaseException] = []
        for attempt in (
            client.get_store(sid + 1000),
            client.create_store(4242, "X", "ATVPDKIKX0DER", StoreSettings()),
            client.create_connection(cid, sid, wid, "Acme US"),
        ):
            try:
                await attempt
            except ApiError as exc:
                got.append(exc)
        return got

    missing, invalid, unauthorized = asyncio.run(refused())
    assert type(missing) is NotFoundError
    assert str(missing).startswith(f"GET /stores/{sid + 1000} -> 404: ")
    assert type(invalid) is ApiValidationError
    assert str(invalid).startswith("POST /stores -> 422: ")
    assert type(unauthorized) is ApiValidationError
    assert "is not authorized with Amazon" in str(unauthorized)
    served = box.served()
    assert (served["GET /stores/{id}"], served["POST /stores"], served["POST /connections"]) == (
        1,
        1,
        1,
    )  # final: none was sent twice


def test_an_error_body_that_is_not_json_falls_back_to_the_reason_phrase(box: Box) -> None:
    box.wire.fail("GET", "/customers", 404, body="<html>nope</html>")

    with pytest.raises(NotFoundError, match=r"GET /customers -> 404: "):
        asyncio.run(box.reader().list_customers())


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_transient_statuses_are_retried_until_they_pass(box: Box, status: int) -> None:
    box.seed(ACME)
    box.wire.fail("GET", "/customers", status, times=3)

    customers = asyncio.run(box.reader().list_customers())

    assert [c.company_name for c in customers] == ["Acme"]
    assert len(box.wire.calls("GET", "/customers")) == 4
    assert box.served()["GET /customers"] == 1  # the three refused never got through


@pytest.mark.parametrize(
    ("status", "error"),
    [(429, RateLimitedError), (500, ServerError), (502, ServerError), (503, ServerError)],
)
def test_transient_statuses_give_up_after_the_attempt_limit(
    box: Box,
    status: int,
    error: type[ApiError],
) -> None:
    box.wire.fail("GET", "/customers", status, times=100)

    with pytest.raises(error) as caught:
        asyncio.run(box.reader(max_attempts=5).list_customers())

    assert len(box.wire.calls("GET", "/customers")) == 5
    assert "gave up after 5 attempt(s)" in str(caught.value)
    assert str(caught.value).startswith(f"GET /customers -> {status}: injected {status}")


def test_a_server_that_keeps_failing_gets_the_attempt_limit_and_no_more(box: Box) -> None:
    box.control("POST", "/_sandbox/faults", {"rate": 1.0, "seed": 3})

    with pytest.raises(ApiError) as caught:
        asyncio.run(box.reader(max_attempts=5).list_customers())

    assert isinstance(caught.value, ServerError | TransportError)
    assert "gave up after 5 attempt(s)" in str(caught.value)
    assert box.served()["GET /customers"] == 5


def test_retry_after_is_honoured(box: Box) -> None:
    box.rate_limit(1 / 7)  # the sandbox's bucket: one request every 7 s
    _use_up_the_burst(box)

    asyncio.run(box.reader().list_customers())

    assert len(box.time.sleeps) == 1
    assert 7 <= box.time.sleeps[0] < 7.5
    assert box.served()["GET /customers"] == 2
    assert box.control("GET", "/_sandbox/stats")["rate_limited"] == 1


def test_a_429_without_retry_after_backs_off_exponentially(box: Box) -> None:
    # The sandbox's 429 always says Retry-After; a bare one comes from the fault layer.
    box.wire.fail("GET", "/customers", 429, times=4)

    asyncio.run(box.reader(backoff_base_seconds=1.0, backoff_max_seconds=100).list_customers())

    assert len(box.time.sleeps) == 4
    for n, slept in enumerate(box.time.sleeps, start=1):
        assert 0 <= slept <= 2 ** (n - 1)  # full jitter under a doubling cap


def test_a_retry_after_beyond_the_time_budget_fails_without_waiting(box: Box) -> None:
    box.rate_limit(1 / 600)  # Retry-After: 600
    _use_up_the_burst(box)

    with pytest.raises(RateLimitedError) as caught:
        asyncio.run(box.reader(max_retry_seconds=60).list_customers())
    assert box.time.sleeps == []
    assert box.served()["GET /customers"] == 1
    # The server's wait, not this client's pace, is why: no "allows fewer requests" advice.
    assert str(caught.value) == (
        "GET /customers -> 429: Too many requests: slow down. (the server asked to wait 600 s "
        "(Retry-After), longer than this client retries for (60 s); try again later)"
    )


@pytest.mark.parametrize("value", ["86400", "Wed, 21 Oct 2099 07:28:00 GMT"])
def test_a_retry_after_of_a_day_or_a_date_years_ahead_fails_at_once_saying_so(
    box: Box, value: str
) -> None:
    box.wire.fail("GET", "/customers", 429, headers={"Retry-After": value})

    with pytest.raises(RateLimitedError, match=r"the server asked to wait \d+ s \(Retry-After"):
        asyncio.run(box.reader().list_customers())
    assert box.time.sleeps == []


@pytest.mark.parametrize("value", ["-5", "soon", "nan", ""])
def test_a_retry_after_that_is_negative_or_unreadable_is_retried_with_back_off(
    box: Box, value: str
) -> None:
    box.wire.fail("GET", "/customers", 429, headers={"Retry-After": value})

    asyncio.run(box.reader().list_customers())

    assert len(box.time.sleeps) == 1 and 0 <= box.time.sleeps[0] <= 1


def test_the_total_retry_time_is_bounded(box: Box) -> None:
    box.wire.fail("GET", "/customers", 503, times=1000)

    with pytest.raises(ServerError):
        asyncio.run(
            box.reader(
                max_attempts=1000, max_retry_seconds=30, backoff_base_seconds=4
            ).list_customers()
        )
    assert sum(box.time.sleeps) <= 30


def test_one_429_slows_every_call_of_the_client_down(box: Box) -> None:
    # From the fault layer: the sandbox's real limit would refuse the second call as well.
    box.wire.fail("GET", "/customers", 429, headers={"Retry-After": "5"})

    async def both() -> None:
        client = box.reader()
        await client.list_customers()
        start = box.time.now
        await client.list_warehouses()
        assert box.time.now == start  # the cool-down was already served

    asyncio.run(both())
    assert sum(box.time.sleeps) >= 5


@pytest.mark.parametrize("kind", ["connect", "drop_before", "drop_after", "timeout_after"])
def test_reads_survive_timeouts_and_dropped_connections(box: Box, kind: str) -> None:
    box.seed(ACME)
    box.wire.fail("GET", "/customers", kind, times=2)

    customers = asyncio.run(box.reader().list_customers())

    assert len(customers) == 1
    assert len(box.wire.calls("GET", "/customers")) == 3
    reached = 3 if kind.endswith("_after") else 1
    assert box.served()["GET /customers"] == reached


def test_a_connection_that_keeps_dropping_is_a_transport_error(box: Box) -> None:
    box.wire.fail("GET", "/customers", "drop_before", times=100)

    with pytest.raises(TransportError) as caught:
        asyncio.run(box.reader(max_attempts=3).list_customers())

    assert caught.value.status is None
    assert str(caught.value).startswith("GET /customers: no answer (RemoteProtocolError")
    assert "gave up after 3 attempt(s)" in str(caught.value)


def test_the_sandboxs_own_5xx_and_dropped_connections_are_retried_through(box: Box) -> None:
    box.seed(ACME)
    # Seed 1 at rate 0.5: a 500, a dropped connection, a 502, a drop, then an answer.
    box.control("POST", "/_sandbox/faults", {"rate": 0.5, "seed": 1})

    customers = asyncio.run(box.reader().list_customers())

    assert [c.company_name for c in customers] == ["Acme"]
    stats = box.control("GET", "/_sandbox/stats")
    assert stats["faults"] == 4
    assert stats["requests"]["GET /customers"] == 5


def test_patch_is_retried_as_it_is(box: Box) -> None:
    _, sid = _acme_store(box)
    box.wire.fail("PATCH", r"/stores/\d+", "timeout_after")
    box.wire.fail("PATCH", r"/stores/\d+", 502)

    asyncio.run(box.writer().update_store(sid, name="Renamed"))

    assert asyncio.run(box.observer().get_store(sid)).name == "Renamed"
    assert len(box.wire.calls("PATCH")) == 3
    assert box.served()["PATCH /stores/{id}"] == 2  # the timed-out one, and the last


def test_an_expired_token_is_renewed_once_and_the_call_repeated(box: Box) -> None:
    async def scenario() -> None:
        client = box.reader()
        await client.list_customers()
        # Past the token's hour on the sandbox's clock; the client's own clock stood still.
        await box.admin("POST", "/_sandbox/clock", {"advance_seconds": 3601})
        await client.list_customers()

    asyncio.run(scenario())

    served = box.served()
    assert served["POST /auth/token"] == 2
    assert served["GET /customers"] == 3


def test_a_401_after_renewing_is_an_authentication_error(tmp_path: Path) -> None:
    # A sandbox whose tokens have expired the moment they are issued: each one is refused.
    box = Box(tmp_path, token_ttl_seconds=0)

    with pytest.raises(AuthenticationError, match=r"GET /customers -> 401"):
        asyncio.run(box.reader().list_customers())
    served = box.served()
    assert served["POST /auth/token"] == 2
    assert served["GET /customers"] == 2


def test_a_ready_token_cannot_be_renewed_so_401_is_final(box: Box) -> None:
    with pytest.raises(AuthenticationError, match="DROPSTREAM_TOKEN was refused"):
        asyncio.run(box.reader(token="stale-token-value").list_customers())
    assert box.served() == {"GET /customers": 1}


def test_a_ready_token_is_sent_as_bearer(box: Box) -> None:
    token = _login(box)
    box.seed(ACME)

    customers = asyncio.run(box.reader(token=token).list_customers())

    assert [c.company_name for c in customers] == ["Acme"]
    assert box.wire.calls("GET")[0].headers["authorization"] == f"Bearer {token}"
    assert box.wire.calls("POST", "/auth/token") == []


def _login(box: Box) -> str:
    async def token() -> str:
        async with httpx.AsyncClient(transport=box.transport(), base_url=URL) as raw:
            got = await raw.post(
                "/auth/token",
                json={"grant_type": "client_credentials"},
                auth=(box.info.username, box.info.password),
            )
            got.raise_for_status()
            return str(got.json()["access_token"])

    return asyncio.run(token())


def test_a_wrong_password_says_which_variables_to_check(box: Box) -> None:
    with pytest.raises(AuthenticationError) as caught:
        asyncio.run(box.reader(password="not-the-password").list_customers())

    text = str(caught.value)
    assert text.startswith("POST /auth/token -> 401: Wrong username or password")
    # The variables the login was read from, not every one that could hold one.
    assert text.endswith("(check the login in DROPSTREAM_USERNAME and DROPSTREAM_PASSWORD)")
    assert box.served() == {"POST /auth/token": 1}  # final: not retried, and nothing read


def test_the_token_request_is_retried_on_server_faults(box: Box) -> None:
    # The sandbox's own faults never strike /auth/token; these come from the fault layer.
    box.wire.fail("POST", "/auth/token", 503)
    box.wire.fail("POST", "/auth/token", "drop_after")

    asyncio.run(box.reader().list_customers())
    assert len(box.wire.calls("POST", "/auth/token")) == 3
    assert box.served()["POST /auth/token"] == 2


def test_concurrent_calls_share_one_token(box: Box) -> None:
    asyncio.run(box.reader().read_live())
    served = box.served()
    assert served["POST /auth/token"] == 1
    assert served["GET /customers"] == served["GET /stores"] == 1


def test_an_answer_that_is_not_the_documented_shape_is_an_api_error(box: Box) -> None:
    box.wire.fail("GET", "/customers", 200, body={"not": "a list"})
    with pytest.raises(ApiError, match=r"GET /customers -> 200: unexpected answer"):
        asyncio.run(box.reader().list_customers())


def test_a_success_that_is_not_json_says_what_came_instead(box: Box) -> None:
    # A proxy's login page with 200, then an empty 200: not the decoder's "Expecting value".
    box.wire.fail("GET", "/customers", 200, body="<html><title>Sign in</title></html>")
    box.wire.fail("GET", "/warehouses", 200, body="")

    with pytest.raises(ApiError) as page:
        asyncio.run(box.reader().list_customers())
    with pytest.raises(ApiError) as empty:
        asyncio.run(box.reader().list_warehouses())

    assert str(page.value) == (
        "GET /customers -> 200: unexpected answer: the body is not JSON "
        "(text/html; charset=utf-8): '<html><title>Sign in</title></html>'"
    )
    assert str(empty.value) == (
        "GET /warehouses -> 200: unexpected answer: an empty body "
        "(text/html; charset=utf-8) where JSON was expected"
    )


def test_an_answer_that_trickles_forever_times_out_as_a_whole(box: Box) -> None:
    # A byte every 0.05 s never trips a per-read timeout; the whole answer has one bound.
    box.wire.fail("GET", "/customers", "trickle", times=2)

    reader = box.reader(timeout_seconds=0.3, max_attempts=2)
    with pytest.raises(TransportError) as caught:
        # The outer bound only keeps a regression from hanging the suite.
        asyncio.run(asyncio.wait_for(reader.list_customers(), timeout=10))

    assert "no whole answer within 0.3 s" in str(caught.value)
    assert "gave up after 2 attempt(s)" in str(caught.value)


def test_a_write_whose_answer_trickled_past_the_bound_may_have_committed(box: Box) -> None:
    box.wire.fail("POST", "/customers", "trickle", times=2)
    box.wire.fail("GET", "/customers", "trickle", times=2)

    writer = box.writer(timeout_seconds=0.3, max_attempts=2)
    with pytest.raises(ApiError) as caught:
        asyncio.run(asyncio.wait_for(writer.create_customer("Acme"), timeout=10))

    assert caught.value.may_have_committed
    assert len(box.wire.calls("POST", "/customers")) == 1  # read, never blindly re-posted


def test_an_answer_without_end_is_refused_at_the_size_bound_not_read_into_memory(
    box: Box,
) -> None:
    box.wire.fail("GET", "/customers", "endless", times=10)
    reader = box.reader(max_answer_bytes=1_000_000)

    with pytest.raises(ApiError) as caught:
        asyncio.run(asyncio.wait_for(reader.list_customers(), timeout=10))

    assert "unexpected answer: an answer over 1,000,000 bytes" in str(caught.value)
    assert len(box.wire.calls("GET", "/customers")) == 1  # the same again is no use


def test_a_write_answered_without_end_may_have_committed(box: Box) -> None:
    box.wire.fail("POST", "/customers", "endless")

    with pytest.raises(ApiError) as caught:
        asyncio.run(box.writer(max_answer_bytes=1_000_000).create_customer("Acme"))

    assert caught.value.may_have_committed
