// Records are hashes: s = state (p running, d done, u unknown, x released), f =
// fingerprint, t = token (of the run that holds, completed or settled it), n = execution
// count (the fencing number), l = lease end, m = retention after the lease (running), w =
// why a running claim is a rerun (absent: none), e = retention end (others), r = encoded
// response.
// Times are judged by Redis's own clock (TIME) by default: app servers sharing one Redis
// need not agree on the time, and one whose clock runs ahead cannot take another's running
// run for dead. Each step still carries a `now` argument: empty asks for Redis's clock, a
// number is the caller's (the store's `clock: 'caller'`, for tests that move time by hand).
// Steps carry durations, not ends, so that the end is counted on that same clock. PEXPIRE
// lets Redis drop the record on its own once that time has surely passed. The state
// machine is the one of RecordTable (table.ts).

/** `clock(arg)`: the step's `now`, or Redis's clock in whole ms, read once a call (one TIME a script). */
const CLOCK = `
local redis_now
local function clock(arg)
  if arg ~= '' then return tonumber(arg) end
  if redis_now == nil then
    local t = redis.call('TIME')
    redis_now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return redis_now
end`;

const LIVE = `
local function live(r, now)
  -- Records written before execution counts have no m (nor n): they count as one run.
  if r[1] == 'p' then return tonumber(r[5]) + (tonumber(r[6]) or 0) > now end
  if r[1] == false then return false end
  return tonumber(r[7]) > now
end`;

/** The longest expiry the store sets: about 285 000 years, written as digits by JavaScript and Lua alike. */
export const MAX_PEXPIRE_MS = Number.MAX_SAFE_INTEGER;

/** How many arguments each step takes after its one-letter code. */
export const STEP_ARITY = { claim: 7, complete: 6, settle: 5, renew: 4, free: 4 } as const;
export type Step = keyof typeof STEP_ARITY;
export const STEP_CODE: Readonly<Record<Step, string>> = { claim: 'c', complete: 'd', settle: 's', renew: 'r', free: 'f' };

/**
 * Runs a batch of steps, one per key, in order, in one script: one command for every
 * claim, completion, release and renewal queued in one event-loop turn. KEYS[i] is the
 * i-th step's key; ARGV[1] holds each step's code and then its arguments, packed into one
 * string (`packStep`): a client spends more per argument than per byte. Each step is
 * atomic on its own (the whole script is); a step that fails (a key of another type)
 * answers `{'error', message}` without failing the others.
 */
