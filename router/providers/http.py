"""What every HTTP adapter shares: one pooled client, per-call timeouts bounded by the chain's
deadline, upstream errors mapped with the key masked, a health probe, and closing."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from router import errors as e
from router.providers.base import Health, UpstreamCall, error_fields, error_for_status
from router.providers.credentials import Credentials


class HttpProvider:
    """Base of the OpenAI and Anthropic adapters; ``models_path`` is probed by ``health``."""

    models_path = "models"

    def __init__(
        self,
        name: str,
        base_url: str,
        credentials: Credentials,
        *,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 120.0,
        max_connections: int = 100,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._name = name
        self.credentials = credentials
        self._read_timeout = read_timeout_s
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            timeout=httpx.Timeout(read_timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(max_connections=max_connections),
            transport=transport,
        )

    @property
    def name(self) -> str:
        return self._name

    def _headers(self) -> dict[str, str]:
        # Read per request: credentials.reload() takes effect without rebuilding the client.
        return self.credentials.headers()

    def _timeout(self, call: UpstreamCall) -> httpx.Timeout:
        t = self._client.timeout
        return httpx.Timeout(min(call.timeout_s, self._read_timeout), connect=t.connect)

    def _status_error(
        self, status: int, content: bytes, headers: Mapping[str, str], call: UpstreamCall
    ) -> e.ProviderError:
        message, code = error_fields(content)
        return error_for_status(
            status,
            self.credentials.redact(message),
            provider=self.name,
            model=call.model,
            headers=headers,
            code=code,
        )

    async def health(self) -> Health:
        try:
            resp = await self._client.get(self.models_path, headers=self._headers())
        except httpx.HTTPError as exc:
            return Health(ok=False, detail=type(exc).__name__)
        return Health(
            ok=resp.status_code < 400, detail=f"GET {self.models_path} → {resp.status_code}"
        )

    async def aclose(self) -> None:
        await self._client.aclose()
