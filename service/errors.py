"""The one table from the error tree to HTTP status, and the one error body (OpenAI-style;
Anthropic-style on /v1/messages)."""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import asdict
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from router import errors as e
from service.messages_errors import anthropic_error_body, speaks_anthropic
from service.observe import INTERNAL_ERROR
from service.state import get_observation

log = logging.getLogger("semroute.service")

# Every class of the error tree → its HTTP status; an error takes the row of the most specific
# class in its MRO (as httpx maps exceptions), so a new subclass inherits its parent's status.
ERROR_STATUS: dict[type[e.RouterError], int] = {
    e.RouterError: 500,
    e.InvalidRequest: 400,
    e.AccessError: 403,
    e.Unauthenticated: 401,
    e.Forbidden: 403,
    e.LimitExceeded: 429,
    e.NotReady: 503,
    e.ConfigError: 500,
    e.ArtifactError: 503,
    e.ProviderError: 502,
    e.RateLimited: 429,
    e.AuthFailed: 502,
    e.Timeout: 504,
    e.ContentPolicy: 400,
    e.ContextTooLong: 400,
    e.BadRequest: 400,
    e.ProviderUnavailable: 503,
    e.BadResponse: 502,
    e.RoutingError: 500,
    e.NoCandidate: 400,
    e.BudgetExhausted: 429,
    e.BudgetUnavailable: 503,
    e.AllCandidatesFailed: 503,
}

# The OpenAI error type follows from the status (a rate limit of ours says which: exc.kind).
_STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
}

# For OpenAPI: the error responses every authenticated route may give.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid request", "content": {"application/json": {}}},
    401: {"description": "Missing or invalid key", "content": {"application/json": {}}},
    403: {
        "description": "Not allowed (or admin API disabled)",
        "content": {"application/json": {}},
    },
    404: {"description": "No such resource", "content": {"application/json": {}}},
    503: {"description": "Not ready", "content": {"application/json": {}}},
}

# Where infrastructure lives (URLs, host:port, IP addresses) never leaves in an error body.
_ADDRESS = re.compile(
    r"\b[a-z][a-z0-9+.-]*://\S+"  # any URL (redis://, http://, unix://)
    r"|\[[0-9a-f:]+\](?::\d+)?"  # [IPv6]:port
    r"|\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"  # IPv4[:port]
    r"|\b[a-z0-9.-]*[a-z][a-z0-9.-]*:\d{2,5}\b",  # host:port
    re.IGNORECASE,
)


def scrub(text: str) -> str:
    """``text`` with every address replaced by ``[address]``."""
    return _ADDRESS.sub("[address]", text)


# Codes that mean "no such thing" rather than "malformed".
_NOT_FOUND_CODES = {"model_not_found", "request_not_found", "not_found"}


def error_type(status: int) -> str:
    """The OpenAI error ``type`` of a status: 4xx by kind, every 5xx ``api_error``."""
    return _STATUS_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def error_body(
    status: int,
    message: str,
    code: str | None = None,
    param: str | None = None,
    *,
    type_: str | None = None,
) -> dict[str, Any]:
    """The one OpenAI-style error body (its type from the status unless given)."""
    kind = type_ or error_type(status)
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def wire_error_body(
    path: str, status: int, message: str, code: str | None = None
) -> dict[str, Any]:
    """The error body in the shape of the route's API: Anthropic-style on /v1/messages."""
    if speaks_anthropic(path):
        return anthropic_error_body(status, message)
    return error_body(status, message, code)


def error_response(
    status: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(status, message, code, param), status, headers=headers)


def status_for(exc: e.RouterError) -> int:
    """The status of the most specific class of ``exc`` that has a row (RouterError has one)."""
    status = next(ERROR_STATUS[c] for c in type(exc).__mro__ if c in ERROR_STATUS)
    if status == 400 and exc.code in _NOT_FOUND_CODES:
        return 404
    return status


