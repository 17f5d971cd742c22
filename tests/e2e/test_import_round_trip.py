"""Issue 15.1/15.2/15.7 over HTTP on the in-process sandbox: a new connection's channels are
set in the apply that finalizes it, channel drift is one PATCH, and importing any live
account (authorized, pending, expired, revoked, disabled, several connections, channels)
gives a file whose plan has no changes."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dropstream_sync import catalog, workflows
from dropstream_sync.cli.connect import SandboxSession, open_sandbox
from dropstream_sync.config import load_text
from dropstream_sync.planner import plan
from dropstream_sync.timestamps import utc_stamp

MARKETS = ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1F83G8C2ARO7P", "A1PA6795UKMFR9"]
CHANNELS = ("sales_order", "shipment", "sales_order_return")


@pytest.fixture
def session(tmp_path: Path) -> Iterator[SandboxSession]:
    s = open_sandbox(str(tmp_path / "state"))
    with s.client:
        yield s


def seed(session: SandboxSession, doc: dict[str, Any]) -> None:
    session.client.run(session.admin.seed(doc))


def stamp(session: SandboxSession, days: float) -> str:
    return utc_stamp(session.client.clock() + timedelta(days=days))


def authorized(session: SandboxSession) -> dict[str, Any]:
    return {
        "status": "authorized",
        "selling_partner_id": "A1SELLER",
        "authorized_at": stamp(session, -10),
        "expires_at": stamp(session, 300),
    }


def adapter(market: str, authorization: dict[str, Any]) -> dict[str, Any]:
    return {
        "marketplace_id": market,
        "fulfillment_channel": "MFN",
        "import_order_statuses": ["Unshipped", "PartiallyShipped"],
        "fulfillment_latency": None,
        "fulfillment_channel_code": "DEFAULT",
        "authorization": authorization,
    }


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "stores.yaml"
    path.write_text(text)
    return str(path)


def test_finalize_sets_the_channels_and_drift_is_patched_back(
    session: SandboxSession, tmp_path: Path
) -> None:
    seed(
        session,
        {
            "customers": [{"id": 1, "company_name": "Acme"}],
            "stores": [
                {
                    "id": 1,
                    "customer_id": 1,
                    "name": "Acme US",
                    "adapter": adapter(MARKETS[0], authorized(session)),
                }
            ],
        },
    )
    config = write(
        tmp_path,
        "version: 1\nmerchants:\n  - name: Acme\n    stores:\n"
        "      - name: Acme US\n        marketplace: US\n"
        "        channels: {sales_order: true, shipment: true}\n",
    )
    first = workflows.load_and_plan([config], session.client)
    assert [str(c.kind) for c in first.changes] == ["create_connection"]
    workflows.apply(session.client, [config])
    (conn,) = session.client.read_live().connections
    assert conn.enabled
    assert {ch.type: ch.enabled for ch in conn.channels or ()} == {
        "sales_order": True,
        "shipment": True,
        "sales_order_return": False,
    }
    assert workflows.load_and_plan([config], session.client).changes == ()
    # Switched off by hand: the plan shows it and apply puts it back.
    shipment = next(ch for ch in conn.channels or () if ch.type == "shipment")
    session.client.run(session.client.aio.update_channel(conn.id, shipment.id, enabled_at=None))
    drift = workflows.load_and_plan([config], session.client)
    assert [str(c.kind) for c in drift.changes] == ["update_channel"]
    workflows.apply(session.client, [config])
    assert workflows.load_and_plan([config], session.client).changes == ()


def test_enabled_false_switches_off_both_connections_and_import_keeps_both(
    session: SandboxSession, tmp_path: Path
) -> None:
    on = stamp(session, -1)
    seed(
        session,
        {
            "customers": [{"id": 1, "company_name": "Acme"}],
            "warehouses": [
                {"id": 1, "customer_id": 1, "description": "Main"},
                {"id": 2, "customer_id": 1, "description": "East"},
            ],
            "stores": [
                {
                    "id": 1,
                    "customer_id": 1,
                    "name": "Acme US",
                    "enabled_at": on,
                    "adapter": adapter(MARKETS[0], authorized(session)),
                }
            ],
            "connections": [
                {
                    "id": i,
                    "customer_id": 1,
                    "store_id": 1,
                    "warehouse_id": i,
                    "name": "Acme US",
                    "enabled_at": on,
                    "channels": [{"type": "sales_order", "enabled_at": on}],
                }
                for i in (1, 2)
            ],
        },
    )
    imported = workflows.import_account(session.client, (), "imported.yaml")
    desired = load_text(imported.text, "imported.yaml")
    assert desired.merchants[0].stores[0].warehouses == ("Main", "East")
    assert plan(desired, session.client.read_live(), now=session.client.clock()).changes == ()
    assert "    channels:" in imported.text
    config = write(
        tmp_path, imported.text.replace("    channels:", "    enabled: false\n    channels:")
    )
    workflows.apply(session.client, [config])
    live = session.client.read_live()
    assert not live.stores[0].enabled and not any(c.enabled for c in live.connections)


@st.composite
def accounts(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Per store: its state, connections (warehouse indexes) and channels."""
    stores = []
    for i in range(draw(st.integers(1, 4))):
        state = draw(st.sampled_from(["authorized", "pending", "expired", "revoked", "disabled"]))
        warehouses = (
            draw(st.lists(st.sampled_from([0, 1]), min_size=1, max_size=2, unique=True))
            if state in ("authorized", "disabled")
            else []
        )
        channels = {kind: draw(st.booleans()) for kind in CHANNELS}
        stores.append(
            {
                "n": i,
                "state": state,
                "warehouses": warehouses,
                "channels": channels,
                "market": MARKETS[i],
                "history": draw(st.booleans()),
            }
        )
    return stores


