"""The one error type handlers raise; the app turns it into the spec's JSON error body."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An answer with an error status: `{"error": message, "details": {...}}`."""

    def __init__(
        self,
        status: int,
        message: str,
        details: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.message}
        if self.details:
            out["details"] = self.details
        return out


def not_found(kind: str, ident: object) -> ApiError:
    return ApiError(404, f"{kind} {ident} was not found.")


def invalid(field: str, reason: str, message: str | None = None) -> ApiError:
    return ApiError(422, message or f"The request is invalid: {field} {reason}.", {field: [reason]})


class ConnectionDropped(Exception):
    """Raised by the app, after it sent response headers, to make the server drop the connection.

    Over a socket uvicorn then closes the TCP connection mid-response; in-process the transport
    from `inprocess_transport` turns it into `httpx.RemoteProtocolError`.
    """
