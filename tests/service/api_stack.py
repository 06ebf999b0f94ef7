"""semroute served on loopback in front of three loopback upstreams, for the client-API tests:
alpha → primary (OpenAI wire), beta → secondary (Anthropic wire), gamma → third (OpenAI wire);
every task routes alpha, beta, gamma. The official SDKs are the clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import openai

from router.cache import SemanticCache
from router.config import Config
from router.core import Router
from router.execution import build_providers
from service.app import create_app
from tests.fakes import HashingEncoder
from tests.service.test_chat_e2e import KEYS, stack_config
from tests.serving import serve
from tests.upstreams import Upstream

Tweak = Callable[[dict[str, Any]], None]


@dataclass
class ApiStack:
    primary: Upstream  # OpenAI wire
    secondary: Upstream  # Anthropic wire
    third: Upstream  # OpenAI wire
    url: str
    router: Router
    config: Config

    def openai(self, api_key: str = "unused") -> openai.OpenAI:
        return openai.OpenAI(base_url=self.url + "/v1", api_key=api_key, max_retries=0)

    def anthropic(self, api_key: str = "unused") -> anthropic.Anthropic:
        return anthropic.Anthropic(base_url=self.url, api_key=api_key, max_retries=0)


def api_config(centroid_dir: Path, urls: dict[str, str], tweak: Tweak | None = None) -> Config:
    raw = stack_config(centroid_dir, urls).model_dump()
    for name, model in raw["models"].items():
        model["capabilities"] = ["tools", "json_mode", "vision"]
        if name == "alpha":
            model["capabilities"].append("structured_outputs")
    raw["cache"]["verify"] = False
    if tweak is not None:
        tweak(raw)
    return Config.model_validate(raw)


@contextmanager
def api_stack(centroid_dir: Path, tweak: Tweak | None = None) -> Iterator[ApiStack]:
    with Upstream("primary") as a, Upstream("secondary") as b, Upstream("third") as c:
        urls = {"primary": a.base_url, "secondary": b.base_url, "third": c.base_url}
        config = api_config(centroid_dir, urls, tweak)
        encoder = HashingEncoder()
        router = Router.from_config(
            config,
            encoder,
            build_providers(config, KEYS),
            cache=SemanticCache(config.cache, encoder.dim),
        )
        with serve(create_app(config, router)) as url:
            yield ApiStack(a, b, c, url, router, config)
