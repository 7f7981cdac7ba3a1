-- Checks one client's budget and, when allowed, counts the request; one atomic step shared by
-- every replica. Times come from this server's clock (TIME), so all replicas share one clock.
--
-- KEYS[1] request log (sorted set of request times)   KEYS[2] tokens per second (hash)
-- KEYS[3] day counter prefix (the UTC day number is appended)
-- ARGV[1] requests per minute (0: none)   ARGV[2] tokens per minute (0: none)
-- ARGV[3] tokens per day (0: none)        ARGV[4] unique member for this request
-- Returns {'1'} when allowed, else {'0', limit, retry-after in ms}.

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local second = tonumber(time[1])
local day = math.floor(second / 86400)
local rpm = tonumber(ARGV[1])
local tpm = tonumber(ARGV[2])
local tpd = tonumber(ARGV[3])

if tpd > 0 then
  local used = tonumber(redis.call('GET', KEYS[3] .. day) or '0')
  if used >= tpd then
    return {'0', 'tokens_per_day', string.format('%.0f', (day + 1) * 86400000 - now)}
  end
end

if tpm > 0 then
  local buckets = redis.call('HGETALL', KEYS[2])
  local used = 0
  local seconds = {}
  local tokens = {}
  for i = 1, #buckets, 2 do
    local s = tonumber(buckets[i])
    if s <= second - 60 then
      redis.call('HDEL', KEYS[2], buckets[i])
    else
      used = used + tonumber(buckets[i + 1])
      table.insert(seconds, s)
      tokens[s] = tonumber(buckets[i + 1])
    end
  end
  if used >= tpm then
    table.sort(seconds)
    local retry = 60000
    for _, s in ipairs(seconds) do
      used = used - tokens[s]
      if used < tpm then
        retry = (s + 60) * 1000 - now
        break
      end
    end
    return {'0', 'tokens_per_minute', string.format('%.0f', retry)}
  end
end

if rpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000)
  local count = redis.call('ZCARD', KEYS[1])
  if count >= rpm then
    local oldest = redis.call('ZRANGE', KEYS[1], count - rpm, count - rpm, 'WITHSCORES')
    return {'0', 'requests_per_minute', string.format('%.0f', tonumber(oldest[2]) + 60000 - now)}
  end
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], 61000)
end
return {'1'}
