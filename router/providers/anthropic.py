"""Anthropic Messages API over httpx; the wire translation lives in anthropic_wire.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx

from router import errors as e
from router.providers.anthropic_extra import UntranslatableRequest
from router.providers.anthropic_stream import StreamState
from router.providers.anthropic_wire import parse_message, request_body
from router.providers.base import (
    UpstreamCall,
    error_for_transport,
    stream_error,
)
from router.providers.credentials import Credentials
from router.providers.http import HttpProvider
from router.types import JSON, Chunk, Completion

_MALFORMED = (ValueError, KeyError, TypeError, AttributeError, IndexError)


async def sse_events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, str]]:
    """(event name, data) per server-sent event; an unterminated last event is dropped (cut)."""
    name = ""
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield name, "\n".join(data)
            name, data = "", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))


class AnthropicProvider(HttpProvider):
    """One Anthropic endpoint with one key; a pooled httpx client."""

    models_path = "v1/models"

    def __init__(
        self,
        name: str,
        base_url: str,
        credentials: Credentials,
        *,
        anthropic_version: str = "2023-06-01",
        default_max_tokens: int = 4096,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 120.0,
        max_connections: int = 100,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            name,
            base_url,
            credentials,
            connect_timeout_s=connect_timeout_s,
            read_timeout_s=read_timeout_s,
            max_connections=max_connections,
            transport=transport,
        )
        self.anthropic_version = anthropic_version
        self.default_max_tokens = default_max_tokens

    def _headers(self) -> dict[str, str]:
        return {**super()._headers(), "anthropic-version": self.anthropic_version}

    def _body(self, call: UpstreamCall, *, stream: bool) -> JSON:
        """Raises: BadRequest when the request has no Messages API equivalent."""
        try:
            return request_body(call, default_max_tokens=self.default_max_tokens, stream=stream)
        except UntranslatableRequest as exc:
            raise e.BadRequest(
                f"{self.name}: cannot translate request: {exc}",
                provider=self.name,
                model=call.model,
            ) from exc

    async def complete(self, call: UpstreamCall) -> Completion:
        """Raises: ProviderError (a subclass saying what went wrong)."""
        body = self._body(call, stream=False)
        try:
            resp = await self._client.post(
                "v1/messages", json=body, headers=self._headers(), timeout=self._timeout(call)
            )
        except httpx.HTTPError as exc:
            raise error_for_transport(exc, provider=self.name, model=call.model) from exc
        if resp.status_code >= 400:
            raise self._status_error(resp.status_code, resp.content, resp.headers, call)
        try:
            return parse_message(resp.json())
        except _MALFORMED as exc:
            raise error_for_transport(exc, provider=self.name, model=call.model) from exc

    async def stream(self, call: UpstreamCall) -> AsyncIterator[Chunk]:
        """Yield OpenAI-shaped chunks. Raises: ProviderError, before or during the stream."""
        body = self._body(call, stream=True)
        try:
            async with self._client.stream(
                "POST",
                "v1/messages",
                json=body,
                headers=self._headers(),
                timeout=self._timeout(call),
            ) as resp:
                if resp.status_code >= 400:
                    content = await resp.aread()
                    raise self._status_error(resp.status_code, content, resp.headers, call)
                async for chunk in self._events(resp, call):
                    yield chunk
        except httpx.HTTPError as exc:
            raise error_for_transport(exc, provider=self.name, model=call.model) from exc

    async def _events(self, resp: httpx.Response, call: UpstreamCall) -> AsyncIterator[Chunk]:
        state = StreamState()
        async for name, data in sse_events(resp.aiter_lines()):
            try:
                event = json.loads(data)
                if name == "error" or event.get("type") == "error":
                    raise stream_error(
                        self.credentials.redact(data).encode(), provider=self.name, model=call.model
                    )
                chunks = state.feed(event)
            except _MALFORMED as exc:
                raise error_for_transport(exc, provider=self.name, model=call.model) from exc
            for chunk in chunks:
                yield chunk
            if state.done:
                return
        if state.stopped:  # the stop reason came, then a clean end without message_stop
            for chunk in state.end():
                yield chunk
            return
        # Streams never fake success: no stop reason means the answer may be incomplete.
        raise e.ProviderUnavailable(
            f"{self.name}: stream ended before it finished", provider=self.name, model=call.model
        )
