"""What `sandbox serve` does to the connections it accepts (issue 18.2)."""

from __future__ import annotations

import asyncio
import gc
import socket

import httpx

from tests.sandbox.conftest import Live


def _served_sockets(port: int) -> list[socket.socket]:
    """The server's side of the connections accepted on `port`, found through their transports
    (the sandbox and the test share this process)."""
    found = []
    for obj in gc.get_objects():
        if isinstance(obj, asyncio.Transport) and not obj.is_closing():
            sock = obj.get_extra_info("socket")
            if (
                sock is not None
                and sock.family in (socket.AF_INET, socket.AF_INET6)
                and sock.getsockname()[1] == port
            ):
                found.append(sock)
    return found


def test_served_connections_send_without_nagle_delay(live: Live) -> None:
    port = int(live.url.rsplit(":", 1)[1])
    with httpx.Client(base_url=live.url) as c:
        # Kept alive in the client's pool, so the server's side is still open when we look.
        assert c.get("/customers").status_code == 401
        served = _served_sockets(port)
        assert served, "no accepted connection found"
        assert all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in served)
