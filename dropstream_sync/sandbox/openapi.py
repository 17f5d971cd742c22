"""The sandbox's OpenAPI 3.1 document, generated from its route tables and their models.

Why pydantic models plus this small generator rather than FastAPI: FastAPI would validate
request bodies itself and answer 422 in its own shape, while the sandbox's validation messages
and error body are part of the contract (docs/api-model.md); and its dependency
injection per request costs more than the sandbox's handlers do on a plan that reads hundreds
of pages in-process. So Starlette serves the routes (app.py), the route tables (`api.API_ROUTES`,
`control.CONTROL_ROUTES`) name each operation's body and answer models (models.py), and this
module turns those into the document: pydantic's `model_json_schema` for every schema, and
what follows from HTTP for the rest (path ids, list parameters and headers, error answers).

`python -m dropstream_sync.sandbox.openapi > schemas/sandbox.openapi.json` regenerates the
committed copy; a test checks both that it is current and that every served route is in it.
The app serves the same document at `/openapi.json`.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from . import models as m
from .api import API_ROUTES
from .context import Op
from .control import CONTROL_ROUTES, ControlOp


class _Schema(GenerateJsonSchema):
    """Plain JSON Schema: `type: [X, "null"]` for nullable, no titles, no defaults (a default
    in a model only marks a key optional)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        out = super().model_schema(schema)
        out.pop("title", None)
        return out

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        inner = self.generate_inner(schema["schema"])
        kind = inner.get("type")
        if isinstance(kind, str) and "$ref" not in inner:
            return {**inner, "type": [kind, "null"]}
        return super().nullable_schema(schema)


ERROR_TEXT = {
    400: "Malformed JSON",
    401: "Missing, wrong or expired token",
    403: "Missing or wrong admin key",
    404: "Not found (or another account's)",
    409: "Conflict",
    422: "Validation failed",
    429: "Too many requests (Retry-After)",
}
API_ERRORS = (400, 401, 404, 409, 422, 429)
CONTROL_ERRORS = (400, 403, 422)
ID = {"type": "integer", "minimum": 1, "maximum": 2**62 - 1}
FILTERS: dict[str, Any] = {
    "customer_id": ID,
    "store_id": ID,
    "platform": {"type": "string"},
    "status": {"enum": ["pending", "completed", "expired", "canceled"]},
}


def _models() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = [m.Error, m.Token, m.TokenRequest]
    for op in API_ROUTES:
        found += [x for x in (op.answer, op.body) if x is not None]
    for cop in CONTROL_ROUTES:
        found += [cop.body] if cop.body else []
        for _status, answer in cop.answers:
            if isinstance(answer, list):
                found += answer
            elif answer is not None:
                found.append(answer)
    return list(dict.fromkeys(found))


@cache
def _components() -> dict[str, Any]:
    _, top = models_json_schema(
        [(model, "serialization") for model in _models()],
        ref_template="#/components/schemas/{model}",
        schema_generator=_Schema,
    )
    return dict(sorted(top["$defs"].items()))


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(codes: tuple[int, ...]) -> dict[str, Any]:
    return {str(code): _json(_ref(m.Error), ERROR_TEXT[code]) for code in codes}


def _path_params(template: str, schema: dict[str, Any]) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in template.split("/") if part.startswith("{")]
    return [{"name": name, "in": "path", "required": True, "schema": schema} for name in names]


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(model)}}}


