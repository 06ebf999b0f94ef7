"""Routing policies for the cost evaluation, and semroute's own.

A ``Policy`` maps prompts to the model each is sent to; a ``ScoredPolicy`` also says how much
each prompt needs the strong model (its ``hardness``), which the evaluation sweeps a threshold
over. ``semroute_policy`` routes as the router does: classify with the centroids, then take the
first model of the task's preference from the prices file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from router.classify import CentroidSet
from router.encoders import Encoder
from router.types import TaskMatch
from training.prices import DEFAULT_ROUTE, Prices

if TYPE_CHECKING:
    from router import Router

Policy = Callable[[list[str]], list[str]]
Hardness = Callable[[list[str]], list[float]]


@runtime_checkable
class ScoredPolicy(Protocol):
    """A policy that also scores how much each prompt needs the strong model."""

    def __call__(self, texts: list[str]) -> list[str]: ...

    def hardness(self, texts: list[str]) -> list[float]: ...


@dataclass(slots=True)
class SemroutePolicy:
    """Classify with the centroids; take the first model of the task's preference (the
    ``default`` one when the match is not confident, as the router does).

    ``hardness`` = best score of a *hard* task (one whose first choice is not the cheapest
    model) minus the best score of any other task: above 0 ≈ the policy picks the strong model.
    """

    centroids: CentroidSet
    encoder: Encoder
    preference: dict[str, list[str]]
    hard: frozenset[str]
    batch: int = 128
    progress: bool = False
    _seen: dict[str, TaskMatch] = field(default_factory=dict)

    def matches(self, texts: list[str]) -> list[TaskMatch]:
        """Classify each text (each distinct text is embedded once, in batches)."""
        from training.embed import embed_examples

        new = list(dict.fromkeys(t for t in texts if t not in self._seen))
        if new:
            vectors = embed_examples(self.encoder, new, batch=self.batch, progress=self.progress)
            self._seen.update(zip(new, self.centroids.classify(vectors), strict=True))
        return [self._seen[t] for t in texts]

    def route(self, match: TaskMatch) -> str:
        return match.task if match.confident and match.task in self.preference else DEFAULT_ROUTE

    def __call__(self, texts: list[str]) -> list[str]:
        return [self.preference[self.route(m)][0] for m in self.matches(texts)]

    def hardness(self, texts: list[str]) -> list[float]:
        def top(scores: Mapping[str, float], hard: bool) -> float:
            return max((s for t, s in scores.items() if (t in self.hard) == hard), default=-2.0)

        return [top(m.scores, True) - top(m.scores, False) for m in self.matches(texts)]


def semroute_policy(
    router_or_centroids: Router | CentroidSet,
    encoder: Encoder,
    prices: Prices,
    *,
    models: Sequence[str] | None = None,
    batch: int = 128,
    progress: bool = False,
) -> SemroutePolicy:
    """semroute's routing among ``models`` (default: every priced model), ranked per task by
    ``prices.policy``."""
    centroids = (
        router_or_centroids
        if isinstance(router_or_centroids, CentroidSet)
        else router_or_centroids.centroids
    )
    candidates = list(models or prices.models)
    routes = [*centroids.tasks, DEFAULT_ROUTE]
    preference = {t: prices.preference(t, candidates) for t in routes}
    cheapest = min(candidates, key=prices.typical_cost)
    hard = frozenset(t for t in centroids.tasks if preference[t][0] != cheapest)
    return SemroutePolicy(centroids, encoder, preference, hard, batch=batch, progress=progress)
