"""GET /v1/models: ``auto``, ``auto:<task>`` and every catalogue model, in the OpenAI list
shape (or Anthropic's, for clients that send ``anthropic-version``), so that SDKs and chat
front ends can discover what to send as ``model``."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from router.config import Config
from router.errors import InvalidRequest
from router.selection import AUTO
from service.context import Caller, get_caller
from service.errors import ERROR_RESPONSES
from service.state import get_state

router = APIRouter(tags=["models"], responses=ERROR_RESPONSES)
_STARTED = int(time.time())


def _entry(
    model_id: str, owner: str, names: list[str], config: Config, about: str
) -> dict[str, Any]:
    models = [config.models[n] for n in dict.fromkeys(names)]
    return {
        "id": model_id,
        "object": "model",
        "created": _STARTED,
        "owned_by": owner,
        "description": about,
        "context_window": max(m.context_window for m in models),
        "capabilities": sorted({c.value for m in models for c in m.capabilities}),
    }


def catalogue(config: Config, caller: Caller) -> list[dict[str, Any]]:
    """The model list: routes first (their window and capabilities are their models' best),
    then the catalogue models this caller may name."""
    allowed = caller.allowed_models
    everything = list(config.models)
    out = [_entry(AUTO, "semroute", everything, config, "semroute picks the model per request")]
    for task, route in config.tasks.items():
        about = f"routed as task {task!r}: {', '.join(route.models)}"
        out.append(_entry(f"{AUTO}:{task}", "semroute", route.models, config, about))
    for name, model in config.models.items():
        if allowed is not None and name not in allowed:
            continue
        entry = _entry(name, model.provider, [name], config, f"{model.tier.value} tier")
        entry["tier"] = model.tier.value
        out.append(entry)
    return out


def _anthropic_shape(entries: list[dict[str, Any]]) -> dict[str, Any]:
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(_STARTED))
    data = [
        {"type": "model", "id": e["id"], "display_name": e["id"], "created_at": created}
        | {"max_input_tokens": e["context_window"]}
        | {k: e[k] for k in ("context_window", "capabilities")}
        for e in entries
    ]
    first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
    return {"data": data, "has_more": False, "first_id": first, "last_id": last}


@router.get("/v1/models", summary="The models a client may name: auto, auto:<task>, catalogue")
async def list_models(request: Request, caller: Annotated[Caller, Depends(get_caller)]) -> Any:
    entries = catalogue(get_state(request).config, caller)
    if "anthropic-version" in request.headers:
        return JSONResponse(_anthropic_shape(entries))
    return JSONResponse({"object": "list", "data": entries})


@router.get("/v1/models/{model_id:path}", summary="One model of the list")
async def get_model(
    model_id: str, request: Request, caller: Annotated[Caller, Depends(get_caller)]
) -> Any:
    """Raises: InvalidRequest (404, ``model_not_found``) for a name not in the list."""
    for entry in catalogue(get_state(request).config, caller):
        if entry["id"] == model_id:
            if "anthropic-version" in request.headers:
                return JSONResponse(_anthropic_shape([entry])["data"][0])
            return JSONResponse(entry)
    config = get_state(request).config
    why = "this API key may not use it" if model_id in config.models else "unknown model"
    raise InvalidRequest(
        f"{why} ({model_id!r}): GET /v1/models lists the models this key may name",
        param="model",
        code="model_not_found",
    )