def _document(session: SandboxSession, stores: list[dict[str, Any]]) -> dict[str, Any]:
    now, past = stamp(session, -1), stamp(session, -40)
    doc: dict[str, Any] = {
        "customers": [{"id": 1, "company_name": "Acme"}],
        "warehouses": [
            {"id": 1, "customer_id": 1, "description": "Main"},
            {"id": 2, "customer_id": 1, "description": "East"},
        ],
        "stores": [],
        "connections": [],
        "authorization_requests": [],
    }
    for s in stores:
        sid, state = 10 + s["n"], s["state"]
        auth = (
            authorized(session)
            if state in ("authorized", "disabled")
            else {"status": {"pending": "missing"}.get(state, state)}
        )
        on = now if state == "authorized" else None
        doc["stores"].append(
            {
                "id": sid,
                "customer_id": 1,
                "name": f"Acme {s['n']}",
                "enabled_at": on,
                "adapter": adapter(s["market"], auth),
            }
        )
        for w in s["warehouses"]:
            doc["connections"].append(
                {
                    "id": sid * 10 + w,
                    "customer_id": 1,
                    "store_id": sid,
                    "warehouse_id": w + 1,
                    "name": f"Acme {s['n']}",
                    "enabled_at": on,
                    "channels": [
                        {"type": k, "enabled_at": now if v else None}
                        for k, v in s["channels"].items()
                    ],
                }
            )
        if state == "pending":
            doc["authorization_requests"].append(
                {"store_id": sid, "email": "ops@acme.example", "expires_at": stamp(session, 5)}
            )
        elif s["history"] or state == "expired":
            # An invitation long expired (or completed): its email is all that is left.
            doc["authorization_requests"].append(
                {
                    "store_id": sid,
                    "email": "ops@acme.example",
                    "created_at": past,
                    "expires_at": stamp(session, -33),
                    **(
                        {"status": "completed", "completed_at": past}
                        if state == "authorized"
                        else {}
                    ),
                }
            )
    return doc


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stores=accounts())
def test_planning_the_imported_file_gives_no_changes(
    tmp_path: Path, stores: list[dict[str, Any]]
) -> None:
    # A fresh account per example (hypothesis reuses the function's tmp_path).
    session = open_sandbox(tempfile.mkdtemp(dir=tmp_path))
    with session.client:
        seed(session, _document(session, stores))
        imported = workflows.import_account(session.client, (), "imported.yaml")
        desired = load_text(imported.text, "imported.yaml")
        assert desired.merchants[0].email == (
            "ops@acme.example"
            if any(s["state"] in ("pending", "expired") or s["history"] for s in stores)
            else None
        )
        again = plan(desired, session.client.read_live(), now=session.client.clock())
        assert [(str(c.kind), c.store) for c in again.changes] == [], imported.text
        assert imported.notes == ()