def _api_operation(op: Op) -> dict[str, Any]:
    params = _path_params(op.template, ID)
    responses: dict[str, Any]
    if op.method == "GET" and not op.template.endswith("}"):
        assert op.answer is not None
        params += [
            {
                "name": "page",
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": 10**9},
            },
            {
                "name": "per_page",
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": 100},
            },
        ]
        params += [{"name": f, "in": "query", "schema": FILTERS[f]} for f in op.filters]
        params.append(
            {
                "name": "after",
                "in": "query",
                "schema": {"type": "integer", "minimum": 0, "maximum": 2**62},
                "description": "Keyset hint the next link carries: the last id of the "
                "previous page. Optional; page alone suffices.",
            }
        )
        responses = {
            "200": {
                **_json({"type": "array", "items": _ref(op.answer)}, "One page"),
                "headers": {
                    "X-Total-Count": {"schema": {"type": "integer"}},
                    "Link": {"schema": {"type": "string"}},
                },
            }
        }
    elif op.method == "GET":
        assert op.answer is not None
        responses = {"200": _json(_ref(op.answer), "The object")}
    elif op.method == "POST" and op.answer is m.AuthorizationRequest:
        responses = {
            "201": _json(
                _ref(op.answer),
                "Created and emailed; on a store still "
                "authorized it is a renewal, whose approval restarts the "
                "365 days",
            )
        }
    elif op.method == "POST":
        assert op.answer is not None
        responses = {"201": _json(_ref(op.answer), "Created")}
    else:
        responses = {"204": {"description": "Done"}}
    out: dict[str, Any] = {
        "summary": f"{op.method} {op.template}",
        "parameters": params,
        "security": [{"bearer": []}],
        "responses": {**responses, **_errors(API_ERRORS)},
    }
    if op.body is not None:
        out["requestBody"] = _body(op.body)
    return out


def _control_operation(op: ControlOp) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, answer in op.answers:
        if answer is None:
            responses[str(status)] = {"description": "Done"}
        elif isinstance(answer, list):
            responses[str(status)] = _json({"type": "array", "items": _ref(answer[0])}, "Done")
        else:
            responses[str(status)] = _json(_ref(answer), "Done")
    out: dict[str, Any] = {
        "summary": op.summary,
        "security": [{"admin": []}],
        "parameters": _path_params(op.template, ID),
        "responses": {**responses, **_errors(tuple(sorted({*CONTROL_ERRORS, *op.errors})))},
    }
    if op.template == "/_sandbox/outbox":
        out["parameters"].append({"name": "username", "in": "query", "schema": {"type": "string"}})
    if op.body is not None:
        # No body is `{}`: required only where the model has keys that are.
        required = any(f.is_required() for f in op.body.model_fields.values())
        out["requestBody"] = {**_body(op.body), "required": required}
    return out


@cache
def document() -> dict[str, Any]:
    html = {
        "200": {
            "description": "HTML page",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        "410": {"description": "Expired or used link"},
    }
    token_param = _path_params("/authorize/{token}", {"type": "string"})
    paths: dict[str, Any] = {
        "/auth/token": {
            "post": {
                "summary": "Exchange a Basic login for a bearer token",
                "security": [{"basic": []}],
                "requestBody": {"content": {"application/json": {"schema": _ref(m.TokenRequest)}}},
                "responses": {"200": _json(_ref(m.Token), "A token"), **_errors((400, 401, 422))},
            }
        },
        "/authorize/{token}": {
            "get": {
                "summary": "The merchant's authorization page",
                "parameters": token_param,
                "responses": html,
            },
            "post": {
                "summary": "Approve or deny (form field action)",
                "parameters": token_param,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "required": ["action"],
                                "properties": {"action": {"enum": ["approve", "deny"]}},
                            }
                        }
                    },
                },
                "responses": {**html, **_errors((400,))},
            },
        },
    }
    paths["/openapi.json"] = {
        "get": {
            "summary": "This document",
            "security": [],
            "responses": {"200": _json({"type": "object"}, "The OpenAPI document")},
        }
    }
    for op in API_ROUTES:
        paths.setdefault(op.template, {})[op.method.lower()] = _api_operation(op)
    for cop in CONTROL_ROUTES:
        paths.setdefault(cop.template, {})[cop.method.lower()] = _control_operation(cop)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "DropStream API (dropstream-sync sandbox)",
            "version": "1",
            "description": "The API as docs/api-model.md describes it, plus the "
            "sandbox's /_sandbox/ control surface.",
        },
        "components": {
            "schemas": _components(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic"},
                "admin": {"type": "apiKey", "in": "header", "name": "X-Sandbox-Admin"},
            },
        },
        "paths": dict(sorted(paths.items())),
    }


@cache
def document_text() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(document_text(), end="")
