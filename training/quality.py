"""Per-model outcome data: the quality file and the rows it holds.

A quality file is JSONL: ``text``, and per model either ``correct: {model: bool}`` or
``scores: {model: float in [0, 1]}`` (both may appear: a score wins), with optional
``label``, ``source`` and ``router_task``. Each line becomes a ``QualityRow``, which
``training.prices`` prices and ``training.evaluate_cost`` evaluates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from router.errors import InvalidRequest

__all__ = ["QualityRow", "load_quality"]


@dataclass(frozen=True, slots=True)
class QualityRow:
    """One prompt and how well each model answered it (1.0 / 0.0 for correct / wrong)."""

    text: str
    quality: Mapping[str, float]
    label: str | None = None
    source: str | None = None
    router_task: str | None = None


def _outcomes(row: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    correct, scores = row.get("correct", {}), row.get("scores", {})
    if not isinstance(correct, dict) or not isinstance(scores, dict):
        raise ValueError("`correct` and `scores` must be objects")
    for model, ok in correct.items():
        if not isinstance(ok, bool):
            raise ValueError(f"correct[{model!r}] must be true or false")
        out[model] = float(ok)
    for model, score in scores.items():
        if not isinstance(score, int | float) or not 0.0 <= float(score) <= 1.0:
            raise ValueError(f"scores[{model!r}] must be a number in [0, 1]")
        out[model] = float(score)
    if not out:
        raise ValueError("no `correct` or `scores` for any model")
    return out


def _optional(row: dict[str, Any], key: str) -> str | None:
    value = row.get(key)
    return value if isinstance(value, str) and value else None


def load_quality(path: Path) -> list[QualityRow]:
    """Read a quality file (blank lines skipped).

    Raises:
        InvalidRequest: the file is missing, or a line is not a valid row (named by number).
    """
    try:
        # Only "\n" ends a row: JSON strings may hold U+2028 and other characters that
        # str.splitlines() would also split on.
        lines = path.read_text(encoding="utf-8").split("\n")
    except (FileNotFoundError, IsADirectoryError):
        raise InvalidRequest(f"data file not found: {path}", param="data") from None
    rows: list[QualityRow] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
                raise ValueError("expected an object with a string `text`")
            quality = _outcomes(raw)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            raise InvalidRequest(f"{path}:{number}: {exc}", param="data") from exc
        label, source, task = (_optional(raw, k) for k in ("label", "source", "router_task"))
        rows.append(QualityRow(raw["text"], quality, label, source, task))
    return rows
