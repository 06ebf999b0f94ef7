"""Who is asking: the tenant and the priority class of a request (headers now; keys later)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from fastapi import Request

from router.errors import InvalidRequest
from router.types import ChatRequest, PriorityClass

PRIORITY_HEADER = "x-semroute-priority"


@dataclass(frozen=True, slots=True)
class Caller:
    tenant: str = "default"
    priority_class: PriorityClass = PriorityClass.STANDARD

    def apply(self, request: ChatRequest) -> ChatRequest:
        return replace(request, tenant=self.tenant, priority_class=self.priority_class)


def get_caller(request: Request) -> Caller:
    """Raises: InvalidRequest for an unknown priority class in ``x-semroute-priority``."""
    raw = request.headers.get(PRIORITY_HEADER)
    if raw is None:
        return Caller()
    try:
        return Caller(priority_class=PriorityClass(raw.strip().lower()))
    except ValueError:
        raise InvalidRequest(
            f"{PRIORITY_HEADER}: unknown priority class {raw!r}; expected one of "
            f"{[p.value for p in PriorityClass]}",
            param=PRIORITY_HEADER,
        ) from None
