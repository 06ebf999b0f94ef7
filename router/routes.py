"""Which ranked model list a request starts from: ``auto``, ``auto:<task>`` or a named model."""

from __future__ import annotations

from router.config import Config
from router.errors import InvalidRequest

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
