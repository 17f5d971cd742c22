"""The password and tokens never show: not in errors, reprs or debug logs."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable

import httpx
import pytest

from dropstream_sync.client import ReadClient, Secret, WriteClient, settings_from_env
from dropstream_sync.errors import ApiError, AuthenticationError
from tests.client.client_fakes import PASSWORD, USERNAME, FakeDropStream, settings

BASIC = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()


def _forbidden(fake: FakeDropStream) -> list[str]:
    return [PASSWORD, BASIC, *fake.tokens, "tok-1-secret", "tok-2-secret"]


def test_debug_logs_redact_authorization_and_never_hold_a_secret(
    fake: FakeDropStream, make_writer: Callable[..., WriteClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail("POST", "/auth/token", 503)
    fake.fail("GET", "/customers", "drop_before")
    fake.fail("POST", "/customers", "timeout_after")

    async def scenario() -> None:
        client = make_writer()
        await client.read_live()
        fake.expire_tokens()
        await client.create_customer("Acme")
        with pytest.raises(ApiError):
            await client.get_store(12345)

    asyncio.run(scenario())

    text = caplog.text
    assert "'authorization': 'Bearer ***'" in text
    assert "'authorization': 'Basic ***'" in text
    assert "/auth/token" in text
    for secret in _forbidden(fake):
        assert secret not in text
    assert "grant_type" not in text  # request bodies are never logged


def test_an_error_that_echoes_a_credential_is_scrubbed(
    make_reader: Callable[..., ReadClient],
) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401 if request.url.path == "/auth/token" else 400,
            json={"error": f"bad header {request.headers.get('authorization')} for {PASSWORD}",
                  "details": {"password": [PASSWORD]}},
        )

    with pytest.raises(AuthenticationError) as caught:
        asyncio.run(make_reader(httpx.MockTransport(echo)).list_customers())
    for text in (str(caught.value), repr(caught.value), str(caught.value.details)):
        assert PASSWORD not in text
    assert "***" in str(caught.value)

    with pytest.raises(ApiError) as caught_token:
        asyncio.run(make_reader(httpx.MockTransport(echo), token="tok-abc-123").list_customers())
    assert "tok-abc-123" not in str(caught_token.value)


def test_settings_and_clients_never_show_secrets_in_repr_or_str() -> None:
    s = settings_from_env(None, {"DROPSTREAM_USERNAME": USERNAME, "DROPSTREAM_PASSWORD": PASSWORD})
    t = settings_from_env(None, {"DROPSTREAM_TOKEN": "tok-xyz-999"})
    client = ReadClient(settings(), transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    for shown in (repr(s), str(s), repr(t), str(t), repr(client), repr(client._core),
                  f"{Secret(PASSWORD)}", str(Secret(PASSWORD))):
        assert PASSWORD not in shown
        assert "tok-xyz-999" not in shown
    assert Secret(PASSWORD).reveal() == PASSWORD


def test_a_secret_refuses_to_be_pickled() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Secret(PASSWORD))
