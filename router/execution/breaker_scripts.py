"""The Lua scripts of the Redis-shared breakers (redis_breakers.py): one atomic script per
operation, on one hash per deployment (the layout is described there)."""

from __future__ import annotations

# KEYS[1] breaker hash. ARGV: now, failures, window_s, cooldown_s, probe lease, ttl, [extra].
PRELUDE = """
local key, now_s = KEYS[1], ARGV[1]
local now, limit = tonumber(now_s), tonumber(ARGV[2])
local window, cooldown = tonumber(ARGV[3]), tonumber(ARGV[4])
local lease, ttl = tonumber(ARGV[5]), ARGV[6]
local h = redis.call('HMGET', key, 'state', 'failures', 'opened_at', 'probe_at', 'forced', 'epoch')
local state, failures, forced = h[1] or 'closed', h[2] or '', h[5] or ''
local opened_at, probe_at = tonumber(h[3] or '0') or 0, tonumber(h[4] or '')
local epoch = tonumber(h[6] or '0') or 0
local function effective()
  if forced ~= '' then return forced end
  if state == 'open' and now - opened_at >= cooldown then return 'half_open' end
  return state
end
local function available()
  local s = effective()
  if s == 'half_open' then return probe_at == nil or now - probe_at >= lease end
  return s == 'closed'
end
local function save(...)
  redis.call('HSET', key, ...)
  if forced == '' then redis.call('EXPIRE', key, ttl) else redis.call('PERSIST', key) end
end
local function open()
  save('state', 'open', 'opened_at', now_s, 'failures', '', 'probe_at', '',
       'epoch', tostring(epoch + 1))
end
"""

# ARGV[7]: the ticket's epoch ('' for none: the current one), ARGV[8]: '1' if it is the probe.
# Sets ``probe``; returns early (0) from the verdict when the ticket is stale.
TICKET = """
local probe = state == 'half_open'
if ARGV[7] ~= '' then
  if tonumber(ARGV[7]) ~= epoch then return 0 end
  probe = ARGV[8] == '1'
end
"""

# Returns {1 | 0 (available), effective state}; writes nothing.
STATE = PRELUDE + "return {available() and 1 or 0, effective()}\n"

ACQUIRE = (
    PRELUDE
    + """
if not available() then return 0 end
if effective() == 'half_open' and forced == '' then
  save('state', 'half_open', 'probe_at', now_s)
  return {1, epoch, 1}
end
return {1, epoch, 0}
"""
)

# Nothing to reset → no write (the hot path: every successful call).
SUCCESS = (
    PRELUDE
    + TICKET
    + """
if state == 'open' or (state == 'half_open' and not probe) then return 0 end
if state == 'closed' and failures == '' and probe_at == nil then return 0 end
save('state', 'closed', 'failures', '', 'probe_at', '')
return 1
"""
)

FAILURE = (
    PRELUDE
    + TICKET
    + """
if state == 'open' then return 0 end
if state == 'half_open' then
  if probe then open() end
  return 1
end
local kept = {}
for t in string.gmatch(failures, '%S+') do
  if now - tonumber(t) < window then kept[#kept + 1] = t end
end
kept[#kept + 1] = now_s
if #kept >= limit then open() else save('failures', table.concat(kept, ' ')) end
return 1
"""
)

RELEASE = (
    PRELUDE + TICKET + "if probe and probe_at ~= nil then save('probe_at', '') end\nreturn 1\n"
)

# ARGV[7]: the overriding state, or '' to hand back to the automaton.
FORCE = PRELUDE + "forced = ARGV[7]\nsave('forced', forced)\nreturn 1\n"
