"""The sandbox's OpenAPI 3.1 document, built from its route tables.

`python -m dropstream_sync.sandbox.openapi > schemas/sandbox.openapi.json` regenerates the
committed copy; a test checks both that it is current and that every route is in it.
"""

from __future__ import annotations

import json
from typing import Any

from .api import API_ROUTES
from .catalog import MARKETPLACE_IDS, ORDER_STATUSES

CONTROL_ROUTES: list[tuple[str, str, str]] = [
    ("POST", "/_sandbox/users", "Create a login with its own empty account (a tenant)."),
    ("GET", "/_sandbox/outbox", "The invitation emails sent (filter: ?username=)."),
    ("POST", "/_sandbox/authorization_requests/{id}/complete", "Approve as the merchant."),
    ("POST", "/_sandbox/stores/{id}/revoke", "The merchant revokes the app in Seller Central."),
    ("POST", "/_sandbox/clock", "Move the sandbox clock forward."),
    ("POST", "/_sandbox/faults", "Inject faults: rate, after_commit_share, latency_ms, seed."),
    ("POST", "/_sandbox/rate_limit", "Set the per-login token bucket (rps 0: off)."),
    ("GET", "/_sandbox/stats", "Request counts per route template, 429s and faults."),
    ("POST", "/_sandbox/reset", "Empty every account."),
    ("POST", "/_sandbox/seed", "Load whole objects into a login's account."),
]

TS = {"type": ["string", "null"], "format": "date-time"}
ID = {"type": "integer", "minimum": 1}
SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string"},
        "details": {"type": "object", "additionalProperties": {
            "type": "array", "items": {"type": "string"}}}}},
    "Created": {"type": "object", "required": ["id"], "properties": {"id": ID}},
    "Customer": {"type": "object", "required": ["id", "company_name"], "properties": {
        "id": ID, "company_name": {"type": "string"},
        **{k: {"type": ["string", "null"]} for k in (
            "street1", "street2", "street3", "city", "state", "zipcode", "country", "provider")},
        "created_at": TS}},
    "Warehouse": {"type": "object", "required": ["id", "customer_id"], "properties": {
        "id": ID, "customer_id": ID, "description": {"type": ["string", "null"]},
        "platform": {"type": "string"}, "adapter": {"type": "object"}, "created_at": TS,
        "enabled_at": TS, "order_status_imported_at": TS, "inventory_updated_at": TS}},
    "AmazonAdapter": {"type": "object", "properties": {
        "marketplace_id": {"type": "string"},
        "fulfillment_channel": {"enum": ["MFN", "AFN"]},
        "import_order_statuses": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "fulfillment_latency": {"type": ["integer", "null"], "minimum": 1, "maximum": 30},
        "fulfillment_channel_code": {"type": "string", "pattern": "^[A-Za-z0-9_.\\-]{1,64}$"},
        "authorization": {"type": "object", "properties": {
            "status": {"enum": ["missing", "authorized", "expired", "revoked"]},
            "selling_partner_id": {"type": ["string", "null"]},
            "authorized_at": TS, "expires_at": TS}}}},
    "Store": {"type": "object", "required": ["id", "customer_id", "name", "platform"],
              "properties": {
                  "id": ID, "customer_id": ID, "name": {"type": "string"},
                  "description": {"type": ["string", "null"]}, "url": {"type": ["string", "null"]},
                  "platform": {"type": "string"}, "adapter": {"$ref": "#/components/schemas/"
                                                                       "AmazonAdapter"},
                  "created_at": TS, "enabled_at": TS, "order_imported_at": TS,
                  "inventory_updated_at": TS}},
    "Channel": {"type": "object", "properties": {
        "id": ID, "type": {"enum": ["sales_order", "sales_order_return", "shipment"]},
        "enabled_at": TS}},
    "Connection": {"type": "object", "required": ["id", "customer_id", "store_id",
                                                  "warehouse_id", "name"], "properties": {
        "id": ID, "customer_id": ID, "warehouse_id": ID, "store_id": ID,
        "name": {"type": "string"}, "connection_type": {"type": "string"}, "created_at": TS,
        "enabled_at": TS, "locations": {"type": "array"},
        "channels": {"type": "array", "items": {"$ref": "#/components/schemas/Channel"}}}},
    "AuthorizationRequest": {"type": "object", "required": ["id", "store_id", "email", "status"],
                             "properties": {
        "id": ID, "store_id": ID, "customer_id": ID, "email": {"type": "string"},
        "status": {"enum": ["pending", "completed", "expired", "canceled"]},
        "created_at": TS, "expires_at": TS, "completed_at": TS}},
    "Token": {"type": "object", "required": ["access_token", "token_type", "expires_in"],
              "properties": {"access_token": {"type": "string"},
                             "token_type": {"const": "Bearer"},
                             "expires_in": {"type": "integer"}}},
}

