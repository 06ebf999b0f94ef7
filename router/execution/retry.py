"""The retry policy of one candidate, as pure functions: may this error be retried on the same
candidate, and after how long."""

from __future__ import annotations

from collections.abc import Mapping

from router import errors as e
from router.config import RetryPolicy


def retryable(err: e.ProviderError, policy: RetryPolicy, used: Mapping[str, int]) -> bool:
    """Is another attempt on this candidate worth it? Never after an auth failure, a context
    overflow or a timeout on our side (no upstream status: the candidate's share is spent), nor
    once the error class used up its ``policy.retries``."""
    if isinstance(err, e.AuthFailed | e.ContextTooLong) or not err.retryable:
        return False
    if isinstance(err, e.Timeout) and err.status is None:
        return False
    return used.get(err.code, 0) < policy.retries


def backoff(
    err: e.ProviderError, policy: RetryPolicy, unit: float, time_left: float
) -> float | None:
    """Seconds to wait before the retry (Retry-After wins, else the jittered backoff: ``unit``
    in [0, 1) gives 0.5x – 1.5x), or None when that is longer than ``policy.max_wait_s`` or than
    the time this candidate has left."""
    if isinstance(err, e.RateLimited) and err.retry_after is not None:
        wait = err.retry_after
    else:
        wait = policy.backoff_s * (0.5 + unit)
    if wait > policy.max_wait_s or wait >= time_left:
        return None
    return wait
