"""Encoder backends side by side: routing quality, single-query latency, and a cascade.

    .venv/bin/python bench/encoders.py [--runs 3] [--queries 200] [--margins 0.01,0.02,...]

Backends: torch, onnx, onnx-int8 (all-MiniLM-L6-v2 with the shipped centroids, CURRENT) and
static (the model2vec distillation with centroids static-v1; build both with
``python -m training.distill_static --centroids static-v1``). cascade@m: the static encoder
first, the transformer (``--fallback``, default onnx-int8) only when the static top-1 minus
top-2 task score is below m.

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
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from common import EVAL_FILES, RESULTS, machine, median, percentile

from router.centroids import CentroidSet, load_centroids
from router.config import Config, load_config
from router.core import Router
from router.embedding import Encoder, build_encoder
from router.encoder_onnx import OnnxEncoder
from router.types import ChatRequest, Message
from training.dataset import TASKS, read_jsonl
from training.evaluate import classification_report, macro_f1
from training.fit import embed_examples

BACKENDS = ("torch", "onnx", "onnx-int8", "static")
STATIC_VERSION = "static-v1"
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

    def scores(self, text: str) -> np.ndarray:
        vector = self.encoder.encode([self.encoder.fit_window(text)[0]])
        return self.centroids.task_scores(vector)[0]

    def route_one(self, text: str) -> str:
        vector = self.encoder.encode([self.encoder.fit_window(text)[0]])
        return self.centroids.classify(vector)[0].task


def margins_of(scores: np.ndarray) -> np.ndarray:
    top2 = np.sort(scores, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


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
        static_margin = margins_of(backends["static"].centroids.task_scores(vectors["static"]))
        for m in margins:
            use = static_margin < m
            pred = [f if u else s for u, s, f in zip(use, predicted["static"], predicted[fallback])]
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


def cascade_fn(static: Backend, fallback: Backend, margin: float) -> Callable[[str], str]:
    def route(text: str) -> str:
        scores = static.scores(text)
        top2 = np.sort(scores)[-2:]
        if top2[1] - top2[0] < margin:
            return fallback.route_one(text)
        return static.centroids.tasks[int(np.argmax(scores))]

    return route


async def _route_all(router: Router, texts: list[str]) -> list[float]:
    samples = []
    for text in texts:
        request = ChatRequest(messages=(Message(role="user", content=text),))
        start = time.perf_counter()
        await router.route(request)
        samples.append((time.perf_counter() - start) * 1e3)
    return samples


def latency(
    candidates: dict[str, Callable[[str], object]],
    routers: dict[str, Router],
    texts: dict[str, list[str]],
    runs: int,
) -> dict[str, Any]:
    """p50/p99 per candidate and text set (median over runs), interleaved within each run."""
    raw: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for fn in candidates.values():
        for text in texts["arena_holdout"][:20]:
            fn(text)  # warm-up: first-call allocations, thread pools
    for _ in range(runs):
        for set_name, batch in texts.items():
            for name, fn in candidates.items():
                s = timed(fn, batch)
                raw.setdefault(name, {}).setdefault(set_name, []).append(
                    (percentile(s, 50), percentile(s, 99))
                )
            for name, router in routers.items():
                s = anyio.run(_route_all, router, batch)
                raw.setdefault(f"route:{name}", {}).setdefault(set_name, []).append(
                    (percentile(s, 50), percentile(s, 99))
                )
    return {
        name: {
            set_name: {
                "p50_ms": round(median([p[0] for p in pairs]), 3),
                "p99_ms": round(median([p[1] for p in pairs]), 3),
            }
            for set_name, pairs in per_set.items()
        }
        for name, per_set in raw.items()
    }


def static_variants(path: Path, texts: list[str], runs: int) -> dict[str, float]:
    """Single-query encode p50 of the same static model through three libraries."""
    from model2vec import StaticModel
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    from router.config import EncoderConfig
    from router.encoder_static import StaticEncoder

    ours = StaticEncoder(EncoderConfig(backend="static", static_path=path))
    m2v = StaticModel.from_pretrained(path)
    st = SentenceTransformer(modules=[StaticEmbedding.from_model2vec(str(path))], device="cpu")
    fns: dict[str, Callable[[str], object]] = {
        "semroute StaticEncoder (numpy mean)": lambda t: ours.encode([t]),
        "model2vec StaticModel.encode": lambda t: m2v.encode([t]),
        "sentence-transformers StaticEmbedding": lambda t: st.encode([t], show_progress_bar=False),
    }
    return {
        name: round(median([percentile(timed(fn, texts), 50) for _ in range(runs)]), 4)
        for name, fn in fns.items()
    }


def recommend(report: dict[str, Any]) -> dict[str, Any]:
    """The fastest configuration whose dev macro-F1 is within 0.01 of the best backend's."""
    dev = {n: q["dev"]["macro_f1"] for n, q in report["quality"]["backends"].items()}
    best = max(dev.values())
    options = dict(dev)
    for m, q in report["quality"]["cascade"].items():
        options[f"cascade@{m}"] = q["dev"]["macro_f1"]
    lat = report["latency"]
    eligible = {
        n: lat[n]["arena_holdout"]["p50_ms"] for n, f in options.items() if f >= best - 0.01
    }
    choice = min(eligible, key=lambda n: eligible[n])
    return {"best_backend_dev_macro_f1": best, "eligible_p50_ms": eligible, "choice": choice}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--fallback", default="onnx-int8", choices=["torch", "onnx", "onnx-int8"])
    parser.add_argument("--margins", default="0.01,0.02,0.03,0.05,0.08")
    args = parser.parse_args()
    margins = [float(m) for m in args.margins.split(",")]
    load_start = os.getloadavg()
    base = load_config()
    with tempfile.TemporaryDirectory() as tmp:
        configs = {b: backend_config(base, b, Path(tmp)) for b in BACKENDS}
        backends = {b: Backend(b, c) for b, c in configs.items()}
        one_thread = OnnxEncoder(configs["onnx-int8"].encoder, threads=1)
        backends["onnx-int8/1thread"] = Backend(
            "onnx-int8/1thread", configs["onnx-int8"], one_thread
        )
        report: dict[str, Any] = {
            "machine": machine(),
            "loadavg_start": [round(x, 2) for x in load_start],
            "runs": args.runs,
            "fallback": args.fallback,
            "load_s": {n: b.load_s for n, b in backends.items()},
            "names": {
                n: [b.encoder.name, b.encoder.dim, b.centroids.version] for n, b in backends.items()
            },
        }
        quality_backends = {b: backends[b] for b in BACKENDS}
        report["quality"] = quality(quality_backends, args.fallback, margins)
        print(json.dumps(report["quality"]["backends"], indent=1), flush=True)
        texts = {
            "arena_holdout": [e.text for e in read_jsonl(EVAL_FILES["realistic_holdout"]).examples],
            "dev_short": [e.text for e in read_jsonl(EVAL_FILES["dev"]).examples],
        }
        texts = {k: v[: args.queries] for k, v in texts.items()}
        candidates: dict[str, Callable[[str], object]] = {
            n: b.route_one for n, b in backends.items()
        }
        for m in margins:
            candidates[f"cascade@{m:g}"] = cascade_fn(
                backends["static"], backends[args.fallback], m
            )
        routers = {b: Router.from_config(configs[b], backends[b].encoder) for b in BACKENDS}
        report["latency"] = latency(candidates, routers, texts, args.runs)
        static_path = backends["static"].encoder.path  # type: ignore[attr-defined]
        report["static_variants_p50_ms"] = static_variants(
            static_path, texts["arena_holdout"], args.runs
        )
        report["recommendation"] = recommend(report)
        report["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    report["command"] = "python bench/encoders.py"
    print(json.dumps({k: report[k] for k in ("latency", "recommendation")}, indent=1))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "encoders.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