# Every object the API answers carries every documented field and nothing else, so a response
# that drifts from the spec breaks the document (the fuzz test validates against it).
for _name in ("Customer", "Warehouse", "Store", "Channel", "Connection", "AuthorizationRequest"):
    SCHEMAS[_name]["required"] = list(SCHEMAS[_name]["properties"])
    SCHEMAS[_name]["additionalProperties"] = False

_STR = {"type": "string", "maxLength": 255}
_NSTR = {"type": ["string", "null"], "maxLength": 255}
_ADAPTER_IN = {"type": "object", "additionalProperties": False, "properties": {
    "marketplace_id": {"enum": sorted(MARKETPLACE_IDS)},
    "fulfillment_channel": {"enum": ["MFN", "AFN"]},
    "import_order_statuses": {"type": "array", "minItems": 1,
                              "items": {"enum": list(ORDER_STATUSES)}},
    "fulfillment_latency": {"type": ["integer", "null"], "minimum": 1, "maximum": 30},
    "fulfillment_channel_code": {"type": "string", "pattern": "^[A-Za-z0-9_.\\-]{1,64}$"}}}
_ENABLED = {"enabled_at": {"type": ["string", "null"], "format": "date-time"}}
_CUSTOMER_IN = {"company_name": {**_STR, "minLength": 1},
                **{k: _NSTR for k in ("street1", "street2", "street3", "city", "state",
                                      "zipcode", "country", "provider")}}

# What each write accepts (the sandbox answers 422 for anything else, unknown keys included).
REQUEST_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/customers"): {"required": ["company_name"], "properties": _CUSTOMER_IN},
    ("PATCH", "/customers/{id}"): {"properties": _CUSTOMER_IN},
    ("POST", "/warehouses"): {"required": ["customer_id", "description"], "properties": {
        "customer_id": ID, "description": {**_STR, "minLength": 1},
        "platform": _STR, "adapter": {"type": "object"}}},
    ("PATCH", "/warehouses/{id}"): {"properties": {
        "description": _STR, "adapter": {"type": "object"}, **_ENABLED}},
    ("POST", "/stores"): {"required": ["customer_id", "name", "platform", "adapter"],
                          "properties": {
        "customer_id": ID, "name": {**_STR, "minLength": 1},
        "description": {"type": ["string", "null"], "maxLength": 1000},
        "url": {"type": ["string", "null"], "maxLength": 2000},
        "platform": {"const": "amazon"},
        "adapter": {**_ADAPTER_IN, "required": ["marketplace_id"]}}},
    ("PATCH", "/stores/{id}"): {"properties": {
        "name": {**_STR, "minLength": 1},
        "description": {"type": ["string", "null"], "maxLength": 1000},
        "url": {"type": ["string", "null"], "maxLength": 2000},
        "adapter": _ADAPTER_IN, **_ENABLED}},
    ("POST", "/stores/{id}/authorization_requests"): {"required": ["email"], "properties": {
        "email": {"type": "string", "format": "email", "maxLength": 254}}},
    ("POST", "/connections"): {"required": ["name", "customer_id", "store_id"], "properties": {
        "name": {**_STR, "minLength": 1}, "customer_id": ID, "store_id": ID,
        "warehouse_id": ID}},
    ("PATCH", "/connections/{id}"): {"properties": {"name": {**_STR, "minLength": 1},
                                                    **_ENABLED}},
    ("PATCH", "/connections/{id}/channels/{chid}"): {"properties": _ENABLED},
}

_OBJECT_OF = {"customers": "Customer", "warehouses": "Warehouse", "stores": "Store",
              "connections": "Connection", "authorization_requests": "AuthorizationRequest",
              "channels": "Channel"}
_FILTERS = {"/stores": ["customer_id", "platform"], "/connections": ["customer_id", "store_id"],
            "/authorization_requests": ["status", "store_id"]}


