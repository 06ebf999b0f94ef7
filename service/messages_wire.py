"""Between the Anthropic Messages API and semroute's OpenAI-shaped request and answer.

A Messages request becomes a ``ChatRequest`` (system → a system message, tool_result blocks →
tool messages, tool_use → tool_calls, images → image_url parts), so that it is routed, cached,
budgeted and executed like any other and may be answered by either wire protocol; the answer
comes back as a Messages response. ``cache_control`` marks stay on their text parts (the
Anthropic adapter sends them on; OpenAI caches by itself).
"""

from __future__ import annotations

import json
import uuid
from typing import Any, TypeGuard

from router.errors import BadResponse, InvalidRequest
from router.types import JSON, ChatRequest, Completion, Message, Usage
from service.messages_schemas import AnthropicMessage, Block, MessagesBody, SystemBlock, Tool

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
_CHOICES = {"auto": "auto", "any": "required", "none": "none"}
_TIERS = {"auto": "auto", "standard_only": "default"}


def to_request(body: MessagesBody) -> ChatRequest:
    """Raises: InvalidRequest when there is no text to route or a block is incomplete."""
    messages: list[Message] = []
    if body.system:
        messages.append(_system(body.system))
    for m in body.messages:
        messages.extend(_turn(m))
    if not any(m.text().strip() or m.has_image() for m in messages):
        raise InvalidRequest("the request has no text to route: every message is empty", "messages")
    extra: JSON = {"top_k": body.top_k, "cache_control": body.cache_control}
    if body.thinking is not None and body.thinking.type != "disabled":
        extra["thinking"] = body.thinking.model_dump(exclude_none=True)
    output = body.output_config
    if output is not None and output.effort is not None:
        extra["output_config"] = {"effort": output.effort}
    if body.service_tier is not None:
        extra["service_tier"] = _TIERS[body.service_tier]
    choice = body.tool_choice
    if choice is not None and choice.disable_parallel_tool_use:
        extra["parallel_tool_calls"] = False
    return ChatRequest(
        messages=tuple(messages),
        model=body.model,
        max_tokens=body.max_tokens,
        temperature=body.temperature,
        top_p=body.top_p,
        stop=tuple(body.stop_sequences) if body.stop_sequences else None,
        stream=body.stream,
        tools=tuple(_tool(t) for t in body.tools) if body.tools else None,
        tool_choice=_tool_choice(body) if choice is not None else None,
        user=body.metadata.user_id if body.metadata else None,
        response_format=_response_format(body),
        extra={k: v for k, v in extra.items() if v is not None},
    )


def _response_format(body: MessagesBody) -> JSON | None:
    output = body.output_config
    if output is None or output.format is None:
        return None
    schema = {"name": "output", "schema": output.format.schema_, "strict": True}
    return {"type": "json_schema", "json_schema": schema}


def _system(system: str | list[SystemBlock]) -> Message:
    if isinstance(system, str):
        return Message(role="system", content=system)
    return Message(role="system", content=tuple(b.model_dump(exclude_none=True) for b in system))


def _turn(m: AnthropicMessage) -> list[Message]:
    if isinstance(m.content, str):
        return [Message(role=m.role, content=m.content)]
    out: list[Message] = []
    parts: list[JSON] = []
    calls: list[JSON] = []
    for block in m.content:
        if block.type == "tool_result" and m.role == "user":
            out.append(_tool_result(block))
        elif block.type == "tool_use" and m.role == "assistant":
            calls.append(_tool_call(block))
        elif block.type == "image":
            parts.append(_image(block))
        else:  # text (with its cache_control), documents, thinking: kept as they are
            parts.append(block.model_dump(exclude_none=True))
    if parts or calls:
        content = _content(parts)
        out.append(Message(role=m.role, content=content, tool_calls=tuple(calls) or None))
    return out


def _content(parts: list[JSON]) -> str | tuple[JSON, ...] | None:
    if not parts:
        return None
    if all(p.get("type") == "text" and set(p) == {"type", "text"} for p in parts):
        return "\n".join(str(p["text"]) for p in parts)  # plain text stays a string
    return tuple(parts)


