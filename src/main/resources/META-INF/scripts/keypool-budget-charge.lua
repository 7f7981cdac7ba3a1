-- Settles one request of a client, on this server's clock: releases its reservation (when one
-- is given and still held) and charges the tokens of its response to the current second and day.
--
-- KEYS[1] tokens per second (hash, with the reservations)
-- KEYS[2] day counter prefix (the UTC day number is appended)
-- KEYS[3] the replicas that wrote back their charges to this Redis (set)
-- ARGV[1] tokens   ARGV[2] reservation field ('' for none)   ARGV[3] this replica's id
-- Returns {'1', the second charged}; {'seed'}, having done nothing, when this Redis does not
-- know the replica (see keypool-budget-check.lua).

if redis.call('SISMEMBER', KEYS[3], ARGV[3]) == 0 then
  return {'seed'}
end
if ARGV[2] ~= '' then
  redis.call('HDEL', KEYS[1], ARGV[2])
end
if tonumber(ARGV[1]) <= 0 then
  return {'1', '0'}
end
local time = redis.call('TIME')
local second = tonumber(time[1])
local day = math.floor(second / 86400)
redis.call('HINCRBY', KEYS[1], tostring(second), ARGV[1])
if redis.call('TTL', KEYS[1]) < 120 then
  redis.call('EXPIRE', KEYS[1], 120)
end
if redis.call('HLEN', KEYS[1]) > 120 then
  for _, s in ipairs(redis.call('HKEYS', KEYS[1])) do
    local n = tonumber(s)
    if n ~= nil and n <= second - 60 then
      redis.call('HDEL', KEYS[1], s)
    end
  end
end
local dayKey = KEYS[2] .. day
redis.call('INCRBY', dayKey, ARGV[1])
redis.call('EXPIRE', dayKey, 172800)
redis.call('EXPIRE', KEYS[3], 172800)
return {'1', tostring(second)}
