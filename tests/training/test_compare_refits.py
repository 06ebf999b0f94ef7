"""Refit comparisons: recipes on the command line, one row per recipe, the encoder memo."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from router.classify import CentroidSet, load_centroids
from router.config.settings import EncoderConfig
from router.encoders import Encoder
from tests.fakes import HashingEncoder
from tests.training.test_train import synthetic_rows, write_jsonl
from training.compare_refits import (
    CONTROL,
    SHIPPED,
    Recipe,
    Stages,
    compare,
    recipe_option,
    table,
)
from training.dataset import read_jsonl
from training.embed import MemoisedEncoder
from training.train import TrainOptions, train


def test_a_recipe_names_its_files_and_weights() -> None:
    name, files = recipe_option("both=a.jsonl:0.5,b.jsonl")
    assert name == "both" and files == ((Path("a.jsonl"), 0.5), (Path("b.jsonl"), 1.0))
    for bad in ("a.jsonl", "=a.jsonl", "x=", "control=a.jsonl", "shipped=a.jsonl"):
        with pytest.raises(argparse.ArgumentTypeError):
            recipe_option(bad)


def test_the_memo_embeds_each_text_once() -> None:
    inner = HashingEncoder()
    memo = MemoisedEncoder(inner)
    first = memo.encode(["a b", "c d", "a b"])
    again = memo.encode(["c d", "a b"])
    assert inner.calls == 1
    assert np.array_equal(first[0], again[1]) and np.array_equal(first[2], again[1])
    assert memo.encode([]).shape == (0, inner.dim)


def test_every_recipe_is_fitted_per_seed_and_scored_on_every_set(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "train.jsonl", synthetic_rows(20, seed=1))
    held = write_jsonl(tmp_path / "held.jsonl", synthetic_rows(8, seed=2))
    encoder = MemoisedEncoder(HashingEncoder())
    options = TrainOptions(progress=False, k=2, promote=True)
    fitted = train(read_jsonl(data), tmp_path / "c", encoder, EncoderConfig(), options)
    assert fitted.promoted
    centroids = load_centroids(tmp_path / "c", encoder_name=encoder.name, dim=encoder.dim)
    calls: list[tuple[str, Recipe, int]] = []

    def fit(out: Path, version: str, files: Recipe, seed: int, enc: Encoder) -> CentroidSet:
        calls.append((version, files, seed))
        return centroids

    stages = Stages(encoder, centroids, None, encoder)
    recipe = ((held, 0.5),)
    results = compare({"real": recipe}, [0, 1], tmp_path, stages, {"held": held}, centroids, fit)
    assert list(results) == [SHIPPED, CONTROL, "real"]
    assert calls == [
        ("control-s0", (), 0),
        ("control-s1", (), 1),
        ("real-s0", recipe, 0),
        ("real-s1", recipe, 1),
    ]
    assert len(results[SHIPPED]) == 1 and len(results["real"]) == 2
    scores = results["real"][0]["held"]
    assert scores["macro_f1"] > 0.8 and 0 <= scores["routed"] <= 1
    rendered = table(results).splitlines()
    assert rendered[0] == "| centroids | seeds | held |"
    assert rendered[3].startswith("| control | 2 | ")
    assert len(rendered) == 5
