"""In-process routing latency and batch throughput with the real encoder.

    .venv/bin/python bench/route_latency.py [--runs 3]

single: Router.route() on one request at a time (embed + classify + select), p50/p99 over
two prompt sets — English: the 200 prompts of the realistic held-out set (real user prompts,
varied lengths); other languages: the 284 non-English prompts of the multilingual hold-out —
median over runs, every prompt routed by every configuration in turn (interleaved, so a
burst of load elsewhere on the machine slows them alike); the embedding memo is off (every
prompt embedded) except in the "exact repeat" row. Rows: the default configuration (the
static first stage, then the multilingual stage), the multilingual stage for other
languages only (English unsure → the transformer), no multilingual stage (static →
transformer, the previous default), the transformer alone, torch alone. batch: the same
prompts classified in one call → prompts/s.
Writes bench/results/route_latency.json.
"""

from __future__ import annotations

import argparse
import json
import time

import anyio
from common import EVAL_FILES, RESULTS, machine, median, percentile, route_each

from router import Router
from router.classify.cascade import build_first_stage
from router.classify.multilingual import build_multilingual_stage
from router.config.settings import Config, load_config
from router.encoders import build_encoder
from training.dataset import read_jsonl
from training.evaluate import classify_texts


def batch(router: Router, texts: list[str]) -> float:
    """Prompts/s classifying ``texts`` in one call (through the stages there are)."""
    start = time.perf_counter()
    c = router.classifier
    classify_texts(texts, c.encoder, c.centroids, c.first_stage, c.multilingual, progress=False)
    return len(texts) / (time.perf_counter() - start)


def configured(base: Config, backend: str, cascade: bool, memo: int, scope: str) -> Router:
    """``scope``: the multilingual stage's ("all", "other_languages") or "off"."""
    multilingual = base.encoder.multilingual.model_copy(
        update={"enabled": scope != "off", "scope": "all" if scope == "off" else scope}
    )
    encoder = base.encoder.model_copy(
        update={
            "backend": backend,
            "memo_entries": memo,
            "cascade": base.encoder.cascade.model_copy(update={"enabled": cascade}),
            "multilingual": multilingual,
        }
    )
    config = base.model_copy(update={"encoder": encoder})
    return Router.from_config(
        config,
        build_encoder(config.encoder),
        first_stage=build_first_stage(config),
        multilingual=build_multilingual_stage(config),
    )


async def route_interleaved(routers: list[Router], texts: list[str]) -> list[list[float]]:
    """Each prompt routed by every router in turn (ms): a burst of load from elsewhere on
    the machine then slows every configuration alike instead of whichever ran at the time."""
    from router.types import ChatRequest, Message

    samples: list[list[float]] = [[] for _ in routers]
    for text in texts:
        request = ChatRequest(messages=(Message(role="user", content=text),))
        for router, out in zip(routers, samples, strict=True):
            start = time.perf_counter()
            await router.route(request)
            out.append((time.perf_counter() - start) * 1e3)
    return samples


def measure(
    routers: list[Router], texts: list[str], runs: int, repeat: list[bool]
) -> list[dict[str, float]]:
    for router, again in zip(routers, repeat, strict=True):
        anyio.run(route_each, router, texts[:20])  # warm-up (with the memo on, the first sight)
        if again:
            anyio.run(route_each, router, texts)
    p50s: list[list[float]] = [[] for _ in routers]
    p99s: list[list[float]] = [[] for _ in routers]
    rates: list[list[float]] = [[] for _ in routers]
    for _ in range(runs):
        for i, samples in enumerate(anyio.run(route_interleaved, routers, texts)):
            p50s[i].append(percentile(samples, 50))
            p99s[i].append(percentile(samples, 99))
        for i, router in enumerate(routers):
            rates[i].append(batch(router, texts))
    return [
        {
            "single_p50_ms": round(median(p50s[i]), 3),
            "single_p99_ms": round(median(p99s[i]), 3),
            "batch_prompts_per_s": round(median(rates[i]), 1),
        }
        for i in range(len(routers))
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-torch", action="store_true", help="skip the torch row (slow)")
    args = parser.parse_args()
    base = load_config()
    sets = {
        "english": [e.text for e in read_jsonl(EVAL_FILES["realistic_holdout"]).examples],
        "other_languages": [
            e.text
            for e in read_jsonl(EVAL_FILES["multilingual_holdout"]).examples
            if e.lang != "en"
        ],
    }
    backend = base.encoder.backend
    rows = {
        f"default: static → multilingual ({base.encoder.multilingual.scope})": (
            backend,
            True,
            0,
            False,
            base.encoder.multilingual.scope,
        ),
        f"multilingual for other languages only, else static → {backend}": (
            backend,
            True,
            0,
            False,
            "other_languages",
        ),
        f"no multilingual stage: static → {backend}": (backend, True, 0, False, "off"),
        f"{backend} alone": (backend, False, 0, False, "off"),
        "torch alone": ("torch", False, 0, False, "off"),
        "exact repeat (embedding memo hit)": (backend, True, 10_000, True, "off"),
    }
    if args.no_torch:
        del rows["torch alone"]
    routers = [configured(base, *spec[:3], spec[4]) for spec in rows.values()]
    repeat = [spec[3] for spec in rows.values()]
    by_set = {label: measure(routers, texts, args.runs, repeat) for label, texts in sets.items()}
    results = {name: {label: by_set[label][i] for label in sets} for i, name in enumerate(rows)}
    for name, row in results.items():
        print(name, row, flush=True)
    result = {
        "machine": machine(),
        "queries": {label: len(texts) for label, texts in sets.items()},
        "runs": args.runs,
        "rows": results,
        "command": "python bench/route_latency.py",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "route_latency.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
