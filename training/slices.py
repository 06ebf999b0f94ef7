"""Evaluation slices: what the router *does* with each row (its route, the default route
when unsure) per language and per prompt shape, and how much lands on ``chat``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from router.types import TaskMatch
from training.dataset import Example

DEFAULT = "default"


def route_of(match: TaskMatch) -> str:
    """The task route a match takes: its task when confident, else the default route."""
    return match.task if match.confident else DEFAULT


def routed_report(examples: Sequence[Example], matches: Sequence[TaskMatch]) -> dict[str, Any]:
    """``routed``: accuracy of the route taken (the default route counts as wrong), the
    share sent to the default route, and ``chat_sink`` — the share of rows of other tasks
    routed to ``chat``; ``slices``: the same accuracy per language (``lang``), for English
    against every other language, and per prompt shape (``shape``), where rows say."""
    routes = [route_of(m) for m in matches]
    not_chat = [r for e, r in zip(examples, routes, strict=True) if e.task != "chat"]
    groups: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for e, m, r in zip(examples, matches, routes, strict=True):
        hit = (m.task == e.task, r == e.task)
        if e.lang:
            groups[f"lang:{e.lang}"].append(hit)
            groups["language:" + ("english" if e.lang == "en" else "other")].append(hit)
        if e.shape:
            groups[f"shape:{e.shape}"].append(hit)
    return {
        "routed": {
            "accuracy": _share([r == e.task for e, r in zip(examples, routes, strict=True)]),
            "default_share": _share([r == DEFAULT for r in routes]),
            "chat_sink": _share([r == "chat" for r in not_chat]),
        },
        "slices": {
            name: {
                "n": len(hits),
                "accuracy": _share([h[0] for h in hits]),
                "routed_accuracy": _share([h[1] for h in hits]),
            }
            for name, hits in sorted(groups.items())
        },
    }


def _share(flags: Sequence[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0
