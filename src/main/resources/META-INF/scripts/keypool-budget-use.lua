-- One client's use now, on this server's clock.
--
-- KEYS[1] request log   KEYS[2] tokens per second (hash)   KEYS[3] day counter prefix
-- Returns {requests in the last 60 s, tokens in the last 60 s, tokens today}, as strings.

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local second = tonumber(time[1])
local day = math.floor(second / 86400)
local requests = redis.call('ZCOUNT', KEYS[1], '(' .. string.format('%.0f', now - 60000), '+inf')
local buckets = redis.call('HGETALL', KEYS[2])
local minute = 0
for i = 1, #buckets, 2 do
  local s = tonumber(buckets[i])
  if s ~= nil and s > second - 60 then
    minute = minute + tonumber(buckets[i + 1])
  end
end
local today = redis.call('GET', KEYS[3] .. day) or '0'
return {tostring(requests), string.format('%.0f', minute), today}
