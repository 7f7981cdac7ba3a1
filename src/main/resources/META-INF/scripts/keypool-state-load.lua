-- Reads the state of every key of one pool in one atomic step, for a replica's
-- (re)synchronisation. Hashes that expired are dropped from the index on the way. All keys carry
-- the pool as hash tag, so this runs on a Redis Cluster too.
--
-- KEYS[1] set of the pool's key hashes   KEYS[2] the pool's version counter   KEYS[3] the pool's epoch marker
-- ARGV[1] epoch to create if this Redis has none
-- Returns {epoch, version, version before this load, then for each key or model class of a key: pool, key id, disabled, until,
-- status, at, scope, reason}, all strings. Hashes written before scopes existed are the key-wide scope '*'.
-- Every change with a version up to the returned one is reflected in the result.

local function str(n)
  return string.format('%.0f', n)
end

local time = redis.call('TIME')
local version = tonumber(time[1]) * 1000000 + tonumber(time[2])
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
if version <= last then
  version = last + 1
end
redis.call('SET', KEYS[2], str(version))

local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[3], epoch)
end

local result = { epoch, str(version), str(last) }
for _, name in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local f = redis.call('HMGET', name, 'pool', 'key', 'disabled', 'until', 'status', 'at', 'scope', 'reason')
  if f[1] and f[2] then
    table.insert(result, f[1])
    table.insert(result, f[2])
    table.insert(result, f[3] or '0')
    table.insert(result, f[4] or '0')
    table.insert(result, f[5] or '')
    table.insert(result, f[6] or '0')
    table.insert(result, f[7] or '*')
    table.insert(result, f[8] or '')
  else
    redis.call('SREM', KEYS[1], name)
  end
end
return result
