"""Request-path steps 1–5, the decision: budget view, embed and classify, select, cache.

``Router.route()`` is this alone; ``complete()`` and ``stream()`` start with it. Nothing is
executed or spent here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from router.budget import BudgetView, Spending
from router.cache import CacheMemory, Entry
from router.classify import MULTILINGUAL, STATIC, Embedding, TaskClassifier, Turns, user_turns
from router.config import Config
from router.selection import AUTO, DEFAULT_ROUTE, explicit_route, ranked_models, select_for
from router.tokens import estimate_prompt_tokens
from router.types import BudgetTier, ChatRequest, Decision, EmbeddedText, TaskMatch

STATIC_NOT_LOOKED_UP = (
    "not looked up: the static first stage decided the task (answering the request looks up)"
)
MULTILINGUAL_NOT_LOOKED_UP = (
    "not looked up: the multilingual stage decided the task (answering the request looks up)"
)
# A stage other than the transformer decided: a lookup would cost the transformer embedding
# that stage saved (the cache lives in the transformer's space).
NOT_LOOKED_UP = {STATIC: STATIC_NOT_LOOKED_UP, MULTILINGUAL: MULTILINGUAL_NOT_LOOKED_UP}
# The cache compares text: the same question about two pictures would share an answer.
IMAGES_NOT_CACHED = "not cached: the request has images (the cache compares text only)"


@dataclass(frozen=True, slots=True)
class Decided:
    """Steps 1–5 for one request: the decision, the transformer's embedding (the cache's
    space; None when nothing needed it) and, on a cache hit, the entry that answers."""

    decision: Decision
    embedding: Embedding | None = None
    hit: Entry | None = None


@dataclass(frozen=True, slots=True)
class _Classified:
    route: str
    ranked: list[str]
    version: str
    match: TaskMatch | None = None
    embedded: EmbeddedText | None = None
    embedding: Embedding | None = None


async def decide(
    request: ChatRequest,
    config: Config,
    classifier: TaskClassifier,
    spending: Spending,
    memory: CacheMemory,
    *,
    for_answer: bool = True,
) -> Decided:
    """The decision for ``request``. ``for_answer`` False (``route()``): a task the static
    first stage decided is not looked up in the cache, which would cost the transformer
    embedding it saved.

    Raises:
        InvalidRequest: ``model`` names neither ``auto``, ``auto:<task>`` nor a catalogue model.
        NoCandidate: no model meets the request's requirements.
        BudgetUnavailable: the shared budget ledger is down and fail-closed.
    """
    started = time.perf_counter()
    view = await _budget(spending, request)
    tier = view.tier if view else BudgetTier.QUALITY
    turns = user_turns(request.messages, config.context)
    got = await _classify(request, config, classifier, turns)
    classified = time.perf_counter()
    priority = request.priority or config.routing.default_priority
    requirements = request.requirements(estimate_prompt_tokens(request.messages))
    selection = select_for(config, got.route, got.ranked, requirements, priority, tier, request)
    decision = Decision(
        match=got.match,
        route=got.route,
        candidates=selection.candidates,
        skipped=selection.skipped,
        priority=priority,
        budget_tier=tier,
        centroid_version=got.version,
        embedded=got.embedded,
        requirements=requirements,
        budget_remaining=round(view.remaining_fraction, 4) if view else None,
        task=got.match.task if got.match else (got.route if got.route in config.tasks else None),
    )
    decision, embedding, hit = await _consult_cache(
        request,
        config,
        classifier,
        memory,
        decision,
        got,
        turns,
        for_answer=for_answer,
        cache_only=selection.cache_only,
    )
    done = time.perf_counter()
    timings = {"classify_ms": (classified - started) * 1e3, "route_ms": (done - started) * 1e3}
    decision = replace(decision, latency_ms={k: round(v, 3) for k, v in timings.items()})
    return Decided(decision, embedding, hit)


async def _consult_cache(
    request: ChatRequest,
    config: Config,
    classifier: TaskClassifier,
    memory: CacheMemory,
    decision: Decision,
    got: _Classified,
    turns: Turns,
    *,
    for_answer: bool,
    cache_only: bool,
) -> tuple[Decision, Embedding | None, Entry | None]:
    """Step 5: the decision with what the cache said, the embedding, and a hit's entry."""
    match, embedding, task = got.match, got.embedding, decision.task
    if not memory.consulted(task):
        return replace(decision, cache=memory.skipped(task)), embedding, None
    if decision.requirements.vision:  # skipped: nor is the answer written back
        return replace(decision, cache=memory.skipped(task, IMAGES_NOT_CACHED)), embedding, None
    skip = NOT_LOOKED_UP.get(match.stage) if match is not None and embedding is None else None
    if skip is not None and not for_answer:
        return replace(decision, cache=memory.skipped(task, skip)), embedding, None
    if embedding is None:
        embedding = await classifier.embed(turns)
    answering = decision.candidates
    if cache_only:  # no model may be called: answers of the cheapest capable model's tier
        answering = select_for(
            config,
            got.route,
            got.ranked,
            decision.requirements,
            decision.priority,
            BudgetTier.ECONOMY,
            request,
        ).candidates
    found = await memory.look_up(request, decision.budget_tier, embedding.vector, task, answering)
    return replace(decision, cache=found.info), embedding, found.entry


async def _classify(
    request: ChatRequest, config: Config, classifier: TaskClassifier, turns: Turns
) -> _Classified:
    """Steps 1–2: the route the request names, or (``auto``) the task its text matches."""
    route, ranked = explicit_route(config, request.model)
    if route != AUTO:
        return _Classified(route, ranked, classifier.centroids.version)
    match, embedded, embedding = await classifier.classify(turns)
    route = match.task if match.confident else DEFAULT_ROUTE
    return _Classified(
        route,
        ranked_models(config, route),
        classifier.version_of(match),
        match,
        embedded,
        embedding,
    )


async def _budget(spending: Spending, request: ChatRequest) -> BudgetView | None:
    if not spending.enabled:
        return None
    who = request.budget_scope or request.tenant
    return await spending.view(who, request.priority_class)
