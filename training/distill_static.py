"""Distil static embeddings from the local all-MiniLM-L6-v2 with model2vec (offline, deterministic).

    python -m training.distill_static [--out DIR] [--dims 256] [--model PATH]
                                      [--centroids VERSION] [--skip-distill]

Every vocabulary token is passed through the transformer once (~1 min on 2 cores), the
token vectors are PCA-reduced to ``--dims`` and SIF-weighted by token rank. The result is
the directory ``[encoder] backend = "static"`` loads (default ``var/static/minilm-m2v``);
``distill.json`` beside it records the source weights, the settings and the output digest.
``--centroids static-v1`` then fits that centroid version with the static encoder, from the
training files and options of ``make train`` (k = 8), without touching ``centroids/CURRENT``:
it is the cascade's first stage (``[encoder.cascade] centroid_version``), and the centroids
of ``[encoder] backend = "static"`` with ``[routing] centroid_version = "static-v1"``.
The same model and settings give the same bytes, so centroids fitted on one machine hold
on another: ``centroids/static-v1/static_model.json`` records the digest they were fitted
with, and a model with another digest needs its own centroids.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from router.config import PROJECT_ROOT, EncoderConfig
from router.encoders import StaticEncoder, bundled_model_path, distill, static_model_dir
from training.dataset import read_many
from training.train import TrainOptions, TrainResult, train

# What `make train` fits the shipped centroids from.
TRAIN_FILES = tuple(
    PROJECT_ROOT / "training" / "data" / name
    for name in (
        "public_train.jsonl",
        "realistic_train.jsonl",
        "seed_prompts.jsonl",
        "seed_prompts_2.jsonl",
    )
)


def fit_centroids(
    static_dir: Path, centroids_dir: Path, version: str = "static-v1", k: int = 8
) -> TrainResult:
    """Fit centroid version ``version`` for the static model in ``static_dir`` (not promoted).

    ``static_model.json`` in the version records which static model (digest) it fits.

    Raises:
        ArtifactError: the static model is missing or the version exists already.
    """
    config = EncoderConfig(backend="static", static_path=static_dir)
    encoder = StaticEncoder(config)
    options = TrainOptions(k=k, version=version, promote=False, progress=False)
    result = train(read_many(list(TRAIN_FILES)), centroids_dir, encoder, config, options)
    provenance = static_dir / "distill.json"
    if provenance.is_file():
        target = centroids_dir / result.manifest.version / "static_model.json"
        target.write_text(provenance.read_text())
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.distill_static")
    parser.add_argument("--out", type=Path, default=None, help="default: var/static/minilm-m2v")
    parser.add_argument("--dims", type=int, default=256)
    parser.add_argument("--model", type=Path, default=None, help="default: the bundled MiniLM")
    parser.add_argument("--centroids", metavar="VERSION", help="then fit this centroid version")
    parser.add_argument("--centroids-dir", type=Path, default=PROJECT_ROOT / "centroids")
    parser.add_argument("--skip-distill", action="store_true", help="reuse the model in --out")
    args = parser.parse_args(argv)
    config = EncoderConfig()
    out = args.out or static_model_dir(config)
    if not args.skip_distill:
        provenance = distill(args.model or bundled_model_path(), out, args.dims, config.name)
        print(f"wrote {out} in {provenance['seconds']} s (sha256 {provenance['sha256'][:16]}…)")
    if args.centroids:
        result = fit_centroids(out, args.centroids_dir, args.centroids)
        val = result.metrics["validation"]
        print(
            f"wrote {args.centroids_dir / result.manifest.version} (held-out macro-F1 "
            f"{val['macro_f1']:.4f}); CURRENT unchanged"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
