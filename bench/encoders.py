"""Encoder backends side by side: routing quality, single-query latency, and a cascade.

    .venv/bin/python bench/encoders.py [--runs 3] [--queries 200] [--margins 0.01,0.02,...]

Backends: torch, onnx, onnx-int8 (all-MiniLM-L6-v2 with the shipped centroids, CURRENT) and
static (the shipped model2vec distillation, router/encoders/data/static/, with centroids static-v1).
cascade@m: the static encoder first, the transformer (``--fallback``, default onnx-int8) unless
the static match is confident with a top-1 minus top-2 task score of at least m (FirstStage in
router/classify/cascade.py, the rule the service runs; ``[encoder.cascade] margin``).

Quality: macro-F1 / accuracy on the dev split, the written hold-out and the arena hold-out.
Latency: one query at a time, fit_window + encode + classify, p50/p99 over the realistic
hold-out prompts (and short dev prompts), median of ``--runs`` runs; backends interleaved in
each run so that load from other processes falls on all of them alike. route: the same
through ``Router.route()`` (memo off, so every query is embedded). Writes
bench/results/encoders.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from common import EVAL_FILES, RESULTS, machine, median, percentile, route_each

from router import Router
from router.classify.cascade import FirstStage, build_first_stage
from router.classify.centroids import CentroidSet, load_centroids
from router.config.settings import Config, load_config
from router.encoders import Encoder, build_encoder
from router.encoders.onnx import OnnxEncoder
from training.dataset import TASKS, read_jsonl
from training.embed import embed_examples
from training.evaluate import classification_report, macro_f1

BACKENDS = ("torch", "onnx", "onnx-int8", "static")
STATIC_VERSION = "static-v1"
# One process each, as the service would run it (torch and ORT thread pools never share one).
WORKERS = ("torch", "onnx", "onnx-int8", "onnx-int8@2", "static", "cascade")
SETS = {"dev": "dev", "written_holdout": "written_holdout", "arena_holdout": "realistic_holdout"}


def backend_config(base: Config, backend: str, tmp: Path) -> Config:
    """``base`` on ``backend``: its centroid version, memo off, cache and outcomes in ``tmp``."""
    version = STATIC_VERSION if backend == "static" else base.routing.centroid_version
    return base.model_copy(
        update={
            "encoder": base.encoder.model_copy(update={"backend": backend, "memo_entries": 0}),
            "routing": base.routing.model_copy(update={"centroid_version": version}),
            "cache": base.cache.model_copy(update={"path": tmp / backend / "cache"}),
            "outcomes": base.outcomes.model_copy(
                update={"enabled": False, "path": tmp / backend / "outcomes"}
            ),
        }
    )


class Backend:
    def __init__(self, name: str, config: Config, encoder: Encoder | None = None) -> None:
        start = time.perf_counter()
        self.name = name
        self.config = config
        self.encoder = encoder or build_encoder(config.encoder)
        self.load_s = round(time.perf_counter() - start, 2)
        self.centroids: CentroidSet = load_centroids(
            config.routing.centroids_dir,
            config.routing.centroid_version,
            encoder_name=self.encoder.name,
            dim=self.encoder.dim,
        )

    def route_one(self, text: str) -> str:
        vector = self.encoder.encode([self.encoder.fit_window(text)[0]])
        return self.centroids.classify(vector)[0].task


def f1(truth: list[str], predicted: list[str]) -> dict[str, float]:
    stats, _ = classification_report(truth, predicted, TASKS)
    correct = sum(t == p for t, p in zip(truth, predicted, strict=True))
    return {"macro_f1": round(macro_f1(stats), 4), "accuracy": round(correct / len(truth), 4)}


def quality(backends: dict[str, Backend], fallback: str, margins: list[float]) -> dict[str, Any]:
    """Macro-F1 per eval set per backend, and per cascade margin (with the transformer share)."""
    out: dict[str, Any] = {"backends": {}, "cascade": {}, "agreement": {}}
    for label, key in SETS.items():
        rows = read_jsonl(EVAL_FILES[key], tasks=TASKS).examples
        truth = [e.task for e in rows]
        vectors = {
            n: embed_examples(b.encoder, [e.text for e in rows], progress=False)
            for n, b in backends.items()
        }
        predicted = {n: backends[n].centroids.predict(v) for n, v in vectors.items()}
        for name, pred in predicted.items():
            out["backends"].setdefault(name, {})[label] = f1(truth, pred)
        for name in ("onnx", "onnx-int8"):
            cos = (vectors[name] * vectors["torch"]).sum(axis=1)
            same = np.mean(
                [a == b for a, b in zip(predicted[name], predicted["torch"], strict=True)]
            )
            out["agreement"].setdefault(name, {})[label] = {
                "cosine_mean": round(float(cos.mean()), 5),
                "cosine_min": round(float(cos.min()), 5),
                "same_task": round(float(same), 4),
            }
        static = backends["static"]
        static_matches = static.centroids.classify(vectors["static"])
        for m in margins:
            stage = FirstStage(static.encoder, static.centroids, m)
            use = np.array([not stage.decides(match) for match in static_matches])
            pairs = zip(predicted["static"], predicted[fallback], strict=True)
            pred = [f if u else s for u, (s, f) in zip(use, pairs, strict=True)]
            entry = {**f1(truth, pred), "transformer_share": round(float(use.mean()), 4)}
            out["cascade"].setdefault(f"{m:g}", {})[label] = entry
    return out


def timed(fn: Callable[[str], object], texts: list[str]) -> list[float]:
    samples = []
    for text in texts:
        start = time.perf_counter()
        fn(text)
        samples.append((time.perf_counter() - start) * 1e3)
    return samples


def summary(samples: list[float]) -> list[float]:
    return [percentile(samples, 50), percentile(samples, 99), sum(samples) / len(samples)]


def cascade_fn(static: Backend, fallback: Backend, margin: float) -> Callable[[str], str]:
    stage = FirstStage(static.encoder, static.centroids, margin)

    def route(text: str) -> str:
        (match,) = stage.match_many([text])
        return match.task if match is not None else fallback.route_one(text)

    return route


def latency_texts(queries: int) -> dict[str, list[str]]:
    return {
        "arena_holdout": [e.text for e in read_jsonl(EVAL_FILES["realistic_holdout"]).examples][
            :queries
        ],
        "dev_short": [e.text for e in read_jsonl(EVAL_FILES["dev"]).examples][:queries],
    }


def worker(kind: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """One process per backend, as in service: encode+classify and Router.route() timings."""
    base = load_config()
    candidates: dict[str, Callable[[str], object]] = {}
    texts = latency_texts(args.queries)
    threads = ""  # "onnx-int8@2": ONNX Runtime with two intra-op threads
    if kind == "cascade":
        static = Backend("static", backend_config(base, "static", tmp))
        fallback = Backend(args.fallback, backend_config(base, args.fallback, tmp))
        for m in parse_margins(args.margins):
            candidates[f"cascade@{m:g}"] = cascade_fn(static, fallback, m)
    else:
        backend, _, threads = kind.partition("@")
        config = backend_config(base, backend, tmp)
        encoder = OnnxEncoder(config.encoder, threads=int(threads)) if threads else None
        b = Backend(kind, config, encoder)
        candidates[kind] = b.route_one
    out: dict[str, Any] = {}
    for name, fn in candidates.items():
        timed(fn, texts["arena_holdout"][:20])  # warm-up: first-call allocations
        out[name] = {s: summary(timed(fn, batch)) for s, batch in texts.items()}
    if kind == "cascade":  # the service's default: Router with the configured first stage
        config = backend_config(base, args.fallback, tmp)
        router = Router.from_config(config, fallback.encoder, first_stage=build_first_stage(config))
        kind = f"cascade@{config.encoder.cascade.margin:g}"
    elif not threads:
        router = Router.from_config(config, b.encoder)
    if not threads:
        # One event loop for the whole batch, as in the service (and bench/route_latency.py).
        anyio.run(route_each, router, texts["arena_holdout"][:20])
        out[f"route:{kind}"] = {
            s: summary(anyio.run(route_each, router, batch)) for s, batch in texts.items()
        }
    if kind == "static":
        out["static_variants"] = static_variants(b.encoder.path, texts["arena_holdout"])  # type: ignore[attr-defined]
    return out


def latency(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, float]]:
    """Median over runs of each worker's p50/p99/mean; workers interleaved within a run."""
    raw: dict[str, dict[str, list[list[float]]]] = {}
    variants: dict[str, list[float]] = {}
    for _ in range(args.runs):
        for kind in WORKERS:
            command = [sys.executable, __file__, "--worker", kind, "--queries", str(args.queries)]
            command += ["--fallback", args.fallback, "--margins", args.margins]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            for name, p50 in result.pop("static_variants", {}).items():
                variants.setdefault(name, []).append(p50)
            for name, per_set in result.items():
                for set_name, stats in per_set.items():
                    raw.setdefault(name, {}).setdefault(set_name, []).append(stats)
            print(kind, {n: r["arena_holdout"][0] for n, r in result.items()}, flush=True)
    table = {
        name: {
            set_name: {
                key: round(median([r[i] for r in runs]), 3)
                for i, key in enumerate(("p50_ms", "p99_ms", "mean_ms"))
            }
            for set_name, runs in per_set.items()
        }
        for name, per_set in raw.items()
    }
    return table, {n: round(median(v), 4) for n, v in variants.items()}


