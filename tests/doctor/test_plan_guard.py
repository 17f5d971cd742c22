"""A plan never acts on a partial read: lists that may be cut short stop plan and apply
with an error naming the list and pointing to doctor, before anything is planned or sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from dropstream_sync import workflows
from dropstream_sync.client import SyncReadClient, SyncWriteClient
from dropstream_sync.errors import PartialReadError, PlanError
from tests.cli_in_process import EXAMPLE
from tests.doctor.on_sandbox import Box
from tests.seeded import US

CONFIG = """\
version: 1
prune: true
merchants:
  - name: C0
    email: ops@c0.example
    stores:
      - name: C0 US
        marketplace: US
"""


@pytest.fixture
def box(tmp_path: Path) -> Box:
    b = Box(tmp_path / "sb")
    b.admin(
        "POST", "/_sandbox/seed", {"customers": [{"company_name": f"C{i}"} for i in range(130)]}
    )
    return b


def _config(folder: Path) -> str:
    path = folder / "stores.yaml"
    path.write_text(CONFIG)
    return str(path)


@pytest.fixture
def config(tmp_path: Path) -> str:
    return _config(tmp_path)


def _plan(box: Box, config: str) -> object:
    with SyncReadClient(box.reader()) as client:
        return workflows.load_and_plan([config], client)


def _customers_read(box: Box) -> int:
    with SyncReadClient(box.reader()) as client:
        return len(client.read_live().customers)


def test_the_sandbox_as_modelled_plans(box: Box, config: str) -> None:
    plan = _plan(box, config)
    assert plan is not None
    assert _customers_read(box) == 130


@pytest.mark.parametrize("quirk", ["no-link", "no-total", "ignore-per-page"])
def test_one_pagination_signal_or_a_smaller_page_is_enough_to_read_whole(
    box: Box, config: str, quirk: str
) -> None:
    box.quirks(quirk)
    assert _plan(box, config) is not None
    assert _customers_read(box) == 130


@pytest.mark.parametrize("cap", [100, 50, 37, 1])
def test_a_list_cut_at_any_length_without_signal_stops_the_plan(
    box: Box, config: str, cap: int
) -> None:
    # No Link, no total, and the same first rows for page=2: 37 is no more proof of the
    # end than 100 (before, a length that was not round was read as the whole list).
    box.quirks(f"cap:{cap}")
    with pytest.raises(PartialReadError) as caught:
        _plan(box, config)
    assert caught.value.list_path == "/customers"
    assert "/customers" in str(caught.value) and "dropstream-sync doctor" in str(caught.value)
    assert f"answered {cap} items with no sign of more pages" in str(caught.value)


def test_a_whole_list_from_a_server_ignoring_page_is_refused_too(
    tmp_path: Path, config: str
) -> None:
    # 7 customers under cap:30: the whole list, but answered just as a list cut at 7 would.
    box = Box(tmp_path / "small")
    box.admin(
        "POST", "/_sandbox/seed", {"customers": [{"company_name": f"C{i}"} for i in range(7)]}
    )
    box.quirks("cap:30")
    with pytest.raises(PartialReadError, match="same items again for page=2"):
        _plan(box, config)


def test_pages_without_any_signal_are_read_until_one_brings_nothing_new(
    box: Box, config: str
) -> None:
    # No Link, no X-Total-Count, but `page` honoured: page 2 shows there is more.
    box.quirks("no-link", "no-total")
    assert _plan(box, config) is not None
    assert _customers_read(box) == 130


def test_a_round_answer_repeated_for_page_2_stops_the_plan(box: Box, config: str) -> None:
    # 100 customers, no signal, and the same 100 for page=2: the server ignores the page
    # asked, so whether there are more cannot be read; 100 is where lists get capped.
    box.quirks("cap:100")
    with pytest.raises(PartialReadError, match="same items again for page=2") as caught:
        _plan(box, config)
    assert caught.value.list_path == "/customers"


def test_a_body_envelope_stops_the_plan(box: Box, config: str) -> None:
    box.quirks("envelope")
    with pytest.raises(PartialReadError, match="total_pages"):
        _plan(box, config)


def test_the_same_page_twice_stops_the_plan(box: Box, config: str) -> None:
    box.quirks("repeat-page")
    with pytest.raises(PartialReadError, match="same 100 items") as caught:
        _plan(box, config)
    assert caught.value.list_path == "/customers"


def test_apply_stops_before_sending_any_write(box: Box, config: str) -> None:
    box.quirks("cap:100")
    with SyncWriteClient(box.writer()) as client, pytest.raises(PartialReadError):
        workflows.apply(client, [config], audit_log=None)
    assert "GET /customers" in box.requests()
    assert box.writes() == {}


def test_a_store_whose_marketplace_cannot_be_read_stops_the_plan_saying_so(
    box: Box, tmp_path: Path
) -> None:
    # Not "in marketplace None live": the marketplace is not another one, it is unread.
    box.admin(
        "POST",
        "/_sandbox/seed",
        {
            "customers": [{"id": 1, "company_name": "Zed"}],
            "stores": [
                {
                    "id": 1,
                    "customer_id": 1,
                    "name": "Zed US",
                    "adapter": {"marketplace_id": "ATVPDKIKX0DER"},
                }
            ],
        },
    )
    box.quirks("adapter-keys")

    config = tmp_path / "zed.yaml"
    config.write_text(CONFIG.replace("C0", "Zed").replace("prune: true", "prune: false"))
    with pytest.raises(PlanError) as caught:
        _plan(box, str(config))

    assert "its marketplace could not be read from the live store" in str(caught.value)
    assert "None" not in str(caught.value)


def test_import_names_the_list_plan_names_for_the_same_account(tmp_path: Path) -> None:
    # An account with invitations, on a server that ignores `page`: every list is refused.
    # Before: import named /authorization_requests (its whole-history read went out first),
    # plan /customers, as if two different lists were wrong.
    box = Box(tmp_path / "sb")
    with SyncWriteClient(box.writer()) as client:
        workflows.apply(client, [EXAMPLE], audit_log=None)
    box.quirks("cap:100")
    with pytest.raises(PartialReadError) as planned:
        _plan(box, EXAMPLE)
    with SyncReadClient(box.reader()) as client, pytest.raises(PartialReadError) as imported:
        workflows.import_account(client)
    assert planned.value.list_path == imported.value.list_path == "/customers"
    assert str(imported.value) == str(planned.value)


def test_import_still_refuses_a_partial_history_when_the_other_lists_read_whole(
    tmp_path: Path,
) -> None:
    # The held-back refusal is not lost: here only the request history spans two pages.
    # Here only the request history spans two pages, and the server repeats page 1 for it.
    box = Box(tmp_path / "sb")
    done = {"email": "ops@c0.example", "status": "completed", "expires_at": "2026-01-01T00:00:00Z"}
    box.admin(
        "POST",
        "/_sandbox/seed",
        {
            "customers": [{"id": 1, "company_name": "C0"}],
            "stores": [
                {"id": 1, "customer_id": 1, "name": "C0 US", "adapter": {"marketplace_id": US}}
            ],
            "authorization_requests": [{**done, "store_id": 1} for _ in range(150)],
        },
    )
    box.quirks("repeat-page")
    with SyncReadClient(box.reader()) as client:
        workflows.load_and_plan([_config(tmp_path)], client)  # the plan's lists read whole
        with pytest.raises(PartialReadError) as caught:
            workflows.import_account(client)
    assert caught.value.list_path == "/authorization_requests"
