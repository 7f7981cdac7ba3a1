-- Applies one change to one pool key, or one model class of it, atomically and announces it to
-- every replica. Deadlines are computed from this server's clock (TIME), so all replicas share one clock.
-- A hash without a 'scope' field (written before scopes existed) is the key-wide scope '*'.
--
-- All keys carry the pool as hash tag ({pool}), so they share one slot of a Redis Cluster.
-- KEYS[1] the key's hash        KEYS[2] set of the pool's key hashes
-- KEYS[3] the pool's version counter   KEYS[4] the pool's epoch marker (lost with the data, so replicas notice)
-- ARGV[1] cooldown | disable | reset
-- ARGV[2] pool name             ARGV[3] key id            ARGV[4] upstream status ('' for reset)
-- ARGV[5] cooldown length in ms from now (cooldown)
-- ARGV[6] absolute deadline in ms since 1970, or 0 (re-publishing a deadline Redis computed before)
-- ARGV[7] time of the failure in ms since 1970, or 0 for now
-- ARGV[8] change channel (PUBLISH reaches every node of a Cluster)   ARGV[9] epoch to create if this Redis has none
-- ARGV[10] scope: '*' for the whole key, else a model class (cooldowns only)
-- ARGV[11] reason of a cooldown: rate_limited | proactive
-- KEYS[5] hash of the keys' last resets: field the key-wide hash's name, value the reset's version
-- ARGV[12] 0, or the version at which a replica knew the fact it gives back to a Redis that lost its data
-- ARGV[13] the name of the key's key-wide hash (KEYS[1] for a key-wide change)
-- Returns {version, epoch, disabled, until, status, at, reason}, all strings.

local function str(n)
  return string.format('%.0f', n)
end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

-- Versions order every change; taken from the clock so they keep growing after Redis loses its data.
local version = tonumber(time[1]) * 1000000 + tonumber(time[2])
local last = tonumber(redis.call('GET', KEYS[3]) or '0')
if version <= last then
  version = last + 1
end
redis.call('SET', KEYS[3], str(version))

local epoch = redis.call('GET', KEYS[4])
if not epoch then
  epoch = ARGV[9]
  redis.call('SET', KEYS[4], epoch)
end

-- A fact given back after Redis lost its data must not undo a reset made since the replica learnt it
-- (an admin reset during the outage, replayed by another replica): Redis keeps what it has instead.
local knownAt = tonumber(ARGV[12] or '0')
if knownAt > 0 and tonumber(redis.call('HGET', KEYS[5], ARGV[13]) or '0') > knownAt then
  local kept = redis.call('HMGET', KEYS[1], 'disabled', 'until', 'status', 'at', 'reason')
  return { str(version), epoch, kept[1] or '0', kept[2] or '0', kept[3] or '', kept[4] or '0', kept[5] or '' }
end

local op = ARGV[1]
local status = ARGV[4]
local scope = ARGV[10] or '*'
local reason = ARGV[11] or ''
local disabled = '0'
local deadline = 0
local at = tonumber(ARGV[7])
if at <= 0 then
  at = now
end

if op == 'reset' then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], KEYS[1])
  -- remembered for a day after the last reset: long enough for every replica to be back
  redis.call('HSET', KEYS[5], ARGV[13], str(version))
  redis.call('PEXPIRE', KEYS[5], 86400000)
  -- a reset makes the key available for every model class too
  for _, name in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    local f = redis.call('HMGET', name, 'pool', 'key', 'scope')
    if f[1] == ARGV[2] and f[2] == ARGV[3] then
      redis.call('DEL', name)
      redis.call('SREM', KEYS[2], name)
    elseif not f[1] then
      redis.call('SREM', KEYS[2], name)
    end
  end
else
  local current = redis.call('HMGET', KEYS[1], 'disabled', 'until', 'reason', 'status', 'at')
  disabled = current[1] or '0'
  deadline = tonumber(current[2] or '0')
  if op == 'cooldown' then
    local requested = tonumber(ARGV[6])
    if requested <= 0 then
      requested = now + tonumber(ARGV[5])
    end
    -- the later deadline wins, so concurrent marks never shorten a cooldown; its reason with it
    if requested > deadline then
      deadline = requested
    else
      reason = current[3] or 'rate_limited'
    end
    if status == '' or status == '0' then
      -- a proactive mark is not a failure: the last failure stays
      status = current[4] or ''
      at = tonumber(current[5] or '0')
    end
  elseif op == 'disable' then
    reason = current[3] or ''
    disabled = '1'
  else
    return redis.error_reply('unknown key state change: ' .. op)
  end
  if disabled == '1' or deadline > now then
    redis.call('HSET', KEYS[1], 'pool', ARGV[2], 'key', ARGV[3], 'disabled', disabled, 'until', str(deadline),
      'status', status, 'at', str(at), 'version', str(version), 'scope', scope, 'reason', reason)
    redis.call('SADD', KEYS[2], KEYS[1])
    if disabled == '1' then
      -- disabled until reset
      redis.call('PERSIST', KEYS[1])
    else
      -- a cooldown removes itself when it ends
      redis.call('PEXPIREAT', KEYS[1], str(deadline))
    end
  else
    -- a cooldown that has already ended leaves nothing to share
    redis.call('DEL', KEYS[1])
    redis.call('SREM', KEYS[2], KEYS[1])
  end
end

redis.call('PUBLISH', ARGV[8], cjson.encode({ v = str(version), e = epoch, op = op, pool = ARGV[2], key = ARGV[3],
  disabled = disabled, ['until'] = str(deadline), status = status, at = str(at), scope = scope, reason = reason }))

return { str(version), epoch, disabled, str(deadline), status, str(at), reason }
