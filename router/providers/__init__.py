"""Provider adapters, one per wire protocol, behind the Provider protocol (base.py).

Adapters depend only on ``router.types`` and ``router.errors``; each maps its wire errors onto
the error tree in one place.
"""

from router.providers.anthropic import AnthropicProvider
from router.providers.base import Provider, UpstreamCall
from router.providers.credentials import AuthStyle, Credentials
from router.providers.fields import unsupported
from router.providers.mock import MockProvider
from router.providers.openai import OpenAIProvider

__all__ = [
    "AnthropicProvider",
    "AuthStyle",
    "Credentials",
    "MockProvider",
    "OpenAIProvider",
    "Provider",
    "UpstreamCall",
    "unsupported",
]
