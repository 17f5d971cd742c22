"""The sandbox holds up as the thing users try first (issue 13.9): a garbled admin header,
a hostile page aiming at the merchant's Approve page, other local users and the state folder."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import httpx

from dropstream_sync.sandbox import create_app, inprocess_transport
from tests.sandbox.conftest import Live
from tests.sandbox.test_contract import setup_store


def test_a_non_ascii_admin_key_is_a_wrong_key_not_a_crash(live: Live) -> None:
    for value in ("clé-🔑".encode(), b"\xff\xfe"):
        answer = httpx.get(live.url + "/_sandbox/stats", headers={b"X-Sandbox-Admin": value})
        assert answer.status_code == 403, answer.text
        assert "X-Sandbox-Admin" in answer.json()["error"]


def _pending_link(live: Live) -> tuple[str, int]:
    with live.client() as c:
        _, store = setup_store(c)
        c.post(f"/stores/{store}/authorization_requests", json={"email": "ops@acme.example"})
    link = str(live.admin("GET", "/_sandbox/outbox").json()[-1]["link"])
    return link, store


def _status(live: Live, store: int) -> str:
    with live.client() as c:
        return str(c.get(f"/stores/{store}").json()["adapter"]["authorization"]["status"])


def test_the_approve_page_refuses_posts_from_another_origin(live: Live) -> None:
    link, store = _pending_link(live)
    hostile = [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/phish.html"},
    ]
    for headers in hostile:
        answer = httpx.post(link, data={"action": "approve"}, headers=headers)
        assert answer.status_code == 403, headers
        assert _status(live, store) == "missing"
    # The page's own origin, as a browser sends it from the page, still approves.
    assert (
        httpx.post(
            link, data={"action": "approve"}, headers={"Origin": live.url, "Referer": link}
        ).status_code
        == 200
    )
    assert _status(live, store) == "authorized"


def test_the_approve_page_cannot_be_framed(live: Live) -> None:
    link, _ = _pending_link(live)
    for answer in (httpx.get(link), httpx.get(link.rsplit("/", 1)[0] + "/no-such-token")):
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        # The URL is the merchant's credential: never sent on as a Referer, never cached.
        assert answer.headers["Referrer-Policy"] == "no-referrer"


def _modes(folder: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}


def test_state_files_and_their_folder_are_private(tmp_path: Path) -> None:
    state = tmp_path / "state"
    app = create_app(state)

    async def write() -> None:
        info = app.sandbox_info
        async with httpx.AsyncClient(
            transport=inprocess_transport(app), base_url="http://sandbox.local"
        ) as h:
            token = (
                await h.post("/auth/token", json={}, auth=(info.username, info.password))
            ).json()["access_token"]
            await h.post(
                "/customers",
                json={"company_name": "Acme"},
                headers={"Authorization": f"Bearer {token}"},
            )

    asyncio.run(write())
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    modes = _modes(state)
    assert {"sandbox.sqlite3", "sandbox.sqlite3-wal", "secrets.json"} <= set(modes)
    assert all(mode == 0o600 for mode in modes.values()), modes


def test_a_state_folder_left_open_is_closed_on_start(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    state.chmod(0o755)
    (state / "sandbox.sqlite3").touch(mode=0o644)
    (state / "sandbox.sqlite3").chmod(0o644)
    create_app(state)
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "sandbox.sqlite3").stat().st_mode) == 0o600
