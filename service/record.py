"""What the service knows about one request while it is served: filled in as it goes (the
middleware, the route, the SSE stream), read by the request log line and the outcome record."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from router.types import Answer, Completion, Decision
from service.rate_limits import Admission


@dataclass(slots=True)
class RequestRecord:
    request_id: str
    endpoint: str
    started: float = field(default_factory=time.perf_counter)  # perf_counter seconds
    tenant: str = "default"
    prompt: str | None = None  # the last user message (2,000 characters at most)
    status: int | None = None  # None until the response starts
    error: str | None = None  # the error code, when it failed
    counted: bool = False  # in semroute_requests_total, once: answered, or failed with its code
    decision: Decision | None = None
    answer: Answer[Completion] | None = None  # final: a stream's once it is closed
    limits: Admission | None = None  # [limits]: what the request was counted against
    tokens: int = 0  # what the answer used, settled against the token limits