def test_a_store_disabled_in_the_ui_with_its_connection_on_is_imported_switched_off(
    session: SandboxSession,
) -> None:
    on = stamp(session, -1)
    seed(
        session,
        {
            "customers": [{"id": 1, "company_name": "Acme"}],
            "warehouses": [{"id": 1, "customer_id": 1, "description": "Main"}],
            "stores": [
                {
                    "id": 1,
                    "customer_id": 1,
                    "name": "Acme US",
                    "adapter": adapter(MARKETS[0], authorized(session)),
                }
            ],
            "connections": [
                {
                    "id": 1,
                    "customer_id": 1,
                    "store_id": 1,
                    "warehouse_id": 1,
                    "name": "Acme US",
                    "enabled_at": on,
                }
            ],
            "authorization_requests": [
                {
                    "store_id": 1,
                    "email": "ops@acme.example",
                    "status": "completed",
                    "created_at": stamp(session, -50),
                    "completed_at": stamp(session, -50),
                    "expires_at": stamp(session, -43),
                }
            ],
        },
    )
    imported = workflows.import_account(session.client, (), "imported.yaml")
    desired = load_text(imported.text, "imported.yaml")
    assert desired.merchants[0].email == "ops@acme.example"
    assert not desired.merchants[0].stores[0].enabled
    again = plan(desired, session.client.read_live(), now=session.client.clock())
    # Neither invited nor enabled: only the connection still on is switched off.
    assert [str(c.kind) for c in again.changes] == ["disable"]


def test_settings_the_adapter_does_not_carry_are_said_not_written_as_the_defaults(
    tmp_path: Path,
) -> None:
    """A server nesting the settings (the sandbox's `adapter-settings` quirk): the file
    cannot say an FBA store's fulfillment_channel, and says so rather than recording MFN."""
    from dropstream_sync.client.sync import SyncReadClient
    from tests.client.on_sandbox import Box

    box = Box(tmp_path / "state", quirks=["adapter-settings"])
    fba = {**adapter(MARKETS[0], {}), "fulfillment_channel": "AFN"}
    box.seed(
        {
            "customers": [{"id": 1, "company_name": "Acme"}],
            "stores": [{"id": 1, "customer_id": 1, "name": "Acme US", "adapter": fba}],
        }
    )
    with SyncReadClient(box.reader()) as client:
        imported = workflows.import_account(client, (), "imported.yaml")
        store_id = client.read_live().stores[0].id

    assert imported.stores == 1 and "fulfillment_channel" not in imported.text
    assert imported.notes == (
        f"note: store {store_id} 'Acme US' of 'Acme' is written without fulfillment_channel, "
        "import_order_statuses, fulfillment_latency, fulfillment_channel_code: they could not "
        "be read from the live store (missing from its adapter, or not of the kind DropStream "
        "validates for it), so the file shows the defaults, not what DropStream holds; check "
        "the store's settings in DropStream (`dropstream-sync doctor` lists the adapter's keys)",
    )


def test_a_store_whose_marketplace_cannot_be_read_is_named_not_silently_left_out(
    tmp_path: Path,
) -> None:
    """A server with other adapter keys (the sandbox's `adapter-keys` quirk): the file cannot
    hold the store, and the import says so instead of writing the merchant with no stores."""
    from dropstream_sync.client.sync import SyncReadClient
    from tests.client.on_sandbox import Box

    box = Box(tmp_path / "state", quirks=["adapter-keys"])
    box.seed(
        {
            "customers": [{"id": 1, "company_name": "Acme"}],
            "stores": [
                {"id": 1, "customer_id": 1, "name": "Acme US", "adapter": adapter(MARKETS[0], {})}
            ],
        }
    )
    with SyncReadClient(box.reader()) as client:
        imported = workflows.import_account(client, (), "imported.yaml")
        store_id = client.read_live().stores[0].id

    assert imported.stores == 0
    assert imported.notes[0] == (
        f"note: store {store_id} 'Acme US' of 'Acme' is not in the file: its marketplace "
        "(none read) is not an Amazon marketplace the config can name; run "
        "`dropstream-sync doctor` to see the adapter's keys"
    )


