-- Writes back one replica's own charges of a client to a Redis that does not know the replica
-- (it lost its data: FLUSHALL, failover to an empty replica), once: the replica joins the set
-- of those that did, so a second call, or a race of two, adds nothing.
--
-- KEYS[1] tokens per second (hash)   KEYS[2] day counter prefix (the UTC day number is appended)
-- KEYS[3] the replicas that wrote back their charges to this Redis (set)
-- ARGV[1] this replica's id   ARGV[2] the UTC day number of ARGV[3]   ARGV[3] its tokens that day
-- ARGV[4], ARGV[5], ... second, tokens charged in it (seconds out of the minute are skipped)
-- Returns {'1'} when written back, {'0'} when the replica had already done it.

if redis.call('SADD', KEYS[3], ARGV[1]) == 0 then
  return {'0'}
end
redis.call('EXPIRE', KEYS[3], 172800)
local time = redis.call('TIME')
local second = tonumber(time[1])
local day = math.floor(second / 86400)
if tonumber(ARGV[2]) == day and tonumber(ARGV[3]) > 0 then
  local dayKey = KEYS[2] .. day
  redis.call('INCRBY', dayKey, ARGV[3])
  redis.call('EXPIRE', dayKey, 172800)
end
local wrote = false
for i = 4, #ARGV - 1, 2 do
  local s = tonumber(ARGV[i])
  if s > second - 60 and s <= second then
    redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
    wrote = true
  end
end
if wrote and redis.call('TTL', KEYS[1]) < 120 then
  redis.call('EXPIRE', KEYS[1], 120)
end
return {'1'}
