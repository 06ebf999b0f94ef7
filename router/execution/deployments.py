"""Providers and deployments built from the config: credentials, disabled providers, mock mode.

A provider whose key is configured but missing is disabled with a warning. When no real
provider is usable at all, semroute runs in **mock mode**: one offline mock provider serves
every catalogue model, labelled ``provider: "mock"`` everywhere, so it works end to end offline.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from router.config import Config, ProviderConfig
from router.execution.balancer import Deployment
from router.providers import (
    AnthropicProvider,
    AuthStyle,
    Credentials,
    MockProvider,
    OpenAIProvider,
    Provider,
)

log = logging.getLogger("semroute.providers")

MOCK = "mock"
_DEFAULT_URLS = {"openai": "https://api.openai.com/v1", "anthropic": "https://api.anthropic.com"}


@dataclass(slots=True)
class ProviderSet:
    providers: dict[str, Provider]
    credentials: dict[str, Credentials] = field(default_factory=dict)
    disabled: dict[str, str] = field(default_factory=dict)  # name → why (never a key)
    mock_mode: bool = False
    switched_off: set[str] = field(default_factory=set)  # by an operator (manual failover)

    def deployments(self, config: Config, model: str) -> list[Deployment]:
        """The deployments of ``model`` whose provider is enabled."""
        spec = config.models[model]
        if self.mock_mode:
            return [] if MOCK in self.switched_off else [Deployment(model, MOCK, spec.upstream)]
        return [
            Deployment(
                model=model,
                provider=d.provider,
                upstream=d.upstream or spec.upstream,
                weight=d.weight,
            )
            for d in spec.all_deployments()
            if d.provider in self.providers and d.provider not in self.switched_off
        ]

    def reload_credentials(self) -> dict[str, bool]:
        """Re-read every key (rotation without restart); returns provider → key present."""
        return {name: cred.reload() for name, cred in self.credentials.items()}

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()


def _credentials(name: str, spec: ProviderConfig, environ: Mapping[str, str] | None) -> Credentials:
    style: AuthStyle = spec.auth or ("x-api-key" if spec.kind == "anthropic" else "bearer")
    extra = dict(spec.headers)
    if spec.kind == "anthropic":
        extra.setdefault("anthropic-version", spec.anthropic_version)
    return Credentials(
        name,
        env=spec.api_key_env,
        file=spec.api_key_file,
        style=style,
        header=spec.auth_header,
        extra=extra,
        environ=environ,
    )


def _provider(name: str, spec: ProviderConfig, cred: Credentials) -> Provider:
    url = spec.base_url or _DEFAULT_URLS.get(spec.kind, "")
    if spec.kind == "anthropic":
        return AnthropicProvider(
            name,
            url,
            cred,
            anthropic_version=spec.anthropic_version,
            default_max_tokens=spec.default_max_tokens,
            connect_timeout_s=spec.connect_timeout_s,
            read_timeout_s=spec.read_timeout_s,
            max_connections=spec.max_connections,
        )
    return OpenAIProvider(
        name,
        url,
        cred,
        connect_timeout_s=spec.connect_timeout_s,
        read_timeout_s=spec.read_timeout_s,
        max_connections=spec.max_connections,
    )


def build_providers(config: Config, environ: Mapping[str, str] | None = None) -> ProviderSet:
    """One provider per configured endpoint; disabled when its configured key is missing."""
    out = ProviderSet(providers={})
    for name, spec in config.providers.items():
        if spec.kind == "mock":
            out.providers[name] = MockProvider(
                name, latency_ms=spec.mock_latency_ms, script=spec.mock_script
            )
            continue
        cred = _credentials(name, spec, environ)
        needs_key = bool(spec.api_key_env or spec.api_key_file)
        if needs_key and not cred.present:
            out.disabled[name] = f"no API key ({cred.source})"
            out.credentials[name] = cred
            continue
        out.credentials[name] = cred
        out.providers[name] = _provider(name, spec, cred)
    real = [n for n, s in config.providers.items() if s.kind != "mock" and n in out.providers]
    if not real and not any(s.kind == "mock" for s in config.providers.values()):
        out.mock_mode = True
        out.providers = {MOCK: MockProvider(MOCK)}
        log.warning(
            "mock mode: no provider API key is set; every model is served by the "
            'offline mock provider (responses say provider "mock")'
        )
    else:
        for name, why in out.disabled.items():
            log.warning("provider %s disabled: %s", name, why)
    return out
