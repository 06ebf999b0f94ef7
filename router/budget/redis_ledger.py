"""RedisLedger: the budget ledger shared by every replica, one Redis hash per scope and day.

Layout: ``{prefix}:budget:{scope}:{day}`` is a hash with the integer fields ``spent`` and
``reserved`` (micro-USD) and one ``hold:<id>`` field per outstanding reservation, holding
``<amount>:<lease end>`` (wall-clock seconds; a bare amount, written by older versions, never
expires). Reserve and state first sweep the holds whose lease ended (the replica that made them
crashed, or lost the call), so their budget comes back. Each of reserve / commit / release is
one Lua script, so it is atomic across replicas; every write renews the key's TTL, so old days
expire on their own.

Why per-reservation fields: commit and release take back exactly what their reservation holds,
once. A double release, or a release of a reservation Redis never saw (it lost its data), leaves
``reserved`` alone instead of refunding someone else's hold, so ``reserved`` is always the sum of
the holds and never goes below 0. Commit always adds the actual cost to ``spent``: money that was
spent is counted even when its hold is gone.

Redis is never retried inside a call: a reserve that timed out may still have run, and running it
twice would hold the amount twice. Every failure surfaces as ``BudgetUnavailable`` within about
one socket timeout and the caller picks its fail mode (``redis.fail_mode``).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from router.budget.ledger import HOLD_LEASE_S, BudgetState
from router.errors import BudgetUnavailable
from router.redis_client import redis_client
from router.types import Reservation

# Lua numbers are doubles: exact for integers below 2**53 micro-USD (about 9e9 USD), which
# reserve() enforces; string.format('%d') writes them back without an exponent.
_MAX_MICROS = 2**53 - 1

# Drops the holds whose lease ended before ``now``; returns what the live holds reserve.
_SWEEP = """
local function sweep(key, now)
  local fields = redis.call('HGETALL', key)
  local reserved, dead = 0, {}
  for i = 1, #fields, 2 do
    local name, value = fields[i], fields[i + 1]
    if string.sub(name, 1, 5) == 'hold:' then
      local amount, ends = string.match(value, '^(%d+):?([%d.]*)$')
      if ends ~= nil and ends ~= '' and tonumber(ends) <= now then
        dead[#dead + 1] = name
      else
        reserved = reserved + (tonumber(amount) or 0)
      end
    end
  end
  if #dead > 0 then
    redis.call('HDEL', key, unpack(dead))
    redis.call('HSET', key, 'reserved', string.format('%d', reserved))
  end
  return reserved
end
"""

# KEYS[1] budget hash; ARGV: hold field, amount, limit, floor, ttl, now, lease end.
# Returns 1 held, 0 refused.
_RESERVE = (
    _SWEEP
    + """
local key, hold, amount = KEYS[1], ARGV[1], tonumber(ARGV[2])
if redis.call('HEXISTS', key, hold) == 1 then return 1 end
local reserved = sweep(key, tonumber(ARGV[6]))
local spent = tonumber(redis.call('HGET', key, 'spent') or '0')
if spent + reserved + amount > tonumber(ARGV[3]) - tonumber(ARGV[4]) then return 0 end
redis.call('HSET', key, hold, ARGV[2] .. ':' .. ARGV[7],
           'reserved', string.format('%d', reserved + amount))
redis.call('EXPIRE', key, ARGV[5])
return 1
"""
)

# ARGV: now. Returns {spent, reserved} (after the sweep).
_STATE = (
    _SWEEP
    + """
local reserved = sweep(KEYS[1], tonumber(ARGV[1]))
return {tonumber(redis.call('HGET', KEYS[1], 'spent') or '0'), reserved}
"""
)

# Shared by commit and release: take the hold back (if it is still there), never below 0.
_UNHOLD = """
local key, hold = KEYS[1], ARGV[1]
local held = redis.call('HGET', key, hold)
if held then
  local amount = tonumber(string.match(held, '^(%d+)')) or 0
  local reserved = tonumber(redis.call('HGET', key, 'reserved') or '0') - amount
  if reserved < 0 then reserved = 0 end
  redis.call('HDEL', key, hold)
  redis.call('HSET', key, 'reserved', string.format('%d', reserved))
end
"""

# ARGV: hold field, actual, ttl.
_COMMIT = (
    _UNHOLD
    + """
redis.call('HINCRBY', key, 'spent', ARGV[2])
redis.call('EXPIRE', key, ARGV[3])
return 1
"""
)

# ARGV: hold field, ttl. Returns 1 when a hold was released, 0 when there was none.
_RELEASE = (
    _UNHOLD
    + """
if not held then return 0 end
redis.call('EXPIRE', key, ARGV[2])
return 1
"""
)


class RedisLedger:
    """The shared ledger (see the module docstring for the key layout and guarantees).

    Every method raises ``BudgetUnavailable`` (from the Redis error) when Redis cannot be
    reached, times out or answers with an error; no Redis exception type escapes.
    """

    failovers = 0  # a FailoverLedger around it counts those

    def __init__(
        self,
        url: str,
        *,
        key_prefix: str = "semroute",
        ttl_s: int = 3 * 86400,
        socket_timeout_s: float = 0.5,
        hold_lease_s: float = HOLD_LEASE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``clock``: wall-clock seconds, which replicas share (lease ends are compared)."""
        if ttl_s <= 0 or hold_lease_s <= 0:
            raise ValueError(f"ttl_s and hold_lease_s must be positive, got {ttl_s}")
        self.key_prefix = key_prefix
        self.ttl_s = ttl_s
        self.hold_lease_s = hold_lease_s
        self.clock = clock
        self._redis = redis_client(url, timeout_s=socket_timeout_s)  # fails fast, no retries
        self._reserve = self._redis.register_script(_RESERVE)
        self._commit = self._redis.register_script(_COMMIT)
        self._release = self._redis.register_script(_RELEASE)
        self._state = self._redis.register_script(_STATE)

    def key(self, scope: str, day: str) -> str:
        """The Redis key of one scope's budget on one day."""
        return f"{self.key_prefix}:budget:{scope}:{day}"

    async def reserve(
        self, scope: str, day: str, amount_micros: int, limit_micros: int, floor_micros: int
    ) -> Reservation | None:
        """Hold ``amount_micros`` if spent + reserved + amount <= limit - floor, else None.

        Raises:
            ValueError: an amount is negative or too large to count exactly.
            BudgetUnavailable: Redis failed.
        """
        for name, value in (("amount", amount_micros), ("limit", limit_micros)):
            if not 0 <= value <= _MAX_MICROS:
                raise ValueError(f"{name}_micros out of range: {value}")
        floor = min(max(0, floor_micros), _MAX_MICROS)
        reservation = Reservation(scope, day, amount_micros, uuid.uuid4().hex)
        now = self.clock()
        lease_end = repr(float(now + self.hold_lease_s))
        args = (
            _hold(reservation),
            amount_micros,
            limit_micros,
            floor,
            self.ttl_s,
            repr(now),
            lease_end,
        )
        held = await self._run(self._reserve, self.key(scope, day), args)
        return reservation if int(held) else None

    async def commit(self, reservation: Reservation, actual_micros: int) -> None:
        """Release the hold and add ``actual_micros`` (negative counts as 0) to ``spent``.

        Raises:
            BudgetUnavailable: Redis failed.
        """
        actual = min(max(0, actual_micros), _MAX_MICROS)
        args = (_hold(reservation), actual, self.ttl_s)
        await self._run(self._commit, self.key(reservation.scope, reservation.day), args)

    async def release(self, reservation: Reservation) -> None:
        """Release the hold; a second release of the same reservation does nothing.

        Raises:
            BudgetUnavailable: Redis failed.
        """
        args = (_hold(reservation), self.ttl_s)
        await self._run(self._release, self.key(reservation.scope, reservation.day), args)

    async def state(self, scope: str, day: str, limit_micros: int) -> BudgetState:
        """The day's totals for ``scope`` (zeros when nothing was recorded).

        Raises:
            BudgetUnavailable: Redis failed.
        """
        found = await self._run(self._state, self.key(scope, day), (repr(float(self.clock())),))
        spent, reserved = found
        return BudgetState(limit_micros, int(spent or 0), int(reserved or 0))

    async def aclose(self) -> None:
        """Close the connection pool; errors while closing are ignored."""
        with contextlib.suppress(RedisError, OSError):
            await self._redis.aclose()

    async def _run(self, script: AsyncScript, key: str, args: Sequence[str | int | float]) -> Any:
        try:
            return await script(keys=[key], args=args)
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc


def _hold(reservation: Reservation) -> str:
    return f"hold:{reservation.id}"


def _unavailable(exc: BaseException) -> BudgetUnavailable:
    # The Redis error names the host and port: it stays in the cause (and the logs), out of
    # the message, which reaches clients.
    return BudgetUnavailable(f"budget ledger (Redis) unavailable: {type(exc).__name__}")
