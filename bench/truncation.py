"""Which part of a long prompt should be embedded? Train and evaluate once per strategy.

    .venv/bin/python bench/truncation.py [--k 8]

For each truncation strategy (head: what the model sees by default; head_tail: first and last
tokens), fit centroids on the shipped training files with that strategy and report macro-F1 on
the dev split, on its rows longer than the encoder window, and on the held-out written set.
Writes bench/results/truncation.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from common import EVAL_FILES, RESULTS, TRAIN_FILES

from router.classify.centroids import load_centroids
from router.config.settings import EncoderConfig
from router.encoders import SentenceTransformerEncoder
from training.dataset import read_jsonl, read_many
from training.evaluate import evaluate_file
from training.train import TrainOptions, train

DEV = EVAL_FILES["dev"]
WRITTEN = EVAL_FILES["written_holdout"]


def long_rows(path: Path, encoder: SentenceTransformerEncoder, out: Path) -> int:
    rows = [e for e in read_jsonl(path).examples if encoder.fit_window(e.text)[1]]
    out.write_text("".join(json.dumps({"text": e.text, "task": e.task}) + "\n" for e in rows))
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--k", type=int, default=8)
    args = parser.parse_args()
    results = {}
    for strategy in ("head", "head_tail"):
        config = EncoderConfig(truncation=strategy)
        encoder = SentenceTransformerEncoder(config)
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            train(
                read_many(TRAIN_FILES),
                root / "c",
                encoder,
                config,
                TrainOptions(k=args.k, progress=False),
            )
            cs = load_centroids(root / "c", encoder_name=encoder.name, dim=encoder.dim)
            n_long = long_rows(DEV, encoder, root / "long.jsonl")
            results[strategy] = {
                "dev_macro_f1": evaluate_file(DEV, encoder, cs, progress=False)["macro_f1"],
                "dev_long_rows": n_long,
                "dev_long_accuracy": evaluate_file(
                    root / "long.jsonl", encoder, cs, progress=False
                )["accuracy"],
                "written_macro_f1": evaluate_file(WRITTEN, encoder, cs, progress=False)["macro_f1"],
            }
        print(strategy, results[strategy], flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "truncation.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
