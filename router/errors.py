"""The one exception tree of semroute.

::

    RouterError
    ├── ProviderError(provider, model, retryable)      an upstream call failed
    │   ├── RateLimited(retry_after)                   429 / overloaded
    │   ├── AuthFailed                                 401 / 403
    │   ├── Timeout                                    connect / read / first-token deadline
    │   ├── ContentPolicy                              the provider refused on policy grounds
    │   ├── ContextTooLong                             prompt larger than the model's window
    │   ├── BadRequest                                 the upstream rejected the request as invalid
    │   ├── ProviderUnavailable                        5xx, connection refused / reset
    │   └── BadResponse                                malformed body from the upstream
    ├── RoutingError                                   no answer could be routed
    │   ├── NoCandidate(requirements)                  no catalogue model can serve the request
    │   ├── BudgetExhausted(retry_after)               the day's budget is spent
    │   ├── BudgetUnavailable                          shared ledger unreachable (fail-closed)
    │   └── AllCandidatesFailed(attempts)              every candidate was tried and failed
    ├── InvalidRequest(param)                          the client's request is malformed
    ├── AccessError                                    who is asking may not do this
    │   ├── Unauthenticated                            missing or unknown API key (401)
    │   ├── Forbidden                                  the key may not use this (403)
    │   └── LimitExceeded(kind, retry_after)           a key's / tenant's per-minute limit (429)
    ├── NotReady                                       the encoder / centroids are not loaded
    ├── ConfigError(path, key)                         semroute.toml is wrong
    └── ArtifactError(path)                            a centroid artifact is missing or corrupt

Policy code (fallback, breakers, the HTTP error table) reads these attributes, never SDK types.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from router.types import Attempt


class RouterError(Exception):
    """Base of every error semroute raises on purpose."""

    code: str = "router_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(RouterError):
    """The client's request cannot be served as sent (the client's fault, 4xx)."""

    code = "invalid_request"

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.param = param
        if code is not None:
            self.code = code


class AccessError(RouterError):
    code = "access_denied"


class Unauthenticated(AccessError):
    code = "invalid_api_key"


class Forbidden(AccessError):
    code = "forbidden"


class LimitExceeded(AccessError):
    """A key's or tenant's requests or tokens per minute are spent ([limits]); ``headers``
    are the ``x-ratelimit-*`` values of the refusal."""

    code = "rate_limit_exceeded"

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        retry_after: float,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind  # "requests" | "tokens": OpenAI's error type for a rate limit
        self.retry_after = retry_after
        self.headers = dict(headers or {})


class NotReady(RouterError):
    """The encoder or the centroids are not loaded (yet, or they failed to load)."""

    code = "not_ready"


class ConfigError(RouterError):
    """Configuration is invalid; the message names the file, the key and what was expected."""

    code = "config_error"

    def __init__(self, message: str, path: Path | None = None, key: str | None = None) -> None:
        where = f"{path}: " if path is not None else ""
        at = f"[{key}] " if key else ""
        super().__init__(f"{where}{at}{message}")
        self.path = path
        self.key = key


class ArtifactError(RouterError):
    """A centroid artifact is missing, corrupt or built for another encoder."""

    code = "artifact_error"

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(f"{path}: {message}" if path is not None else message)
        self.path = path


class ProviderError(RouterError):
    """An upstream provider call failed."""

    code = "provider_error"
    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        model: str,
        retryable: bool | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.model = model
        self.retryable = self.default_retryable if retryable is None else retryable
        self.status = status
        self.attempts: tuple[Attempt, ...] = ()  # filled in by the fallback chain


class RateLimited(ProviderError):
    code = "rate_limited"
    default_retryable = True

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        model: str,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, provider=provider, model=model, status=status)
        self.retry_after = retry_after


class AuthFailed(ProviderError):
    code = "auth_failed"


class Timeout(ProviderError):
    code = "timeout"
    default_retryable = True


class ContentPolicy(ProviderError):
    code = "content_policy"


class ContextTooLong(ProviderError):
    code = "context_too_long"


class BadRequest(ProviderError):
    code = "bad_request"


class ProviderUnavailable(ProviderError):
    code = "provider_unavailable"
    default_retryable = True


class BadResponse(ProviderError):
    code = "bad_response"
    default_retryable = True


class RoutingError(RouterError):
    """No answer could be routed."""

    code = "routing_error"


class NoCandidate(RoutingError):
    """No catalogue model satisfies the request's requirements."""

    code = "no_candidate"

    def __init__(self, message: str, requirements: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.requirements = tuple(requirements)


class BudgetExhausted(RoutingError):
    """The day's budget is spent; ``retry_after``: seconds until it resets (when known)."""

    code = "budget_exhausted"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BudgetUnavailable(RoutingError):
    code = "budget_unavailable"


class AllCandidatesFailed(RoutingError):
    code = "all_candidates_failed"

    def __init__(self, message: str, attempts: Sequence[Attempt] = ()) -> None:
        super().__init__(message)
        self.attempts = tuple(attempts)
