"""``semroute config check``: validate a configuration and what it points at, cheaply (no model
is loaded), each finding with the fix. Errors stop ``semroute serve``; warnings and notes do not."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from router.classify import current_version
from router.config import Config, stray_variables
from router.encoders import static_model_dir
from router.errors import ArtifactError
from router.execution import build_providers

Level = Literal["error", "warning", "note"]


@dataclass(frozen=True, slots=True)
class Finding:
    level: Level
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"


def _centroids(config: Config) -> Iterator[Finding]:
    root = config.routing.centroids_dir
    pinned = config.routing.centroid_version
    if pinned is not None:
        if not (root / pinned / "manifest.json").is_file():
            yield Finding(
                "error",
                f"routing.centroid_version = {pinned!r}: no such version in routing.centroids_dir "
                f"= {root}; unset it to follow CURRENT, or name one of the directories there",
            )
        return
    try:
        current_version(root)
    except ArtifactError as exc:
        yield Finding("error", exc.message)


def _encoder(config: Config) -> Iterator[Finding]:
    enc = config.encoder
    if enc.model_path is not None and not enc.model_path.is_dir():
        yield Finding(
            "error",
            f"encoder.model_path = {enc.model_path}: no such directory; unset it to use the "
            "bundled all-MiniLM-L6-v2 weights",
        )
    if enc.backend.startswith("onnx") and not any(enc.onnx_cache.glob("**/*.onnx")):
        yield Finding(
            "note",
            f"no ONNX export in encoder.onnx_cache = {enc.onnx_cache} yet: it is built at the "
            "first start (seconds, ~110 MB); `semroute prepare` builds it now",
        )
    cascade = enc.cascade
    if not cascade.enabled or enc.backend == "static":
        return
    if not (config.routing.centroids_dir / cascade.centroid_version).is_dir():
        yield Finding(
            "warning",
            f"encoder.cascade.centroid_version = {cascade.centroid_version!r} is not in "
            f"routing.centroids_dir = {config.routing.centroids_dir}: the static first stage "
            "will be off (every request embedded by the transformer); set "
            "encoder.cascade.enabled = false, or fit static centroids there",
        )
    elif enc.static_path is not None and not static_model_dir(enc).exists():
        yield Finding(
            "error",
            f"encoder.static_path = {static_model_dir(enc)} does not exist; unset it for the "
            "static model semroute ships",
        )


def _providers(config: Config, environ: Mapping[str, str] | None) -> Iterator[Finding]:
    providers = build_providers(config, environ=environ)
    fixes = {
        name: f"set {spec.api_key_env}" if spec.api_key_env else "make its key file readable"
        for name, spec in config.providers.items()
        if name in providers.disabled
    }
    if providers.mock_mode:
        yield Finding(
            "warning",
            f"no provider has an API key ({'; '.join(fixes.values())}): every model is served "
            "by the offline mock provider",
        )
        return
    for name, why in providers.disabled.items():
        models = sorted(m for m, c in config.models.items() if c.provider == name)
        yield Finding(
            "warning", f"provider {name}: {why}; its models {models} are skipped ({fixes[name]})"
        )


def _shared_state(config: Config) -> Iterator[Finding]:
    if config.outcomes.enabled and config.outcomes.sink == "redis" and config.redis.url is None:
        yield Finding(
            "error", 'outcomes.sink = "redis" needs redis.url (or outcomes.sink = "jsonl")'
        )
    limits = config.limits
    if not config.auth.enabled and limits.per_key.limited:
        yield Finding(
            "warning",
            "limits.per_key counts client keys, and auth is off: every request is the tenant "
            "'default'; enable [auth] or use limits.tenants.default",
        )
    cache = config.cache
    if cache.enabled and cache.verifier_path is not None and not cache.verifier_path.exists():
        yield Finding(
            "error",
            f"cache.verifier_path = {cache.verifier_path} does not exist; unset it for the "
            "bundled verifier",
        )


def _environment(environ: Mapping[str, str] | None) -> Iterator[Finding]:
    for message in stray_variables(Config, os.environ if environ is None else environ):
        yield Finding("warning", message)


def _redis(config: Config, ping: Callable[[str, float], None]) -> Iterator[Finding]:
    address = config.redis.address()
    if address is None:
        return
    try:
        ping(address, config.redis.socket_timeout_s)
    except Exception as exc:
        closed = config.redis.fail_mode == "closed"
        consequence = (
            "requests get 503 until it answers"
            if closed
            else "each replica counts budget, limits and breakers on its own until it answers"
        )
        yield Finding(
            "error" if closed else "warning",
            f"redis.url does not answer ({type(exc).__name__}): {consequence}",
        )


def _ping(url: str, timeout_s: float) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
    try:
        client.ping()
    finally:
        client.close()


def check(
    config: Config,
    *,
    environ: Mapping[str, str] | None = None,
    ping: Callable[[str, float], None] = _ping,
) -> list[Finding]:
    """Every finding for ``config`` (loaded already: it validated)."""
    return [
        *_centroids(config),
        *_encoder(config),
        *_providers(config, environ),
        *_shared_state(config),
        *_redis(config, ping),
        *_environment(environ),
    ]
