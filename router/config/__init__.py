"""Typed settings: semroute.toml (pydantic, frozen, unknown keys rejected) and its sections."""

from router.config.settings import (
    PROJECT_ROOT,
    BreakerConfig,
    BudgetConfig,
    CacheConfig,
    ClientKey,
    Config,
    ContextConfig,
    EncoderConfig,
    ModelConfig,
    ProviderConfig,
    ServiceConfig,
    load_config,
)

__all__ = [
    "PROJECT_ROOT",
    "BreakerConfig",
    "BudgetConfig",
    "CacheConfig",
    "ClientKey",
    "Config",
    "ContextConfig",
    "EncoderConfig",
    "ModelConfig",
    "ProviderConfig",
    "ServiceConfig",
    "load_config",
]
