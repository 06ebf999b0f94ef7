"""What GET /admin/state reports. Key *sources* and presence only — never a key."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from router import Router
from router.budget import MICROS
from router.classify import list_versions
from router.types import PriorityClass
from service.state import ServiceState


def _providers(engine: Router) -> dict[str, Any]:
    ps = engine.providers
    out: dict[str, Any] = {}
    for name in sorted(set(engine.config.providers) | set(ps.providers)):
        cred = ps.credentials.get(name)
        out[name] = {
            "enabled": name in ps.providers and name not in ps.switched_off,
            "switched_off": name in ps.switched_off,
            "disabled_reason": ps.disabled.get(name),
            "key_source": cred.source if cred else None,
            "key_present": cred.present if cred else None,
        }
    return {"mock_mode": ps.mock_mode, "providers": out}


async def _budget(engine: Router) -> dict[str, Any]:
    spending = engine.spending
    if not spending.enabled:
        return {"enabled": False}
    scopes: dict[str, Any] = {}
    whos = ["default", *engine.config.budget.tenants, *(f"key:{k}" for k in spending.key_limits)]
    for who in whos:
        view = await spending.view(who, PriorityClass.STANDARD)
        scopes[view.scope] = {
            "limit_usd": view.state.limit_micros / MICROS,
            "spent_usd": view.state.spent_micros / MICROS,
            "reserved_usd": view.state.reserved_micros / MICROS,
            "remaining_fraction": round(view.remaining_fraction, 4),
            "tier": view.tier.value,
        }
    ratios = list(spending.estimate_ratios)
    return {
        "enabled": True,
        "day": spending.day(),
        "scopes": scopes,
        "ledger_failovers": spending.ledger.failovers,
        "estimate_ratio_mean": round(sum(ratios) / len(ratios), 4) if ratios else None,
    }


def _cache(engine: Router) -> dict[str, Any]:
    cache = engine.cache
    if cache is None:
        return {"enabled": False}
    namespaces = cache.namespaces()
    return {
        "enabled": True,
        "entries": len(cache),
        "namespaces": len(namespaces),
        "stats": asdict(cache.stats),
        "thresholds": {t.value: v for t, v in engine.config.cache.thresholds.items()},
        "verify": engine.config.cache.verify,
        "verifier": engine.config.cache.verifier,
        "decide": {
            t.value: cache.verifier.threshold_for(t.value)
            for t in engine.config.cache.thresholds
            if cache.verifier is not None
        },
    }


async def service_state_report(state: ServiceState) -> dict[str, Any]:
    engine = state.router
    report: dict[str, Any] = {
        "ready": engine is not None,
        "load_error": state.load_error,
        "draining": state.draining,
        "in_flight": state.in_flight,
        "config_path": str(state.config_path) if state.config_path else "embedded default",
    }
    if engine is None:
        return report
    root = engine.config.routing.centroids_dir
    report.update(
        providers=_providers(engine),
        breakers={d: s.value for d, s in (await engine.breakers.states()).items()},
        budget=await _budget(engine),
        cache=_cache(engine),
        centroids={"version": engine.centroids.version, "available": list_versions(root)},
    )
    return report
