"""`doctor` against the sandbox, as it is and in the quirk modes that answer as a differing
DropStream would."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from dropstream_sync.client import ClientSettings, ReadClient, Secret, TokenCredentials
from dropstream_sync.desired import StoreSettings
from dropstream_sync.doctor import Report, diagnose
from tests.client.on_sandbox import URL, Altered, ScriptedFaults, answer
from tests.doctor.on_sandbox import Box, Served

US = "ATVPDKIKX0DER"


def populate(box: Box, customers: int = 3) -> None:
    """Customers (each with its warehouse), an Amazon store each, the first authorized and
    connected, the second with a pending invite."""

    async def go() -> None:
        async with box.writer() as w:
            for i in range(customers):
                cid = await w.create_customer(f"Merchant {i}")
                sid = await w.create_store(cid, f"Store {i}", US, StoreSettings())
                if i < 2:
                    request = await w.create_authorization_request(sid, f"m{i}@example.com")
                if i == 0:
                    await box.admin_async(
                        "POST", f"/_sandbox/authorization_requests/{request.id}/complete", {}
                    )
                    warehouses = [x for x in await w.list_warehouses() if x.customer_id == cid]
                    await w.create_connection(cid, sid, warehouses[0].id, "Store 0 conn")

    asyncio.run(go())


def run(box: Box, password: str | None = None) -> Report:
    async def go() -> Report:
        async with box.reader(password) as client:
            return await diagnose(client)

    return asyncio.run(go())


def check(report: Report, check_id: str) -> Any:
    return next(c for c in report.checks if c.id == check_id)


@pytest.fixture
def box(tmp_path: Path) -> Box:
    b = Box(tmp_path / "sb")
    populate(b)
    return b


def test_a_conforming_api_passes_every_check_and_writes_nothing(box: Box) -> None:
    before = box.admin("GET", "/_sandbox/stats")["requests"]

    report = run(box)

    assert report.exit_code == 0, report.text()
    assert all(c.status == "ok" for c in report.checks), report.text()
    after = box.admin("GET", "/_sandbox/stats")["requests"]
    sent = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    assert sent, "the doctor sent nothing"
    assert all(k.startswith("GET ") or k == "POST /auth/token" for k in sent), sent
    assert "per_page and page honoured" in check(report, "list customers").summary
    assert "sees 3 customers" in check(report, "account").summary


def test_json_is_versioned_and_names_every_check(box: Box) -> None:
    data = json.loads(json.dumps(run(box).as_dict()))
    assert data["format_version"] == "1"
    assert data["exit_code"] == 0
    ids = [c["id"] for c in data["checks"]]
    for expected in (
        "url",
        "login",
        "account",
        "list customers",
        "list warehouses",
        "list stores",
        "list connections",
        "list authorization_requests",
        "shapes",
        "amazon adapter",
        "authorization_requests",
        "rate limit",
    ):
        assert expected in ids


def test_a_wrong_password_is_an_auth_failure(box: Box) -> None:
    report = run(box, password="not-the-password")
    assert report.exit_code == 4
    login = check(report, "login")
    assert login.status == "fail" and "DROPSTREAM_PASSWORD" in login.do
    assert "not-the-password" not in report.text()


def test_a_list_capped_at_a_round_number_is_a_pagination_failure(tmp_path: Path) -> None:
    box = Box(tmp_path / "sb")
    box.admin(
        "POST", "/_sandbox/seed", {"customers": [{"company_name": f"C{i}"} for i in range(130)]}
    )
    assert box.quirks("cap:100") == ["cap:100"]

    report = run(box)

    assert report.exit_code == 6, report.text()
    customers = check(report, "list customers")
    assert customers.status == "fail" and customers.kind == "pagination"
    assert "stop" in customers.means


def test_body_envelope_pagination_is_a_pagination_failure(box: Box) -> None:
    box.quirks("envelope")
    report = run(box)
    assert report.exit_code == 6
    summary = check(report, "list customers").summary
    assert "total_pages" in summary


def test_page_ignored_is_seen(box: Box) -> None:
    box.quirks("repeat-page")
    report = run(box)
    customers = check(report, "list customers")
    assert customers.status == "warn"
    assert "page ignored" in customers.summary


def test_per_page_ignored_is_seen_and_the_list_still_read_whole(tmp_path: Path) -> None:
    box = Box(tmp_path / "sb")
    box.admin(
        "POST", "/_sandbox/seed", {"customers": [{"company_name": f"C{i}"} for i in range(60)]}
    )
    box.quirks("ignore-per-page")
    report = run(box)
    customers = check(report, "list customers")
    assert customers.status == "warn" and "per_page ignored" in customers.summary
    assert "60 read of X-Total-Count 60" in customers.summary  # in pages of 25
    # `page` is honoured, so pages the server sizes are followed, not refused.
    assert "the reader follows them" in customers.means and "refused" not in customers.means
    assert report.exit_code == 0, report.text()


def test_pages_by_link_alone_is_enough(tmp_path: Path) -> None:
    box = Box(tmp_path / "sb")
    box.admin(
        "POST", "/_sandbox/seed", {"customers": [{"company_name": f"C{i}"} for i in range(130)]}
    )
    box.quirks("no-total")
    customers = check(run(box), "list customers")
    assert customers.status == "ok", customers
    assert customers.summary.startswith("130 read; pages by Link;"), customers.summary


def test_pages_by_link_is_seen_on_an_account_that_fits_one_page(box: Box) -> None:
    """docs/doctor.md: `no-total` gives ✓ "pages by Link". On an account whose lists fit one
    page of 100 there is no next link on that page, and doctor said "? pages by nothing"
    though the two small pages it asks for carry one."""
    box.quirks("no-total")  # the fixture's account: a few customers, one page
    report = run(box)
    customers = check(report, "list customers")
    assert customers.status == "ok", customers
    assert customers.summary.startswith("3 read; pages by Link;"), customers.summary
    assert report.exit_code == 0


def test_no_pagination_signal_at_all_is_looked_at(box: Box) -> None:
    box.quirks("no-link", "no-total")
    report = run(box)
    customers = check(report, "list customers")
    assert customers.status == "warn" and "pages by nothing" in customers.summary
    # What plan does with such a list: no length passes a page 2 that repeats page 1.
    assert "refused by plan and apply, whatever its length" in customers.means
    assert "looks like a cap" not in customers.means
    assert report.exit_code == 0


@pytest.mark.parametrize(
    "quirks", [("ignore-per-page",), ("ignore-per-page", "no-link", "no-total")]
)
def test_an_empty_small_page_2_is_not_taken_for_page_ignored(
    tmp_path: Path, quirks: tuple[str, ...]
) -> None:
    """20 customers from a server ignoring per_page (pages of 25): page 2 of 2 is empty, as
    the list fits one of its pages. doctor said "per_page and page ignored" and that a
    longer list would be refused by plan, though the server honours `page` and the reader
    reads longer lists page by page."""
    box = Box(tmp_path / "sb")
    box.admin(
        "POST", "/_sandbox/seed", {"customers": [{"company_name": f"C{i}"} for i in range(20)]}
    )
    box.quirks(*quirks)
    report = run(box)
    customers = check(report, "list customers")
    assert customers.status == "warn", customers
    assert customers.summary.endswith("per_page ignored, page untried"), customers.summary
    assert "and page ignored" not in customers.summary
    assert "the reader follows them" in customers.means and "refused" not in customers.means
    assert report.exit_code == 0, report.text()


def test_a_count_below_what_is_read_is_looked_at(tmp_path: Path) -> None:
    """X-Total-Count of something else (here: always 150) on 250 customers with no Link:
    the reader read all 250 past it, and doctor said nothing of the count."""
    box = Box(tmp_path / "sb")
    box.admin(
        "POST", "/_sandbox/seed", {"customers": [{"company_name": f"C{i}"} for i in range(250)]}
    )
    box.quirks("no-link")

    async def go() -> Report:
        async def miscount(request: httpx.Request, response: httpx.Response) -> httpx.Response:
            if request.url.path == "/customers":
                return answer(response, headers={"X-Total-Count": "150"})
            return response

        wire = Altered(box.transport, miscount)
        async with ReadClient(box.settings(), transport=wire) as client:
            return await diagnose(client)

    report = asyncio.run(go())
    customers = check(report, "list customers")
    assert customers.status == "warn", customers
    assert customers.summary.startswith("250 read of X-Total-Count 150;"), customers.summary
    assert "X-Total-Count does not count this list" in customers.means
    assert report.exit_code == 0, report.text()


def test_other_adapter_keys_are_a_shape_failure(box: Box) -> None:
    box.quirks("adapter-keys")
    report = run(box)
    assert report.exit_code == 5
    adapter = check(report, "amazon adapter")
    assert adapter.status == "fail"
    assert "marketplace_id" in adapter.summary and "marketplace" in adapter.summary


def test_no_expires_in_and_no_invite_endpoint_are_looked_at_not_failed(box: Box) -> None:
    box.quirks("no-expires-in", "no-authorization-requests")
    report = run(box)
    assert report.exit_code == 0, report.text()
    assert check(report, "login").status == "warn"
    endpoint = check(report, "authorization_requests")
    assert endpoint.status == "warn" and "Send to merchant" in endpoint.means
    assert "means:" in report.text() and "do:" in report.text()


def _cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The command line in a process of its own, with `env` added to the environment."""
    return subprocess.run(
        [sys.executable, "-c", "from dropstream_sync.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={
            **__import__("os").environ,
            "PYTHONPATH": str(Path(__file__).parents[2]),
            **(env or {}),
        },
    )