def router_error_response(exc: e.RouterError) -> JSONResponse:
    status = status_for(exc)
    type_: str | None = None
    param = exc.param if isinstance(exc, e.InvalidRequest) else None
    headers: dict[str, str] = {}
    retry_after = exc.retry_after if isinstance(exc, e.RateLimited | e.BudgetExhausted) else None
    if retry_after is not None:
        headers["retry-after"] = str(max(1, round(retry_after)))
    if isinstance(exc, e.LimitExceeded):
        type_ = exc.kind
        headers.update(exc.headers, **{"retry-after": str(math.ceil(exc.retry_after))})
    body = error_body(status, scrub(exc.message), exc.code, param, type_=type_)
    if isinstance(exc, e.AllCandidatesFailed):
        body["error"]["attempts"] = [{**asdict(a), "detail": scrub(a.detail)} for a in exc.attempts]
    if status >= 500:
        log.warning("request failed: %s (%s)", exc.code, exc.message)
    return JSONResponse(body, status, headers=headers)


# pydantic names the branch of a union in an error's location ("content.str",
# "system.list[SystemBlock]"): not a field the client sent.
_UNION_BRANCHES = frozenset({"str", "constrained-str", "int", "float", "bool", "dict", "list"})


def _is_field(part: object) -> bool:
    return isinstance(part, int) or (
        part != "body" and "[" not in str(part) and str(part) not in _UNION_BRANCHES
    )


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    # The deepest error is the most specific: for a union, the branch the input was meant for
    # (a list of blocks whose type is wrong, rather than "should be a valid string").
    err = max(exc.errors(), key=lambda x: len(x.get("loc", ())))
    loc = [str(p) for p in err.get("loc", ()) if _is_field(p)]
    param = ".".join(loc) or None
    msg = str(err.get("msg", "invalid request")).removeprefix("Value error, ")
    if err.get("type") == "json_invalid":
        return f"request body is not valid JSON: {msg}", None
    if not loc:
        if err.get("type") == "missing":
            return "request body is empty: expected a JSON object", None
        if err.get("type") in ("model_attributes_type", "dict_type"):
            return "request body must be a JSON object (Content-Type: application/json)", None
    return (f"{param}: {msg}" if param else msg), param


# What FastAPI says of a body json.loads cannot take for another reason than its syntax.
_UNPARSED = "There was an error parsing the body"
_NOT_UTF8 = "request body is not valid JSON: not UTF-8 text, or nested too deeply"


def _anthropic_client(request: Request) -> bool:
    """/v1/messages, and /v1/models asked in Anthropic's shape (the SDKs send the version)."""
    path = request.url.path
    return speaks_anthropic(path) or (
        path.startswith("/v1/models") and "anthropic-version" in request.headers
    )


def shaped(request: Request, response: JSONResponse) -> JSONResponse:
    """The error in the shape of the route's API: Anthropic-style on /v1/messages."""
    if not _anthropic_client(request):
        return response
    message = json.loads(bytes(response.body))["error"]["message"]
    headers = {
        k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")
    }
    body = anthropic_error_body(response.status_code, message)
    return JSONResponse(body, response.status_code, headers=headers)


def validation_error_response(exc: RequestValidationError) -> JSONResponse:
    """A body that does not fit the route's schema: 400 naming the field."""
    message, param = _validation_message(exc)
    return error_response(400, message, code="invalid_request", param=param)


def unparsed_body_response() -> JSONResponse:
    """Bytes ``json.loads`` cannot take for another reason than the syntax (not UTF-8, …)."""
    return error_response(400, _NOT_UTF8, code="invalid_request")


def unexpected_error_response(exc: Exception) -> JSONResponse:
    """A bug: logged with its trace, answered 500 without one."""
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal error", code=INTERNAL_ERROR)


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as an OpenAI-style JSON body (Anthropic-style on /v1/messages);
    nothing leaks a stack trace."""

    @app.exception_handler(e.RouterError)
    async def _router(request: Request, exc: e.RouterError) -> JSONResponse:
        get_observation(request).failed(exc)
        return shaped(request, router_error_response(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return shaped(request, validation_error_response(exc))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 400 and exc.detail == _UNPARSED:  # bytes that are not UTF-8 …
            return shaped(request, unparsed_body_response())
        return shaped(request, error_response(exc.status_code, str(exc.detail), headers=headers))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return shaped(request, unexpected_error_response(exc))
