"""A server that is not there fails fast and says what to try: a closed port, a name that
does not resolve, https:// to a plain-HTTP server. Real sockets, no fakes."""

from __future__ import annotations

import asyncio
import http.server
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dropstream_sync.client import (
    ClientSettings,
    Limits,
    ReadClient,
    Secret,
    TokenCredentials,
)
from dropstream_sync.errors import TransportError

ROOT = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def plain_http_port() -> Iterator[int]:
    class Quiet(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def _read(url: str) -> tuple[TransportError, int]:
    client = ReadClient(
        ClientSettings(
            url, TokenCredentials(Secret("tok-unreachable")), Limits(rate_limit_rps=None)
        )
    )

    async def read() -> None:
        async with client:
            await client.list_customers()

    with pytest.raises(TransportError) as caught:
        asyncio.run(read())
    return caught.value, client.requests_sent


def test_a_closed_loopback_port_fails_after_one_quick_retry_naming_url_doctor_and_sandbox() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"

    error, sent = _read(url)

    assert sent == 2
    text = str(error)
    assert f"cannot reach {url}: connection refused" in text
    assert f"run `dropstream-sync doctor --api-url {url}`" in text
    assert "`dropstream-sync sandbox serve`" in text
    assert not error.may_have_committed


def test_https_to_a_plain_http_server_is_not_retried_as_transient(plain_http_port: int) -> None:
    url = f"https://127.0.0.1:{plain_http_port}"

    error, sent = _read(url)

    assert sent == 2
    text = str(error)
    assert f"cannot reach {url}: the TLS handshake failed" in text
    assert "plain HTTP" in text
    assert f"doctor --api-url {url}" in text


def test_a_name_that_does_not_resolve_fails_fast_without_the_sandbox_hint() -> None:
    url = "https://dropstream-sync-test.invalid"  # .invalid never resolves (RFC 6761)

    error, sent = _read(url)

    assert sent <= 2
    text = str(error)
    assert f"cannot reach {url}: the host name does not resolve" in text
    assert f"doctor --api-url {url}" in text
    assert "sandbox serve" not in text


def test_plan_against_a_closed_port_says_what_to_try(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "DROPSTREAM_TOKEN": "tok-unreachable-cli",
        "HOME": str(tmp_path),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from dropstream_sync.cli import main; main()",
            "plan",
            str(ROOT / "examples" / "stores.yaml"),
            "--api-url",
            url,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"cannot reach {url}" in result.stderr
    assert "dropstream-sync doctor --api-url" in result.stderr
    assert "dropstream-sync sandbox serve" in result.stderr
