"""The records of the outcome log: one per routed request, one per piece of feedback.

The service writes them (``to_json``) and the training pipeline reads them back
(``parse_record``); both go through these types. A log may hold records from older versions or
lines written by hand: reading is lenient (a field of the wrong type reads as absent), and a
line that is neither kind is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Attempted:
    """The answer part of an outcome: who answered, after which attempts, at what cost."""

    model: str
    provider: str
    attempts: tuple[Mapping[str, Any], ...] = ()
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class Routed:
    """The decision part of an outcome: the task match, the route, the tier, the cache."""

    route: str
    task: str | None = None
    scores: Mapping[str, float] | None = None
    margin: float | None = None
    confident: bool | None = None
    decided_by: str | None = None
    centroid_version: str = ""
    tier: str = ""
    cache_hit: bool = False
    cache_similarity: float | None = None


@dataclass(frozen=True, slots=True)
class OutcomeRecord:
    """One request through /v1/chat/completions, /v1/messages or /v1/route."""

    request_id: str
    time: str  # ISO 8601, UTC, milliseconds
    endpoint: str
    tenant: str = "default"
    status: int = 499  # the client went away before a status was sent
    error: str | None = None
    latency_ms: float = 0.0
    text_sha256: str | None = None
    text: str | None = None  # only with ``outcomes.include_text``
    routed: Routed | None = None
    answered: Attempted | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "outcome",
            "request_id": self.request_id,
            "time": self.time,
            "endpoint": self.endpoint,
            "tenant": self.tenant,
            "status": self.status,
            "error": self.error,
            "latency_ms": self.latency_ms,
            "text_sha256": self.text_sha256,
        }
        if self.text is not None:
            out["text"] = self.text
        if (r := self.routed) is not None:
            out.update(
                task=r.task,
                scores=dict(r.scores) if r.scores is not None else None,
                margin=r.margin,
                confident=r.confident,
                decided_by=r.decided_by,
                route=r.route,
                centroid_version=r.centroid_version,
                tier=r.tier,
                cache_hit=r.cache_hit,
                cache_similarity=r.cache_similarity,
            )
        if (a := self.answered) is not None:
            out.update(
                model=a.model,
                provider=a.provider,
                attempts=[dict(x) for x in a.attempts],
                tokens={"prompt": a.prompt_tokens, "completion": a.completion_tokens},
                cost_usd=a.cost_usd,
            )
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> OutcomeRecord:
        """Raises: KeyError / TypeError when ``raw`` has no string request_id."""
        rid = raw["request_id"]
        if not isinstance(rid, str):
            raise TypeError("request_id is not a string")
        routed = None
        if isinstance(raw.get("route"), str):
            scores = _get(raw, "scores", dict)
            routed = Routed(
                route=raw["route"],
                task=_get(raw, "task", str),
                scores={str(k): float(v) for k, v in scores.items()} if scores else None,
                margin=_num(raw.get("margin")),
                confident=_get(raw, "confident", bool),
                decided_by=_get(raw, "decided_by", str),
                centroid_version=_get(raw, "centroid_version", str) or "",
                tier=_get(raw, "tier", str) or "",
                cache_hit=bool(raw.get("cache_hit")),
                cache_similarity=_num(raw.get("cache_similarity")),
            )
        answered = None
        if isinstance(raw.get("model"), str):
            tokens = _get(raw, "tokens", dict) or {}
            answered = Attempted(
                model=raw["model"],
                provider=_get(raw, "provider", str) or "",
                attempts=tuple(a for a in _get(raw, "attempts", list) or () if isinstance(a, dict)),
                prompt_tokens=int(_num(tokens.get("prompt")) or 0),
                completion_tokens=int(_num(tokens.get("completion")) or 0),
                cost_usd=_num(raw.get("cost_usd")) or 0.0,
            )
        return cls(
            request_id=rid,
            time=_get(raw, "time", str) or "",
            endpoint=_get(raw, "endpoint", str) or "",
            tenant=_get(raw, "tenant", str) or "default",
            status=int(_num(raw.get("status")) or 499),
            error=_get(raw, "error", str),
            latency_ms=_num(raw.get("latency_ms")) or 0.0,
            text_sha256=_get(raw, "text_sha256", str),
            text=_get(raw, "text", str),
            routed=routed,
            answered=answered,
        )


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """A client's verdict on an earlier request (joined to its outcome by request id)."""

    request_id: str
    time: str
    tenant: str = "default"
    rating: str | None = None  # "good" | "bad" when the client rated it
    correct_task: str | None = None
    comment: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "feedback",
            "request_id": self.request_id,
            "time": self.time,
            "tenant": self.tenant,
            "rating": self.rating,
            "correct_task": self.correct_task,
            "comment": self.comment,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> FeedbackRecord:
        """Raises: KeyError / TypeError when ``raw`` has no string request_id."""
        rid = raw["request_id"]
        if not isinstance(rid, str):
            raise TypeError("request_id is not a string")
        return cls(
            request_id=rid,
            time=_get(raw, "time", str) or "",
            tenant=_get(raw, "tenant", str) or "default",
            rating=_get(raw, "rating", str),
            correct_task=_get(raw, "correct_task", str),
            comment=_get(raw, "comment", str),
        )


def parse_record(raw: Mapping[str, Any]) -> OutcomeRecord | FeedbackRecord | None:
    """The record a logged JSON object holds, or None when it is neither kind (or has no
    request id)."""
    kind = raw.get("type")
    try:
        if kind == "outcome":
            return OutcomeRecord.from_json(raw)
        if kind == "feedback":
            return FeedbackRecord.from_json(raw)
    except (KeyError, TypeError, ValueError):
        return None
    return None


def _get(raw: Mapping[str, Any], key: str, kind: type[_T]) -> _T | None:
    value = raw.get(key)
    if kind is not bool and isinstance(value, bool):
        return None
    return value if isinstance(value, kind) else None


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
