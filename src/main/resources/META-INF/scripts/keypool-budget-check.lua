-- Checks one client's budget and, when allowed, counts the request and holds its token
-- reservation; one atomic step shared by every replica. Times come from this server's clock
-- (TIME), so all replicas share one clock.
--
-- KEYS[1] request log (sorted set of request times)
-- KEYS[2] tokens per second (hash: field <second> = tokens charged in it, and one field
--         r:<expiry ms>:<member> = tokens reserved per request in flight)
-- KEYS[3] day counter prefix (the UTC day number is appended)
-- KEYS[4] the replicas that wrote back their charges to this Redis (set)
-- ARGV[1] requests per minute (0: none)   ARGV[2] tokens per minute (0: none)
-- ARGV[3] tokens per day (0: none)        ARGV[4] unique member for this request
-- ARGV[5] tokens to reserve               ARGV[6] how long a reservation is held at most (ms)
-- ARGV[7] this replica's id
-- A token limit admits the request when charged + reserved + the reservation (at least 1, at
-- most the limit) stays within it.
-- Returns {'1'} or {'1', reservation field} when allowed, else {'0', limit, retry-after in ms};
-- {'seed'}, having done nothing, when this Redis does not know the replica (it lost its data,
-- or never saw it): the replica writes back its own charges (keypool-budget-seed.lua) first.

if redis.call('SISMEMBER', KEYS[4], ARGV[7]) == 0 then
  return {'seed'}
end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local second = tonumber(time[1])
local day = math.floor(second / 86400)
local rpm = tonumber(ARGV[1])
local tpm = tonumber(ARGV[2])
local tpd = tonumber(ARGV[3])
local reserve = tonumber(ARGV[5])

local function need(limit)
  return math.max(1, math.min(reserve, limit))
end

local held = 0
local used = 0
local seconds = {}
local tokens = {}
if tpm > 0 or tpd > 0 then
  local fields = redis.call('HGETALL', KEYS[2])
  for i = 1, #fields, 2 do
    local field = fields[i]
    if string.sub(field, 1, 2) == 'r:' then
      local expiry = tonumber(string.match(field, '^r:(%d+):'))
      if expiry == nil or expiry <= now then
        redis.call('HDEL', KEYS[2], field)
      else
        held = held + tonumber(fields[i + 1])
      end
    else
      local s = tonumber(field)
      if s == nil or s <= second - 60 then
        redis.call('HDEL', KEYS[2], field)
      else
        used = used + tonumber(fields[i + 1])
        table.insert(seconds, s)
        tokens[s] = tonumber(fields[i + 1])
      end
    end
  end
end

if tpd > 0 then
  local today = tonumber(redis.call('GET', KEYS[3] .. day) or '0')
  if today + held + need(tpd) > tpd then
    return {'0', 'tokens_per_day', string.format('%.0f', (day + 1) * 86400000 - now)}
  end
end

if tpm > 0 then
  used = used + held + need(tpm)
  if used > tpm then
    table.sort(seconds)
    local retry = 60000
    for _, s in ipairs(seconds) do
      used = used - tokens[s]
      if used <= tpm then
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

if reserve > 0 and (tpm > 0 or tpd > 0) then
  local field = 'r:' .. string.format('%.0f', now + tonumber(ARGV[6])) .. ':' .. ARGV[4]
  redis.call('HSET', KEYS[2], field, ARGV[5])
  local keep = math.floor(tonumber(ARGV[6]) / 1000) + 60
  if redis.call('TTL', KEYS[2]) < keep then
    redis.call('EXPIRE', KEYS[2], keep)
  end
  return {'1', field}
end
return {'1'}
