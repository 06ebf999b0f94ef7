"""The [limits] section of semroute.toml: requests and tokens per minute, per key and per tenant."""

from __future__ import annotations

from pydantic import Field

from router.config.sections import PositiveInt, _Model


class RateLimit(_Model):
    """Per-minute allowances; ``None`` = no limit of that kind."""

    requests_per_minute: PositiveInt | None = None
    tokens_per_minute: PositiveInt | None = None  # prompt + completion tokens the upstreams used

    @property
    def limited(self) -> bool:
        return self.requests_per_minute is not None or self.tokens_per_minute is not None


class LimitsConfig(_Model):
    """Rate limits, counted in fixed one-minute windows and shared by every replica through
    ``[redis] url`` (in-process without it).

    A request is refused (429, ``Retry-After``) when its key's or its tenant's requests of the
    window are spent, or when their tokens are: a request is admitted while tokens remain, and
    the tokens its answer used are counted when it finishes (a cache hit counts none).
    ``per_key`` applies to every client key without limits of its own (``[[auth.keys]]``);
    ``per_tenant`` to every tenant not in ``tenants``. Without auth every request is the
    tenant ``default``.
    """

    per_key: RateLimit = RateLimit()
    per_tenant: RateLimit = RateLimit()
    tenants: dict[str, RateLimit] = Field(default_factory=dict)

    def tenant_limit(self, tenant: str) -> RateLimit:
        return self.tenants.get(tenant, self.per_tenant)
