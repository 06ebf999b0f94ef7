"""Who is asking: the client key (→ tenant, allowed priorities and models, own budget) and
the priority class of a request. Keys are compared by sha256 digest; never stored or logged."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, replace

from fastapi import Request

from router import Router
from router.config import ClientKey, Config
from router.errors import Forbidden, InvalidRequest, LimitExceeded, Unauthenticated
from router.types import ChatRequest, PriorityClass
from service.observe import Observation
from service.state import ServiceState, get_observation, get_state

PRIORITY_HEADER = "x-semroute-priority"
ALL_PRIORITIES = tuple(PriorityClass)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Caller:
    tenant: str = "default"
    priority_class: PriorityClass = PriorityClass.STANDARD
    key: str | None = None  # the key's configured name (never the key)
    allowed_models: frozenset[str] | None = None
    budget_scope: str | None = None

    def apply(self, request: ChatRequest) -> ChatRequest:
        """The request as this caller may make it.

        Raises:
            Forbidden: the request names a model this key may not use.
        """
        model = request.model
        barred = self.allowed_models is not None and model not in self.allowed_models
        if barred and not model.startswith("auto"):
            raise Forbidden(f"this API key may not use model {model!r}")
        if (
            request.tenant == self.tenant
            and request.priority_class is self.priority_class
            and request.budget_scope == self.budget_scope
            and request.allowed_models == self.allowed_models
        ):
            return request  # already so (the default caller): no copy
        return replace(
            request,
            tenant=self.tenant,
            priority_class=self.priority_class,
            budget_scope=self.budget_scope,
            allowed_models=self.allowed_models,
        )


def presented_key(headers: Mapping[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return headers.get("x-api-key") or None


def find_key(config: Config, key: str) -> ClientKey | None:
    digest = key_digest(key)
    for entry in config.auth.keys:
        if hmac.compare_digest(entry.sha256, digest):
            return entry
    return None


def _priority(
    headers: Mapping[str, str], default: PriorityClass, allowed: tuple[PriorityClass, ...]
) -> PriorityClass:
    raw = headers.get(PRIORITY_HEADER)
    if raw is None:
        return default
    try:
        wanted = PriorityClass(raw.strip().lower())
    except ValueError:
        raise InvalidRequest(
            f"{PRIORITY_HEADER}: unknown priority class {raw!r}; expected one of "
            f"{[p.value for p in PriorityClass]}",
            param=PRIORITY_HEADER,
        ) from None
    if wanted not in allowed:
        raise Forbidden(f"this API key may not send priority {wanted.value!r}")
    return wanted


async def get_caller(request: Request) -> Caller:
    """``caller_of`` as a dependency; ``async`` so that FastAPI runs it inline, not in a
    worker thread."""
    return caller_of(get_state(request).config, request.headers)


def caller_of(config: Config, headers: Mapping[str, str]) -> Caller:
    """Who sent a request with these headers (lower-case names).

    Raises: Unauthenticated (401), Forbidden (403), InvalidRequest (unknown priority)."""
    if not config.auth.enabled:
        return Caller(priority_class=_priority(headers, PriorityClass.STANDARD, ALL_PRIORITIES))
    key = presented_key(headers)
    if key is None:
        raise Unauthenticated(
            "missing API key: send Authorization: Bearer <key> (or x-api-key: <key>)"
        )
    entry = find_key(config, key)
    if entry is None:
        raise Unauthenticated("invalid API key")
    allowed = tuple(dict.fromkeys([entry.priority, *entry.allowed_priorities]))
    return Caller(
        tenant=entry.tenant,
        priority_class=_priority(headers, entry.priority, allowed),
        key=entry.name,
        allowed_models=frozenset(entry.allowed_models) if entry.allowed_models else None,
        budget_scope=f"key:{entry.name}" if entry.daily_usd else None,
    )


@dataclass(frozen=True, slots=True)
class Serving:
    """What a routing endpoint needs: the router, who is asking, and the request's record."""

    engine: Router
    caller: Caller
    observation: Observation


async def get_serving(request: Request) -> Serving:
    """``serving_of`` as a dependency (one instead of three: FastAPI's per-dependency
    bookkeeping is not free)."""
    return await serving_of(get_state(request), request.headers, get_observation(request))


async def serving_of(
    state: ServiceState, headers: Mapping[str, str], observation: Observation
) -> Serving:
    """What a routing endpoint needs for a request with these headers.

    Raises: NotReady (503) first, then as ``caller_of``, then LimitExceeded (429) when the
    caller's key or tenant has spent its requests or tokens of the minute ([limits]).
    """
    engine = state.ready_router()
    caller = caller_of(state.config, headers)
    if state.limits is not None:
        key = key_named(state.config, caller.key)
        try:
            admission = await state.limits.admit(caller.tenant, key)
        except LimitExceeded:
            state.metrics.rejected.labels("rate_limit").inc()
            raise
        if admission is not None:
            observation.record.limits = admission
    return Serving(engine, caller, observation)


def key_named(config: Config, name: str | None) -> ClientKey | None:
    if name is None:
        return None
    return next((k for k in config.auth.keys if k.name == name), None)
