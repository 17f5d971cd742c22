"""Access tokens: JWT-shaped (`header.payload.signature`, HS256) and signed with the state
folder's key, so every app on the same folder accepts them and a restart keeps them valid.
Expiry is measured on the sandbox clock, so advancing the clock also expires tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(key: str, account_id: int, username: str, issued_at: int, ttl: int) -> str:
    payload = {
        "sub": account_id,
        "usr": username,
        "iat": issued_at,
        "exp": issued_at + ttl,
        "jti": secrets.token_hex(8),
    }
    body = f"{_HEADER}.{_b64(json.dumps(payload, separators=(',', ':')).encode())}"
    sig = hmac.new(key.encode(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(sig)}"


def verify(key: str, token: str) -> dict[str, Any] | None:
    """The payload of a well-signed token (expiry not checked here), or None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    body = f"{parts[0]}.{parts[1]}"
    expected = _b64(hmac.new(key.encode(), body.encode(), hashlib.sha256).digest())
    # Bytes, because compare_digest refuses non-ASCII str and a forged header may hold some.
    if not hmac.compare_digest(expected.encode(), parts[2].encode("utf-8", "replace")):
        return None
    try:
        payload = json.loads(_unb64(parts[1]))
    except ValueError:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("sub"), int):
        return None
    if not isinstance(payload.get("exp"), int):
        return None
    return payload
