"""Request limits: body size as pure ASGI middleware (a 413 before any parsing), and the
per-request limits checked once the body is parsed."""

from __future__ import annotations

import json

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from router.config import ServiceConfig
from router.errors import InvalidRequest
from router.types import ChatRequest
from service.errors import wire_error_body
from service.schemas import ChatFields

# Before a 413 the rest of an oversized upload is read and thrown away: a server that closes
# the socket with request bytes unread makes the kernel send a reset, which can destroy the
# 413 on its way, and the client sees a connection error (the openai SDK then retries the
# same body). Draining costs bandwidth, not memory (each chunk is dropped at once), so the
# caps only bound how long one client can hold a connection this way. DRAIN_BYTES (or
# max_bytes, if larger): a fixed amount, not a multiple of a limit that may be set small,
# covering bodies far over a usual limit (pasted files, base64 images). DRAIN_S: a body a few
# times a 1 MB limit drains in about a second on a 10 Mbit/s link, and a slow or endless
# upload is cut off soon. Past either cap the 413 is sent and the connection closed unread.
DRAIN_BYTES = 64 * 1024 * 1024
DRAIN_S = 5.0


class BodyLimit:
    """Reject bodies larger than ``max_bytes`` (by Content-Length, or while reading) with a
    413 and ``connection: close``, after discarding the rest of the body within the caps:
    ``drain_bytes`` (at least ``max_bytes``) and ``drain_s`` seconds."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        *,
        drain_bytes: int = DRAIN_BYTES,
        drain_s: float = DRAIN_S,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.drain_bytes = max(drain_bytes, max_bytes)
        self.drain_s = drain_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            # Nothing is read yet: under "Expect: 100-continue" reading would invite the
            # upload, and a body past the caps would end in a reset anyway.
            expects = headers.get(b"expect", b"").lower() == b"100-continue"
            if not expects and int(declared) <= self.drain_bytes:
                await self._drain(receive)
            await self._reject(send, scope["path"])
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                body.clear()
                if more:
                    await self._drain(receive)
                await self._reject(send, scope["path"])
                return
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _drain(self, receive: Receive) -> None:
        """Read and drop the rest of the body, until its end, a disconnect or a cap."""
        left = self.drain_bytes
        with anyio.move_on_after(self.drain_s):
            while left > 0:
                message = await receive()
                if message["type"] != "http.request":
                    return
                left -= len(message.get("body", b""))
                if not message.get("more_body", False):
                    return

    async def _reject(self, send: Send, path: str) -> None:
        message = f"request body exceeds the limit of {self.max_bytes} bytes"
        payload = json.dumps(wire_error_body(path, 413, message, "request_too_large")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def check_limits(body: ChatFields, limits: ServiceConfig) -> None:
    """Per-request limits from ``[service]``, on the OpenAI body before it is converted.

    Raises:
        InvalidRequest: too many messages, or ``max_tokens`` above the configured cap.
    """
    messages = getattr(body, "messages", None) or ()  # /v1/route may send ``input`` instead
    _check(len(messages), body.max_completion_tokens or body.max_tokens, limits)


def check_request_limits(request: ChatRequest, limits: ServiceConfig) -> None:
    """``check_limits`` for a request already converted (the Anthropic Messages API).

    Raises:
        InvalidRequest: too many messages, or ``max_tokens`` above the configured cap.
    """
    _check(len(request.messages), request.max_tokens, limits)


def _check(messages: int, max_tokens: int | None, limits: ServiceConfig) -> None:
    if messages > limits.max_messages:
        raise InvalidRequest(
            f"too many messages: {messages} > {limits.max_messages}",
            param="messages",
            code="too_many_messages",
        )
    if max_tokens is not None and max_tokens > limits.max_tokens:
        raise InvalidRequest(
            f"max_tokens {max_tokens} is above this service's limit of {limits.max_tokens}",
            param="max_tokens",
            code="max_tokens_too_large",
        )