def _tool_result(block: Block) -> Message:
    if not block.tool_use_id:
        raise InvalidRequest("a tool_result block has no tool_use_id", "messages")
    content = block.content
    if isinstance(content, list):
        text = "\n".join(b.text or "" for b in content if b.type == "text")
    else:
        text = content or ""
    if block.is_error:
        text = f"Error: {text}" if text else "Error"
    return Message(role="tool", content=text, tool_call_id=block.tool_use_id)


def _tool_call(block: Block) -> JSON:
    if not block.id or not block.name:
        raise InvalidRequest("a tool_use block needs an id and a name", "messages")
    arguments = json.dumps(block.input or {})
    return {
        "id": block.id,
        "type": "function",
        "function": {"name": block.name, "arguments": arguments},
    }


def _filled(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value)


def _image(block: Block) -> JSON:
    """Raises: InvalidRequest unless the source is base64 (a media_type and data, strings) or a
    URL string."""
    source = block.source or {}
    kind, media, data, url = (source.get(k) for k in ("type", "media_type", "data", "url"))
    if kind == "base64" and _filled(media) and _filled(data):
        url = f"data:{media};base64,{data}"
    elif not (kind == "url" and _filled(url)):
        raise InvalidRequest("an image block needs a base64 or url source", "messages")
    return {"type": "image_url", "image_url": {"url": url}}


def _tool(tool: Tool) -> JSON:
    if tool.type not in (None, "custom"):  # a server tool: only Anthropic upstreams know it
        return tool.model_dump(exclude_none=True)
    fn: JSON = {"name": tool.name, "parameters": tool.input_schema or {"type": "object"}}
    if tool.description:
        fn["description"] = tool.description
    out: JSON = {"type": "function", "function": fn}
    if tool.cache_control:
        out["cache_control"] = tool.cache_control
    return out


def _tool_choice(body: MessagesBody) -> str | JSON:
    choice = body.tool_choice
    assert choice is not None
    if choice.type == "tool":  # its name is checked where the body is parsed (ToolChoice)
        return {"type": "function", "function": {"name": choice.name}}
    return _CHOICES[choice.type]


# -- the answer ---------------------------------------------------------------------------------


def stop_reason(finish_reason: str | None) -> str:
    return STOP_REASONS.get(finish_reason or "stop", "end_turn")


def usage_json(usage: Usage) -> JSON:
    """Anthropic counts cached prompt tokens apart from ``input_tokens``."""
    read = min(usage.cached_tokens, usage.prompt_tokens)
    written = min(usage.cache_write_tokens, usage.prompt_tokens - read)
    return {
        "input_tokens": usage.prompt_tokens - read - written,
        "output_tokens": usage.completion_tokens,
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": read,
    }


def tool_input(call: Any) -> JSON:
    """A tool call's arguments as the tool_use ``input`` object. Raises: BadResponse."""
    fn = call.get("function") or {}
    raw = fn.get("arguments") or "{}"
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise BadResponse(
            f"the model's tool call {fn.get('name')!r} has arguments that are not a JSON object",
            provider="",
            model="",
        )
    return parsed


def content_blocks(message: Any) -> list[JSON]:
    blocks: list[JSON] = []
    text = message.get("content")
    if isinstance(text, str) and text:
        blocks.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or ():
        fn = call.get("function") or {}
        tool_id = str(call.get("id") or f"toolu_{uuid.uuid4().hex[:24]}")
        blocks.append(
            {"type": "tool_use", "id": tool_id, "name": fn.get("name"), "input": tool_input(call)}
        )
    return blocks


def message_body(completion: Completion, model: str, info: JSON) -> JSON:
    """The Messages API response (with semroute's ``semroute`` object beside it)."""
    return {
        "id": f"msg_{uuid.uuid4().hex}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content_blocks(completion.message),
        "stop_reason": stop_reason(completion.finish_reason),
        "stop_sequence": None,
        "usage": usage_json(completion.usage),
        "semroute": info,
    }
