"""The admin API (``/admin``), behind its own key. With no admin key configured it answers
403 for everything: it is never open, not even in the embedded default. Every action is logged
(what and on what; never a key)."""

from __future__ import annotations

import hmac
import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from router import Router
from router.errors import Forbidden, InvalidRequest, Unauthenticated
from router.execution import BreakerState
from service.admin_state import service_state_report
from service.context import key_digest
from service.errors import ERROR_RESPONSES
from service.reload import reload_config
from service.state import ServiceState, get_state

log = logging.getLogger("semroute.admin")


async def require_admin(request: Request) -> ServiceState:
    """Raises: Forbidden (admin API disabled), Unauthenticated (missing or wrong admin key)."""
    state = get_state(request)
    expected = state.config.auth.admin_key_sha256
    if expected is None:
        raise Forbidden("admin API disabled: set auth.admin_key_sha256 in semroute.toml")
    auth = request.headers.get("authorization", "")
    key = (
        auth[7:].strip()
        if auth.lower().startswith("bearer ")
        else request.headers.get("x-admin-key", "")
    )
    if not key or not hmac.compare_digest(key_digest(key), expected):
        raise Unauthenticated("missing or invalid admin key")
    return state


Admin = Annotated[ServiceState, Depends(require_admin)]
router = APIRouter(prefix="/admin", tags=["admin"], responses=ERROR_RESPONSES)


def _router(state: ServiceState) -> Router:
    return state.ready_router()


class Done(BaseModel):
    ok: Literal[True] = True
    action: str
    detail: dict[str, Any] = Field(default_factory=dict)


def _done(action: str, **detail: Any) -> Done:
    log.info("admin: %s %s", action, detail)
    return Done(action=action, detail=detail)


@router.get("/state", summary="Providers, breakers, budget, cache, centroids")
async def state(admin: Admin) -> dict[str, Any]:
    return await service_state_report(admin)


@router.post("/providers/{name}/{action}", summary="Manual failover: disable or enable a provider")
async def provider(name: str, action: Literal["disable", "enable"], admin: Admin) -> Done:
    engine = _router(admin)
    known = set(engine.providers.providers) | set(engine.providers.disabled)
    if name not in known:
        raise InvalidRequest(
            f"unknown provider {name!r}; known: {sorted(known)}", param="name", code="not_found"
        )
    if action == "disable":
        engine.providers.switched_off.add(name)
    else:
        engine.providers.switched_off.discard(name)
    return _done(f"provider.{action}", provider=name)


@router.post("/breakers/{deployment:path}/{action}", summary="Force a breaker open or closed")
async def breaker(deployment: str, action: Literal["open", "close", "auto"], admin: Admin) -> Done:
    forced = {"open": BreakerState.OPEN, "close": BreakerState.CLOSED, "auto": None}[action]
    await _router(admin).breakers.force(deployment, forced)
    return _done(f"breaker.{action}", deployment=deployment)


class ReloadBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    config: bool = True
    credentials: bool = True


@router.post("/reload", summary="Re-read semroute.toml and provider keys")
async def reload(admin: Admin, body: ReloadBody | None = None) -> Done:
    body = body or ReloadBody()
    detail: dict[str, Any] = {}
    if body.config:
        detail["config"] = await reload_config(admin)
    if body.credentials:
        present = await _router(admin).reload_credentials()
        detail["keys_present"] = present
    return _done("reload", **detail)


class CentroidsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str | None = Field(default=None, description="Default: the one CURRENT names")


@router.post("/centroids/reload", summary="Reload centroids, or switch to another version")
async def centroids(admin: Admin, body: CentroidsBody | None = None) -> Done:
    engine = _router(admin)
    before = engine.centroids.version
    now = engine.reload_centroids((body or CentroidsBody()).version)
    return _done("centroids.reload", previous=before, version=now)


class FlushBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entry_id: str | None = None
    namespace: str | None = None
    all: bool = False


@router.post("/cache/flush", summary="Drop one entry, one namespace, or everything")
async def flush(body: FlushBody, admin: Admin) -> Done:
    cache = _router(admin).cache
    if cache is None:
        raise InvalidRequest("the cache is disabled", code="cache_disabled")
    if sum([body.entry_id is not None, body.namespace is not None, body.all]) != 1:
        raise InvalidRequest("give exactly one of entry_id, namespace or all=true")
    if body.entry_id is not None:
        n = cache.delete([body.entry_id])
    elif body.namespace is not None:
        n = cache.invalidate_namespace(body.namespace)
    else:
        n = cache.clear()
    return _done(
        "cache.flush", removed=n, entry_id=body.entry_id, namespace=body.namespace, all=body.all
    )
