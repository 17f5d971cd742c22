"""Random requests against every documented endpoint (faults off): never a 5xx, and every
error answer has the spec's JSON shape."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dropstream_sync.sandbox import create_app, inprocess_transport
from dropstream_sync.sandbox.api import API_ROUTES

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 10**6)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "ATVPDKIKX0DER",
            "MFN",
            "AFN",
            "Unshipped",
            "amazon",
            "a@b.example",
            "2026-11-26T17:00:00Z",
        ]
    ),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "company_name",
                    "name",
                    "customer_id",
                    "store_id",
                    "warehouse_id",
                    "platform",
                    "adapter",
                    "marketplace_id",
                    "fulfillment_latency",
                    "import_order_statuses",
                    "email",
                    "enabled_at",
                    "x",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=10,
)


class Harness:
    def __init__(self, state: Path) -> None:
        self.app = create_app(state)
        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(
            transport=inprocess_transport(self.app), base_url="http://sandbox.local"
        )
        info = self.app.sandbox_info
        token = self.run("POST", "/auth/token", {}, auth=(info.username, info.password))
        self.headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        self.run("POST", "/customers", {"company_name": "Seed"}, headers=self.headers)

    def run(self, method: str, path: str, body: Any, **kw: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.client.request(method, path, json=body, **kw))


HARNESS: dict[str, Harness] = {}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    route=st.sampled_from(API_ROUTES),
    ident=st.integers(0, 3),
    body=json_values,
    query=st.dictionaries(
        st.sampled_from(["page", "per_page", "status", "store_id", "customer_id", "platform"]),
        st.text(max_size=4) | st.integers(-1, 200).map(str),
        max_size=2,
    ),
)
def test_no_request_gets_a_server_error(
    tmp_path_factory: Any, route: Any, ident: int, body: Any, query: dict[str, str]
) -> None:
    if "h" not in HARNESS:
        HARNESS["h"] = Harness(tmp_path_factory.mktemp("fuzz"))
    h = HARNESS["h"]
    method, template = route.method, route.template
    path = re.sub(r"\{\w+\}", str(ident), template)
    response = h.run(
        method, path, body if method in ("POST", "PATCH") else None, params=query, headers=h.headers
    )
    assert response.status_code < 500, (method, path, body, response.text)
    if response.status_code >= 400:
        error = response.json()
        assert isinstance(error.get("error"), str), error
        assert json.dumps(error)
