from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from router.config.settings import DEFAULT_CONFIG, DEFAULT_TASKS, PROJECT_ROOT, Config, load_config
from router.errors import ConfigError


def test_embedded_default_is_complete() -> None:
    config = load_config()
    assert tuple(config.tasks) == DEFAULT_TASKS
    assert config.routing.centroids_dir.is_absolute()
    for name, model in config.models.items():
        assert set(model.quality) == set(DEFAULT_TASKS), name


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "semroute.toml"
    path.write_text(text)
    return path


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
[tasks.chat]
models = ["m"]
"""


def test_paths_written_in_the_file_resolve_against_it_unset_ones_where_they_ship(
    tmp_path: Path,
) -> None:
    config = load_config(_write(tmp_path, MINIMAL))
    assert config.routing.centroids_dir == PROJECT_ROOT / "centroids"
    assert config.encoder.onnx_cache == PROJECT_ROOT / "var" / "onnx"
    written = MINIMAL.replace("[routing]", '[routing]\ncentroids_dir = "mine"')
    written += '\n[cache]\npath = "../elsewhere"\n'
    config = load_config(_write(tmp_path, written))
    assert config.routing.centroids_dir == tmp_path / "mine"
    assert config.cache.path == (tmp_path / ".." / "elsewhere").resolve()


def test_a_verbatim_copy_of_the_default_finds_the_shipped_artifacts(tmp_path: Path) -> None:
    copy = tmp_path / "copied.toml"
    copy.write_text(DEFAULT_CONFIG.read_text())
    assert load_config(copy) == load_config()


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        (
            MINIMAL.replace("input_price = 1", "input_price = -1"),
            "models.m.input_price",
            "greater than or equal to 0",
        ),
        (MINIMAL.replace('kind = "openai"', 'kind = "nope"'), "providers.p.kind", "openai"),
        (MINIMAL + "\n[service]\nbogus = 1\n", "service.bogus", "Extra inputs"),
        (MINIMAL.replace('models = ["m"]', 'models = ["zz"]'), "", "tasks.chat.models"),
        (MINIMAL.replace('provider = "p"', 'provider = "q"'), "", "unknown provider 'q'"),
        (MINIMAL.replace("[tasks.chat]", "[routing.x]\n[tasks.chat]"), "routing.x", "Extra"),
    ],
)
def test_errors_name_file_key_and_expectation(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message and expected in message
    if key:
        assert f"[{key}]" in message


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_write(tmp_path, "[routing\n"))


def test_encoder_calls_default_by_backend_and_torch_refuses_parallel_calls() -> None:
    from pydantic import ValidationError

    from router.config.settings import EncoderConfig

    assert EncoderConfig(backend="torch").encoder_calls() == 1
    assert EncoderConfig(backend="onnx-int8").encoder_calls() >= 1
    assert EncoderConfig(backend="onnx-int8", parallel_calls=3).encoder_calls() == 3
    with pytest.raises(ValidationError, match="parallel_calls"):
        EncoderConfig(backend="torch", parallel_calls=2)


def test_every_section_is_documented_in_the_default_and_the_readme() -> None:
    default = tomllib.loads(DEFAULT_CONFIG.read_text())
    readme = (PROJECT_ROOT / "README.md").read_text()
    table = readme[readme.index("## Configuration") : readme.index("### Environment overrides")]
    for name in Config.model_fields:
        assert name in default, f"[{name}] is not in default.toml"
        assert f"| `[{name}]` |" in table or f"| `[{name}.<" in table, f"[{name}] not in README"


def test_a_file_with_only_some_sections_says_it_replaces_the_default(tmp_path: Path) -> None:
    # As a newcomer writes one: just the part that differs (with a key digest in it).
    path = _write(tmp_path, '[auth]\nenabled = true\nadmin_key_sha256 = "ab12"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "[models], [providers], [routing], [tasks]" in message
    assert str(DEFAULT_CONFIG) in message and "replaces the embedded default" in message
    assert "ab12" not in message  # the whole document is not echoed back
    with pytest.raises(ConfigError) as info:  # a missing key inside a table: not its table
        load_config(_write(tmp_path, MINIMAL.replace('upstream = "x"', "")))
    assert "[models.m.upstream]" in str(info.value) and "got" not in str(info.value)
