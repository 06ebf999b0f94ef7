"""``semroute config show`` / ``config check``, and the task header of a named model."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from router.config import DEFAULT_CONFIG, Config
from router.core import Router
from router.execution import build_providers
from service.app import create_app
from service.cli import main
from service.config_check import check
from tests.fakes import HashingEncoder


def _copy_of_default(tmp_path: Path, *replacements: tuple[str, str]) -> Path:
    text = DEFAULT_CONFIG.read_text()
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "semroute.toml"
    path.write_text(text)
    return path


def test_show_says_where_each_value_came_from_and_masks_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _copy_of_default(tmp_path, ("port = 8080", "port = 9090"))
    monkeypatch.setenv("SEMROUTE_REDIS__URL", "redis://:hunter2@db:6379/0")
    monkeypatch.setenv("SEMROUTE_LIMITS__PER_TENANT__REQUESTS_PER_MINUTE", "100")
    assert main(["config", "show", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out
    assert 'url = "**********"  # env SEMROUTE_REDIS__URL' in out
    assert "port = 9090  # file" in out
    assert "max_concurrent = 256  # file" in out
    assert 'device = "cpu"  # default' in out
    assert "requests_per_minute = 100  # env SEMROUTE_LIMITS__PER_TENANT__" in out
    shown = tomllib.loads(out)  # it is TOML: a starting point for a config of one's own
    assert shown["limits"]["per_tenant"]["requests_per_minute"] == 100
    assert shown["models"]["gpt-4o"]["input_price"] == 2.5
    assert Path(shown["routing"]["centroids_dir"]).is_absolute()


def test_show_marks_inherited_model_lists(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SEMROUTE_CONFIG", raising=False)
    monkeypatch.setenv("SEMROUTE_ROUTING__MODELS", '["gpt-4o-mini"]')
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert 'models = ["gpt-4o-mini"]  # env SEMROUTE_ROUTING__MODELS' in out
    assert 'default_route = ["gpt-4o-mini"]  # default' in out  # narrowed, written in the file


def test_check_passes_on_the_default_and_a_verbatim_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "check"]) == 0
    assert main(["config", "check", "--config", str(_copy_of_default(tmp_path))]) == 0
    assert "0 error(s)" in capsys.readouterr().out


def test_check_names_the_real_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _copy_of_default(
        tmp_path,
        ('# centroids_dir = "centroids"', 'centroids_dir = "centroids"'),
        ('# model_path = "/path/to/sentence-transformers/model"', 'model_path = "nowhere"'),
    )
    assert main(["config", "check", "--config", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"no CURRENT file in {tmp_path / 'centroids'}" in out
    assert "set routing.centroids_dir" in out and "leave it unset" in out
    assert "encoder.model_path" in out and "unset it to use the bundled" in out


def test_check_invalid_config_exits_non_zero(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SEMROUTE_SERVICE__PORT", "not-a-port")
    assert main(["config", "check"]) == 2
    assert "SEMROUTE_SERVICE__PORT" in capsys.readouterr().err


def test_check_reports_an_unreachable_redis(config: Config) -> None:
    raw = config.model_dump()
    raw["redis"]["url"] = "redis://127.0.0.1:1/0"

    def refuse(url: str, timeout_s: float) -> None:
        raise ConnectionError(url)

    findings = check(Config.model_validate(raw), environ={}, ping=refuse)
    assert any(f.level == "warning" and "redis.url does not answer" in f.message for f in findings)
    raw["redis"]["fail_mode"] = "closed"
    findings = check(Config.model_validate(raw), environ={}, ping=refuse)
    assert any(f.level == "error" and "503" in f.message for f in findings)


def test_check_names_variables_that_set_nothing(config: Config) -> None:
    # One underscore where two belong: pydantic-settings ignores the variable silently.
    environ = {
        "SEMROUTE_REDIS_URL": "redis://redis:6379/0",
        "SEMROUTE_PROVIDERS_OPENAI__BASE_URL_FILE": "/run/secrets/url",
        "SEMROUTE_CONFIG": "/etc/semroute.toml",
        "SEMROUTE_SERVICE__PORT": "9000",
        "SEMROUTE_BOGUS": "1",
    }
    warnings = [f.message for f in check(config, environ=environ) if f.level == "warning"]
    strays = [w for w in warnings if "sets nothing" in w]
    assert len(strays) == 3, strays
    assert any("REDIS_URL " in w and "did you mean SEMROUTE_REDIS__URL " in w for w in strays)
    assert any("SEMROUTE_PROVIDERS__OPENAI__BASE_URL_FILE" in w for w in strays)
    assert any("SEMROUTE_BOGUS" in w and "did you mean" not in w for w in strays)


def test_a_named_model_has_no_task_header(config: Config) -> None:
    encoder = HashingEncoder()
    router = Router.from_config(config, encoder, build_providers(config, environ={}))
    with TestClient(create_app(config, router)) as client:
        ask = [{"role": "user", "content": "write a python function"}]
        named = client.post("/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": ask})
        assert named.status_code == 200
        assert "x-semroute-task" not in named.headers
        assert named.json()["semroute"]["task"] is None
        by_task = client.post("/v1/chat/completions", json={"model": "auto:code", "messages": ask})
        assert by_task.headers["x-semroute-task"] == "code"