def static_variants(path: Path, texts: list[str]) -> dict[str, float]:
    """Single-query encode p50 of the same static model through three libraries (the other two
    read the model2vec directory the shipped table was made from, when it is on disk:
    ``python -m training.distill_static`` writes it)."""
    from router.config.settings import EncoderConfig
    from router.encoders.static import StaticEncoder

    ours = StaticEncoder(EncoderConfig(backend="static", static_path=path))
    fns: dict[str, Callable[[str], object]] = {
        "semroute StaticEncoder (numpy mean)": lambda t: ours.encode([t]),
    }
    distilled = Path(__file__).resolve().parent.parent / "var" / "static" / "minilm-m2v"
    if (distilled / "model.safetensors").is_file():
        from model2vec import StaticModel
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.sentence_transformer.modules import StaticEmbedding

        m2v = StaticModel.from_pretrained(distilled)
        module = StaticEmbedding.from_model2vec(str(distilled))
        st = SentenceTransformer(modules=[module], device="cpu")
        fns["model2vec StaticModel.encode"] = lambda t: m2v.encode([t])
        fns["sentence-transformers StaticEmbedding"] = lambda t: st.encode(
            [t], show_progress_bar=False
        )
    for fn in fns.values():
        timed(fn, texts[:20])
    return {name: percentile(timed(fn, texts), 50) for name, fn in fns.items()}