def test_a_warehouse_the_config_cannot_name_is_left_out_and_said_not_a_new_billed_connection(
    session: SandboxSession,
) -> None:
    """The UI lets two warehouses of a merchant share a description, and takes one of
    spaces; `warehouse:` names a warehouse by its description, so neither can be written."""
    on = stamp(session, -1)
    stores = {1: "Acme US", 2: "Acme CA", 3: "Acme UK"}
    seed(
        session,
        {
            "customers": [{"id": 1, "company_name": "Acme"}],
            "warehouses": [
                {"id": 1, "customer_id": 1, "description": "Main"},
                {"id": 2, "customer_id": 1, "description": "Overflow"},
                {"id": 3, "customer_id": 1, "description": "Overflow"},
                {"id": 4, "customer_id": 1, "description": "  "},
            ],
            "stores": [
                {
                    "id": i,
                    "customer_id": 1,
                    "name": name,
                    "enabled_at": on,
                    "adapter": adapter(MARKETS[i], authorized(session)),
                }
                for i, name in stores.items()
            ],
            "connections": [
                {
                    "customer_id": 1,
                    "store_id": i,
                    "warehouse_id": i + 1,
                    "name": name,
                    "enabled_at": on,
                    "channels": [{"type": "sales_order", "enabled_at": on}],
                }
                for i, name in stores.items()
            ],
        },
    )
    imported = workflows.import_account(session.client, (), "imported.yaml")
    desired = load_text(imported.text, "imported.yaml")
    assert [s.warehouse_names() for s in desired.merchants[0].stores] == [(), (), ()]
    # Was: `warehouse: Overflow` for Acme CA's, the second "Overflow" (a new billed connection
    # to the first one), and `warehouse: '  '` for Acme UK (a file that does not load).
    again = plan(desired, session.client.read_live(), now=session.client.clock())
    assert [(str(c.kind), c.store) for c in again.changes] == [], imported.text
    assert again.warnings == ()
    live = session.client.read_live()
    ids = {s.name: s.id for s in live.stores}
    conns = {c.store_id: c for c in live.connections}
    assert list(imported.notes) == [
        f"note: store {ids[name]} {name!r} of 'Acme' is written without `warehouse:`: its "
        f"connection {conns[ids[name]].id} goes to warehouse {conns[ids[name]].warehouse_id}, "
        f"which {why} (the config names a warehouse by its description); with no warehouse "
        "named, the plan keeps the store's connections as they are"
        for name, why in [
            ("Acme US", "is described 'Overflow' like another of the merchant's"),
            ("Acme CA", "is described 'Overflow' like another of the merchant's"),
            ("Acme UK", "is described '  ' (not a name the config can hold)"),
        ]
    ]


def test_the_import_note_says_what_each_change_of_the_first_plan_does_and_costs(
    session: SandboxSession,
) -> None:
    """Live states the config cannot hold: a store authorized in the UI and never finalized
    (switched off, no connection), and a connection named otherwise than its store."""
    on = stamp(session, -1)
    seed(
        session,
        {
            "customers": [{"id": 1, "company_name": "Acme"}],
            "warehouses": [{"id": 1, "customer_id": 1, "description": "Main"}],
            "stores": [
                {
                    "id": 1,
                    "customer_id": 1,
                    "name": "Acme US",
                    "enabled_at": on,
                    "adapter": adapter(MARKETS[0], authorized(session)),
                },
                {
                    "id": 2,
                    "customer_id": 1,
                    "name": "Acme CA",
                    "adapter": adapter(MARKETS[1], authorized(session)),
                },
            ],
            "connections": [
                {
                    "customer_id": 1,
                    "store_id": 1,
                    "warehouse_id": 1,
                    "name": "Acme \u202eUSA",
                    "enabled_at": on,
                    "channels": [{"type": "sales_order", "enabled_at": on}],
                }
            ],
        },
    )
    imported = workflows.import_account(session.client, (), "imported.yaml")
    # Was "  create_connection Acme / Acme CA" and "  update_connection Acme / Acme US":
    # neither what would change nor that the new connection is billed.
    assert imported.notes == (
        "note: a plan of this file now has 2 change(s) (1 create_connection, 1 update_connection):",
        "  create_connection Acme / Acme CA: a new connection: DropStream bills it from then on,"
        " enabled or not",
        '  update_connection Acme / Acme US: connection.name: "Acme \\u202eUSA" → "Acme US"',
    )


def test_the_import_note_says_which_of_store_and_connection_the_first_plan_switches_on(
    session: SandboxSession,
) -> None:
    """Switched off in the UI: the connection only, the store left on (no `enabled:` holds
    that, and the plan turns the orders back on)."""
    on = stamp(session, -1)
    seed(
        session,
        {
            "customers": [{"id": 1, "company_name": "Acme"}],
            "warehouses": [{"id": 1, "customer_id": 1, "description": "Main"}],
            "stores": [
                {
                    "id": 1,
                    "customer_id": 1,
                    "name": "Acme US",
                    "enabled_at": on,
                    "adapter": adapter(MARKETS[0], authorized(session)),
                }
            ],
            "connections": [
                {
                    "customer_id": 1,
                    "store_id": 1,
                    "warehouse_id": 1,
                    "name": "Acme US",
                    "channels": [{"type": "sales_order", "enabled_at": on}],
                }
            ],
        },
    )
    imported = workflows.import_account(session.client, (), "imported.yaml")
    # Was "  enable Acme / Acme US": not which of the two is off now.
    assert imported.notes == (
        "note: a plan of this file now has 1 change(s) (1 enable):",
        "  enable Acme / Acme US: switches on the connection",
    )


