"""FallbackChain: walk the ranked candidates until one answers.

Per error class (config ``execution.retry``, decided in retry.py): rate limits retry after
Retry-After (else a jittered backoff) and cool the deployment down; 5xx retry; auth failures move
on to another provider at once; a context overflow skips to a candidate with a larger window; an
invalid request or a content-policy refusal is returned as is — no fallback. Every attempt is
recorded. One deadline covers the chain, and each candidate gets an equal share of what is left
of it (the last one all of it), so a silent provider costs at most its share; an attempt that
timed out on our side is not retried. Every path out of an attempt — an answer, an error, a bug,
a cancellation — hands back what it holds (the breaker's ticket, the budget hold).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import anyio

from router import errors as e
from router.config import Config
from router.execution.balancer import Balancer, Deployment
from router.execution.breakers import Breakers, Ticket
from router.execution.retry import backoff, retryable
from router.execution.walk import Admission, Walk
from router.providers import Provider, UpstreamCall
from router.types import Attempt, Candidate, ChatRequest, Reservation
from router.types import AttemptOutcome as Outcome

T = TypeVar("T")
CallFn = Callable[[Provider, UpstreamCall], Awaitable[T]]
# Faults of the upstream itself: these count towards its breaker.
_UPSTREAM_FAULTS = (e.Timeout, e.ProviderUnavailable, e.BadResponse, e.AuthFailed)


@dataclass(frozen=True, slots=True)
class Executed(Generic[T]):
    result: T
    model: str
    deployment: Deployment
    attempts: tuple[Attempt, ...]
    reservation: Reservation | None = None  # the budget hold to settle with actual usage
    ticket: Ticket | None = None  # with ``defer_verdict``: settle it with ``FallbackChain.verdict``


class FallbackChain:
    def __init__(
        self,
        config: Config,
        providers: Mapping[str, Provider],
        deployments: Callable[[str], list[Deployment]],
        breakers: Breakers,
        balancer: Balancer,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.providers = providers
        self.deployments = deployments
        self.breakers = breakers
        self.balancer = balancer
        self._clock, self._sleep = clock, sleep
        self._rng = rng or random.Random()

    async def run(
        self,
        request: ChatRequest,
        candidates: Sequence[Candidate],
        call: CallFn[T],
        admission: Admission | None = None,
        *,
        defer_verdict: bool = False,
    ) -> Executed[T]:
        """Try candidates in order with ``call`` until one succeeds.

        ``defer_verdict`` (streams): a success is not yet recorded on the breaker; the caller
        settles ``Executed.ticket`` with ``verdict`` once it knows how the call ended.

        Raises:
            BadRequest, ContentPolicy: the upstream refused the request itself (no fallback).
            BudgetExhausted: no candidate fitted in the budget.
            AllCandidatesFailed: every candidate failed or was skipped; carries the attempts.
        """
        deadline = self._clock() + self.config.execution.deadline_s
        walk = Walk(deadline=deadline, admission=admission, defer_verdict=defer_verdict)
        for i, candidate in enumerate(candidates):
            now = self._clock()
            walk.until = now + max(0.0, deadline - now) / (len(candidates) - i)
            walk.last = i == len(candidates) - 1
            done = await self._candidate(request, candidate, call, walk)
            if done is not None:
                return done
        if walk.attempts and walk.budget_refusals == len(walk.attempts):
            raise e.BudgetExhausted(
                "daily budget exhausted: no candidate fits what is left",
                retry_after=walk.budget_retry_after,
            )
        raise e.AllCandidatesFailed(
            f"all {len(candidates)} candidate model(s) failed", attempts=walk.attempts
        )

    async def _usable(self, candidate: Candidate, walk: Walk) -> tuple[list[Deployment], str]:
        window = self.config.models[candidate.model].context_window
        if window <= walk.min_window:
            return [], f"context window {window} too small"
        deps = [d for d in self.deployments(candidate.model) if d.provider not in walk.auth_failed]
        if not deps:
            return [], "no enabled deployment"
        ready = [d for d in self.balancer.order(deps) if await self.breakers.available(d.id)]
        return ready, "" if ready else "breaker open or cooling down"

    async def _candidate(
        self, request: ChatRequest, candidate: Candidate, call: CallFn[T], walk: Walk
    ) -> Executed[T] | None:
        order, why = await self._usable(candidate, walk)
        if not order:
            walk.attempts.append(
                Attempt(candidate.model, candidate.provider, "-", Outcome.SKIPPED, 0.0, detail=why)
            )
            return None
        retries: Counter[str] = Counter()
        for turn in range(1 + sum(p.retries for p in self.config.execution.retry.values())):
            dep = order[turn % len(order)]
            if self.balancer.cooling(dep) and len(order) > 1:
                dep = next((d for d in order if not self.balancer.cooling(d)), dep)
            outcome = await self._attempt(request, candidate, dep, call, walk)
            if outcome is None:
                return None  # not attempted (deadline, breaker, budget): the next candidate
            if isinstance(outcome, Executed):
                return outcome
            wait = self._next_wait(outcome, candidate, dep, order, retries, walk)
            if wait is None:
                return None
            await self._sleep(wait)
        return None

    async def _attempt(
        self,
        request: ChatRequest,
        candidate: Candidate,
        dep: Deployment,
        call: CallFn[T],
        walk: Walk,
    ) -> Executed[T] | e.ProviderError | None:
        """The call's result, the error it failed with, or None when it was not made."""
        remaining = min(walk.until, walk.deadline) - self._clock()
        ticket = await self.breakers.acquire(dep.id) if remaining > 0 else None
        if ticket is None:
            why = (
                "breaker open"
                if remaining > 0
                else "this candidate's share of the deadline is spent"
            )
            walk.attempts.append(
                Attempt(dep.model, dep.provider, dep.id, Outcome.SKIPPED, 0.0, detail=why)
            )
            return None
        try:
            reservation = await walk.admit(candidate.model)
        except e.BudgetExhausted as exc:
            walk.budget_retry_after = exc.retry_after
            await self.breakers.release(dep.id, ticket)
            walk.attempts.append(
                Attempt(dep.model, dep.provider, dep.id, Outcome.BUDGET_EXHAUSTED, 0.0)
            )
            walk.budget_refusals += 1
            return None
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.breakers.release(dep.id, ticket)
            raise
        started = self._clock()
        try:
            result = await self._call(request, candidate, dep, call, remaining, walk.last)
        except e.ProviderError as exc:
            err = exc
        except BaseException:  # cancelled (client gone), or a bug: give everything back, go
            with anyio.CancelScope(shield=True):
                await self.breakers.release(dep.id, ticket)
                await walk.refund(reservation)
            raise
        else:
            elapsed = self._clock() - started
            if not walk.defer_verdict:
                await self.breakers.record_success(dep.id, ticket)
            self.balancer.observe(dep, elapsed)
            walk.attempts.append(
                Attempt(candidate.model, dep.provider, dep.id, Outcome.OK, round(elapsed * 1e3, 2))
            )
            attempts = tuple(walk.attempts)
            return Executed(result, candidate.model, dep, attempts, reservation, ticket)
        await walk.refund(reservation)
        await self._bookkeep(err, dep, ticket, walk, round((self._clock() - started) * 1e3, 2))
        if isinstance(err, e.BadRequest | e.ContentPolicy):
            err.attempts = tuple(walk.attempts)
            raise err
        return err

    async def _call(
        self,
        request: ChatRequest,
        candidate: Candidate,
        dep: Deployment,
        call: CallFn[T],
        remaining: float,
        last: bool,
    ) -> T:
        """One call, bounded by ``remaining`` (and, unless it is the ``last`` candidate, by the
        first-token timeout). Raises: ProviderError (Timeout when it ran out)."""
        upstream = UpstreamCall(
            request=request,
            model=candidate.model,
            upstream_model=dep.upstream,
            timeout_s=remaining,
            first_token_timeout_s=None if last else self.config.execution.first_token_timeout_s,
        )
        try:
            with anyio.fail_after(remaining):
                return await call(self.providers[dep.provider], upstream)
        except TimeoutError:
            raise e.Timeout(
                f"{dep.provider}: no answer within this attempt's {remaining:.1f}s",
                provider=dep.provider,
                model=dep.model,
            ) from None

    async def verdict(
        self, deployment: Deployment, ticket: Ticket | None, fault: BaseException | None
    ) -> None:
        """Settle a deferred ticket: ``fault`` None → success; an upstream fault → failure;
        anything else (client gone, the client's own error) → no verdict, the slot is freed."""
        if fault is None:
            await self.breakers.record_success(deployment.id, ticket)
        elif isinstance(fault, _UPSTREAM_FAULTS):
            await self.breakers.record_failure(deployment.id, ticket)
        else:
            await self.breakers.release(deployment.id, ticket)

    async def _bookkeep(
        self, err: e.ProviderError, dep: Deployment, ticket: Ticket, walk: Walk, ms: float
    ) -> None:
        await self.verdict(dep, ticket, err)
        if isinstance(err, e.RateLimited):
            self.balancer.cool_down(
                dep, err.retry_after or self.config.execution.policy(err.code).backoff_s
            )
        if isinstance(err, e.AuthFailed):
            walk.auth_failed.add(dep.provider)
        if isinstance(err, e.ContextTooLong):
            walk.min_window = max(walk.min_window, self.config.models[dep.model].context_window)
        walk.attempts.append(
            Attempt(
                dep.model,
                dep.provider,
                dep.id,
                Outcome(err.code),
                ms,
                status=err.status,
                detail=err.message[:200],
            )
        )

    def _next_wait(
        self,
        err: e.ProviderError,
        candidate: Candidate,
        dep: Deployment,
        order: list[Deployment],
        retries: Counter[str],
        walk: Walk,
    ) -> float | None:
        """Seconds to wait before retrying this candidate, or None to move on."""
        policy = self.config.execution.policy(err.code)
        if not retryable(err, policy, retries):
            return None
        retries[err.code] += 1
        if any(d is not dep and not self.balancer.cooling(d) for d in order):
            return 0.0  # another deployment of the same model can take the retry now
        time_left = min(walk.until, walk.deadline) - self._clock()
        return backoff(err, policy, self._rng.random(), time_left)
