"""Rewrite bench/RESULTS.md from the JSON files the benchmark scripts left in bench/results/."""

from __future__ import annotations

import json
from typing import Any

from common import RESULTS, ROOT, machine


def _load(name: str) -> Any:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _routing_latency(lines: list[str]) -> None:
    r = _load("route_latency")
    if not r:
        return
    lines += [
        "## In-process routing (`python bench/route_latency.py`)",
        "",
        f"Machine: {r['machine']['cpu']}, {r['machine']['cores']} cores, "
        f"torch {r['machine']['torch']} ({r['machine']['torch_threads']} threads), "
        f"Python {r['machine']['python']}; measured {r['machine']['date']}.",
        "",
        "| backend | single route p50 | single route p99 | batch throughput |",
        "|---|---|---|---|",
        f"| {r['backend']} | {r['single_p50_ms']} ms | {r['single_p99_ms']} ms | "
        f"{r['batch_prompts_per_s']} prompts/s |",
        "",
        f"Medians over {r['runs']} runs of {r['queries']} real user prompts "
        "(realistic held-out set); one request at a time through `Router.route()` "
        "(embed + classify + select); batch = 256 prompts in one encoder call.",
        "",
    ]


def _quality(lines: list[str]) -> None:
    b = _load("baselines")
    if b:
        methods = list(next(iter(b.values())))
        lines += [
            "## Routing quality beside baselines (`python bench/baselines.py`)",
            "",
            "Macro-F1; same encoder and the same training rows for k-NN and centroids.",
            "",
            "| eval set | " + " | ".join(methods) + " |",
            "|---|" + "---|" * len(methods),
        ]
        lines += [f"| {s} | " + " | ".join(str(v[m]) for m in methods) + " |" for s, v in b.items()]
        lines.append("")
    t = _load("truncation")
    if t:
        lines += [
            "## What is embedded from long prompts (`python bench/truncation.py`)",
            "",
            "| strategy | dev macro-F1 | dev rows over the window | accuracy on those | "
            "written held-out macro-F1 |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {s} | {v['dev_macro_f1']} | {v['dev_long_rows']} | {v['dev_long_accuracy']} | "
            f"{v['written_macro_f1']} |"
            for s, v in t.items()
        ]
        lines.append("")


def main() -> None:
    m = machine()
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (bench/report.py) from bench/results/*.json. "
        f"Report generated {m['date']} on {m['cpu']} ({m['cores']} cores).",
        "",
    ]
    _routing_latency(lines)
    _quality(lines)
    (ROOT / "bench" / "RESULTS.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
