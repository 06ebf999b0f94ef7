"""GET /v1/models and /v1/models/{id}: what SDKs and chat front ends discover, checked with the
official openai and anthropic clients."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from tests.service.api_stack import ApiStack, api_stack

TASKS = ["code", "math", "creative", "analysis", "chat", "lookup", "summarize", "extract"]


@pytest.fixture
def stack(centroid_dir: Path) -> Iterator[ApiStack]:
    with api_stack(centroid_dir) as s:
        yield s


def test_list_has_auto_every_task_and_every_model(stack: ApiStack) -> None:
    models = list(stack.openai().models.list())
    ids = [m.id for m in models]
    assert ids == ["auto", *(f"auto:{t}" for t in TASKS), "alpha", "beta", "gamma"]
    assert all(m.object == "model" and m.created > 0 for m in models)
    by_id = {m.id: m.model_extra or {} for m in models}
    assert models[-2].owned_by == "secondary" and models[0].owned_by == "semroute"
    assert by_id["alpha"]["context_window"] == 100_000
    assert by_id["alpha"]["capabilities"] == ["json_mode", "structured_outputs", "tools", "vision"]
    assert by_id["beta"]["capabilities"] == ["json_mode", "tools", "vision"]
    # A route can do what its best model can (selection picks a capable one).
    assert "structured_outputs" in by_id["auto:code"]["capabilities"]


def test_retrieve_one_and_404_for_unknown(stack: ApiStack) -> None:
    client = stack.openai()
    assert client.models.retrieve("auto:code").id == "auto:code"
    assert client.models.retrieve("gamma").owned_by == "third"
    with pytest.raises(openai.NotFoundError) as missing:
        client.models.retrieve("gpt-9")
    assert isinstance(missing.value.body, dict)
    assert missing.value.body["code"] == "model_not_found"


def test_anthropic_clients_get_the_anthropic_shape(stack: ApiStack) -> None:
    client = anthropic.Anthropic(base_url=stack.url, api_key="unused", max_retries=0)
    page = client.models.list()
    assert [m.id for m in page.data][:2] == ["auto", "auto:code"]
    assert page.data[0].type == "model" and page.has_more is False
    assert client.models.retrieve("beta").id == "beta"
    assert page.data[0].max_input_tokens == page.data[0].model_extra["context_window"]  # type: ignore[index]
    with pytest.raises(anthropic.NotFoundError) as missing:  # the error in Anthropic's shape too
        client.models.retrieve("gpt-9")
    assert isinstance(missing.value.body, dict)
    assert missing.value.body["type"] == "error"
    assert missing.value.body["error"]["type"] == "not_found_error"


def keys(raw: dict[str, Any]) -> None:
    digest = hashlib.sha256(b"sk-limited").hexdigest()
    raw["auth"] = {
        "enabled": True,
        "keys": [{"name": "limited", "sha256": digest, "allowed_models": ["gamma"]}],
    }


def test_a_key_sees_only_the_models_it_may_name(centroid_dir: Path) -> None:
    with api_stack(centroid_dir, keys) as stack:
        ids = [m.id for m in stack.openai("sk-limited").models.list()]
        assert ids[-1] == "gamma" and "alpha" not in ids and "auto" in ids
        with pytest.raises(openai.AuthenticationError):
            stack.openai("sk-nope").models.list()
        with pytest.raises(openai.NotFoundError) as hidden:  # it exists: the key may not use it
            stack.openai("sk-limited").models.retrieve("alpha")
        assert "may not use" in hidden.value.message
        with pytest.raises(openai.NotFoundError) as unknown:
            stack.openai("sk-limited").models.retrieve("gpt-9")
        assert "unknown model" in unknown.value.message
