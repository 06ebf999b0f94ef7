"""semroute beside aurelio-labs' semantic-router, same encoder, same training rows, same run.

    .venv/bin/pip install --target var/peers-site semantic-router==1.1.1
    .venv/bin/python bench/peers.py [--runs 3] [--queries 200] [--per-route 50]

semantic-router pins ``openai<3`` while semroute's dev tools use openai 3, so it is not
installed into .venv: it lives in var/peers-site, appended to ``sys.path`` (the packages of
.venv win; semantic-router 1.1.1 imports and runs with them). Nothing here calls a hub or an
API: semantic-router gets a ``DenseEncoder`` that wraps semroute's own local encoder
(fit_window + encode, the same vectors semroute embeds), and its default in-memory
``LocalIndex``.

- semroute: the shipped centroids (CURRENT), ``Router.route()`` with the embedding memo off.
- semantic-router, all rows: one ``Route`` per task holding every training row of that task
  (the same rows the centroids were fitted on); scores are the mean of the top-5 utterance
  similarities per route (its defaults), no threshold, top route wins.
- semantic-router, all rows, sum of top-5: the same with ``aggregation="sum"`` (a route's
  score grows with its number of hits among the top 5: closer to a k-NN vote).
- semantic-router, N per route: the same with ``--per-route`` rows per task (seeded sample),
  how its routes are usually written by hand.

Quality: macro-F1 on the dev split (and the two hold-outs). Latency: one query at a time,
p50/p99 over the realistic hold-out prompts, median of ``--runs`` runs, the routers
interleaved within each run; semantic-router through its documented sync call
``router(query)``. Writes bench/results/peers.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from common import EVAL_FILES, RESULTS, ROOT, TRAIN_FILES, machine, median, percentile

from router import Router
from router.config.settings import load_config
from router.encoders import Encoder, build_encoder
from router.types import ChatRequest, Message
from training.dataset import TASKS, read_jsonl, read_many
from training.evaluate import classification_report, macro_f1

PEERS_SITE = ROOT / "var" / "peers-site"
SETS = {"dev": "dev", "written_holdout": "written_holdout", "arena_holdout": "realistic_holdout"}


def import_semantic_router() -> Any:
    """semantic_router from .venv or var/peers-site; None (with the reason) when absent."""
    if PEERS_SITE.is_dir() and str(PEERS_SITE) not in sys.path:
        sys.path.append(str(PEERS_SITE))
    try:
        import semantic_router
    except ImportError as exc:
        print(f"semantic-router unavailable: {exc}", file=sys.stderr)
        return None
    return semantic_router


def wrap(encoder: Encoder) -> Any:
    """semantic-router's DenseEncoder over semroute's encoder: local, no hub, no API."""
    from semantic_router.encoders import DenseEncoder

    class SemrouteEncoder(DenseEncoder):  # type: ignore[misc]
        def __call__(self, docs: list[Any]) -> list[list[float]]:
            texts = [encoder.fit_window(str(d))[0] for d in docs]
            vectors: list[list[float]] = encoder.encode(texts).tolist()
            return vectors

    return SemrouteEncoder(name=f"semroute:{encoder.name}")


def build_peer(
    encoder: Encoder, per_route: int | None, aggregation: str = "mean", seed: int = 0
) -> Any:
    from semantic_router import IndexedRouter, Route

    rows: dict[str, list[str]] = {}
    for e in read_many(TRAIN_FILES).examples:
        rows.setdefault(e.task, []).append(e.text)
    rng = random.Random(seed)
    routes = [
        Route(name=task, utterances=rng.sample(texts, min(per_route, len(texts))))
        if per_route
        else Route(name=task, utterances=list(dict.fromkeys(texts)))
        for task, texts in rows.items()
    ]
    start = time.perf_counter()
    peer = IndexedRouter(encoder=wrap(encoder), routes=routes, aggregation=aggregation)
    peer.build_s = round(time.perf_counter() - start, 2)
    peer.utterances = sum(len(r.utterances) for r in routes)
    return peer


def peer_predict(peer: Any, text: str) -> str:
    choice = peer(text)
    return str(choice.name) if choice.name is not None else "unknown"


def semroute_fn(router: Router) -> Callable[[Sequence[str]], tuple[list[str], list[float]]]:
    async def run(texts: Sequence[str]) -> tuple[list[str], list[float]]:
        tasks, samples = [], []
        for text in texts:
            request = ChatRequest(messages=(Message(role="user", content=text),))
            start = time.perf_counter()
            decision = await router.route(request)
            samples.append((time.perf_counter() - start) * 1e3)
            tasks.append(decision.match.task if decision.match else "unknown")
        return tasks, samples

    return lambda texts: anyio.run(run, texts)


def peer_fn(peer: Any) -> Callable[[Sequence[str]], tuple[list[str], list[float]]]:
    def run(texts: Sequence[str]) -> tuple[list[str], list[float]]:
        tasks, samples = [], []
        for text in texts:
            start = time.perf_counter()
            tasks.append(peer_predict(peer, text))
            samples.append((time.perf_counter() - start) * 1e3)
        return tasks, samples

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--per-route", type=int, default=50)
    parser.add_argument("--backend", default="torch", choices=["torch", "onnx", "onnx-int8"])
    args = parser.parse_args()
    sr = import_semantic_router()
    base = load_config()
    report: dict[str, Any] = {"machine": machine(), "backend": args.backend, "runs": args.runs}
    with tempfile.TemporaryDirectory() as tmp:
        config = base.model_copy(
            update={
                "encoder": base.encoder.model_copy(
                    update={"backend": args.backend, "memo_entries": 0}
                ),
                "cache": base.cache.model_copy(update={"path": Path(tmp) / "cache"}),
                "outcomes": base.outcomes.model_copy(update={"enabled": False}),
            }
        )
        encoder = build_encoder(config.encoder)
        contenders = {"semroute": semroute_fn(Router.from_config(config, encoder))}
        if sr is None:
            report["semantic_router"] = "not installed: see the command in this file's docstring"
        else:
            report["semantic_router_version"] = sr.__version__
            variants = (
                ("all rows", None, "mean"),
                ("all rows, sum of top-5", None, "sum"),
                (f"{args.per_route} per route", args.per_route, "mean"),
            )
            for label, per_route, aggregation in variants:
                peer = build_peer(encoder, per_route, aggregation)
                report.setdefault("peer_build", {})[label] = {
                    "utterances": peer.utterances,
                    "build_s": peer.build_s,
                }
                contenders[f"semantic-router ({label})"] = peer_fn(peer)
        report["quality"] = quality(contenders)
        print(json.dumps(report["quality"]), flush=True)
        report["latency"] = latency(contenders, args.queries, args.runs)
    report["command"] = "python bench/peers.py"
    print(json.dumps(report["latency"], indent=1))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "peers.json").write_text(json.dumps(report, indent=2) + "\n")


def quality(contenders: dict[str, Any]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for label, key in SETS.items():
        rows = read_jsonl(EVAL_FILES[key], tasks=TASKS).examples
        truth = [e.task for e in rows]
        for name, fn in contenders.items():
            predicted, _ = fn([e.text for e in rows])
            stats, _ = classification_report(truth, predicted, TASKS)
            out.setdefault(name, {})[label] = round(macro_f1(stats), 4)
    return out


def latency(contenders: dict[str, Any], queries: int, runs: int) -> dict[str, dict[str, float]]:
    texts = [e.text for e in read_jsonl(EVAL_FILES["realistic_holdout"]).examples][:queries]
    for fn in contenders.values():
        fn(texts[:20])  # warm-up
    stats: dict[str, list[tuple[float, float]]] = {}
    for _ in range(runs):
        for name, fn in contenders.items():
            _, samples = fn(texts)
            stats.setdefault(name, []).append((percentile(samples, 50), percentile(samples, 99)))
    return {
        name: {
            "p50_ms": round(median([p for p, _ in s]), 3),
            "p99_ms": round(median([p for _, p in s]), 3),
            "p50_spread_ms": round(float(np.ptp([p for p, _ in s])), 3),
        }
        for name, s in stats.items()
    }


if __name__ == "__main__":
    main()
