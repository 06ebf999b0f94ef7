"""Distil static embeddings from the local all-MiniLM-L6-v2 with model2vec, and ship them.

    python -m training.distill_static [--out DIR] [--dims 256] [--model PATH]
                                      [--ship [DIR]] [--centroids VERSION] [--skip-distill]

Every vocabulary token is passed through the transformer once (~1 min on 2 cores), the token
vectors are PCA-reduced to ``--dims`` and SIF-weighted by token rank, into ``--out`` (a
model2vec directory, default ``var/static/minilm-m2v``). The floats depend on the CPU, so the
project does not rebuild this model on every machine: ``--ship`` quantises it into the format
the service loads (router/encoders/static_model.py) in
``router/encoders/data/static/minilm-m2v-256``, which is committed. ``--centroids static-v2``
then fits that centroid version with the shipped (or, without ``--ship``, the distilled) model,
from the training files and options of ``make train`` (k = 8), without touching
``centroids/CURRENT``: it is the cascade's first stage (``[encoder.cascade] centroid_version``).
``static_model.json`` in the version records the digest of the model it was fitted on;
``semroute prepare --record`` then records its hold-out quality, against which other machines
check what they load.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from router.config import PROJECT_ROOT, EncoderConfig
from router.encoders import SHIPPED_STATIC_DIR, StaticEncoder, bundled_model_path, ship
from training.dataset import add_file_option, read_with
from training.distill import distill
from training.train import TrainOptions, TrainResult, train

SCRATCH = PROJECT_ROOT / "var" / "static" / "minilm-m2v"

# What `make train` fits the shipped centroids from.
TRAIN_FILES = tuple(
    PROJECT_ROOT / "training" / "data" / name
    for name in (
        "public_train.jsonl",
        "seed_prompts.jsonl",
        "seed_prompts_2.jsonl",
    )
)


def fit_centroids(
    static_dir: Path,
    centroids_dir: Path,
    version: str = "static-v2",
    k: int = 8,
    extra: Sequence[tuple[Path, float]] = (),
    seed: int = 0,
) -> TrainResult:
    """Fit centroid version ``version`` for the static model in ``static_dir`` (not promoted),
    from ``TRAIN_FILES`` plus ``extra`` (each file with a weight for its rows).

    ``static_model.json`` in the version records which static model (digest) it fits.

    Raises:
        ArtifactError: the static model is missing or the version exists already.
    """
    config = EncoderConfig(backend="static", static_path=static_dir)
    encoder = StaticEncoder(config)
    options = TrainOptions(k=k, version=version, promote=False, progress=False, seed=seed)
    result = train(read_with(TRAIN_FILES, extra), centroids_dir, encoder, config, options)
    fitted = {"path": _shown(static_dir), "sha256": encoder.digest}
    target = centroids_dir / result.manifest.version / "static_model.json"
    target.write_text(json.dumps(fitted, indent=2) + "\n")
    return result


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.distill_static")
    parser.add_argument("--out", type=Path, default=SCRATCH, help="the distilled model2vec dir")
    parser.add_argument("--dims", type=int, default=256)
    parser.add_argument("--model", type=Path, default=None, help="default: the bundled MiniLM")
    parser.add_argument(
        "--ship",
        type=Path,
        nargs="?",
        const=SHIPPED_STATIC_DIR,
        help=f"then quantise it into the shipped format (default {_shown(SHIPPED_STATIC_DIR)})",
    )
    parser.add_argument("--centroids", metavar="VERSION", help="then fit this centroid version")
    parser.add_argument("--centroids-dir", type=Path, default=PROJECT_ROOT / "centroids")
    parser.add_argument("--skip-distill", action="store_true", help="reuse the model in --out")
    add_file_option(
        parser, "with --centroids: another training file, its rows weighted (default 1)"
    )
    parser.add_argument("--seed", type=int, default=0, help="with --centroids: the fit's seed")
    args = parser.parse_args(argv)
    config = EncoderConfig()
    out: Path = args.out
    if not args.skip_distill:
        provenance = distill(args.model or bundled_model_path(), out, args.dims, config.name)
        print(f"wrote {out} in {provenance['seconds']} s (sha256 {provenance['sha256'][:16]}…)")
    if args.ship:
        provenance = json.loads((out / "distill.json").read_text())
        shipped = ship(out, args.ship, provenance)
        print(f"shipped {args.ship} (sha256 {shipped['sha256'][:16]}…)")
    if args.centroids:
        result = fit_centroids(
            args.ship or out, args.centroids_dir, args.centroids, extra=args.add, seed=args.seed
        )
        val = result.metrics["validation"]
        print(
            f"wrote {args.centroids_dir / result.manifest.version} (held-out macro-F1 "
            f"{val['macro_f1']:.4f}); CURRENT unchanged"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
