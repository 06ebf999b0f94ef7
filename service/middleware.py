"""Per-request plumbing as pure ASGI middleware: request id, concurrency cap, drain, the
timeout until the first byte, in-flight accounting, and the one structured log line."""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from dataclasses import replace
from functools import partial

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import wire_error_body
from service.observe import INTERNAL_ERROR, log_request, observe_refusal, outcome_record
from service.record import RequestRecord
from service.state import ServiceState

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_OUTCOME_PATHS = ("/v1/chat/completions", "/v1/messages", "/v1/route")  # feedback records itself
_EXEMPT = ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", "/admin")
# Probes: a 503 from /readyz while loading is an answer, not a failed request; never counted.
_PROBES = ("/healthz", "/readyz")
# The ``status`` label of an error answered without a RouterError (those are counted with their
# code where they are handled): the code its body carries (service/errors.py, limits.py), or
# for a route that does not exist (whose body has none) a name for its status.
_ERROR_CODES = {
    400: "invalid_request",  # malformed JSON, not UTF-8, the body does not fit the schema
    404: "not_found",  # no such route
    405: "method_not_allowed",
    413: "request_too_large",
    500: INTERNAL_ERROR,  # a bug, answered by the last error handler
}


async def send_error(
    send: Send,
    status: int,
    message: str,
    code: str,
    headers: dict[str, str] | None = None,
    *,
    path: str = "",
) -> None:
    payload = json.dumps(wire_error_body(path, status, message, code)).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


class RequestContext:
    def __init__(self, app: ASGIApp, state: ServiceState) -> None:
        self.app = app
        self.state = state

    def _request_id(self, scope: Scope) -> str:
        raw = dict(scope.get("headers") or ()).get(b"x-request-id", b"").decode("latin-1")
        return raw if _REQUEST_ID.match(raw) else uuid.uuid4().hex

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state, config = self.state, self.state.config.service
        rid = self._request_id(scope)
        info = RequestRecord(rid, scope["path"])
        scope.setdefault("state", {})["semroute"] = info
        exempt = scope["path"].startswith(_EXEMPT)
        extra = {"x-request-id": rid}
        if not exempt and state.draining:
            state.metrics.rejected.labels("draining").inc()
            observe_refusal(state.metrics, scope["path"], "shutting_down")
            await send_error(
                send, 503, "semroute is shutting down", "shutting_down", extra, path=scope["path"]
            )
            return
        if not exempt and state.in_flight >= config.max_concurrent:
            state.metrics.rejected.labels("concurrency").inc()
            observe_refusal(state.metrics, scope["path"], "too_many_requests")
            extra["retry-after"] = "1"
            await send_error(
                send,
                429,
                "too many concurrent requests",
                "too_many_requests",
                extra,
                path=scope["path"],
            )
            return
        await self._serve(scope, receive, send, info, exempt)

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, info: RequestRecord, exempt: bool
    ) -> None:
        state = self.state
        logged = False
        # The request timeout runs until the first byte of the answer: a cancel scope with a
        # deadline (no watchdog task), lifted when the response starts.
        limit = anyio.CancelScope(
            deadline=anyio.current_time() + state.config.service.request_timeout_s
        )

        def finish() -> None:
            nonlocal logged
            if not logged and not exempt:
                logged = True
                self._log(scope, info)

        async def tracked(message: Message) -> None:
            if message["type"] == "http.response.start":
                limit.deadline = math.inf
                info.status = message["status"]
                if info.status >= 400:  # refused before any handler, or a bug's 500
                    self._count(info, _ERROR_CODES.get(info.status, f"http_{info.status}"))
                extra = [(b"x-request-id", info.request_id.encode())]
                if info.limits is not None:  # [limits]: the x-ratelimit-* headers
                    extra += [(k.encode(), v.encode()) for k, v in info.limits.headers.items()]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finish()  # before the client sees the end: the record is queued by then
            await send(message)

        state.in_flight += 1
        state.metrics.in_flight.inc()
        try:
            with limit:
                await self.app(scope, receive, tracked)
            if state.limits is not None and info.limits is not None:
                await state.limits.settle(info.limits, info.tokens)
            if limit.cancelled_caught and info.status is None:
                info.status, info.error = 504, "request_timeout"
                self._count(info, info.error)
                finish()
                await send_error(
                    send,
                    504,
                    "no answer within the request timeout",
                    "request_timeout",
                    {"x-request-id": info.request_id},
                    path=scope["path"],
                )
        except Exception:  # a bug: answered 500 outside (ServerErrorMiddleware), unless started
            info.status = info.status or 500
            self._count(info, INTERNAL_ERROR)
            raise
        finally:
            state.in_flight -= 1
            state.metrics.in_flight.dec()
            finish()

    def _count(self, info: RequestRecord, code: str) -> None:
        """Count a failed request in ``semroute_requests_total`` by ``code``, unless it is
        counted already (a RouterError is, with its own code, where it is handled)."""
        if info.counted or info.endpoint.startswith(_PROBES):
            return
        info.error = info.error or code
        info.counted = True
        observe_refusal(self.state.metrics, info.endpoint, info.error)

    def _log(self, scope: Scope, info: RequestRecord) -> None:
        state = self.state
        if state.outcomes is not None and scope["path"] in _OUTCOME_PATHS:
            state.outcomes.record_later(
                info.request_id,
                partial(
                    outcome_record,
                    replace(info),  # as it is now: built later, off the request path
                    state.config.outcomes.include_text,
                    ended=time.perf_counter(),
                    at=time.time(),
                ),
            )
        state.metrics.latency_by("total").observe(time.perf_counter() - info.started)
        log_request(
            request_id=info.request_id,
            tenant=info.tenant,
            endpoint=scope["path"],
            status=info.status if info.status is not None else 499,
            started=info.started,
            decision=info.decision,
            answer=info.answer,
            error=info.error,
            prompt=info.prompt if state.config.service.log_prompts else None,
        )