def test_cli_output_is_short_and_holds_no_credential_even_with_debug_logs(
    tmp_path: Path,
) -> None:
    result = _cli("-vv", "doctor", "--sandbox", str(tmp_path / "sb"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    info = json.loads((tmp_path / "sb" / "secrets.json").read_text())
    import base64

    pair = f"{info['username']}:{info['password']}".encode()
    for secret in (info["password"], base64.b64encode(pair).decode()):
        assert secret not in result.stdout and secret not in result.stderr
    assert "Bearer ey" not in result.stderr
    assert len(result.stdout.splitlines()) <= 30
    assert "Traceback" not in result.stderr


def test_cli_against_a_served_sandbox_capped_at_100_exits_with_pagination(
    tmp_path: Path,
) -> None:
    with Served(tmp_path / "sb", "--quirk", "cap:100") as served:
        served.admin(
            "POST", "/_sandbox/seed", {"customers": [{"company_name": f"C{i}"} for i in range(130)]}
        )
        assert served.admin("GET", "/_sandbox/quirks") == {"quirks": ["cap:100"]}
        result = _cli(
            "doctor",
            "--api-url",
            served.url,
            "--format",
            "json",
            cwd=tmp_path,
            env={"DROPSTREAM_USERNAME": served.username, "DROPSTREAM_PASSWORD": served.password},
        )
    assert result.returncode == 6, result.stdout + result.stderr
    customers = next(c for c in json.loads(result.stdout)["checks"] if c["id"] == "list customers")
    assert customers["status"] == "fail" and customers["kind"] == "pagination"
    assert "answered 100 items with no sign of more pages" in customers["means"]


def test_cli_against_nothing_listening_is_a_transport_failure(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = _cli(
        "doctor",
        "--api-url",
        f"http://127.0.0.1:{port}",
        "--format",
        "json",
        cwd=tmp_path,
        env={"DROPSTREAM_USERNAME": "u", "DROPSTREAM_PASSWORD": "p-secret-1"},
    )
    assert result.returncode == 3, result.stdout + result.stderr
    data = json.loads(result.stdout)
    url = data["checks"][0]
    assert url["id"] == "url" and url["status"] == "fail"
    assert "connection refused" in url["summary"]
    assert "p-secret-1" not in result.stdout


@pytest.mark.parametrize("ready_token", [False, True], ids=["login", "ready token"])
def test_a_url_that_redirects_is_a_url_failure_not_a_refused_login(
    box: Box, ready_token: bool
) -> None:
    """A web front end answering the API's paths with redirects (to a login page): the
    password is not the problem, and nothing follows the redirect."""
    wire = ScriptedFaults(box.transport)
    first = ("GET", "/customers") if ready_token else ("POST", "/auth/token")
    wire.fail(*first, 302, headers={"Location": "https://login.example/"}, body="")
    settings = box.settings()
    if ready_token:
        settings = ClientSettings(URL, TokenCredentials(Secret("a-token")), settings.limits)

    async def go() -> Report:
        async with ReadClient(settings, transport=wire) as client:
            return await diagnose(client)

    report = asyncio.run(go())

    assert report.exit_code == 3
    assert [c.id for c in report.checks] == ["url"]
    url = check(report, "url")
    assert url.status == "fail" and "to https://login.example/ (HTTP 302)" in url.summary
    assert {r.url.host for r in wire.log} == {"sandbox.local"}


def test_a_list_answered_with_an_html_page_says_so_once(box: Box) -> None:
    wire = ScriptedFaults(box.transport)
    wire.fail("GET", "/stores", 200, body="<html>Maintenance</html>", times=10)

    async def go() -> Report:
        async with ReadClient(box.settings(), transport=wire) as client:
            return await diagnose(client)

    report = asyncio.run(go())

    assert report.exit_code == 5
    assert check(report, "list stores").summary == (
        "GET /stores -> 200: unexpected answer: the body is not JSON "
        "(text/html; charset=utf-8): '<html>Maintenance</html>'"
    )
