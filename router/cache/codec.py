"""The wire format of the shared semantic cache in Redis: entries and stream events.

An entry is stored as its ``Entry.to_json()`` with the vector replaced by ``vector_b64``
(base64 of little-endian float32); ``decode_entry`` also reads a plain ``vector`` list. A
stream event has the fields ``op`` (add | del | clear), ``origin`` (the writer's replica id)
and ``ids`` (a JSON list; exactly one id for add). ``router.cache.redis_sync`` moves them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence

import numpy as np
from redis.typing import EncodableT, FieldT

from router.cache.semantic import Entry


def encode_entry(entry: Entry) -> str:
    raw = entry.to_json()
    del raw["vector"]
    vector = np.ascontiguousarray(entry.vector, dtype="<f4")
    raw["vector_b64"] = base64.b64encode(vector.tobytes()).decode("ascii")
    return json.dumps(raw, separators=(",", ":"))


def decode_entry(text: str, dim: int) -> Entry:
    """Raises: ValueError (bad JSON, missing or unknown fields, wrong dimension)."""
    try:
        raw = json.loads(text)
        b64 = raw.pop("vector_b64", None)
        vector = (
            np.frombuffer(base64.b64decode(b64), dtype="<f4").astype(np.float32)
            if b64 is not None
            else np.asarray(raw["vector"], np.float32)
        )
        if vector.shape != (dim,):
            raise ValueError(f"vector of shape {vector.shape}, expected ({dim},)")
        return Entry.from_json({**raw, "vector": vector})
    except (TypeError, KeyError, AttributeError, ValueError) as exc:
        raise ValueError(f"bad cache entry: {exc}") from exc


def encode_event(op: str, origin: str, ids: Sequence[str]) -> dict[FieldT, EncodableT]:
    """The stream fields of one event."""
    return {"op": op, "origin": origin, "ids": json.dumps(ids)}


def decode_event(fields: Mapping[str, str]) -> tuple[str, list[str]] | None:
    """(op, ids) of an event; None for a malformed one."""
    try:
        op, ids = fields["op"], json.loads(fields["ids"])
    except (KeyError, ValueError):
        op, ids = "", None
    if isinstance(ids, list) and (op in ("del", "clear") or (op == "add" and len(ids) == 1)):
        return op, [str(i) for i in ids]
    return None
