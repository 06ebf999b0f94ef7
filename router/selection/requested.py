"""Which ranked model list a request starts from: ``auto``, ``auto:<task>`` or a named model."""

from __future__ import annotations

from router.config import Config
from router.errors import BudgetExhausted, InvalidRequest
from router.selection.candidates import Selection, select
from router.types import BudgetTier, ChatRequest, Priority, Requirements, Skipped

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
    """``select`` with the request's key allow-list applied; an exhausted budget gives an
    empty selection (cache only) instead of an error."""
    task_cfg = config.tasks.get(route)
    allowed = request.allowed_models
    barred = {
        m: "not allowed for this API key"
        for m in config.models
        if allowed is not None and m not in allowed
    }
    try:
        return select(
            route,
            ranked,
            config.models,
            requirements=requirements,
            priority=priority,
            budget_tier=tier,
            premium_required=bool(task_cfg and task_cfg.premium_required),
            unavailable=barred,
        )
    except BudgetExhausted:
        return Selection((), (Skipped("*", "daily budget exhausted: cache only"),))
