"""A training run's report beside its centroids: report.json and confusion.png."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_report(folder: Path, report: dict[str, Any]) -> None:
    (folder / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    validation = report.get("validation")
    if validation:
        confusion_png(
            validation["confusion"],
            folder / "confusion.png",
            title=f"{folder.name}: held-out confusion (rows: true)",
        )


def confusion_png(confusion: dict[str, dict[str, int]], path: Path, *, title: str) -> None:
    """A heatmap of ``confusion[true][predicted]`` with counts in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    tasks = list(confusion)
    grid = np.array([[confusion[t][p] for p in tasks] for t in tasks], dtype=float)
    share = grid / np.maximum(grid.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(tasks)), tasks, rotation=45, ha="right")
    ax.set_yticks(range(len(tasks)), tasks)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(tasks)):
        for j in range(len(tasks)):
            if grid[i, j]:
                color = "white" if share[i, j] > 0.6 else "black"
                ax.text(
                    j, i, str(int(grid[i, j])), ha="center", va="center", color=color, fontsize=8
                )
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
