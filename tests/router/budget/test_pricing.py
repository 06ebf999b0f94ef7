"""Cached-token pricing: the catalogue's cache prices, Anthropic's 0.1× / 1.25× defaults."""

from __future__ import annotations

from typing import Any

import pytest

from router.budget import usage_cost
from router.config import Config, load_config
from router.types import Usage


def test_default_catalogue_cache_prices() -> None:
    models = load_config().models
    assert models["gpt-4o"].cache_read_price == 1.25  # the catalogue's cached price
    assert models["gpt-4o"].cache_written_price == 2.50  # OpenAI bills no cache writes
    sonnet = models["claude-sonnet-4"]  # Anthropic's multipliers of the input price
    assert sonnet.cache_read_price == pytest.approx(0.30)
    assert sonnet.cache_written_price == pytest.approx(3.75)
    assert models["llama-3-1-8b"].cache_read_price == models["llama-3-1-8b"].input_price


def test_a_model_overrides_the_anthropic_defaults() -> None:
    raw: dict[str, Any] = load_config().model_dump(mode="json")
    for name in ("claude-sonnet-4", "claude-3-5-haiku"):
        for key in ("cached_input_price", "cache_write_price"):
            del raw["models"][name][key]
    raw["models"]["claude-sonnet-4"]["cached_input_price"] = 0.5
    models = Config.model_validate(raw).models
    assert models["claude-sonnet-4"].cache_read_price == 0.5
    assert models["claude-sonnet-4"].cache_written_price == pytest.approx(3.75)
    assert models["claude-3-5-haiku"].cache_read_price == pytest.approx(0.08)


def test_usage_cost_bills_each_kind_of_prompt_token_at_its_price() -> None:
    sonnet = load_config().models["claude-sonnet-4"]  # $3 in, $15 out, 0.30 read, 3.75 write
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=100_000, cached_tokens=600_000)
    usage_written = Usage(1_000_000, 0, cached_tokens=600_000, cache_write_tokens=300_000)
    assert usage_cost(sonnet, usage) == pytest.approx(0.4 * 3 + 0.6 * 0.30 + 0.1 * 15)
    assert usage_cost(sonnet, usage_written) == pytest.approx(0.1 * 3 + 0.6 * 0.30 + 0.3 * 3.75)
    assert usage_cost(sonnet, Usage(1_000_000, 0)) == pytest.approx(3.0)
