"""Requests generated from the committed OpenAPI document (faults off): no answer is a 5xx,
every status is one the document lists for the operation, and every JSON answer validates
against the document's schema for that status (so a response drifting from the spec fails)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from dropstream_sync.sandbox import create_app, inprocess_transport
from tests.sandbox.conftest import serve_in_thread

DOC: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "schemas" / "sandbox.openapi.json").read_text()
)
OPERATIONS = [
    (method.upper(), template, op)
    for template, ops in DOC["paths"].items()
    for method, op in ops.items()
    if op.get("security") == [{"bearer": []}]
]
KNOWN_IDS = [1, 2, 3]  # the world below creates these ids of every kind
US = "ATVPDKIKX0DER"


def _ids() -> st.SearchStrategy[int]:
    return st.sampled_from(KNOWN_IDS) | st.integers(1, 2**40)


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid for the subset of JSON Schema the document uses."""
    if "$ref" in schema:
        return from_schema(DOC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]])
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kinds = schema.get("type", "object")
    if isinstance(kinds, list):
        return st.one_of([from_schema({**schema, "type": kind}) for kind in kinds])
    if kinds == "null":
        return st.none()
    if kinds == "boolean":
        return st.booleans()
    if kinds == "integer":
        if schema.get("minimum") == 1 and "maximum" not in schema:
            return _ids()
        return st.integers(schema.get("minimum", -(2**31)), schema.get("maximum", 2**31))
    if kinds == "string":
        if schema.get("format") == "email":
            return st.emails().filter(lambda e: len(e) <= 254)
        if schema.get("format") == "date-time":
            return st.datetimes(timezones=st.just(dt.UTC)).map(lambda d: d.isoformat())
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        return st.text(
            min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 40), 40)
        )
    if kinds == "array":
        return st.lists(
            from_schema(schema.get("items", {"type": "string"})),
            min_size=schema.get("minItems", 0),
            max_size=4,
        )
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    return st.fixed_dictionaries(
        {k: from_schema(v) for k, v in properties.items() if k in required},
        optional={k: from_schema(v) for k, v in properties.items() if k not in required},
    )


junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], Any]:
    method, template, op = draw(st.sampled_from(OPERATIONS))
    path = re.sub(r"\{\w+\}", lambda _: str(draw(_ids())), template)
    query: dict[str, str] = {}
    for param in op.get("parameters", []):
        if param["in"] == "query" and draw(st.booleans()):
            value = draw(from_schema(param["schema"]) | st.text(max_size=4))
            query[param["name"]] = str(value)
    body: Any = None
    if "requestBody" in op:
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        body = draw(from_schema(schema) | junk)
    return method, path, query, body


class World:
    """One account with customers, an authorized store with a connection, and a pending
    request, so that generated ids hit real objects as well as missing ones."""

    def __init__(self, send: Any) -> None:
        self.send = send
        self.headers: dict[str, str] = {}

    def build(self, username: str, password: str, admin_key: str) -> None:
        token = self.send(
            "POST",
            "/auth/token",
            None,
            {"grant_type": "client_credentials"},
            auth=(username, password),
        ).json()["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}
        for n in KNOWN_IDS:
            customer = self.call("POST", "/customers", {"company_name": f"C{n}"})["id"]
            self.call(
                "POST",
                "/stores",
                {
                    "customer_id": customer,
                    "name": f"S{n}",
                    "platform": "amazon",
                    "adapter": {"marketplace_id": US},
                },
            )
        request = self.call("POST", "/stores/1/authorization_requests", {"email": "a@b.example"})
        self.send(
            "POST",
            f"/_sandbox/authorization_requests/{request['id']}/complete",
            None,
            {},
            headers={"X-Sandbox-Admin": admin_key},
        )
        self.call("POST", "/connections", {"name": "S1", "customer_id": 1, "store_id": 1})
        self.call("POST", "/stores/2/authorization_requests", {"email": "a@b.example"})

    def call(self, method: str, path: str, body: Any) -> Any:
        response = self.send(method, path, None, body, headers=self.headers)
        assert response.status_code == 201, response.text
        return response.json()


def check(method: str, template_path: str, response: httpx.Response) -> None:
    template = next(
        t
        for m, t, _ in OPERATIONS
        if m == method and re.fullmatch(re.sub(r"\{\w+\}", "[0-9]+", t), template_path)
    )
    op = DOC["paths"][template][method.lower()]
    status = str(response.status_code)
    assert response.status_code < 500, (method, template_path, response.text)
    assert status in op["responses"], (method, template_path, status, response.text)
    content = op["responses"][status].get("content")
    if content is None:
        assert response.content == b""
        return
    schema = {**content["application/json"]["schema"], "components": DOC["components"]}
    errors = list(Draft202012Validator(schema).iter_errors(response.json()))
    assert not errors, (method, template_path, status, errors[0].message)
    if status == "200" and isinstance(response.json(), list):
        assert int(response.headers["X-Total-Count"]) >= len(response.json())
        if "next" in response.links:
            assert response.links["next"]["url"].startswith("http://")


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    app = create_app(tmp_path_factory.mktemp("fuzz-state"))
    loop = asyncio.new_event_loop()
    client = httpx.AsyncClient(transport=inprocess_transport(app), base_url="http://sandbox.local")

    def send(method: str, path: str, params: Any, body: Any, **kw: Any) -> httpx.Response:
        return loop.run_until_complete(client.request(method, path, params=params, json=body, **kw))

    world = World(send)
    info = app.sandbox_info
    world.build(info.username, info.password, info.admin_key)
    yield world
    loop.run_until_complete(client.aclose())
    loop.close()


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(request=requests())
def test_generated_requests_get_documented_answers(
    in_process: World, request: tuple[str, str, dict[str, str], Any]
) -> None:
    method, path, query, body = request
    response = in_process.send(method, path, query, body, headers=in_process.headers)
    check(method, path, response)


@pytest.fixture(scope="module")
def over_socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    app = create_app(tmp_path_factory.mktemp("fuzz-socket"))
    server, thread, url = serve_in_thread(app)
    client = httpx.Client(base_url=url, timeout=30)

    def send(method: str, path: str, params: Any, body: Any, **kw: Any) -> httpx.Response:
        return client.request(method, path, params=params, json=body, **kw)

    world = World(send)
    info = app.sandbox_info
    world.build(info.username, info.password, info.admin_key)
    yield world
    client.close()
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.slow
@settings(
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(request=requests())
def test_generated_requests_over_a_socket_get_documented_answers(
    over_socket: World, request: tuple[str, str, dict[str, str], Any]
) -> None:
    method, path, query, body = request
    response = over_socket.send(method, path, query, body, headers=over_socket.headers)
    check(method, path, response)
