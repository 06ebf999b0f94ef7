"""The Router facade: route() is request-path steps 1–5; complete() and stream() execute."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from router.balancer import Balancer
from router.breaker import BreakerRegistry
from router.calls import StreamStart, complete_call, open_stream
from router.centroids import CentroidSet, load_centroids
from router.config import Config
from router.conversation import Turns, blend, last_weight, user_turns
from router.deployments import ProviderSet, build_providers
from router.embedding import Encoder, Vectors, encode_async
from router.errors import InvalidRequest
from router.fallback import Executed, FallbackChain
from router.selection import select
from router.tokens import estimate_prompt_tokens
from router.types import BudgetTier, ChatRequest, Completion, Decision, EmbeddedText, TaskMatch

T = TypeVar("T")
AUTO = "auto"
DEFAULT_ROUTE = "default"


@dataclass(frozen=True, slots=True)
class Embedding:
    vector: Vectors
    text: EmbeddedText


@dataclass(frozen=True, slots=True)
class Answer(Generic[T]):
    """A decision and what executing it produced."""

    decision: Decision
    executed: Executed[T]


class Router:
    """Routes and executes chat requests. Construct once at start-up; share across requests."""

    def __init__(
        self,
        config: Config,
        encoder: Encoder,
        centroids: CentroidSet,
        providers: ProviderSet | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.encoder = encoder
        self.centroids = centroids
        self.providers = providers if providers is not None else build_providers(config)
        self.breakers = BreakerRegistry(config.execution.breaker, clock)
        self.balancer = Balancer(config.execution.balancing, rng=rng, clock=clock)
        self.chain = FallbackChain(
            config,
            self.providers.providers,
            lambda model: self.providers.deployments(config, model),
            self.breakers,
            self.balancer,
            clock=clock,
            rng=rng,
        )

    @classmethod
    def from_config(
        cls, config: Config, encoder: Encoder, providers: ProviderSet | None = None
    ) -> Router:
        """Load the configured centroid version for ``encoder``; providers from the config.

        Raises:
            ArtifactError: the centroids are missing, corrupt or built for another encoder.
        """
        centroids = cls._load(config, encoder, config.routing.centroid_version)
        return cls(config, encoder, centroids, providers)

    async def complete(self, request: ChatRequest) -> Answer[Completion]:
        """Route, then execute through the fallback chain.

        Raises:
            RoutingError: no candidate, budget exhausted, or every candidate failed.
            BadRequest, ContentPolicy: the upstream refused the request (no fallback).
        """
        decision = await self.route(request)
        executed = await self.chain.run(request, decision.candidates, complete_call)
        return Answer(decision, executed)

    async def stream(self, request: ChatRequest) -> Answer[StreamStart]:
        """Route, then start a stream; fallback happens only before its first chunk.

        Raises: as ``complete``.
        """
        decision = await self.route(request)
        executed = await self.chain.run(request, decision.candidates, open_stream)
        return Answer(decision, executed)

    async def reload_credentials(self) -> dict[str, bool]:
        """Re-read every provider key (rotation without restart).

        Keys of enabled providers are swapped in place. If a disabled provider now has a key
        (or mock mode would end), the provider set is rebuilt from the config.
        Returns provider → key present.
        """
        present = self.providers.reload_credentials()
        if any(present.get(name) for name in self.providers.disabled):
            old, self.providers = self.providers, build_providers(self.config)
            self.chain.providers = self.providers.providers
            await old.aclose()
        return present

    async def aclose(self) -> None:
        await self.providers.aclose()

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
            return model, [model, *self.config.models[model].alternates]
        raise InvalidRequest(
            f"unknown model {model!r}; use 'auto', 'auto:<task>' or one of "
            f"{sorted(self.config.models)}",
            param="model",
            code="model_not_found",
        )
