"""A suggested per-task model ranking from per-model outcomes: written for review, never applied.

For each task (as the router classifies the prompts), every model's mean quality and mean cost
per prompt; models ordered by quality, with the cheapest model whose quality is within
``tolerance`` of the best marked as the cost-effective first choice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from training.prices import Prices
from training.quality import QualityRow


def suggest_ranking(
    rows: Sequence[QualityRow],
    tasks: Sequence[str],
    prices: Prices,
    *,
    tolerance: float = 0.02,
    min_rows: int = 20,
) -> dict[str, dict[str, Any]]:
    """Per task with at least ``min_rows`` prompts: models by quality, and a suggested order."""
    by_task: dict[str, list[QualityRow]] = defaultdict(list)
    for row, task in zip(rows, tasks, strict=True):
        by_task[task].append(row)
    out: dict[str, dict[str, Any]] = {}
    for task, group in sorted(by_task.items()):
        if len(group) < min_rows:
            continue
        models = sorted({m for r in group for m in r.quality})
        stats = {
            m: {
                "quality": round(sum(r.quality.get(m, 0.0) for r in group) / len(group), 4),
                "cost_usd": round(sum(prices.call_cost(m, r) for r in group) / len(group), 6),
            }
            for m in models
        }
        best = max(s["quality"] for s in stats.values())
        good = [m for m in models if stats[m]["quality"] >= best - tolerance]
        first = min(good, key=lambda m: stats[m]["cost_usd"])
        rest = sorted((m for m in models if m != first), key=lambda m: -stats[m]["quality"])
        out[task] = {"n": len(group), "models": stats, "suggested_order": [first, *rest]}
    return out


def suggestion_toml(ranking: dict[str, dict[str, Any]], source: str) -> str:
    """The ranking as commented semroute.toml snippets, to be reviewed and copied by hand."""
    lines = [
        f"# Suggested per-task model order from {source} (not applied automatically).",
        "# Review, map data model names to catalogue names, then edit [tasks.<task>] models.",
    ]
    for task, info in ranking.items():
        lines.append(f"\n# {task}: {info['n']} prompts")
        for model, s in info["models"].items():
            lines.append(
                f"#   {model}: quality {s['quality']:.3f}, ${s['cost_usd']:.6f} per prompt"
            )
        order = ", ".join(f'"{m}"' for m in info["suggested_order"])
        lines.append(f"[tasks.{task}]\nmodels = [{order}]")
    return "\n".join(lines) + "\n"
