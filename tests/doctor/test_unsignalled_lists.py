"""Lists answered with no paging signal (no `Link`, no `X-Total-Count`): page 2 is asked once
to tell the end of a list from a server that ignores the page asked. A truncated read is the
worst day-one failure (merchants not read are created again, and invited again), so a list
whose page 2 repeats page 1 is refused whatever its length; a server that answers every
page honestly costs one request more per list, and the model's server (the sandbox's
default) none."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from dropstream_sync import workflows
from dropstream_sync.client import SyncReadClient
from dropstream_sync.errors import PartialReadError
from dropstream_sync.planner.details import ChangeKind
from dropstream_sync.planner.model import Plan
from tests.cli_in_process import run
from tests.doctor.on_sandbox import Box, Served

US = "ATVPDKIKX0DER"
CUSTOMERS = 130
# A merchant past the first 30 customers: a read cut at 30 would plan to create it again.
CONFIG = """\
version: 1
merchants:
  - name: C100
    email: ops@c100.example
    stores:
      - name: C100 US
        marketplace: US
"""
# No Link, no X-Total-Count, page and per_page ignored: the first 30 rows, every time.
CAPPED_AT_30 = ("cap:30", "no-link", "no-total", "ignore-per-page")


def _account() -> dict[str, object]:
    return {
        "customers": [{"id": i, "company_name": f"C{i}"} for i in range(CUSTOMERS)],
        "stores": [
            {
                "id": i,
                "customer_id": i,
                "name": f"C{i} US",
                "platform": "amazon",
                "adapter": {"marketplace_id": US},
            }
            for i in range(CUSTOMERS)
        ],
    }


@pytest.fixture
def box(tmp_path: Path) -> Box:
    b = Box(tmp_path / "sb")
    b.admin("POST", "/_sandbox/seed", _account())
    return b


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "stores.yaml"
    path.write_text(CONFIG)
    return path


def _list_gets(box: Box, read: object) -> dict[str, int]:
    """The GETs of API lists that `read` (a callable) sent, per route."""
    before = box.requests()
    assert callable(read)
    read()
    after = box.requests()
    return {
        k: after[k] - before.get(k, 0)
        for k in after
        if k.startswith("GET /") and "{" not in k and "/_sandbox/" not in k
        if after[k] != before.get(k, 0)
    }


def _plan(box: Box, config: Path) -> Plan:
    with SyncReadClient(box.reader()) as client:
        return workflows.load_and_plan([str(config)], client)


def _kinds(plan: Plan) -> list[ChangeKind]:
    return [c.kind for c in plan.changes]


def _whole_account(box: Box) -> tuple[int, int]:
    with SyncReadClient(box.reader()) as client:
        state = client.read_live()
    return len(state.customers), len(state.stores)


def _pages(n: int) -> int:
    return max(1, math.ceil(n / 100))


# Per list, on this account: customers, warehouses (one per customer) and stores hold
# 130 objects; connections and both authorization-request reads are empty.
LISTS = {
    "GET /customers": _pages(CUSTOMERS),
    "GET /warehouses": _pages(CUSTOMERS),
    "GET /stores": _pages(CUSTOMERS),
    "GET /connections": 1,
    "GET /authorization_requests": 2,  # pending and expired
}
HELD = ("GET /customers", "GET /warehouses", "GET /stores")  # the lists with objects


def test_the_model_s_server_costs_not_one_request_more(box: Box) -> None:
    # X-Total-Count and Link on every list: the pages, and nothing to confirm.
    sent = _list_gets(box, lambda: _whole_account(box))
    assert sent == LISTS


def test_no_paging_signal_at_all_reads_every_object_at_one_request_more_per_list(
    box: Box, config: Path
) -> None:
    box.quirks("no-link", "no-total")

    counts: list[tuple[int, int]] = []
    sent = _list_gets(box, lambda: counts.append(_whole_account(box)))

    assert counts == [(CUSTOMERS, CUSTOMERS)]
    # The empty page past the last of each list with objects; an empty list is not asked
    # again (nothing in it can be cut short).
    assert sent == {k: n + (k in HELD) for k, n in LISTS.items()}
    # C100 and its store are read, not created again: only the store's invite is planned.
    assert _kinds(_plan(box, config)) == [ChangeKind.INVITE]


def test_a_narrowed_plan_with_no_paging_signal_reads_as_one_with_signals(
    box: Box, config: Path
) -> None:
    # The plan of one merchant reads /customers whole, then that merchant's lists filtered.
    with_signals = _list_gets(box, lambda: _plan(box, config))
    box.quirks("no-link", "no-total")
    plans: list[Plan] = []
    without = _list_gets(box, lambda: plans.append(_plan(box, config)))

    assert _kinds(plans[0]) == [ChangeKind.INVITE]
    # One request more for each list that held objects: /customers, C100's warehouse and
    # its store; its (no) connections and the empty request lists cost nothing more.
    assert without == {k: n + (k in HELD) for k, n in with_signals.items()}


def test_a_list_capped_at_30_that_ignores_page_and_per_page_stops_the_plan(
    box: Box, config: Path
) -> None:
    box.quirks(*CAPPED_AT_30)
    with pytest.raises(PartialReadError) as caught:
        _plan(box, config)
    assert caught.value.list_path == "/customers"
    message = str(caught.value)
    assert "the list /customers may not have been read whole" in message
    assert "30 items with no sign of more pages" in message
    assert "the same items again for page=2" in message
    assert "dropstream-sync doctor" in message


def test_over_http_a_capped_list_plans_nothing_creates_nothing_and_doctor_fails(
    tmp_path: Path,
    config: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    quirks = [arg for q in CAPPED_AT_30 for arg in ("--quirk", q)]
    with Served(tmp_path / "served", *quirks) as served:
        served.admin("POST", "/_sandbox/seed", _account())
        monkeypatch.setenv("DROPSTREAM_API_URL", served.url)
        monkeypatch.setenv("DROPSTREAM_USERNAME", served.username)
        monkeypatch.setenv("DROPSTREAM_PASSWORD", served.password)
        before = served.admin("GET", "/_sandbox/stats")["requests"]

        planned = run(capsys, "plan", str(config))
        applied = run(capsys, "apply", str(config), "--auto-approve")
        doctor = run(capsys, "doctor")

        after = served.admin("GET", "/_sandbox/stats")["requests"]
        outbox = served.admin("GET", "/_sandbox/outbox")

    for code, out, err in (planned, applied):
        assert code == 1, out + err
        assert "create" not in out and "Traceback" not in err
        (line,) = err.strip().splitlines()
        assert line.startswith("error: GET /customers: the list /customers may not have been")
        assert "and the same items again for page=2: the server ignores the page asked" in line
        assert "run `dropstream-sync doctor`" in line
        assert served.password not in out + err
    writes = {
        k: n - before.get(k, 0)
        for k, n in after.items()
        if not k.startswith("GET ") and k != "POST /auth/token" and " /_sandbox/" not in k
    }
    assert not any(writes.values()), writes
    assert outbox == []

    code, out, err = doctor
    assert code == 6, out + err
    lines = out.splitlines()
    at = lines.index(
        "✗ list customers: 30 on the first page; pages by nothing; per_page and page ignored"
    )
    assert lines[at + 1].startswith(
        "    means: plan and apply stop with an error rather than act on a partial read: "
        "it answered 30 items with no sign of more pages"
    )
    assert served.password not in out + err