def recommend(report: dict[str, Any]) -> dict[str, Any]:
    """The fastest configuration whose dev macro-F1 is within 0.01 of the best backend's.

    By p50 on the arena prompts, and by mean (a cascade's p50 is the static encoder's; its
    mean and p99 carry the transformer share).
    """
    dev = {n: q["dev"]["macro_f1"] for n, q in report["quality"]["backends"].items()}
    best = max(dev.values())
    options = dict(dev)
    for m, q in report["quality"]["cascade"].items():
        options[f"cascade@{m}"] = q["dev"]["macro_f1"]
    lat = report["latency"]
    eligible = {n: lat[n]["arena_holdout"] for n, f in options.items() if f >= best - 0.01}
    return {
        "best_backend_dev_macro_f1": best,
        "eligible": sorted(eligible),
        "choice_by_p50": min(eligible, key=lambda n: eligible[n]["p50_ms"]),
        "choice_by_mean": min(eligible, key=lambda n: eligible[n]["mean_ms"]),
    }


def parse_margins(text: str) -> list[float]:
    return [float(m) for m in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--fallback", default="onnx-int8", choices=["torch", "onnx", "onnx-int8"])
    parser.add_argument("--margins", default="0.01,0.02,0.03,0.05,0.08")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.worker:
            print(json.dumps(worker(args.worker, args, Path(tmp))))
            return
        load_start = os.getloadavg()
        base = load_config()
        backends = {b: Backend(b, backend_config(base, b, Path(tmp))) for b in BACKENDS}
        report: dict[str, Any] = {
            "machine": machine(),
            "loadavg_start": [round(x, 2) for x in load_start],
            "runs": args.runs,
            "queries": args.queries,
            "fallback": args.fallback,
            "load_s": {n: b.load_s for n, b in backends.items()},
            "encoders": {
                n: {"name": b.encoder.name, "dim": b.encoder.dim, "centroids": b.centroids.version}
                for n, b in backends.items()
            },
            "quality": quality(backends, args.fallback, parse_margins(args.margins)),
        }
        del backends
        print(json.dumps(report["quality"]["backends"]), flush=True)
        report["latency"], report["static_variants_p50_ms"] = latency(args)
        report["recommendation"] = recommend(report)
        report["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    report["command"] = "python bench/encoders.py"
    print(json.dumps(report["recommendation"], indent=1))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "encoders.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
