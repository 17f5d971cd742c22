"""The password and tokens never show: not in errors, reprs or debug logs."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from dropstream_sync.client import (
    BasicCredentials,
    ClientSettings,
    Limits,
    ReadClient,
    Secret,
    TokenCredentials,
    settings_from_env,
)
from dropstream_sync.errors import ApiError, AuthenticationError
from tests.cli_in_process import EXAMPLE, run
from tests.client.on_sandbox import Box

# For the hostile servers below, which the sandbox cannot be: they echo what they are sent.
USERNAME = "ops@3pl.example"
PASSWORD = "pa55-Sekrit-XYZ"
BASIC = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()


def settings(*, token: str | None = None) -> ClientSettings:
    credentials = (
        TokenCredentials(Secret(token))
        if token is not None
        else BasicCredentials(USERNAME, Secret(PASSWORD))
    )
    return ClientSettings("https://api.test", credentials, Limits(rate_limit_rps=None))


def test_debug_logs_redact_authorization_and_never_hold_a_secret(
    box: Box,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    box.wire.fail("POST", "/auth/token", 503)
    box.wire.fail("GET", "/customers", "drop_before")
    box.wire.fail("POST", "/customers", "timeout_after")

    async def scenario() -> None:
        client = box.writer()
        await client.read_live()
        # Past the first token's hour on the sandbox's clock: the client gets a second.
        await box.admin("POST", "/_sandbox/clock", {"advance_seconds": 3601})
        await client.create_customer("Acme")
        with pytest.raises(ApiError):
            await client.get_store(12345)

    asyncio.run(scenario())

    tokens = {
        r.headers["authorization"].removeprefix("Bearer ")
        for r in box.wire.log
        if r.headers.get("authorization", "").startswith("Bearer ")
    }
    assert len(tokens) == 2
    login = f"{box.info.username}:{box.info.password}".encode()
    text = caplog.text
    assert "'authorization': 'Bearer ***'" in text
    assert "'authorization': 'Basic ***'" in text
    assert "/auth/token" in text
    for secret in (box.info.password, base64.b64encode(login).decode(), *tokens):
        assert secret not in text
    assert "grant_type" not in text  # request bodies are never logged


def test_an_error_that_echoes_a_credential_is_scrubbed() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401 if request.url.path == "/auth/token" else 400,
            json={
                "error": f"bad header {request.headers.get('authorization')} for {PASSWORD}",
                "details": {"password": [PASSWORD]},
            },
        )

    def reader(**kw: Any) -> ReadClient:
        return ReadClient(settings(**kw), transport=httpx.MockTransport(echo))

    with pytest.raises(AuthenticationError) as caught:
        asyncio.run(reader().list_customers())
    for text in (str(caught.value), repr(caught.value), str(caught.value.details)):
        assert PASSWORD not in text
    assert "***" in str(caught.value)

    with pytest.raises(ApiError) as caught_token:
        asyncio.run(reader(token="tok-abc-123").list_customers())
    assert "tok-abc-123" not in str(caught_token.value)


def test_settings_and_clients_never_show_secrets_in_repr_or_str() -> None:
    s = settings_from_env(None, {"DROPSTREAM_USERNAME": USERNAME, "DROPSTREAM_PASSWORD": PASSWORD})
    t = settings_from_env(None, {"DROPSTREAM_TOKEN": "tok-xyz-999"})
    client = ReadClient(settings(), transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    for shown in (
        repr(s),
        str(s),
        repr(t),
        str(t),
        repr(client),
        repr(client._core),
        f"{Secret(PASSWORD)}",
        str(Secret(PASSWORD)),
    ):
        assert PASSWORD not in shown
        assert "tok-xyz-999" not in shown
    assert Secret(PASSWORD).reveal() == PASSWORD


def test_a_secret_refuses_to_be_pickled() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Secret(PASSWORD))


def _echoing_server(token_status: int) -> httpx.ASGITransport:
    """A hostile or careless server: it answers every request with the credentials it got,
    in the error body (whole header, bare base64, base64 without padding) and in headers."""

    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        auth = headers.get("authorization", "")
        credential = auth.split(" ", 1)[-1]
        is_token = scope["path"] == "/auth/token"
        status = token_status if is_token else 400
        if is_token and status == 200:
            body: dict[str, Any] = {"access_token": "tok-echoed-secret", "expires_in": 3600}
        else:
            body = {
                "error": f"rejected {auth} ({credential}, {credential.rstrip('=')})",
                "details": {"authorization": [auth, credential]},
            }
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"x-echo-authorization", auth.encode()),
                    (b"www-authenticate", f'Basic realm="{credential}"'.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    return httpx.ASGITransport(app=app)


@pytest.mark.parametrize("token_status", [401, 200])
def test_a_server_echoing_the_basic_credential_or_token_gets_neither_printed(
    caplog: pytest.LogCaptureFixture, token_status: int
) -> None:
    caplog.set_level(logging.DEBUG)
    client = ReadClient(settings(), transport=_echoing_server(token_status))

    with pytest.raises(ApiError) as caught:
        asyncio.run(client.list_customers())

    shown = [str(caught.value), repr(caught.value), str(caught.value.details), caplog.text]
    for text in shown:
        for secret in (PASSWORD, BASIC, BASIC.rstrip("="), "tok-echoed-secret"):
            assert secret not in text
    assert "***" in str(caught.value)
    assert caught.value.status == (401 if token_status == 401 else 400)


def test_a_short_password_leaves_the_words_that_hold_its_letters_alone(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Before: every "x" in the message was masked, "for a local sandbo***, start one with
    # `dropstream-sync sandbo*** serve`".
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DROPSTREAM_USERNAME", "ops")
    monkeypatch.setenv("DROPSTREAM_PASSWORD", "x")
    code, out, err = run(capsys, "plan", EXAMPLE, "--api-url", "http://127.0.0.1:1")
    assert (code, out) == (1, "")
    assert "connection refused" in err and "***" not in err
    assert err.rstrip().endswith(
        "for a local sandbox, start one with `dropstream-sync sandbox serve`"
    )


@pytest.mark.parametrize("password", ["x", "x7", "-x", "pa55"])
def test_a_short_password_echoed_by_a_server_is_masked_wherever_it_stands_apart(
    password: str,
) -> None:
    basic = base64.b64encode(f"u:{password}".encode()).decode()

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401,
            json={
                "error": (
                    f"bad password {password}; password={password}&grant_type=password, "
                    f'"{password}", u:{password}@host, ({basic}), {password}, not{password}here'
                ),
                "details": {"password": [password]},
            },
        )

    login = BasicCredentials("u", Secret(password))
    reader = ReadClient(
        ClientSettings("https://api.test", login, Limits(rate_limit_rps=None)),
        transport=httpx.MockTransport(echo),
    )
    with pytest.raises(AuthenticationError) as caught:
        asyncio.run(reader.list_customers())
    message = str(caught.value)
    assert (
        'bad password ***; password=***&grant_type=password, "***", u:***@host, (***), ***'
    ) in message
    assert caught.value.details == {"password": ["***"]}
    # Not inside a word: there its letters are no sign of it (a word of the tool's own).
    assert message.count("***") == 7 and f"not{password}here" in message  # 7: with details


def test_a_long_password_is_masked_inside_a_word_too() -> None:
    password = "Sekrit-12"  # 9 characters: at or over WHOLE_TOKEN_BELOW

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": f"got x{password}y and {password}"})

    login = BasicCredentials("u", Secret(password))
    reader = ReadClient(
        ClientSettings("https://api.test", login, Limits(rate_limit_rps=None)),
        transport=httpx.MockTransport(echo),
    )
    with pytest.raises(AuthenticationError) as caught:
        asyncio.run(reader.list_customers())
    assert password not in str(caught.value)
    assert "got x***y and ***" in str(caught.value)
