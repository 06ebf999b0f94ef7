"""Credentials, disabled providers and mock mode, built from the config."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from router.config.settings import Config, load_config
from router.execution.deployments import MOCK, build_providers
from router.providers.credentials import Credentials
from router.providers.mock import MockProvider


def test_no_keys_at_all_is_mock_mode(caplog: pytest.LogCaptureFixture) -> None:
    config = load_config()
    with caplog.at_level(logging.WARNING):
        ps = build_providers(config, environ={})
    assert ps.mock_mode
    assert list(ps.providers) == [MOCK]
    assert isinstance(ps.providers[MOCK], MockProvider)
    assert "mock mode" in caplog.text
    deps = ps.deployments(config, "gpt-4o")
    assert [(d.provider, d.upstream) for d in deps] == [("mock", "gpt-4o")]


def test_a_provider_without_its_key_is_disabled(caplog: pytest.LogCaptureFixture) -> None:
    config = load_config()
    with caplog.at_level(logging.WARNING):
        ps = build_providers(config, environ={"OPENAI_API_KEY": "sk-live-123"})
    assert not ps.mock_mode
    assert set(ps.providers) == {"openai"}
    assert set(ps.disabled) == {"anthropic", "groq"}
    assert "provider anthropic disabled" in caplog.text
    assert "sk-live-123" not in caplog.text
    assert ps.deployments(config, "claude-sonnet-4") == []
    assert [d.provider for d in ps.deployments(config, "gpt-4o")] == ["openai"]


def test_auth_styles_and_masking(tmp_path: Path) -> None:
    env = {"K": "secret-1"}
    bearer = Credentials("p", env="K", file=None, style="bearer", environ=env)
    assert bearer.headers() == {"authorization": "Bearer secret-1"}
    xkey = Credentials(
        "p",
        env="K",
        file=None,
        style="x-api-key",
        environ=env,
        extra={"anthropic-version": "2023-06-01"},
    )
    assert xkey.headers() == {"x-api-key": "secret-1", "anthropic-version": "2023-06-01"}
    custom = Credentials("p", env="K", file=None, style="header", header="api-key", environ=env)
    assert custom.headers() == {"api-key": "secret-1"}
    assert "secret-1" not in repr(bearer)
    assert "secret-1" not in bearer.source


def test_key_file_rotation_without_restart(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("old-key\n")
    cred = Credentials("p", env=None, file=key, style="bearer")
    assert cred.headers()["authorization"] == "Bearer old-key"
    key.write_text("new-key")
    assert cred.reload()
    assert cred.headers()["authorization"] == "Bearer new-key"
    key.unlink()
    assert not cred.reload()
    assert cred.headers() == {}


async def test_router_reload_enables_a_provider_whose_key_appeared(
    tmp_path: Path, config: Config
) -> None:
    from router import Router
    from tests.fakes import HashingEncoder

    key = tmp_path / "anthropic.key"
    raw = config.model_dump()
    raw["providers"]["anthropic"]["api_key_env"] = None
    raw["providers"]["anthropic"]["api_key_file"] = str(key)
    cfg = Config.model_validate(raw)
    router = Router.from_config(cfg, HashingEncoder())
    assert router.providers.mock_mode
    key.write_text("sk-ant-new")
    present = await router.reload_credentials()
    assert present["anthropic"]
    assert not router.providers.mock_mode
    assert "anthropic" in router.chain.providers
    await router.aclose()