_FILTER_SCHEMAS: dict[str, Any] = {
    "customer_id": ID, "store_id": ID, "platform": {"type": "string"},
    "status": {"enum": ["pending", "completed", "expired", "canceled"]}}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {code: _json(_ref("Error"), text) for code, text in (
    ("400", "Malformed JSON"), ("401", "Missing, wrong or expired token"),
    ("404", "Not found (or another account's)"), ("409", "Conflict"),
    ("422", "Validation failed"), ("429", "Too many requests (Retry-After)"))}


def _operation(method: str, template: str) -> dict[str, Any]:
    parts = [p for p in template.split("/") if p and not p.startswith("{")]
    kind = _OBJECT_OF.get(parts[-1], "Created")
    params = [{"name": name, "in": "path", "required": True, "schema": ID}
              for name in ("id", "chid") if "{" + name + "}" in template]
    responses: dict[str, Any]
    if method == "GET" and template.endswith("}"):
        responses = {"200": _json(_ref(_OBJECT_OF[parts[-1]]), "The object")}
    elif method == "GET":
        params += [{"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                   {"name": "per_page", "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100}}]
        params += [{"name": f, "in": "query", "schema": _FILTER_SCHEMAS[f]}
                   for f in _FILTERS.get(template, [])]
        params.append({"name": "after", "in": "query", "schema": {"type": "integer",
                       "minimum": 0}, "description": "Keyset hint the next link carries: "
                       "the last id of the previous page. Optional; page alone suffices."})
        responses = {"200": {**_json({"type": "array", "items": _ref(kind)}, "One page"),
                             "headers": {"X-Total-Count": {"schema": {"type": "integer"}},
                                         "Link": {"schema": {"type": "string"}}}}}
    elif method == "POST" and template.endswith("authorization_requests"):
        responses = {"201": _json(_ref("AuthorizationRequest"), "Created and emailed; on a "
                                  "store still authorized it is a renewal, whose approval "
                                  "restarts the 365 days")}
    elif method == "POST":
        responses = {"201": _json(_ref("Created"), "Created")}
    else:
        responses = {"204": {"description": "Done"}}
    op: dict[str, Any] = {"summary": f"{method} {template}", "parameters": params,
                          "security": [{"bearer": []}], "responses": {**responses, **ERRORS}}
    if method in ("POST", "PATCH"):
        schema = {"type": "object", "additionalProperties": False,
                  **REQUEST_BODIES[(method, template)]}
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": schema}}}
    return op


def document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/auth/token": {"post": {
            "summary": "Exchange a Basic login for a bearer token",
            "security": [{"basic": []}],
            "requestBody": {"content": {"application/json": {"schema": {
                "type": "object", "properties": {"grant_type": {"const": "client_credentials"}}}}}},
            "responses": {"200": _json(_ref("Token"), "A token"), **ERRORS}}},
        "/authorize/{token}": {
            "get": {"summary": "The merchant's authorization page",
                    "parameters": [{"name": "token", "in": "path", "required": True,
                                    "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "HTML page"},
                                  "410": {"description": "Expired or used link"}}},
            "post": {"summary": "Approve or deny (form field action)",
                     "parameters": [{"name": "token", "in": "path", "required": True,
                                     "schema": {"type": "string"}}],
                     "responses": {"200": {"description": "HTML page"},
                                   "410": {"description": "Expired or used link"}}}},
    }
    for method, template, _fn in API_ROUTES:
        paths.setdefault(template, {})[method.lower()] = _operation(method, template)
    for method, template, summary in CONTROL_ROUTES:
        paths.setdefault(template, {})[method.lower()] = {
            "summary": summary, "security": [{"admin": []}],
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": ID}]
            if "{id}" in template else [],
            "responses": {"200": {"description": "Done"}, "201": {"description": "Created"},
                          "204": {"description": "Done"},
                          "403": _json(_ref("Error"), "Missing or wrong admin key")}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "DropStream API (dropstream-sync sandbox)", "version": "1",
                 "description": "The API as shared/spec/dropstream-api.md describes it, plus the "
                                "sandbox's /_sandbox/ control surface."},
        "components": {"schemas": SCHEMAS, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "basic": {"type": "http", "scheme": "basic"},
            "admin": {"type": "apiKey", "in": "header", "name": "X-Sandbox-Admin"}}},
        "paths": dict(sorted(paths.items())),
    }


def document_text() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(document_text(), end="")
