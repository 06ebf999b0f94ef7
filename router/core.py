"""The Router facade: route() is request-path steps 1–5 (embed, classify, budget view, select,
cache); complete() and stream() go on to reserve, execute, settle and remember."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import replace

from router.budget import BudgetView, Spending, usage_cost
from router.cache import Answer, BudgetAdmission, CacheMemory, SemanticCache
from router.classify import (
    MULTILINGUAL,
    STATIC,
    CentroidSet,
    Embedding,
    FirstStage,
    MultilingualStage,
    TaskClassifier,
    load_transformer_centroids,
    user_turns,
)
from router.config import Config
from router.encoders import EmbeddingMemo, Encoder, MicroBatcher
from router.errors import BudgetExhausted
from router.execution import (
    Balancer,
    BreakerRegistry,
    Breakers,
    FallbackChain,
    ProviderSet,
    StreamSession,
    build_providers,
    complete_call,
    completion_stub,
    open_stream,
)
from router.selection import AUTO, DEFAULT_ROUTE, explicit_route, ranked_models, select_for
from router.tokens import estimate_prompt_tokens
from router.types import (
    BudgetTier,
    ChatRequest,
    Completion,
    Decision,
    EmbeddedText,
    TaskMatch,
)

STATIC_NOT_LOOKED_UP = (
    "not looked up: the static first stage decided the task (answering the request looks up)"
)
MULTILINGUAL_NOT_LOOKED_UP = (
    "not looked up: the multilingual stage decided the task (answering the request looks up)"
)


class Router:
    """Routes and executes chat requests. Construct once at start-up; share across requests."""

    def __init__(
        self,
        config: Config,
        encoder: Encoder,
        centroids: CentroidSet,
        providers: ProviderSet | None = None,
        *,
        spending: Spending | None = None,
        cache: SemanticCache | None = None,
        breakers: Breakers | None = None,
        first_stage: FirstStage | None = None,
        multilingual: MultilingualStage | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.classifier = TaskClassifier(config, encoder, centroids, first_stage, multilingual)
        self.providers = providers if providers is not None else build_providers(config)
        self.spending = spending or Spending(config.budget)
        self.memory = CacheMemory(config, cache)
        self.breakers = breakers or BreakerRegistry(config.execution.breaker, clock)
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
        cls,
        config: Config,
        encoder: Encoder,
        providers: ProviderSet | None = None,
        *,
        spending: Spending | None = None,
        cache: SemanticCache | None = None,
        breakers: Breakers | None = None,
        first_stage: FirstStage | None = None,
        multilingual: MultilingualStage | None = None,
    ) -> Router:
        """Load the configured centroid version for ``encoder``; providers from the config.

        Raises:
            ArtifactError: the centroids are missing, corrupt or built for another encoder.
        """
        centroids = load_transformer_centroids(config, encoder, config.routing.centroid_version)
        return cls(
            config,
            encoder,
            centroids,
            providers,
            spending=spending,
            cache=cache,
            breakers=breakers,
            first_stage=first_stage,
            multilingual=multilingual,
        )

    @property
    def cache(self) -> SemanticCache | None:
        return self.memory.cache

    # The classifier's parts, as callers (service, benchmarks, tests) name them.
    @property
    def encoder(self) -> Encoder:
        return self.classifier.encoder

    @property
    def centroids(self) -> CentroidSet:
        return self.classifier.centroids

    @property
    def first_stage(self) -> FirstStage | None:
        return self.classifier.first_stage

    @property
    def batcher(self) -> MicroBatcher:
        return self.classifier.batcher

    @property
    def memo(self) -> EmbeddingMemo:
        return self.classifier.memo

    # -- deciding --------------------------------------------------------------------------

    async def route(self, request: ChatRequest) -> Decision:
        """Decide which models should answer ``request``; nothing is executed or spent.

        Raises:
            InvalidRequest: ``model`` names neither ``auto``, ``auto:<task>`` nor a catalogue model.
            NoCandidate: no model meets the request's requirements.
            BudgetUnavailable: the shared budget ledger is down and fail-closed.
        """
        decision, _ = await self._decide(request, for_answer=False)
        return decision

    async def _decide(
        self, request: ChatRequest, *, for_answer: bool = True
    ) -> tuple[Decision, Embedding | None]:
        """Steps 1–5. ``for_answer`` False (``route()``): a task the static first stage decided
        is not looked up in the cache, which would cost the transformer embedding it saved."""
        started = time.perf_counter()
        view = await self._budget(request)
        tier = view.tier if view else BudgetTier.QUALITY
        match: TaskMatch | None = None
        embedding: Embedding | None = None  # the transformer's: the cache's space
        embedded: EmbeddedText | None = None
        version = self.centroids.version
        turns = user_turns(request.messages, self.config.context)
        route, ranked = explicit_route(self.config, request.model)
        if route == AUTO:
            match, embedded, embedding = await self.classifier.classify(turns)
            version = self.classifier.version_of(match)
            route = match.task if match.confident else DEFAULT_ROUTE
            ranked = ranked_models(self.config, route)
        classified = time.perf_counter()
        priority = request.priority or self.config.routing.default_priority
        requirements = request.requirements(estimate_prompt_tokens(request.messages))
        selection = select_for(self.config, route, ranked, requirements, priority, tier, request)
        decision = Decision(
            match=match,
            route=route,
            candidates=selection.candidates,
            skipped=selection.skipped,
            priority=priority,
            budget_tier=tier,
            centroid_version=version,
            embedded=embedded,
            requirements=requirements,
            budget_remaining=round(view.remaining_fraction, 4) if view else None,
            task=match.task if match else (route if route in self.config.tasks else None),
        )
        task = decision.task
        # A stage other than the transformer decided: a cache lookup would cost the transformer
        # embedding that stage saved (the cache lives in the transformer's space).
        saved = {STATIC: STATIC_NOT_LOOKED_UP, MULTILINGUAL: MULTILINGUAL_NOT_LOOKED_UP}
        skip = saved.get(match.stage) if match is not None and embedding is None else None
        if not self.memory.consulted(task):
            decision = replace(decision, cache=self.memory.skipped(task))
        elif skip is not None and not for_answer:
            decision = replace(decision, cache=self.memory.skipped(task, skip))
        else:
            if embedding is None:
                embedding = await self.classifier.embed(turns)
            # Cache-only mode (no candidates): answers of the cheapest capable model's tier.
            answering = (
                decision.candidates
                or select_for(
                    self.config, route, ranked, requirements, priority, BudgetTier.ECONOMY, request
                ).candidates
            )
            decision = await self.memory.look_up(
                request, decision, embedding.vector, task, answering
            )
        done = time.perf_counter()
        timings = {"classify_ms": (classified - started) * 1e3, "route_ms": (done - started) * 1e3}
        return replace(decision, latency_ms={k: round(v, 3) for k, v in timings.items()}), embedding

    async def _budget(self, request: ChatRequest) -> BudgetView | None:
        if not self.spending.enabled:
            return None
        who = request.budget_scope or request.tenant
        return await self.spending.view(who, request.priority_class)

    # -- executing -------------------------------------------------------------------------

    async def complete(self, request: ChatRequest) -> Answer[Completion]:
        """Route, answer from the cache when safe, else execute through the fallback chain.

        Raises:
            BudgetExhausted: nothing may be spent and the cache has no answer (429).
            RoutingError: no candidate, or every candidate failed.
            BadRequest, ContentPolicy: the upstream refused the request (no fallback).
        """
        decision, embedding = await self._decide(request)
        hit = self.memory.answer(decision)
        if hit is not None:
            return hit
        self._require_candidates(decision)
        admission = BudgetAdmission(self.spending, self.config, request, decision.route)
        executed = await self.chain.run(request, decision.candidates, complete_call, admission)
        completion = executed.result
        spec = self.config.models[executed.model]
        await self.spending.settle(executed.reservation, usage_cost(spec, completion.usage))
        answer = Answer(
            decision,
            completion,
            executed.model,
            executed.deployment.provider,
            spec.tier.value,
            executed.attempts,
            executed.reservation,
        )
        await self.memory.remember(
            request, answer, completion, embedding.vector if embedding else None
        )
        return answer

    async def stream(self, request: ChatRequest) -> StreamSession:
        """Route, then start a stream (or replay a cached answer); fallback happens only before
        the first chunk. Finish the session with ``finish()`` or ``fail()``.

        Raises: as ``complete``.
        """
        decision, embedding = await self._decide(request)
        hit = self.memory.answer(decision)
        if hit is not None:
            return StreamSession(self, request, hit, None, embedding)
        self._require_candidates(decision)
        admission = BudgetAdmission(self.spending, self.config, request, decision.route)
        executed = await self.chain.run(request, decision.candidates, open_stream, admission)
        spec = self.config.models[executed.model]
        answer = Answer(
            decision,
            completion_stub(),
            executed.model,
            executed.deployment.provider,
            spec.tier.value,
            executed.attempts,
            executed.reservation,
        )
        return StreamSession(self, request, answer, executed.result, embedding)

    @staticmethod
    def _require_candidates(decision: Decision) -> None:
        if not decision.candidates:
            raise BudgetExhausted("daily budget exhausted and no cached answer for this request")

    # -- operations ------------------------------------------------------------------------

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
        await self.spending.aclose()
        closer = getattr(self.breakers, "aclose", None)
        if closer is not None:
            await closer()

    def reload_centroids(self, version: str | None = None) -> str:
        """Swap in another centroid version (default: CURRENT); returns the version now live.

        Raises:
            ArtifactError: the new version fails verification; the old one stays live.
        """
        return self.classifier.reload(version)
