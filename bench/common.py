"""Helpers shared by the benchmark scripts: machine description, medians, paths."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from router import Router

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SHARED = ROOT.parent / "shared" / "data"
TRAIN_FILES = [
    ROOT / "training/data" / name
    for name in (
        "public_train.jsonl",
        "seed_prompts.jsonl",
        "seed_prompts_2.jsonl",
    )
]
EVAL_FILES = {
    "dev": SHARED / "routing/dev.jsonl",
    "realistic_holdout": ROOT / "training/data/realistic_holdout.jsonl",
    "written_holdout": ROOT / "training/data/eval_written.jsonl",
    "multilingual_holdout": ROOT / "training/data/multilingual_holdout.jsonl",
    "multilingual_chat_holdout": ROOT / "training/data/multilingual_chat_holdout.jsonl",
}

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def machine() -> dict[str, object]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


async def route_each(router: Router, texts: Sequence[str]) -> list[float]:
    """``Router.route()`` on one single-message request at a time → milliseconds each."""
    from router.types import ChatRequest, Message

    samples = []
    for text in texts:
        request = ChatRequest(messages=(Message(role="user", content=text),))
        start = time.perf_counter()
        await router.route(request)
        samples.append((time.perf_counter() - start) * 1e3)
    return samples
