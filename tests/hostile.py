"""A hostile server for the tests: a loopback HTTP proxy in front of `sandbox serve` that
answers chosen requests the way a broken or hostile service would, on a real socket.

The in-process fault layer (tests/client/on_sandbox.py) fakes what httpx would raise; this
one does it to the bytes: a body cut off after its headers promised more, a redirect to
another origin (a second `Hostile` with no upstream stands for it, and records whatever
reaches it), an HTML page in place of a created object's id. Everything else is forwarded
to the sandbox, which keeps the state, so what the tool did can be read back from it.
"""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

import httpx

# Hop-by-hop and framing headers: the proxy frames its own answers.
_NOT_COPIED = frozenset(
    {"connection", "content-length", "content-encoding", "transfer-encoding", "date", "server"}
)


@dataclass
class Rule:
    """What to do to the next `times` requests matching `method` and `path` (a regex, full
    match on the path without its query).

    action:
      "redirect"    not forwarded; 302 to `location`
      "cut_after"   forwarded (the sandbox commits it), then the sandbox's headers with a
                    Content-Length of twice the body, half the body, and the socket closed
      "html_after"  forwarded (the sandbox commits it), then its status with an HTML page
      "rewrite"     forwarded, then its answer with `find` replaced by `body` in the body
      "answer"      not forwarded; `status` with `body` as JSON
    """

    method: str
    path: str
    action: str
    location: str = ""
    times: int = 1
    find: bytes = b""
    body: bytes = b""
    status: int = 200


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    authorization: str | None


class Hostile:
    """`with Hostile(upstream) as server:` a proxy at `server.url` for the block's length;
    with `upstream=None` it forwards nothing and answers 200 `[]` (another origin)."""

    def __init__(self, upstream: str | None) -> None:
        self.rules: list[Rule] = []
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._upstream = httpx.Client(base_url=upstream, timeout=30) if upstream else None
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass  # the test reads `seen`, not stderr

            def handle_one(self) -> None:
                hostile._handle(self)

            do_GET = do_POST = do_PATCH = do_DELETE = handle_one

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def add(self, rule: Rule) -> None:
        with self._lock:
            self.rules.append(rule)

    def _take(self, method: str, path: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.times > 0 and rule.method == method and re.fullmatch(rule.path, path):
                    rule.times -= 1
                    return rule
        return None

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        path = h.path.split("?", 1)[0]
        with self._lock:
            self.seen.append(Seen(h.command, path, h.headers.get("Authorization")))
        rule = self._take(h.command, path)
        if rule is not None and rule.action == "redirect":
            self._send(h, 302, {"Location": rule.location}, b"")
            return
        if rule is not None and rule.action == "answer":
            self._send(h, rule.status, {"Content-Type": "application/json"}, rule.body)
            return
        if self._upstream is None:
            self._send(h, 200, {"Content-Type": "application/json"}, b"[]")
            return
        # Host is kept: the sandbox builds its next-page links on it, so they name this
        # proxy (a link to another origin would be refused by the client).
        headers = {
            k: v for k, v in h.headers.items() if k.lower() not in ("content-length", "connection")
        }
        answer = self._upstream.request(h.command, h.path, content=body, headers=headers)
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in _NOT_COPIED}
        if rule is None:
            self._send(h, answer.status_code, kept, answer.content)
        elif rule.action == "rewrite":
            self._send(h, answer.status_code, kept, answer.content.replace(rule.find, rule.body))
        elif rule.action == "html_after":
            page = b"<html><body><h1>Created</h1></body></html>"
            self._send(h, answer.status_code, {"Content-Type": "text/html"}, page)
        elif rule.action == "cut_after":
            h.send_response(answer.status_code)
            for k, v in kept.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(2 * len(answer.content) + 2))
            h.end_headers()
            h.wfile.write(answer.content[: len(answer.content) // 2])
            h.wfile.flush()
            h.connection.shutdown(socket.SHUT_RDWR)
            h.close_connection = True
        else:
            raise ValueError(f"unknown action {rule.action!r}")

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._upstream is not None:
            self._upstream.close()
