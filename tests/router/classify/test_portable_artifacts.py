"""Encoder files hold on any machine: the static model ships (the same bytes everywhere), and
whatever a machine builds or loads from floating point — its int8 ONNX export, a static model
distilled on another CPU — is checked on the hold-out against the recorded figure, never
compared byte for byte. Built here as another machine would build them: a static table with
another CPU's rounding noise, an int8 export quantised as on a CPU without VNNI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from router.classify.cascade import build_first_stage, load_first_stage
from router.classify.classifier import build_transformer
from router.classify.multilingual import load_multilingual_stage
from router.classify.quality_check import TOLERANCE, QualityCheck, holdout_rows, macro_f1
from router.config.settings import PROJECT_ROOT, Config, load_config
from router.encoders import MultilingualEncoder
from router.encoders.onnx import OnnxEncoder
from router.encoders.static_model import (
    SHIPPED_STATIC_DIR,
    TABLE_FILE,
    TOKENIZER_FILE,
    load_table,
    model_digest,
    write_table,
)
from router.errors import ArtifactError
from router.metrics import Metrics
from service.wiring import build_router
from tests.service.test_cli import semroute

pytestmark = pytest.mark.slow


def with_static(config: Config, path: Path) -> Config:
    encoder = config.encoder.model_copy(update={"static_path": path})
    return config.model_copy(update={"encoder": encoder})


def other_machine_static(tmp_path: Path, relative_noise: float, seed: int = 1) -> Path:
    """The shipped table as another CPU's distillation might give it: every token vector
    moved by ``relative_noise`` of its length, in a random direction."""
    shipped = load_table(SHIPPED_STATIC_DIR)
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=shipped.table.shape).astype(np.float32)
    lengths = np.linalg.norm(shipped.table, axis=1, keepdims=True)
    noise *= relative_noise * lengths / np.sqrt(shipped.table.shape[1])
    out = tmp_path / f"static-noise-{relative_noise}"
    write_table(out, shipped.table + noise, SHIPPED_STATIC_DIR / TOKENIZER_FILE, {"test": True})
    return out


def config_text(static_path: Path) -> str:
    """default.toml with the project's artifacts named absolutely and ``static_path`` set."""
    text = (PROJECT_ROOT / "router" / "config" / "default.toml").read_text()
    settings = {
        "[encoder]": f'static_path = "{static_path}"\nonnx_cache = "{PROJECT_ROOT / "var/onnx"}"',
        "[routing]": f'centroids_dir = "{PROJECT_ROOT / "centroids"}"',
    }
    lines = []
    for line in text.splitlines():
        key = line.split("=")[0].strip()
        if key in ("static_path", "onnx_cache", "centroids_dir"):
            continue
        lines.append(line)
        if line.strip() in settings:
            lines.append(settings[line.strip()])
    return "\n".join(lines) + "\n"


def test_the_shipped_static_model_is_the_one_its_centroids_name() -> None:
    version = load_config().encoder.cascade.centroid_version
    recorded = json.loads((PROJECT_ROOT / "centroids" / version / "static_model.json").read_text())
    assert model_digest(SHIPPED_STATIC_DIR) == recorded["sha256"]
    assert (SHIPPED_STATIC_DIR / TABLE_FILE).stat().st_size < 10_000_000  # compact in git


def test_a_damaged_static_model_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "static"
    shutil.copytree(SHIPPED_STATIC_DIR, copy)
    table = np.load(copy / TABLE_FILE)
    table[0, 0] ^= 1
    np.save(copy / TABLE_FILE, table)
    with pytest.raises(ArtifactError, match="not the one its manifest names"):
        load_table(copy)


def test_a_static_model_from_another_cpu_passes_the_check_and_routes_the_same(
    tmp_path: Path,
) -> None:
    config = load_config()
    shipped = load_first_stage(config)
    seen: list[QualityCheck] = []
    other = load_first_stage(with_static(config, other_machine_static(tmp_path, 0.02)), seen.append)
    (check,) = seen
    assert check.passed and check.recorded is not None
    assert abs(check.macro_f1 - check.recorded) <= TOLERANCE
    texts = [text for text, _ in holdout_rows()]
    ours, theirs = shipped.match_many(texts), other.match_many(texts)
    same = sum(
        (a is None and b is None) or (a is not None and b is not None and a.task == b.task)
        for a, b in zip(ours, theirs, strict=True)
    )
    assert same / len(texts) >= 0.97


def test_a_static_model_that_routes_worse_turns_the_cascade_off_with_a_metric(
    tmp_path: Path,
) -> None:
    config = with_static(load_config(), other_machine_static(tmp_path, 3.0))
    seen: list[QualityCheck] = []
    assert build_first_stage(config, seen.append) is None
    assert [c.passed for c in seen] == [False]
    metrics = Metrics()
    router = build_router(config, metrics)
    assert router.first_stage is None  # serving goes on, the transformer decides everything
    assert metrics.artifact_check.labels("static")._value.get() == 0
    assert metrics.artifact_check.labels("onnx-int8")._value.get() == 1


def test_prepare_checks_and_says_loudly_when_a_file_fails(tmp_path: Path) -> None:
    good, bad = other_machine_static(tmp_path, 0.02), other_machine_static(tmp_path, 3.0)
    for path, passed in ((good, True), (bad, False)):
        toml = tmp_path / f"semroute-{passed}.toml"
        toml.write_text(config_text(static_path=path))
        done = semroute("prepare", "--config", str(toml))
        assert done.returncode == 0, done.stderr
        assert "check: static with static-v2" in done.stdout
        assert ("cascade: static first stage" in done.stdout) == passed
        assert ("FAILED its hold-out check" in done.stderr) == (not passed)


