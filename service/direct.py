"""JSON endpoints served straight from ASGI, without FastAPI's per-request machinery.

FastAPI's routing, dependency solving, body handling and response re-validation cost more
per request than routing a prompt does (measured in process: ~0.7 of ~1.9 ms of CPU a
``/v1/route`` call). An endpoint on the hot path can be served here instead: the route stays
declared in FastAPI (OpenAPI, and served there when this middleware is not mounted), and this
middleware answers the same path with the same parsing, the same handler and the same error
bodies as the app's exception handlers (service/errors.py).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from router.errors import RouterError
from service.errors import (
    error_response,
    router_error_response,
    unexpected_error_response,
    unparsed_body_response,
    validation_error_response,
)
from service.observe import Observation
from service.record import RequestRecord
from service.state import ServiceState

# Before the body is read: who is asking, from the headers (may refuse: 401, 403, 429, 503).
Prepare = Callable[[Mapping[str, str], Observation], Awaitable[Any]]
# The endpoint: the validated body and what ``Prepare`` returned → a response model (sent as
# JSON) or a Starlette response (a stream, a body with headers), sent as it is.
Handler = Callable[[Any, Any], Awaitable[BaseModel | Response]]

_NOT_JSON = "request body must be a JSON object (Content-Type: application/json)"


class BodyError(Exception):
    """The body cannot be handed to the endpoint; ``response`` says why (400)."""

    def __init__(self, response: JSONResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def _json_media(content_type: str) -> bool:
    """``application/json`` or ``application/*+json``, parameters aside (as FastAPI reads it)."""
    media = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def parse_body(model: type[BaseModel], raw: bytes, content_type: str | None) -> BaseModel:
    """``raw`` validated as ``model``, the way FastAPI reads a JSON body parameter.

    Raises:
        BodyError: empty, not JSON (by Content-Type or syntax), not UTF-8, or not the schema.
        RouterError: a validator of ``model`` refused a value (e.g. invalid Unicode).
    """
    if not raw:
        missing = {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
        raise BodyError(validation_error_response(RequestValidationError([missing])))
    if not content_type or not _json_media(content_type):
        raise BodyError(error_response(400, _NOT_JSON, code="invalid_request"))
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        invalid = {
            "type": "json_invalid",
            "loc": ("body", exc.pos),
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": exc.msg},
        }
        raise BodyError(validation_error_response(RequestValidationError([invalid]))) from exc
    except (UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise BodyError(unparsed_body_response()) from exc
    try:
        return model.model_validate(data, from_attributes=True)  # as FastAPI validates
    except ValidationError as exc:
        errors = [{**err, "loc": ("body", *err["loc"])} for err in exc.errors(include_url=False)]
        raise BodyError(validation_error_response(RequestValidationError(errors))) from exc


async def read_body(receive: Receive) -> bytes | None:
    """The whole body; None when the client went away first."""
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


class DirectEndpoint:
    """Serve ``POST path``: ``prepare`` from the headers, then ``handler`` with the body
    validated as ``model`` (the order of FastAPI's dependencies and body); pass the rest on.

    Mounted inside the middleware that gives each request its id, caps, timeout and log line
    (service/middleware.py) and the body limit (service/limits.py)."""

    def __init__(
        self,
        app: ASGIApp,
        state: ServiceState,
        path: str,
        model: type[BaseModel],
        prepare: Prepare,
        handler: Handler,
    ) -> None:
        self.app, self.state = app, state
        self.path, self.model = path, model
        self.prepare, self.handler = prepare, handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        raw = await read_body(receive)
        if raw is None:
            return
        record: RequestRecord | None = scope.get("state", {}).get("semroute")
        if record is None:  # mounted without the request middleware (unit tests)
            record = RequestRecord("-", self.path)
        observation = Observation(record, self.state.metrics)
        headers = Headers(scope=scope)
        try:
            context = await self.prepare(headers, observation)
            body = parse_body(self.model, raw, headers.get("content-type"))
            result = await self.handler(body, context)
        except BodyError as exc:
            response: Response = exc.response
        except RouterError as exc:
            observation.failed(exc)
            response = router_error_response(exc)
        except Exception as exc:  # a bug: the same 500 body as the app's last handler
            response = unexpected_error_response(exc)
        else:
            if isinstance(result, BaseModel):
                await _send_json(send, 200, result.model_dump_json(by_alias=True).encode())
                return
            response = result
        await response(scope, receive, send)


async def _send_json(send: Send, status: int, payload: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
