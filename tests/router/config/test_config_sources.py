"""Environment overrides (SEMROUTE_*), secrets from files, and the inherited model list."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.config import PROJECT_ROOT, config_from, load_config, load_layers
from router.errors import ConfigError
from router.types import BudgetTier

MINIMAL = """
[routing]
default_route = ["m"]
[providers.p]
kind = "openai"
[models.m]
provider = "p"
upstream = "x"
input_price = 1
output_price = 2
[models.n]
provider = "p"
upstream = "y"
input_price = 1
output_price = 2
[tasks.chat]
models = ["m", "n"]
[tasks.code]
"""


def _file(tmp_path: Path, text: str = MINIMAL) -> Path:
    path = tmp_path / "conf" / "semroute.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_nested_overrides_for_sections_tables_and_lists(tmp_path: Path) -> None:
    config = load_config(
        _file(tmp_path),
        environ={
            "SEMROUTE_SERVICE__PORT": "9001",
            "semroute_redis__url": "redis://:pw@db:6379/1",  # any case
            "SEMROUTE_PROVIDERS__P__BASE_URL": "http://upstream:9000/v1",
            "SEMROUTE_CACHE__THRESHOLDS": '{"quality": 0.97}',
            "SEMROUTE_LIMITS__TENANTS__ACME__REQUESTS_PER_MINUTE": "60",
            "SEMROUTE_CONFIG": "ignored.toml",  # not a setting: the config file's name
            "OTHER_VAR": "1",
        },
    )
    assert config.service.port == 9001
    assert config.redis.address() == "redis://:pw@db:6379/1"
    assert "pw" not in repr(config.redis)  # a SecretStr
    assert config.providers["p"].base_url == "http://upstream:9000/v1"
    assert config.providers["p"].kind == "openai"  # the rest of the table stays
    assert config.cache.thresholds[BudgetTier.QUALITY] == 0.97
    assert config.limits.tenants["acme"].requests_per_minute == 60


def test_secrets_from_a_file_variable_and_a_secrets_dir(tmp_path: Path) -> None:
    secret = tmp_path / "redis_url"
    secret.write_text("redis://:s3cret@db:6379/0\n")
    config = load_config(_file(tmp_path), environ={"SEMROUTE_REDIS__URL_FILE": str(secret)})
    assert config.redis.address() == "redis://:s3cret@db:6379/0"
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "SEMROUTE_REDIS__URL").write_text("redis://from-dir:6379/0")
    (secrets / "semroute_service__port").write_text("7000")
    environ = {"SEMROUTE_SECRETS_DIR": str(secrets), "SEMROUTE_SERVICE__PORT": "7100"}
    config = load_config(_file(tmp_path), environ=environ)
    assert config.redis.address() == "redis://from-dir:6379/0"
    assert config.service.port == 7100  # a variable wins over a secret file


def test_a_setting_named_file_keeps_its_meaning(tmp_path: Path) -> None:
    environ = {"SEMROUTE_PROVIDERS__P__API_KEY_FILE": "keys/p.txt"}
    config = load_config(_file(tmp_path), environ=environ)
    assert config.providers["p"].api_key_file == Path.cwd() / "keys" / "p.txt"


def test_unreadable_secret_files_and_dirs_name_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SEMROUTE_REDIS__URL_FILE"):
        load_config(_file(tmp_path), environ={"SEMROUTE_REDIS__URL_FILE": "/nonexistent"})
    with pytest.raises(ConfigError, match="SEMROUTE_SECRETS_DIR"):
        load_config(_file(tmp_path), environ={"SEMROUTE_SECRETS_DIR": "/nonexistent"})


def test_invalid_overrides_name_key_and_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_file(tmp_path), environ={"SEMROUTE_CACHE__FLOOR": "2"})
    message = str(info.value)
    assert "[cache.floor]" in message and "SEMROUTE_CACHE__FLOOR" in message


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SEMROUTE_SERVICE", "{not json"), ("SEMROUTE_REDIS", "redis://:hunter2@cache:6379")],
)
def test_a_table_override_that_is_not_json_is_a_config_error(
    tmp_path: Path, variable: str, value: str
) -> None:
    """Not a traceback from pydantic-settings, and never the value (it may be a secret)."""
    with pytest.raises(ConfigError) as info:
        load_config(_file(tmp_path), environ={variable: value})
    message = str(info.value)
    assert variable in message and "JSON" in message
    assert value not in message and "hunter2" not in message


@pytest.mark.parametrize("value", ['"redis://:hunter2@cache:6379"', '{"url": 7}'])
def test_an_invalid_redis_setting_never_echoes_the_url(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_file(tmp_path), environ={"SEMROUTE_REDIS": value})
    assert "SEMROUTE_REDIS" in str(info.value) and "hunter2" not in str(info.value)


def test_where_values_come_from(tmp_path: Path) -> None:
    layers = load_layers(_file(tmp_path), environ={"SEMROUTE_SERVICE__PORT": "1"})
    assert layers.source("service.port") == "env"
    assert layers.source("models.m.input_price") == "file"
    assert layers.source("service.host") == "default"
    embedded = load_layers(environ={})
    assert embedded.source("models.gpt-4o.input_price") == "default"


def test_paths_by_source(tmp_path: Path) -> None:
    path = _file(tmp_path, MINIMAL + '\n[outcomes]\npath = "logs"\n')
    config = load_config(path, environ={"SEMROUTE_CACHE__PATH": "rel/cache"})
    assert config.outcomes.path == path.parent / "logs"  # written in the file
    assert config.cache.path == Path.cwd() / "rel" / "cache"  # from the environment
    assert config.routing.centroids_dir == PROJECT_ROOT / "centroids"  # unset: shipped


def test_tasks_inherit_and_narrow_to_routing_models(tmp_path: Path) -> None:
    config = load_config(_file(tmp_path), environ={})
    assert config.tasks["code"].models == ["m", "n"]  # no list, no routing.models: catalogue
    assert config.tasks["chat"].models == ["m", "n"]
    one = load_config(_file(tmp_path), environ={"SEMROUTE_ROUTING__MODELS": '["n"]'})
    assert {t: c.models for t, c in one.tasks.items()} == {"chat": ["n"], "code": ["n"]}
    assert one.routing.default_route == ["n"]  # narrowed to nothing → inherits
    with pytest.raises(ConfigError, match=r"routing\.models: unknown model"):
        load_config(_file(tmp_path), environ={"SEMROUTE_ROUTING__MODELS": '["zz"]'})
    typo = MINIMAL.replace('models = ["m", "n"]', 'models = ["m", "typo"]')
    with pytest.raises(ConfigError, match="typo"):  # narrowing never hides a typo
        load_config(_file(tmp_path, typo), environ={"SEMROUTE_ROUTING__MODELS": '["m"]'})


def test_the_embedded_default_sends_auto_to_one_model_with_one_edit() -> None:
    layers = load_layers(environ={"SEMROUTE_ROUTING__MODELS": '["gpt-4o-mini"]'})
    config = config_from(layers)
    assert {tuple(t.models) for t in config.tasks.values()} == {("gpt-4o-mini",)}
    assert config.routing.default_route == ["gpt-4o-mini"]