def test_import_takes_the_email_of_the_pending_invitation_over_a_later_completed_one(
    session: SandboxSession,
) -> None:
    """In the UI, Acme US was invited at old-ops@ (still waiting) and Acme CA later at
    new-ops@ (approved since)."""
    on = stamp(session, -1)
    seed(
        session,
        {
            "customers": [{"id": 1, "company_name": "Acme"}],
            "warehouses": [{"id": 1, "customer_id": 1, "description": "Main"}],
            "stores": [
                {"id": 1, "customer_id": 1, "name": "Acme US", "adapter": adapter(MARKETS[0], {})},
                {
                    "id": 2,
                    "customer_id": 1,
                    "name": "Acme CA",
                    "enabled_at": on,
                    "adapter": adapter(MARKETS[1], authorized(session)),
                },
            ],
            "connections": [
                {
                    "customer_id": 1,
                    "store_id": 2,
                    "warehouse_id": 1,
                    "name": "Acme CA",
                    "enabled_at": on,
                    "channels": [{"type": "sales_order", "enabled_at": on}],
                }
            ],
            "authorization_requests": [
                {
                    "store_id": 1,
                    "email": "old-ops@acme.example",
                    "created_at": stamp(session, -3),
                    "expires_at": stamp(session, 4),
                },
                {
                    "store_id": 2,
                    "email": "new-ops@acme.example",
                    "status": "completed",
                    "created_at": stamp(session, -2),
                    "completed_at": stamp(session, -1),
                    "expires_at": stamp(session, 5),
                },
            ],
        },
    )
    imported = workflows.import_account(session.client, (), "imported.yaml")
    desired = load_text(imported.text, "imported.yaml")
    # Was new-ops@: the first plan canceled the invitation waiting at old-ops@ and sent
    # the merchant another email (`reinvite ...: the invitation went to old-ops@...`).
    assert desired.merchants[0].email == "old-ops@acme.example"
    again = plan(desired, session.client.read_live(), now=session.client.clock())
    assert again.changes == () and imported.notes == ()


def test_a_warehouse_is_named_by_its_description_after_nfc_as_merchants_and_stores_are(
    session: SandboxSession, tmp_path: Path
) -> None:
    """DropStream holds "Café DC" with a combining accent (as typed on a Mac); the config's
    `warehouse: Café DC` is typed precomposed. Two warehouses that differ only so are one
    name, so import names neither."""
    on = stamp(session, -1)
    descriptions = ["Main", "Cafe\u0301 DC", "Caf\u00e9 East", "Cafe\u0301 East"]
    seed(
        session,
        {
            "customers": [{"id": 1, "company_name": "Acme"}],
            "warehouses": [
                {"id": i, "customer_id": 1, "description": d} for i, d in enumerate(descriptions, 1)
            ],
            "stores": [
                {
                    "id": i,
                    "customer_id": 1,
                    "name": f"Acme {i}",
                    "enabled_at": on,
                    "adapter": adapter(MARKETS[i], authorized(session)),
                }
                for i in (1, 2, 3)
            ],
            "connections": [
                {
                    "customer_id": 1,
                    "store_id": i,
                    "warehouse_id": i + 1,
                    "name": f"Acme {i}",
                    "enabled_at": on,
                    "channels": [{"type": "sales_order", "enabled_at": on}],
                }
                for i in (1, 2, 3)
            ],
        },
    )
    typed = write(
        tmp_path,
        "version: 1\nmerchants:\n  - name: Acme\n    stores:\n"
        f"      - name: Acme 1\n        marketplace: {catalog.BY_ID[MARKETS[1]].code}\n"
        "        warehouse: Caf\u00e9 DC\n",
    )
    # Was: "warehouse 'Café DC' of merchant 'Acme' does not exist (its warehouses: 'Main',
    # 'Café DC', ...)", an error naming the very warehouse it could not find.
    assert workflows.load_and_plan([typed], session.client).changes == ()

    imported = workflows.import_account(session.client, (), "imported.yaml")
    desired = load_text(imported.text, "imported.yaml")
    assert [s.warehouse_names() for s in desired.merchants[0].stores] == [
        ("Cafe\u0301 DC",),
        (),
        (),
    ]
    assert plan(desired, session.client.read_live(), now=session.client.clock()).changes == ()
    assert [n.split(": its")[0] for n in imported.notes] == [
        f"note: store {i} 'Acme {i}' of 'Acme' is written without `warehouse:`" for i in (2, 3)
    ]
