"""The ``[execution]`` section: the fallback chain's deadline, retries per error class,
circuit breakers and load balancing."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from router.config.sections import PositiveInt, _Model


class RetryPolicy(_Model):
    retries: Annotated[int, Field(ge=0, le=10)] = 0
    backoff_s: Annotated[float, Field(ge=0)] = 0.5
    max_wait_s: Annotated[float, Field(ge=0)] = 10.0  # a longer Retry-After → next candidate


RETRYABLE_CODES = ("rate_limited", "timeout", "provider_unavailable", "bad_response", "auth_failed")


def _default_retries() -> dict[str, RetryPolicy]:
    return {
        "rate_limited": RetryPolicy(retries=1, backoff_s=2.0),
        "timeout": RetryPolicy(retries=0),  # a silent upstream is not asked twice
        "provider_unavailable": RetryPolicy(retries=1),
        "bad_response": RetryPolicy(retries=1),
        "auth_failed": RetryPolicy(retries=0),
    }


class BreakerConfig(_Model):
    failures: PositiveInt = 3
    window_s: Annotated[float, Field(gt=0)] = 60.0
    cooldown_s: Annotated[float, Field(gt=0)] = 30.0


class ExecutionConfig(_Model):
    # The whole fallback chain; each candidate gets an equal share of what is left of it.
    deadline_s: Annotated[float, Field(gt=0)] = 60.0
    first_token_timeout_s: Annotated[float, Field(gt=0)] = 15.0  # streams: to the first content
    balancing: Literal["weighted", "round_robin", "least_latency"] = "weighted"
    retry: dict[str, RetryPolicy] = Field(default_factory=_default_retries)
    breaker: BreakerConfig = BreakerConfig()

    @model_validator(mode="after")
    def _known_codes(self) -> ExecutionConfig:
        unknown = sorted(set(self.retry) - set(RETRYABLE_CODES))
        if unknown:
            raise ValueError(
                f"execution.retry: unknown error class(es) {unknown}; "
                f"expected {list(RETRYABLE_CODES)}"
            )
        return self

    def policy(self, code: str) -> RetryPolicy:
        return self.retry.get(code) or _default_retries().get(code) or RetryPolicy()
