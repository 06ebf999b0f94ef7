"""Real HTTP upstreams on loopback for execution tests, with scripted faults.

An :class:`Upstream` is a small Starlette app served by uvicorn in a background thread on
127.0.0.1 (OS-chosen port). It speaks the OpenAI chat-completions wire format on
``POST /v1/chat/completions`` and the Anthropic Messages format on ``POST /v1/messages``,
streaming included, plus ``GET /v1/models`` (OpenAI or Anthropic shape by the
``anthropic-version`` header). Every chat request is recorded and consumes one behaviour
from a script::

    with Upstream("alpha") as up:
        up.script("429", "reset_mid_stream")   # first two chat requests fail, then "ok"
        up.always("503")                       # ...and every later one answers 503
        client = openai.OpenAI(base_url=up.base_url + "/v1", api_key="k")

Behaviours (see ``FAULTS``): "ok"; "429" (Retry-After: 1), "429:<seconds>", "429:none" (no
header); an HTTP error status "400" "401" "403" "404" "408" "413" "422" "500" "502" "503" "529"
with an error body in the path's format; "content_policy" and "context_length" (400s); "hang"
(not a byte until stop(), which then closes the connection); "slow:<seconds>" (without stream:
the whole answer waits; with stream: the status line and headers go out at once, the first chunk
waits); "malformed" (200 with a body, or a first data line, that is not JSON);
"reset_mid_stream" (the role/start events and two content deltas, then the TCP connection is
closed mid chunked body, so the client sees a RemoteProtocolError; without stream: closed
without any response); "truncated_stream" (the same chunks, then a clean end of the body without
[DONE] / message_stop / finish_reason); "error_in_stream" (one content chunk, then an error
event); "error_before_content" (the role/start events, then an error event: nothing visible was
sent); "slow_content:<seconds>" (the role/start events at once, the first content after the
wait); "no_message_stop" (every event but the last: Anthropic's ``message_stop``, OpenAI's
``[DONE]``; the stop reason is there). The stream-only faults answer normally when the request
does not stream. Anthropic streams carry a ``ping`` event after ``content_block_start``, as the
real API's do.

A request with "tools" whose last user message contains "call the tool" is answered with a
tool call (OpenAI ``tool_calls`` / Anthropic ``tool_use``) instead of text. An OpenAI request
with ``"logprobs": true`` gets a ``logprobs`` object in its choice. Setting ``cached_tokens``
(and ``cache_write_tokens``) on an upstream makes it report prompt-cache usage: OpenAI
``prompt_tokens_details.cached_tokens`` (with ``completion_tokens_details``), Anthropic
``cache_read_input_tokens`` / ``cache_creation_input_tokens`` (apart from ``input_tokens``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

Wire = Literal["openai", "anthropic"]

STATUS_FAULTS = frozenset(
    {"400", "401", "403", "404", "408", "413", "422", "500", "502", "503", "529"}
)
FAULTS = frozenset(
    {
        "ok",
        "429",
        "content_policy",
        "context_length",
        "hang",
        "malformed",
        "reset_mid_stream",
        "truncated_stream",
        "error_in_stream",
        "error_before_content",
        "no_message_stop",
    }
    | STATUS_FAULTS
)
_PARAM_FAULT = re.compile(
    r"^(?:429:(?:none|\d+(?:\.\d+)?)|slow:\d+(?:\.\d+)?|slow_content:\d+(?:\.\d+)?)$"
)

_TRANSPORT_KEY = "tests.upstreams.transport"
_SSE_HEADERS = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}

# (OpenAI type, OpenAI code, Anthropic type, message) per scripted status.
_ERRORS: dict[int, tuple[str, str | None, str, str]] = {
    400: ("invalid_request_error", None, "invalid_request_error", "Invalid request (scripted)."),
    401: ("invalid_request_error", "invalid_api_key", "authentication_error", "Invalid API key."),
    403: ("permission_error", "permission_denied", "permission_error", "Permission denied."),
    404: ("invalid_request_error", "model_not_found", "not_found_error", "Model not found."),
    408: ("timeout_error", "timeout", "timeout_error", "Request timed out."),
    413: ("invalid_request_error", "request_too_large", "request_too_large", "Request too large."),
    422: ("invalid_request_error", None, "invalid_request_error", "Unprocessable request."),
    429: ("requests", "rate_limit_exceeded", "rate_limit_error", "Rate limit reached."),
    500: ("server_error", None, "api_error", "The server had an error processing your request."),
    502: ("server_error", None, "api_error", "Bad gateway."),
    503: ("server_error", None, "api_error", "The service is temporarily unavailable."),
    529: ("server_error", "overloaded", "overloaded_error", "Overloaded."),
}


def check_fault(fault: str) -> str:
    """Return ``fault`` if it names a known behaviour, else raise ValueError."""
    if fault in FAULTS or _PARAM_FAULT.match(fault):
        return fault
    raise ValueError(f"unknown upstream fault {fault!r}")


@dataclass(frozen=True, slots=True)
class Recorded:
    """One chat request as the upstream received it (header names lower-cased)."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class Upstream:
    """One loopback server speaking both wire formats: POST /v1/chat/completions (OpenAI),
    POST /v1/messages (Anthropic), GET /v1/models."""

    def __init__(
        self,
        name: str = "upstream",
        reply: str = "Hello from {name}",
        *,
        models: tuple[str, ...] = ("test-model",),
    ) -> None:
        self.name = name
        self.reply = reply.replace("{name}", name)
        self.models = models
        self.cached_tokens: int | None = None  # report prompt-cache usage (see the module doc)
        self.cache_write_tokens = 0
        self.requests: list[Recorded] = []
        self._queue: deque[str] = deque()
        self._always = "ok"
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._port = 0
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._openai, methods=["POST"]),
                Route("/v1/messages", self._anthropic, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Upstream:
        """Start uvicorn in a daemon thread; return once it accepts connections.

        A restart after stop() listens on the same port again, so ``base_url`` stays valid
        (between the two, connections are refused: an upstream that is down).
        """
        if self._thread is not None:
            raise RuntimeError(f"upstream {self.name!r} is already started")
        # proto=IPPROTO_TCP: asyncio only sets TCP_NODELAY on accepted sockets that say so
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", self._port))
        except OSError:
            sock.close()
            raise
        self._sock, self._port = sock, sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            http=_H11WithTransport,
            ws="none",
            lifespan="off",
            log_config=None,
            access_log=False,
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=2,
        )
        server = self._server = uvicorn.Server(config)
        thread = self._thread = threading.Thread(
            target=self._run, name=f"upstream-{self.name}", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                thread.join(timeout=5)
                sock.close()
                self._thread = self._server = self._loop = self._stopping = self._sock = None
                raise RuntimeError(f"upstream {self.name!r} failed to start")
            time.sleep(0.005)
        return self

    def _run(self) -> None:
        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            self._stopping = asyncio.Event()
            assert self._server is not None and self._sock is not None
            await self._server.serve(sockets=[self._sock])

        asyncio.run(serve())

    def stop(self) -> None:
        """Shut down: release hanging/slow handlers (their connections are reset), then stop."""
        thread, server, loop, stopping = self._thread, self._server, self._loop, self._stopping
        if thread is None or server is None:
            return
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stopping.set)
        server.should_exit = True
        thread.join(timeout=10)
        if thread.is_alive():  # a handler ignored the graceful timeout: stop waiting for it
            server.force_exit = True
            thread.join(timeout=5)
        self._thread = self._server = self._loop = self._stopping = None
        self._sock = None

    def __enter__(self) -> Upstream:
        return self if self._thread is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` — OpenAI clients use ``base_url + "/v1"``."""
        if not self._port:
            raise RuntimeError(f"upstream {self.name!r} is not started")
        return f"http://127.0.0.1:{self._port}"

    # -- script --------------------------------------------------------------------------------

    def script(self, *faults: str) -> None:
        """Queue behaviours, one consumed per chat request (either format)."""
        checked = [check_fault(f) for f in faults]
        with self._lock:
            self._queue.extend(checked)

    def always(self, fault: str) -> None:
        """The behaviour for every chat request once the script is used up (default "ok")."""
        check_fault(fault)
        with self._lock:
            self._always = fault

    def reset(self) -> None:
        """Forget the script, the ``always`` behaviour and the recorded requests."""
        with self._lock:
            self._queue.clear()
            self._always = "ok"
            self.requests.clear()

    @property
    def calls(self) -> int:
        return len(self.requests)

    def _next(self, request: Recorded) -> str:
        with self._lock:
            self.requests.append(request)
            return self._queue.popleft() if self._queue else self._always

    # -- handlers ------------------------------------------------------------------------------

    async def _openai(self, request: Request) -> Response:
        return await self._chat(request, "openai")

    async def _anthropic(self, request: Request) -> Response:
        return await self._chat(request, "anthropic")

    async def _chat(self, request: Request, wire: Wire) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        parsed = body if isinstance(body, dict) else {}
        fault = self._next(Recorded(request.url.path, dict(request.headers), parsed))
        if not isinstance(body, dict):
            return _error_response(wire, 400, "invalid_request_error", None, "Body is not JSON.")
        assert self._stopping is not None
        exchange = _Exchange(self, wire, body, fault, request.scope, self._stopping)
        return _Driven(exchange.run)

    async def _models(self, request: Request) -> Response:
        if "anthropic-version" in request.headers:
            data = [
                {
                    "type": "model",
                    "id": m,
                    "display_name": m,
                    "created_at": "2025-01-01T00:00:00Z",
                }
                for m in self.models
            ]
            first, last = (self.models[0], self.models[-1]) if self.models else (None, None)
            return JSONResponse(
                {"data": data, "has_more": False, "first_id": first, "last_id": last}
            )
        listed: list[dict[str, Any]] = [
            {"id": m, "object": "model", "created": 1735689600, "owned_by": self.name}
            for m in self.models
        ]
        return JSONResponse({"object": "list", "data": listed})

    def next_id(self) -> int:
        return next(self._ids)


# -- one exchange ------------------------------------------------------------------------------


class _Exchange:
    """Answers one chat request with one behaviour by driving the ASGI ``send`` channel."""

    def __init__(
        self,
        upstream: Upstream,
        wire: Wire,
        body: dict[str, Any],
        fault: str,
        scope: Scope,
        stopping: asyncio.Event,
    ) -> None:
        self.up = upstream
        self.wire = wire
        self.body = body
        self.fault = fault
        self.transport: asyncio.Transport | None = scope.get("extensions", {}).get(_TRANSPORT_KEY)
        self.stopping = stopping
        self.stream = body.get("stream") is True
        self.model = str(body.get("model") or "unknown-model")
        self.n = upstream.next_id()
        self.send: Send | None = None

    # ---- ASGI plumbing

    async def run(self, send: Send) -> None:
        self.send = send
        fault = self.fault
        if fault == "hang":
            await self.stopping.wait()
            await self.reset_connection()
        elif fault.startswith("slow:") and not self.stream:
            if await self.wait(float(fault.split(":", 1)[1])):
                await self.reset_connection()
            else:
                await self.answer()
        elif fault == "malformed":
            await self.malformed()
        elif fault == "reset_mid_stream" and not self.stream:
            await self.reset_connection()
        elif fault.startswith("429") or fault in STATUS_FAULTS:
            await self.status_error(fault)
        elif fault == "content_policy":
            await self.content_policy()
        elif fault == "context_length":
            await self.context_length()
        else:  # "ok", and the stream-shaped faults (which answer normally without stream)
            await self.answer()

    async def wait(self, seconds: float) -> bool:
        """Sleep ``seconds``; True if the upstream is stopping meanwhile."""
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True

    async def start(self, status: int, headers: dict[str, str]) -> None:
        assert self.send is not None
        raw = [(k.encode(), v.encode()) for k, v in headers.items()]
        await self.send({"type": "http.response.start", "status": status, "headers": raw})

    async def write(self, data: bytes, *, more: bool = True) -> None:
        assert self.send is not None
        await self.send({"type": "http.response.body", "body": data, "more_body": more})

    async def respond(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
        headers = {**headers, "content-length": str(len(payload)), **self.request_id_header()}
        await self.start(status, headers)
        await self.write(payload, more=False)

    async def respond_json(
        self, status: int, obj: Any, headers: dict[str, str] | None = None
    ) -> None:
        payload = json.dumps(obj).encode()
        await self.respond(status, payload, {"content-type": "application/json", **(headers or {})})

    def request_id_header(self) -> dict[str, str]:
        key = "x-request-id" if self.wire == "openai" else "request-id"
        return {key: f"req_{self.up.name}_{self.n}"}

    async def reset_connection(self) -> None:
        """Close the TCP connection now, mid-response: what was written is delivered, then EOF.

        A FIN rather than a RST on purpose: a RST makes the client's kernel drop data its
        application has not read yet, so the chunks a test expects could be lost under load.
        The client sees an HTTP-level failure either way (no response / incomplete chunked body).
        """
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        transport.close()
        for _ in range(3):  # let connection_lost run: uvicorn then ignores the unfinished cycle
            await asyncio.sleep(0)

    # ---- errors

    async def status_error(self, fault: str) -> None:
        code_text, _, after = fault.partition(":")
        status = int(code_text)
        headers: dict[str, str] = {}
        if status == 429 and after != "none":
            headers["retry-after"] = after or "1"
        openai_type, openai_code, anthropic_type, message = _ERRORS[status]
        if status == 404:
            message = f"The model `{self.model}` does not exist or you do not have access to it."
        await self.error(status, openai_type, openai_code, anthropic_type, message, headers)

    async def content_policy(self) -> None:
        if self.wire == "openai":
            message = (
                "Your request was rejected as a result of our safety system: it may violate "
                "the content policy."
            )
        else:
            message = "Request blocked: this request violates the content policy."
        await self.error(400, "invalid_request_error", "content_policy_violation", None, message)

    async def context_length(self) -> None:
        if self.wire == "openai":
            message = (
                "This model's maximum context length is 128000 tokens. However, your messages "
                "resulted in 130000 tokens. Please reduce the length of the messages."
            )
        else:
            message = "prompt is too long: 210000 tokens > 200000 maximum"
        await self.error(400, "invalid_request_error", "context_length_exceeded", None, message)

    async def error(
        self,
        status: int,
        openai_type: str,
        openai_code: str | None,
        anthropic_type: str | None,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        body = _error_body(
            self.wire, openai_type, openai_code, anthropic_type or openai_type, message
        )
        if self.wire == "anthropic":
            body["request_id"] = f"req_{self.up.name}_{self.n}"
        await self.respond_json(status, body, headers)

    async def malformed(self) -> None:
        if not self.stream:
            broken = b'{"id": "broken", "choices": [{"message": {"role": "assist'
            await self.respond(200, broken, {"content-type": "application/json"})
            return
        await self.start(200, {**_SSE_HEADERS, **self.request_id_header()})
        if self.wire == "openai":
            await self.write(b'data: {"id": "chatcmpl-broken", "choices": [{"delta": {"con\n\n')
            await self.write(b"data: [DONE]\n\n", more=False)
        else:
            await self.write(b'event: message_start\ndata: {"type": "message_start", "mess\n\n')
            await self.write(b"", more=False)

    # ---- answers

    async def answer(self) -> None:
        tool = self.tool_call()
        if self.stream:
            fault = self.fault
            await self.start(200, {**_SSE_HEADERS, **self.request_id_header()})
            if fault.startswith("slow:") and await self.wait(float(fault.split(":", 1)[1])):
                await self.reset_connection()
                return
            events = (
                self.openai_events(tool) if self.wire == "openai" else self.anthropic_events(tool)
            )
            await self.stream_events(events)
        elif self.wire == "openai":
            await self.respond_json(200, self.openai_completion(tool))
        else:
            await self.respond_json(200, self.anthropic_message(tool))

    async def stream_events(self, events: list[_Event]) -> None:
        """Send ``events`` as SSE, shaped by the stream faults."""
        fault = self.fault
        if fault in ("reset_mid_stream", "truncated_stream"):
            # the role/start events and two content deltas, then no ending
            cut = _index_of_nth(events, "content", 2) + 1
            for event in events[:cut]:
                await self.write(event.encode(self.wire))
            if fault == "reset_mid_stream":
                await self.reset_connection()
            else:
                await self.write(b"", more=False)
            return
        if fault in ("error_in_stream", "error_before_content"):
            cut = _index_of_nth(events, "content", 1) + (fault == "error_in_stream")
            for event in events[:cut]:
                await self.write(event.encode(self.wire))
            await self.write(self.stream_error_event().encode(self.wire), more=False)
            return
        if fault == "no_message_stop":
            events = events[:-1]
        if fault.startswith("slow_content:"):
            first = _index_of_nth(events, "content", 1)
            for event in events[:first]:
                await self.write(event.encode(self.wire))
            if await self.wait(float(fault.split(":", 1)[1])):
                await self.reset_connection()
                return
            events = events[first:]
        for event in events:
            await self.write(event.encode(self.wire))
        await self.write(b"", more=False)

    def stream_error_event(self) -> _Event:
        if self.wire == "openai":
            message = "The server had an error while processing your request."
            return _Event("error", _error_body("openai", "server_error", None, "", message))
        body = _error_body("anthropic", "", None, "overloaded_error", "Overloaded")
        return _Event("error", body, sse_type="error")

    # ---- request reading

    def messages(self) -> list[dict[str, Any]]:
        messages = self.body.get("messages")
        return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []

    def prompt_tokens(self) -> int:
        texts = [_text(m.get("content")) for m in self.messages()]
        if self.wire == "anthropic":
            texts.append(_text(self.body.get("system")))
        return sum(len(t.split()) for t in texts)

    def tool_call(self) -> tuple[str, dict[str, Any]] | None:
        """(tool name, arguments) if the request asks for a tool call, else None."""
        tools = self.body.get("tools")
        if not isinstance(tools, list) or not tools:
            return None
        last_user = next((m for m in reversed(self.messages()) if m.get("role") == "user"), None)
        if last_user is None or "call the tool" not in _text(last_user.get("content")).lower():
            return None
        specs: dict[str, dict[str, Any]] = {}
        for tool in tools:
            if not isinstance(tool, dict):
                continue
            if self.wire == "openai":
                fn = tool.get("function") or {}
                name, schema = fn.get("name"), fn.get("parameters")
            else:
                name, schema = tool.get("name"), tool.get("input_schema")
            if isinstance(name, str):
                specs[name] = schema if isinstance(schema, dict) else {}
        if not specs:
            return None
        name = next(iter(specs))
        choice = self.body.get("tool_choice")
        if isinstance(choice, dict):
            wanted = (choice.get("function") or {}).get("name") or choice.get("name")
            if wanted in specs:
                name = wanted
        return name, _arguments(specs[name], self.up.name)

    # ---- OpenAI shapes

    def openai_id(self) -> str:
        return f"chatcmpl-{self.up.name}-{self.n}"

    def openai_usage(self, completion_tokens: int) -> dict[str, Any]:
        prompt = self.prompt_tokens()
        usage: dict[str, Any] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt + completion_tokens,
        }
        if self.up.cached_tokens is not None:
            usage["prompt_tokens"] = prompt + self.up.cached_tokens
            usage["total_tokens"] += self.up.cached_tokens
            usage["prompt_tokens_details"] = {"cached_tokens": self.up.cached_tokens}
            usage["completion_tokens_details"] = {"reasoning_tokens": 0}
        return usage

    def anthropic_usage(self, output_tokens: int) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "input_tokens": self.prompt_tokens(),
            "output_tokens": output_tokens,
        }
        if self.up.cached_tokens is not None:
            usage["cache_read_input_tokens"] = self.up.cached_tokens
            usage["cache_creation_input_tokens"] = self.up.cache_write_tokens
        return usage

    def logprobs(self, text: str) -> dict[str, Any] | None:
        if self.body.get("logprobs") is not True:
            return None
        content = [
            {"token": t, "logprob": -0.5, "bytes": list(t.encode()), "top_logprobs": []}
            for t in _pieces(text)
        ]
        return {"content": content, "refusal": None}

    def openai_completion(self, tool: tuple[str, dict[str, Any]] | None) -> dict[str, Any]:
        if tool is None:
            message: dict[str, Any] = {"role": "assistant", "content": self.up.reply}
            finish, completion = "stop", len(self.up.reply.split())
        else:
            name, args = tool
            arguments = json.dumps(args)
            call = {
                "id": f"call_{self.up.name}_{self.n}",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
            finish, completion = "tool_calls", max(1, len(arguments.split()))
        return {
            "id": self.openai_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": self.logprobs(self.up.reply),
                    "finish_reason": finish,
                }
            ],
            "usage": self.openai_usage(completion),
            "system_fingerprint": None,
        }

    def openai_events(self, tool: tuple[str, dict[str, Any]] | None) -> list[_Event]:
        options = self.body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            out: dict[str, Any] = {
                "id": self.openai_id(),
                "object": "chat.completion.chunk",
                "created": created,
                "model": self.model,
                "system_fingerprint": None,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
            if include_usage:
                out["usage"] = None
            return out

        events: list[_Event]
        if tool is None:
            events = [_Event("start", chunk({"role": "assistant", "content": ""}))]
            events += [_Event("content", chunk({"content": p})) for p in _pieces(self.up.reply)]
            finish, completion = "stop", len(self.up.reply.split())
        else:
            name, args = tool
            arguments = json.dumps(args)
            head = {
                "index": 0,
                "id": f"call_{self.up.name}_{self.n}",
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }
            start = {"role": "assistant", "content": None, "tool_calls": [head]}
            events = [_Event("start", chunk(start))]
            for part in _slices(arguments):
                delta = {"tool_calls": [{"index": 0, "function": {"arguments": part}}]}
                events.append(_Event("content", chunk(delta)))
            finish, completion = "tool_calls", max(1, len(arguments.split()))
        events.append(_Event("end", chunk({}, finish)))
        if include_usage:
            usage = chunk({})
            usage["choices"] = []
            usage["usage"] = self.openai_usage(completion)
            events.append(_Event("end", usage))
        events.append(_Event("end", "[DONE]"))
        return events

    # ---- Anthropic shapes

    def anthropic_id(self) -> str:
        return f"msg_{self.up.name}_{self.n}"

    def anthropic_message(self, tool: tuple[str, dict[str, Any]] | None) -> dict[str, Any]:
        if tool is None:
            content: list[dict[str, Any]] = [{"type": "text", "text": self.up.reply}]
            stop, output = "end_turn", len(self.up.reply.split())
        else:
            name, args = tool
            tool_id = f"toolu_{self.up.name}_{self.n}"
            content = [{"type": "tool_use", "id": tool_id, "name": name, "input": args}]
            stop, output = "tool_use", max(1, len(json.dumps(args).split()))
        return {
            "id": self.anthropic_id(),
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": self.anthropic_usage(output),
        }

    def anthropic_events(self, tool: tuple[str, dict[str, Any]] | None) -> list[_Event]:
        message: dict[str, Any] = {
            "id": self.anthropic_id(),
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": self.anthropic_usage(1),
        }
        if tool is None:
            block: dict[str, Any] = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in _pieces(self.up.reply)]
            stop, output = "end_turn", len(self.up.reply.split())
        else:
            name, args = tool
            block = {
                "type": "tool_use",
                "id": f"toolu_{self.up.name}_{self.n}",
                "name": name,
                "input": {},
            }
            arguments = json.dumps(args)
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in _slices(arguments)]
            stop, output = "tool_use", max(1, len(arguments.split()))

        def event(kind: str, sse_type: str, data: dict[str, Any]) -> _Event:
            return _Event(kind, {"type": sse_type, **data}, sse_type=sse_type)

        return [
            event("start", "message_start", {"message": message}),
            event("start", "content_block_start", {"index": 0, "content_block": block}),
            event("start", "ping", {}),
            *(event("content", "content_block_delta", {"index": 0, "delta": d}) for d in deltas),
            event("end", "content_block_stop", {"index": 0}),
            event(
                "end",
                "message_delta",
                {
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": output},
                },
            ),
            event("end", "message_stop", {}),
        ]


@dataclass(frozen=True, slots=True)
class _Event:
    """One SSE event; ``kind`` (start/content/end) is what the stream faults cut on."""

    kind: str
    data: dict[str, Any] | str
    sse_type: str | None = None

    def encode(self, wire: Wire) -> bytes:
        data = self.data if isinstance(self.data, str) else json.dumps(self.data)
        head = f"event: {self.sse_type}\n" if wire == "anthropic" and self.sse_type else ""
        return f"{head}data: {data}\n\n".encode()


class _Driven(Response):
    """A response that drives the ASGI send channel itself (partial bodies, resets, hangs)."""

    def __init__(self, run: Callable[[Send], Awaitable[None]]) -> None:
        super().__init__()
        self._run = run

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._run(send)


class _H11WithTransport(H11Protocol):
    """uvicorn's h11 protocol, handing each request its connection's transport (for resets)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:  # small SSE chunks must not wait for delayed ACKs (Nagle)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        inner = self.app

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            scope.setdefault("extensions", {})[_TRANSPORT_KEY] = transport
            await inner(scope, receive, send)

        self.app = app


# -- helpers -----------------------------------------------------------------------------------


def _error_body(
    wire: Wire, openai_type: str, openai_code: str | None, anthropic_type: str, message: str
) -> dict[str, Any]:
    if wire == "openai":
        error = {"message": message, "type": openai_type, "param": None, "code": openai_code}
        return {"error": error}
    return {"type": "error", "error": {"type": anthropic_type, "message": message}}


def _error_response(
    wire: Wire, status: int, error_type: str, code: str | None, message: str
) -> Response:
    return JSONResponse(_error_body(wire, error_type, code, error_type, message), status)


def _text(content: Any) -> str:
    """The text of an OpenAI/Anthropic message content (string or list of parts/blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = (p.get("text") for p in content if isinstance(p, dict))
        return " ".join(t for t in parts if isinstance(t, str))
    return ""


def _pieces(text: str) -> list[str]:
    """Split a reply into several deltas that join back to it (words with their spaces)."""
    words = re.findall(r"\s*\S+|\s+$", text)
    return words if len(words) >= 3 else _slices(text)


def _slices(text: str, n: int = 3) -> list[str]:
    """``text`` in about ``n`` consecutive slices (at least one, possibly empty)."""
    size = max(1, -(-len(text) // n))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _index_of_nth(events: list[_Event], kind: str, nth: int) -> int:
    """Index of the ``nth`` event of ``kind`` (or the last one of that kind if fewer)."""
    found = [i for i, e in enumerate(events) if e.kind == kind]
    return found[min(nth, len(found)) - 1] if found else 0


def _arguments(schema: dict[str, Any], name: str) -> dict[str, Any]:
    """Deterministic arguments for a JSON schema: strings carry the upstream's name."""
    props = schema.get("properties")
    if not isinstance(props, dict):
        return {}
    fill: dict[str, Any] = {"string": name, "integer": 1, "number": 1, "boolean": True}
    fill |= {"array": [], "object": {}}
    out: dict[str, Any] = {}
    for key, spec in props.items():
        kind = spec.get("type") if isinstance(spec, dict) else None
        out[key] = fill.get(kind) if isinstance(kind, str) else None
    return out


@contextlib.contextmanager
def upstreams(*names: str) -> Iterator[list[Upstream]]:
    """Start several upstreams at once; stop them all on exit."""
    started: list[Upstream] = []
    try:
        for name in names:
            started.append(Upstream(name).start())
        yield started
    finally:
        for up in started:
            up.stop()
