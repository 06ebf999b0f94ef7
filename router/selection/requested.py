"""Which ranked model list a request starts from: ``auto``, ``auto:<task>`` or a named model."""

from __future__ import annotations

from router.config import Config
from router.errors import InvalidRequest, NoCandidate
from router.providers import unsupported
from router.selection.candidates import Selection, select
from router.types import BudgetTier, ChatRequest, Priority, Requirements

AUTO = "auto"
DEFAULT_ROUTE = "default"


def explicit_route(config: Config, model: str) -> tuple[str, list[str]]:
    """(route, ranked models) for a request's ``model``; ``(AUTO, [])`` means classify.

    Raises:
        InvalidRequest: an unknown model or task (code ``model_not_found``).
    """
    if model == AUTO:
        return AUTO, []
    if model.startswith(f"{AUTO}:"):
        task = model.removeprefix(f"{AUTO}:")
        if task not in config.tasks:
            raise InvalidRequest(
                f"unknown task {task!r} in model {model!r}; expected one of {sorted(config.tasks)}",
                param="model",
                code="model_not_found",
            )
        return task, config.tasks[task].models
    if model in config.models:
        return model, [model, *config.models[model].alternates]
    raise InvalidRequest(
        f"unknown model {model!r}; use 'auto', 'auto:<task>' or one of {sorted(config.models)}",
        param="model",
        code="model_not_found",
    )


def ranked_models(config: Config, route: str) -> list[str]:
    if route in config.tasks:
        return config.tasks[route].models
    return config.routing.default_route


def select_for(
    config: Config,
    route: str,
    ranked: list[str],
    requirements: Requirements,
    priority: Priority,
    tier: BudgetTier,
    request: ChatRequest,
) -> Selection:
    """``select`` with the request's key allow-list applied and without the models that
    cannot honour its passed-through fields (cache only when the budget is exhausted).

    Raises:
        InvalidRequest: only the request's fields stand in the way (``unsupported_field``).
        NoCandidate: no model meets the request's requirements.
    """
    task_cfg = config.tasks.get(route)
    unhonoured = unhonoured_fields(config, request)
    if route in config.models and all(m in unhonoured for m in ranked):
        # A model named explicitly is not swapped for another one over a request field.
        raise unhonoured_error({m: unhonoured[m] for m in ranked})
    barred = barred_by_key(config, request)
    fields = {m: f"cannot honour {', '.join(f)}" for m, f in unhonoured.items() if m not in barred}

    def ranking(unavailable: dict[str, str]) -> Selection:
        return select(
            route,
            ranked,
            config.models,
            requirements=requirements,
            priority=priority,
            budget_tier=tier,
            premium_required=bool(task_cfg and task_cfg.premium_required),
            unavailable=unavailable,
        )

    try:
        return ranking({**fields, **barred})
    except NoCandidate as exc:
        if fields:
            try:  # would the request be servable but for its fields? Then say so.
                ranking(barred)
            except NoCandidate:
                raise exc from None
            raise unhonoured_error(unhonoured) from exc
        raise


def barred_by_key(config: Config, request: ChatRequest) -> dict[str, str]:
    allowed = request.allowed_models
    if allowed is None:
        return {}
    return {m: "not allowed for this API key" for m in config.models if m not in allowed}


def unhonoured_fields(config: Config, request: ChatRequest) -> dict[str, list[str]]:
    """Catalogue model → the request's passed-through fields its providers cannot honour
    (none under ``[api] unsupported_fields = "drop"``)."""
    if not request.extra or config.api.unsupported_fields == "drop":
        return {}
    out: dict[str, list[str]] = {}
    for name, model in config.models.items():
        kinds = {config.providers[d.provider].kind for d in model.all_deployments()}
        fields = sorted({f for kind in kinds for f in unsupported(kind, request.extra)})
        if fields:
            out[name] = fields
    return out


def unhonoured_error(unhonoured: dict[str, list[str]]) -> InvalidRequest:
    fields = sorted({f for names in unhonoured.values() for f in names})
    return InvalidRequest(
        f"no candidate model can honour {', '.join(fields)} (models {sorted(unhonoured)} have "
        "no equivalent); remove the field(s), name a model that supports them, or set "
        '[api] unsupported_fields = "drop" to drop them with a warning',
        param=fields[0],
        code="unsupported_field",
    )
