"""Translation between the OpenAI chat shape (router.types) and Anthropic's Messages API.

Pure functions, no I/O (streams: anthropic_stream.py; passed-through fields: anthropic_extra.py).
Malformed upstream data surfaces as KeyError / TypeError / ValueError / AttributeError for the
adapter to map to BadResponse; a request that cannot be expressed in Anthropic's format raises
``UntranslatableRequest``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from router.providers.anthropic_extra import UntranslatableRequest, apply_extra, structured_format
from router.providers.base import UpstreamCall, parse_usage
from router.types import JSON, Completion, Message, Usage

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
JSON_ONLY = (
    "Answer with exactly one JSON object and nothing else: no prose, no markdown, no code fences."
)
_TOOL_CHOICES: dict[str, JSON] = {
    "auto": {"type": "auto"},
    "required": {"type": "any"},
    "none": {"type": "none"},
}
_EMPTY_SCHEMA: JSON = {"type": "object", "properties": {}}


def request_body(call: UpstreamCall, *, default_max_tokens: int, stream: bool) -> JSON:
    """The Messages API body for ``call``. Raises: UntranslatableRequest."""
    r = call.request
    system, messages = split_messages(r.messages)
    structured = structured_format(r.response_format)
    instruction = None if structured else json_instruction(r.response_format)
    if instruction:
        system = with_instruction(system, instruction)
    body: JSON = {
        "model": call.upstream_model,
        "max_tokens": r.max_tokens or default_max_tokens,
        "messages": messages,
    }
    if structured:
        body["output_config"] = {"format": structured}
    temperature = None if r.temperature is None else min(max(r.temperature, 0.0), 1.0)
    optional: JSON = {
        "system": system or None,
        "temperature": temperature,
        # Recent Claude models reject temperature and top_p together; temperature wins.
        "top_p": r.top_p if temperature is None else None,
        "stop_sequences": list(r.stop) if r.stop else None,
        "tools": [wire_tool(t) for t in r.tools] if r.tools else None,
        # Anthropic rejects tool_choice without tools.
        "tool_choice": wire_tool_choice(r.tool_choice) if r.tools and r.tool_choice else None,
        "metadata": {"user_id": r.user} if r.user else None,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    apply_extra(body, r.extra, call.model)
    if stream:
        body["stream"] = True
    return body


System = str | list[JSON]


def with_instruction(system: System, instruction: str) -> System:
    if isinstance(system, list):
        return [*system, {"type": "text", "text": instruction}]
    return f"{system}\n\n{instruction}" if system else instruction


def split_messages(messages: Iterable[Message]) -> tuple[System, list[JSON]]:
    """(system prompt, alternating user/assistant turns); same-role neighbours are merged.

    The system prompt is a string, or a list of text blocks when a part carries
    ``cache_control`` (prompt caching needs the mark on the block)."""
    system: list[JSON] = []
    turns: list[JSON] = []
    for m in messages:
        if m.role in ("system", "developer"):
            system.extend(content_blocks(m.content))
            continue
        role = "assistant" if m.role == "assistant" else "user"
        blocks = message_blocks(m)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    if any("cache_control" in b for b in system):
        return system, turns
    return "\n\n".join(str(b.get("text", "")) for b in system if b.get("type") == "text"), turns


def message_blocks(m: Message) -> list[JSON]:
    if m.role == "tool":
        if not m.tool_call_id:
            raise UntranslatableRequest("a tool message has no tool_call_id")
        result: JSON = {"type": "tool_result", "tool_use_id": m.tool_call_id}
        if text := m.text():
            result["content"] = text
        return [result]
    blocks = content_blocks(m.content)
    if m.role == "assistant" and m.tool_calls:
        blocks.extend(tool_use_block(tc) for tc in m.tool_calls)
    return blocks


def content_blocks(content: str | tuple[Mapping[str, Any], ...] | None) -> list[JSON]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[JSON] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            if part.get("text"):
                block: JSON = {"type": "text", "text": str(part["text"])}
                if part.get("cache_control"):
                    block["cache_control"] = part["cache_control"]
                blocks.append(block)
        elif kind == "image_url":
            blocks.append(image_block(part.get("image_url")))
        else:  # already Anthropic-shaped (image, document …): the upstream validates it
            blocks.append(dict(part))
    return blocks


def image_block(ref: Any) -> JSON:
    url = ref.get("url") if isinstance(ref, Mapping) else ref
    if not isinstance(url, str):
        raise UntranslatableRequest("an image_url part has no url")
    if url.startswith("data:"):
        header, comma, data = url[5:].partition(",")
        media_type, *params = header.split(";")
        if not comma or "base64" not in params:
            raise UntranslatableRequest("image data URLs must be base64-encoded")
        source: JSON = {"type": "base64", "media_type": media_type, "data": data}
        return {"type": "image", "source": source}
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise UntranslatableRequest("image urls must be http(s) or base64 data URLs")


def tool_use_block(tc: Any) -> JSON:
    fn = tc.get("function") if isinstance(tc, Mapping) else None
    if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
        raise UntranslatableRequest("an assistant tool call has no function name")
    if not isinstance(tc.get("id"), str):
        raise UntranslatableRequest("an assistant tool call has no id")
    args = fn.get("arguments") or "{}"
    try:
        parsed = json.loads(args) if isinstance(args, str) else args
    except ValueError as exc:
        raise UntranslatableRequest(f"tool call {tc.get('id')}: arguments are not JSON") from exc
    if not isinstance(parsed, dict):
        raise UntranslatableRequest(f"tool call {tc.get('id')}: arguments are not a JSON object")
    return {"type": "tool_use", "id": tc.get("id"), "name": fn.get("name"), "input": parsed}


def wire_tool(tool: Mapping[str, Any]) -> JSON:
    if tool.get("type") != "function":
        return dict(tool)  # an Anthropic-native tool, passed through
    fn = tool.get("function")
    if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
        raise UntranslatableRequest("a function tool has no name")
    schema = fn.get("parameters") or _EMPTY_SCHEMA
    if not isinstance(schema, Mapping):
        raise UntranslatableRequest(f"tool {fn['name']}: parameters is not a JSON Schema object")
    out: JSON = {"name": fn["name"], "input_schema": schema}
    if fn.get("description"):
        out["description"] = fn["description"]
    if tool.get("cache_control"):
        out["cache_control"] = tool["cache_control"]
    return out


def wire_tool_choice(choice: str | Mapping[str, Any]) -> JSON:
    if isinstance(choice, str):
        if choice not in _TOOL_CHOICES:
            raise UntranslatableRequest(f"unknown tool_choice {choice!r}")
        return dict(_TOOL_CHOICES[choice])
    if choice.get("type") == "function":
        fn = choice.get("function")
        if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
            raise UntranslatableRequest("tool_choice names no function")
        return {"type": "tool", "name": fn["name"]}
    return dict(choice)


def json_instruction(response_format: Mapping[str, Any] | None) -> str | None:
    """Anthropic has no JSON mode: the system prompt asks for it instead."""
    kind = (response_format or {}).get("type")
    if kind == "json_object":
        return JSON_ONLY
    if kind == "json_schema" and response_format is not None:
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, Mapping) else None
        if schema:
            return f"{JSON_ONLY} It must validate against this JSON Schema: {json.dumps(schema)}"
        return JSON_ONLY
    return None


def finish_reason(stop_reason: Any) -> str | None:
    return None if stop_reason is None else FINISH_REASONS.get(str(stop_reason), "stop")


def usage(raw: Any) -> Usage:
    """Anthropic counts cached prompt tokens apart from input_tokens; OpenAI counts them in
    (and reports the cache reads as ``prompt_tokens_details.cached_tokens``)."""
    base = parse_usage(raw)
    if not isinstance(raw, Mapping):
        return base
    read = int(raw.get("cache_read_input_tokens") or 0)
    written = int(raw.get("cache_creation_input_tokens") or 0)
    return Usage(
        base.prompt_tokens + read + written,
        base.completion_tokens,
        cached_tokens=read,
        cache_write_tokens=written,
        details={"prompt_tokens_details": {"cached_tokens": read}} if read or written else {},
    )


def parse_message(data: Any) -> Completion:
    """A Messages API response as a Completion. Raises: KeyError / TypeError / AttributeError."""
    blocks = data["content"]
    if not isinstance(blocks, list):
        raise TypeError("content is not a list")
    text = "".join(str(b["text"]) for b in blocks if b.get("type") == "text")
    calls = [
        {
            "id": str(b["id"]),
            "type": "function",
            "function": {"name": str(b["name"]), "arguments": json.dumps(b.get("input") or {})},
        }
        for b in blocks
        if b.get("type") == "tool_use"
    ]
    message: JSON = {"role": "assistant", "content": text if text or not calls else None}
    if calls:
        message["tool_calls"] = calls
    return Completion(
        id=str(data.get("id", "")),
        upstream_model=str(data.get("model", "")),
        message=message,
        finish_reason=finish_reason(data.get("stop_reason")),
        usage=usage(data.get("usage")),
        created=int(time.time()),
    )
