"""The Router facade: wires embedding, classification and selection (request path steps 1–5)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from router.centroids import CentroidSet, load_centroids
from router.config import Config
from router.conversation import Turns, blend, last_weight, user_turns
from router.embedding import Encoder, Vectors, encode_async
from router.errors import InvalidRequest
from router.selection import select
from router.tokens import estimate_prompt_tokens
from router.types import BudgetTier, ChatRequest, Decision, EmbeddedText, TaskMatch

AUTO = "auto"
DEFAULT_ROUTE = "default"


@dataclass(frozen=True, slots=True)
class Embedding:
    vector: Vectors
    text: EmbeddedText


class Router:
    """Routes chat requests. Construct once at start-up; share across requests."""

    def __init__(self, config: Config, encoder: Encoder, centroids: CentroidSet) -> None:
        self.config = config
        self.encoder = encoder
        self.centroids = centroids

    @classmethod
    def from_config(cls, config: Config, encoder: Encoder) -> Router:
        """Load the configured centroid version for ``encoder``.

        Raises:
            ArtifactError: the centroids are missing, corrupt or built for another encoder.
        """
        return cls(config, encoder, cls._load(config, encoder, config.routing.centroid_version))

    @staticmethod
    def _load(config: Config, encoder: Encoder, version: str | None) -> CentroidSet:
        return load_centroids(
            config.routing.centroids_dir, version, encoder_name=encoder.name, dim=encoder.dim
        )

    def reload_centroids(self, version: str | None = None) -> str:
        """Swap in another centroid version (default: CURRENT); returns the version now live.

        Raises:
            ArtifactError: the new version fails verification; the old one stays live.
        """
        self.centroids = self._load(self.config, self.encoder, version)
        return self.centroids.version

    async def embed(self, turns: Turns) -> Embedding:
        """Embed the last user message, blended with the recent turns."""
        last, cut = self.encoder.fit_window(turns.last)
        texts = [last]
        if turns.context:
            context, cut_context = self.encoder.fit_window(turns.context_text)
            texts.append(context)
            cut = cut or cut_context
        vectors = await encode_async(self.encoder, texts)
        weight = last_weight(turns, self.config.context)
        vector = blend(vectors[0], vectors[1] if turns.context else None, weight)
        embedded = EmbeddedText(
            text=last,
            truncated=cut,
            original_chars=len(turns.last),
            context_turns=len(turns.context),
        )
        return Embedding(vector=vector, text=embedded)

    async def classify(self, request: ChatRequest) -> tuple[TaskMatch, Embedding]:
        embedding = await self.embed(user_turns(request.messages, self.config.context))
        return self.centroids.classify(embedding.vector)[0], embedding

    async def route(
        self, request: ChatRequest, *, budget_tier: BudgetTier = BudgetTier.QUALITY
    ) -> Decision:
        """Decide which models should answer ``request`` (nothing is executed).

        Raises:
            InvalidRequest: ``model`` names neither ``auto``, ``auto:<task>`` nor a catalogue model.
            NoCandidate: no model meets the request's requirements.
            BudgetExhausted: the budget tier is exhausted.
        """
        started = time.perf_counter()
        timings: dict[str, float] = {}
        match: TaskMatch | None = None
        embedding: Embedding | None = None
        route, ranked = self._explicit_route(request.model)
        if route == AUTO:
            match, embedding = await self.classify(request)
            timings["classify_ms"] = (time.perf_counter() - started) * 1e3
            route = match.task if match.confident else DEFAULT_ROUTE
            ranked = self._ranked(route)
        priority = request.priority or self.config.routing.default_priority
        requirements = request.requirements(estimate_prompt_tokens(request.messages))
        task_cfg = self.config.tasks.get(route)
        selection = select(
            route,
            ranked,
            self.config.models,
            requirements=requirements,
            priority=priority,
            budget_tier=budget_tier,
            premium_required=bool(task_cfg and task_cfg.premium_required),
        )
        timings["route_ms"] = (time.perf_counter() - started) * 1e3
        return Decision(
            match=match,
            route=route,
            candidates=selection.candidates,
            skipped=selection.skipped,
            priority=priority,
            budget_tier=budget_tier,
            centroid_version=self.centroids.version,
            embedded=embedding.text if embedding else None,
            requirements=requirements,
            latency_ms={k: round(v, 3) for k, v in timings.items()},
        )

    def _ranked(self, route: str) -> list[str]:
        if route in self.config.tasks:
            return self.config.tasks[route].models
        return self.config.routing.default_route

    def _explicit_route(self, model: str) -> tuple[str, list[str]]:
        if model == AUTO:
            return AUTO, []
        if model.startswith(f"{AUTO}:"):
            task = model.removeprefix(f"{AUTO}:")
            if task not in self.config.tasks:
                raise InvalidRequest(
                    f"unknown task {task!r} in model {model!r}; expected one of "
                    f"{sorted(self.config.tasks)}",
                    param="model",
                    code="model_not_found",
                )
            return task, self.config.tasks[task].models
        if model in self.config.models:
            return model, [model]
        raise InvalidRequest(
            f"unknown model {model!r}; use 'auto', 'auto:<task>' or one of "
            f"{sorted(self.config.models)}",
            param="model",
            code="model_not_found",
        )
