-- Charges the tokens of a finished response to one client, on this server's clock.
--
-- KEYS[1] tokens per second (hash)   KEYS[2] day counter prefix (the UTC day number is appended)
-- ARGV[1] tokens
-- Returns {'1'}.

local time = redis.call('TIME')
local second = tonumber(time[1])
local day = math.floor(second / 86400)
redis.call('HINCRBY', KEYS[1], tostring(second), ARGV[1])
redis.call('EXPIRE', KEYS[1], 120)
if redis.call('HLEN', KEYS[1]) > 120 then
  for _, s in ipairs(redis.call('HKEYS', KEYS[1])) do
    if tonumber(s) <= second - 60 then
      redis.call('HDEL', KEYS[1], s)
    end
  end
end
local dayKey = KEYS[2] .. day
redis.call('INCRBY', dayKey, ARGV[1])
redis.call('EXPIRE', dayKey, 172800)
return {'1'}