export const STEPS = `${CLOCK}${LIVE}
-- a: fingerprint, token suffix, now, lease ms, pexpire, recover (1/0), retention. An
-- in-progress answer gives the lease's time left, which the caller adds to its own now.
local function claim(key, a)
  local r = redis.call('HMGET', key, 's', 'f', 't', 'n', 'l', 'm', 'e', 'r')
  local now = clock(a[3])
  local s = r[1]
  local n = 0
  if live(r, now) then n = tonumber(r[4]) or 1 else s = false end
  if s == 'd' then return {'completed', r[2], r[8], tostring(n)} end
  if s == 'p' and tonumber(r[5]) > now then
    -- This very claim, sent again: a client resends a command whose reply a dropped
    -- connection lost (ioredis does). It ran, so its holder is the caller: say so.
    if string.sub(r[3], -(#a[2] + 1)) == '.' .. a[2] then return {'claimed', r[3], tostring(n), redis.call('HGET', key, 'w') or 'none'} end
    return {'in-progress', r[2], tostring(tonumber(r[5]) - now)}
  end
  local rerun = 'none'
  if s == 'p' or s == 'u' then
    if a[6] ~= '1' or r[2] ~= a[1] then return {'unknown', r[2], tostring(n)} end
    rerun = 'recovery'
  elseif s == 'x' then
    rerun = 'after-release'
  end
  n = n + 1
  local token = tostring(n) .. '.' .. a[2]
  redis.call('DEL', key)
  redis.call('HSET', key, 's', 'p', 'f', a[1], 't', token, 'n', n, 'l', now + tonumber(a[4]), 'm', a[7])
  -- w: why this run is a rerun, for a resent claim's answer; a first run writes none.
  if rerun ~= 'none' then redis.call('HSET', key, 'w', rerun) end
  redis.call('PEXPIRE', key, a[5])
  return {'claimed', token, tostring(n), rerun}
end

-- a: token, fingerprint, now, retention, response, pexpire. The holder may complete
-- after its lease ran out or it was marked unknown, as long as nobody took over. A
-- completed record keeps its token: this very completion, resent after a dropped
-- connection lost its reply, is answered as done, not as a lost lease.
local function complete(key, a)
  local r = redis.call('HMGET', key, 's', 't', 'n')
  if r[1] == 'd' and r[2] == a[1] then return 1 end
  if (r[1] ~= 'p' and r[1] ~= 'u') or r[2] ~= a[1] then return 0 end
  redis.call('DEL', key)
  redis.call('HSET', key, 's', 'd', 'f', a[2], 't', a[1], 'n', r[3] or 1, 'e', clock(a[3]) + tonumber(a[4]), 'r', a[5])
  redis.call('PEXPIRE', key, a[6])
  return 1
end

-- a: token, new state (x or u), now, retention, pexpire. Already in that state under
-- that token: this very step, resent (see complete).
local function settle(key, a)
  local r = redis.call('HMGET', key, 's', 't', 'f', 'n')
  if r[1] == a[2] and r[2] == a[1] then return 1 end
  if r[1] ~= 'p' or r[2] ~= a[1] then return 0 end
  redis.call('DEL', key)
  redis.call('HSET', key, 's', a[2], 'f', r[3], 't', r[2], 'n', r[4] or 1, 'e', clock(a[3]) + tonumber(a[4]))
  redis.call('PEXPIRE', key, a[5])
  return 1
end

-- a: token, now, lease ms, lease ms + margin (whole). m may be fractional: PEXPIRE takes
-- whole milliseconds, written without an exponent. PEXPIRE first: past maxmemory Redis
-- refuses a script's first write if it may grow memory (HSET), not later ones, and a
-- renewal refused lets the lease run out under a running handler.
local function renew(key, a)
  local r = redis.call('HMGET', key, 's', 't', 'm')
  if r[1] ~= 'p' or r[2] ~= a[1] then return 0 end
  local l = clock(a[2]) + tonumber(a[3])
  redis.call('PEXPIRE', key, math.min(math.ceil(tonumber(a[4]) + (tonumber(r[3]) or 0)), ${MAX_PEXPIRE_MS}))
  redis.call('HSET', key, 'l', l)
  return 1
end

-- a: token suffix, now, retention, pexpire. Frees the claim that the suffix names, still
-- running: a claim whose call failed (its reply lost with the connection) may have run,
-- and nobody holds it. A recovering claim took over an unknown outcome, which stays unknown.
local function free(key, a)
  local r = redis.call('HMGET', key, 's', 't', 'f', 'n', 'w')
  if r[1] ~= 'p' or string.sub(r[2], -(#a[1] + 1)) ~= '.' .. a[1] then return 0 end
  redis.call('DEL', key)
  redis.call('HSET', key, 's', r[5] == 'recovery' and 'u' or 'x', 'f', r[3], 't', r[2], 'n', r[4] or 1, 'e', clock(a[2]) + tonumber(a[3]))
  redis.call('PEXPIRE', key, a[4])
  return 1
end

local steps = {
  c = {claim, ${STEP_ARITY.claim}},
  d = {complete, ${STEP_ARITY.complete}},
  s = {settle, ${STEP_ARITY.settle}},
  r = {renew, ${STEP_ARITY.renew}},
  f = {free, ${STEP_ARITY.free}},
}
-- ARGV[1] is every step's arguments in one string (see packStep): a step is its
-- one-letter code, then each argument as <byte length>:<bytes>.
local packed = ARGV[1]
local pos = 1
local function field()
  local colon = string.find(packed, ':', pos, true)
  local len = tonumber(string.sub(packed, pos, colon - 1))
  pos = colon + 1 + len
  return string.sub(packed, colon + 1, pos - 1)
end
local out = {}
for i = 1, #KEYS do
  local code = string.sub(packed, pos, pos)
  local step = steps[code]
  if step == nil then return redis.error_reply('submit-once: unknown step ' .. code) end
  pos = pos + 1
  local a = {}
  for x = 1, step[2] do a[x] = field() end
  local ok, result = pcall(step[1], KEYS[i], a)
  if ok then
    out[i] = result
  else
    out[i] = {'error', type(result) == 'table' and tostring(result.err) or tostring(result)}
  end
end
return out`;

/**
 * True for a record of this store: other keys under the prefix (the prefix may be the
 * app's own namespace) are not ours to sweep or clear.
 */
const RECORD = `
local function record(key)
  if redis.call('TYPE', key).ok ~= 'hash' then return nil end
  local r = redis.call('HMGET', key, 's', 'f', 't', 'n', 'l', 'm', 'e')
  if (r[1] == 'p' or r[1] == 'd' or r[1] == 'u' or r[1] == 'x') and r[2] then return r end
  return nil
end`;

/** Drops KEYS[1] if it is a record past its retention at ARGV[1] (empty: Redis's clock). */
export const SWEEP = `${CLOCK}${LIVE}${RECORD}
local r = record(KEYS[1])
if r == nil or live(r, clock(ARGV[1])) then return 0 end
return redis.call('DEL', KEYS[1])`;

/** Drops KEYS[1] if it is a record. */
export const CLEAR = `${RECORD}
if record(KEYS[1]) == nil then return 0 end
return redis.call('DEL', KEYS[1])`;

/**
 * One step's code and arguments as `STEPS` reads them: the code, then each argument as
 * `<byte length>:<bytes>`, so any text fits (a colon, any character) with no escaping.
 * Sent as one argument for the whole batch: ioredis converts, measures and frames every
 * argument of a command apart, and a batch of 13 steps had about 100.
 */
export function packStep(step: Step, args: readonly (string | number)[]): string {
  let packed = STEP_CODE[step];
  for (const arg of args) {
    const text = typeof arg === 'number' ? `${arg}` : arg;
    packed += `${typeof arg === 'number' ? text.length : Buffer.byteLength(text)}:${text}`;
  }
  return packed;
}