def test_an_int8_export_quantised_as_without_vnni_passes_the_check(tmp_path: Path) -> None:
    from router.encoders.onnx_export import quantize_int8

    config = load_config()
    live = OnnxEncoder(config.encoder)  # this machine's export, in var/onnx
    folder = tmp_path / "onnx" / live.path.parent.name
    folder.mkdir(parents=True)
    shutil.copyfile(live.path.parent / "model.onnx", folder / "model.onnx")
    # Quantised with reduce_range, as a CPU without VNNI does, under this CPU's file name.
    quantize_int8(folder / "model.onnx", folder / live.path.name, "avx2")
    encoder_config = config.encoder.model_copy(update={"onnx_cache": tmp_path / "onnx"})
    seen: list[QualityCheck] = []
    encoder, centroids = build_transformer(
        config.model_copy(update={"encoder": encoder_config}), seen.append
    )
    assert isinstance(encoder, OnnxEncoder) and encoder.path == folder / live.path.name
    (check,) = seen
    assert check.passed and check.recorded is not None, check.describe()
    assert centroids is not None and centroids.version == check.centroids  # for the router


def test_an_int8_export_that_fails_the_check_is_replaced_by_the_float_one(tmp_path: Path) -> None:
    config = load_config()
    live = OnnxEncoder(config.encoder)
    folder = tmp_path / "onnx" / live.path.parent.name
    folder.mkdir(parents=True)
    shutil.copyfile(live.path.parent / "model.onnx", folder / "model.onnx")
    _quantize_badly(folder / "model.onnx", folder / live.path.name)
    encoder_config = config.encoder.model_copy(update={"onnx_cache": tmp_path / "onnx"})
    seen: list[QualityCheck] = []
    encoder, centroids = build_transformer(
        config.model_copy(update={"encoder": encoder_config}), seen.append
    )
    assert [c.passed for c in seen] == [False], seen[0].describe()
    assert isinstance(encoder, OnnxEncoder) and encoder.path == folder / "model.onnx"
    assert centroids is not None and centroids.version == seen[0].centroids  # the same model


def test_a_multilingual_int8_model_that_fails_the_check_is_replaced_by_the_float_one(
    tmp_path: Path,
) -> None:
    config = load_config()
    cache = tmp_path / "onnx"
    MultilingualEncoder(backend="onnx-int8", onnx_cache=cache)  # builds both exports
    (int8,) = cache.glob("*/model.int8-*.onnx")
    _scramble_int8(int8)
    encoder_config = config.encoder.model_copy(update={"onnx_cache": cache})
    seen: list[QualityCheck] = []
    stage = load_multilingual_stage(
        config.model_copy(update={"encoder": encoder_config}), seen.append, workers=False
    )
    assert [(c.artifact, c.passed) for c in seen] == [
        ("multilingual-int8", False),
        ("multilingual", True),
    ], [c.describe() for c in seen]
    assert stage.backend == "onnx"
    assert isinstance(stage.encoder, MultilingualEncoder) and stage.encoder.backend == "onnx"


def _quantize_badly(source: Path, target: Path) -> None:
    """An int8 model whose weights went wrong (as int8 saturation on the wrong kernels would):
    every quantised weight matrix scrambled."""
    from router.encoders.onnx_export import quantize_int8

    quantize_int8(source, target, "vnni")
    _scramble_int8(target)


def _scramble_int8(target: Path) -> None:
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(target))
    rng = np.random.default_rng(0)
    for init in model.graph.initializer:
        if init.data_type == onnx.TensorProto.INT8 and len(init.dims) == 2:
            weights = numpy_helper.to_array(init)
            scrambled = rng.permutation(weights.reshape(-1)).reshape(weights.shape)
            init.CopyFrom(numpy_helper.from_array(scrambled, init.name))
    onnx.save(model, str(target))


def test_macro_f1_counts_the_default_route_as_a_miss() -> None:
    gold = ["code", "code", "math", "math"]
    assert macro_f1(gold, gold) == 1.0
    assert macro_f1(gold, ["code", "unknown", "math", "math"]) == pytest.approx((2 / 3 + 1) / 2)


@pytest.mark.parametrize(
    ("version", "artifacts"),
    [
        ("v2", {"onnx", "onnx-int8"}),
        ("static-v2", {"static"}),
        ("multilingual-v1", {"multilingual"}),
        ("multilingual-v2", {"multilingual"}),
        ("multilingual-v3", {"multilingual"}),
    ],
)
def test_the_shipped_centroids_record_figures_for_this_hold_out(
    version: str, artifacts: set[str]
) -> None:
    """Editing the hold-out (or fitting new centroids) without `semroute prepare --record`
    would switch the checks off: the records must name the hold-out as it is."""
    import hashlib

    from router.classify.quality_check import HOLDOUT, RECORD_FILE

    record = json.loads((PROJECT_ROOT / "centroids" / version / RECORD_FILE).read_text())
    assert record["holdout_sha256"] == hashlib.sha256(HOLDOUT.read_bytes()).hexdigest()
    assert artifacts <= set(record["macro_f1"])
