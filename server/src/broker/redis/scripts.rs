//! The Lua scripts that write and read a room's stream in Redis, each one atomic step, so every
//! node sees the same ids in the same order and the same state of every message.
//!
//! A room's stream is three keys beside its `meta` (whose `seq` is the last id given):
//! - `log`, a Redis stream of its messages as sent (entry `<id>-0`; `n` name, `t` text, `ts`,
//!   `c` cid, `au` the author's token tag in hex when the name was held, `r` the id answered);
//! - `moved`, a sorted set (score: the id) of the messages changed since: an edit or a
//!   deletion takes the message out of `log` (`XDEL`) and keeps it here as it is now (JSON:
//!   `id`, `n`, `t`, `ts`, `c`, `au`, `r`, `ed` when edited; a deleted one has an empty `t`
//!   and no `c`), so no earlier text stays anywhere in Redis;
//! - `events`, a Redis stream of the edits, deletions and reactions (`n`, `ts`, `a` action,
//!   `g` target, `e` emoji); an edit's text is read from its message as it is now, as a
//!   single node's store rewrites it;
//! - `reactions`, a sorted set (score: the message's id) of each message's reactions (JSON:
//!   `id`, `r`: `[emoji, person, name]` in the order given).
//!
//! What is kept are the last `--history-per-room` ids (messages and events alike, as on a
//! single node): reads ignore anything older; the change script trims all four keys to them,
//! and the publish script trims `log` to as many messages (never fewer than those ids).

use std::sync::LazyLock;

/// Reads a kept message by id as it is now (a table of its fields) for the scripts below, or
/// `nil`; `original` also refuses a deleted one (and `logged` says whether the last one found
/// was still in the log). Uses the script's `seq` (the room's last id), `log_key`, `moved_key`
/// and `keep`.
const LOOKUP: &str = r"
local logged = false
local function at(id)
  return string.format('%d-0', id)
end
local function current(id)
  if id < 1 or id > seq or (keep > 0 and id <= seq - keep) then
    return nil
  end
  local found = redis.call('XRANGE', log_key, at(id), at(id))
  if found[1] then
    local m, f = {}, found[1][2]
    for i = 1, #f, 2 do
      m[f[i]] = f[i + 1]
    end
    logged = true
    return m
  end
  local state = redis.call('ZRANGEBYSCORE', moved_key, id, id)
  if state[1] then
    return cjson.decode(state[1])
  end
  return nil
end
local function original(id)
  local m = current(id)
  if m and m.t ~= '' then
    return m
  end
  return nil
end
";

/// Sequences, stores and publishes one message in one atomic step. Returns `{id, 0}` for a new
/// message, `{id, 1}` for a cid seen within its window (nothing stored), `{0, 2}` if the
/// message it answers is not there, `{-1, 0}` if the room's epoch is not `ARGV[7]` (its
/// history was lost since this node opened it). A message that is no reply and whose name is
/// not held passes exactly the keys and arguments it did before replies and author tags;
/// nothing on a message's path builds a table (every message's path, measured: BENCHMARKS.md).
/// KEYS: meta, log, cid key, and with the last two arguments moved. ARGV: channel, ids kept (0:
/// all), name, text, ts, cid ('' for none), epoch, cid window ms, then, for a reply or a held
/// name, the author tag ('' for none) and the id answered ('' for none).
pub static PUBLISH: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[7] then
  return {{-1, 0}}
end
if ARGV[6] ~= '' then
  local seen = redis.call('GET', KEYS[3])
  if seen then
    return {{tonumber(seen), 1}}
  end
end
local cid = ARGV[6]
local quote, quoted, answered = '', '', nil
if ARGV[10] and ARGV[10] ~= '' then
  local keep = tonumber(ARGV[2])
  local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
  local log_key, moved_key = KEYS[2], KEYS[4]
  {LOOKUP}
  answered = original(tonumber(ARGV[10]))
  if not answered then
    return {{0, 2}}
  end
  quote = string.format(' %s %d %d', ARGV[10], #answered.n, #answered.t)
  quoted = answered.n .. answered.t
end
local id = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local entry = string.format('%d-0', id)
-- The log holds messages only: trimmed by count, it keeps at least the ids reads may show.
local function append(...)
  if ARGV[2] ~= '0' then
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], entry,
      'n', ARGV[3], 't', ARGV[4], 'ts', ARGV[5], 'c', cid, ...)
  else
    redis.call('XADD', KEYS[2], entry, 'n', ARGV[3], 't', ARGV[4], 'ts', ARGV[5], 'c', cid, ...)
  end
end
local author = ARGV[9] or ''
if answered and author ~= '' then
  append('r', ARGV[10], 'au', author)
elseif answered then
  append('r', ARGV[10])
elseif author ~= '' then
  append('au', author)
else
  append()
end
if cid ~= '' then
  redis.call('SET', KEYS[3], id, 'PX', ARGV[8])
end
redis.call('PUBLISH', ARGV[1], string.format('m%d %s %d %d%s\n', id, ARGV[5], #cid, #ARGV[3],
  quote) .. cid .. quoted .. ARGV[3] .. ARGV[4])
return {{id, 0}}
"
    )
});

/// Checks and applies one event (edit, deletion, reaction) to its message, then sequences,
/// stores and publishes it, in one atomic step. Returns `{id, 0}` once stored, `{0, code}`
/// when refused (3 no such message, 4 not its author's edit, 5 not its author's or an
/// administrator's deletion, 6 the message's reactions are full, 7 its emoji are, 8 the
/// sender's are), `{-1, 0}` if the room's epoch is not `ARGV[5]`.
/// KEYS: meta, log, moved, events, reactions. ARGV: channel, ids kept (0: all), name, ts,
/// epoch, action (`edit`, `delete`, `react`), target, text or emoji, author tag ('' for
/// none), person, administrator ('1'), reactions per message, emoji per message, reactions
/// per person.
pub static CHANGE: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"
local room = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
if room[1] ~= ARGV[5] then
  return {{-1, 0}}
end
local keep, seq = tonumber(ARGV[2]), tonumber(room[2] or '0')
local log_key, moved_key = KEYS[2], KEYS[3]
{LOOKUP}
local target = tonumber(ARGV[7])
local m = original(target)
if not m then
  return {{0, 3}}
end
local action, tag = ARGV[6], string.format('%d', target)
local own = ARGV[9] ~= '' and m.au == ARGV[9]
local function move(text, edited)
  if logged then
    redis.call('XDEL', KEYS[2], at(target))
  else
    redis.call('ZREMRANGEBYSCORE', KEYS[3], target, target)
  end
  local state = {{id = tag, n = m.n, t = text, ts = m.ts, r = m.r, au = m.au}}
  if edited then
    state.c = m.c
    state.ed = edited
  end
  redis.call('ZADD', KEYS[3], target, cjson.encode(state))
end
local emoji = ''
if action == 'edit' then
  if not own then
    return {{0, 4}}
  end
  move(ARGV[8], ARGV[4])
elseif action == 'delete' then
  if not own and ARGV[11] ~= '1' then
    return {{0, 5}}
  end
  move('', nil)
  redis.call('ZREMRANGEBYSCORE', KEYS[5], target, target)
else
  emoji = ARGV[8]
  local held = redis.call('ZRANGEBYSCORE', KEYS[5], target, target)
  local given = {{}}
  if held[1] then
    given = cjson.decode(held[1]).r
  end
  local kinds, count, ours, mine = {{}}, 0, 0, nil
  for i, r in ipairs(given) do
    if not kinds[r[1]] then
      kinds[r[1]] = true
      count = count + 1
    end
    if r[2] == ARGV[10] then
      ours = ours + 1
      if r[1] == emoji then
        mine = i
      end
    end
  end
  if mine then
    table.remove(given, mine)
    action = 'unreact'
  else
    if #given >= tonumber(ARGV[12]) then
      return {{0, 6}}
    end
    if not kinds[emoji] and count >= tonumber(ARGV[13]) then
      return {{0, 7}}
    end
    if ours >= tonumber(ARGV[14]) then
      return {{0, 8}}
    end
    given[#given + 1] = {{emoji, ARGV[10], ARGV[3]}}
  end
  if held[1] then
    redis.call('ZREM', KEYS[5], held[1])
  end
  if #given > 0 then
    redis.call('ZADD', KEYS[5], target, cjson.encode({{id = tag, r = given}}))
  end
end
local id = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local fields = {{'n', ARGV[3], 'ts', ARGV[4], 'a', action, 'g', tag}}
if emoji ~= '' then
  fields[#fields + 1] = 'e'
  fields[#fields + 1] = emoji
end
if keep > 0 then
  local floor = id - keep
  redis.call('XADD', KEYS[4], 'MINID', '~', at(math.max(1, floor + 1)), at(id), unpack(fields))
  if floor > 0 then
    redis.call('XTRIM', KEYS[2], 'MINID', '~', at(floor + 1))
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', floor)
    redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', floor)
  end
else
  redis.call('XADD', KEYS[4], at(id), unpack(fields))
end
local shown = emoji
if action == 'edit' then
  shown = ARGV[8]
end
redis.call('PUBLISH', ARGV[1], string.format('e%d %s %s %s %d\n', id, ARGV[4], tag, action,
  #ARGV[3]) .. ARGV[3] .. shown)
return {{id, 0}}
"
    )
});

/// Reads a stretch of a room's stream as it is now, in one round trip: `after` (ids `ARGV[2]
/// ..= ARGV[3]`, messages and events, at most `ARGV[4]` of each), `from` (messages from id
/// `ARGV[2]` on) or `before` (the newest messages below id `ARGV[2]`). Returns `{log entries,
/// event entries, moved messages, reactions of the messages' ids, lookups}`, where lookups are
/// the messages (JSON: `id`, `n`, `t`) that replies answer and edits change, as they are now.
/// The caller merges the first three by id and keeps `ARGV[4]`.
/// KEYS: meta, log, moved, events, reactions. ARGV: mode, from, through, count, ids kept.
pub static READ: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"
local keep = tonumber(ARGV[5])
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local log_key, moved_key = KEYS[2], KEYS[3]
{LOOKUP}
local floor = 0
if keep > 0 and seq > keep then
  floor = seq - keep
end
local mode, n = ARGV[1], ARGV[4]
local log, events, moved = {{}}, {{}}, {{}}
if mode == 'before' then
  local hi = math.min(tonumber(ARGV[2]) - 1, seq)
  if hi > floor then
    log = redis.call('XREVRANGE', KEYS[2], at(hi), at(floor + 1), 'COUNT', n)
    moved = redis.call('ZREVRANGEBYSCORE', KEYS[3], hi, floor + 1, 'LIMIT', 0, n)
  end
else
  local lo, hi = math.max(tonumber(ARGV[2]), floor + 1), math.min(tonumber(ARGV[3]), seq)
  if hi >= lo then
    log = redis.call('XRANGE', KEYS[2], at(lo), at(hi), 'COUNT', n)
    moved = redis.call('ZRANGEBYSCORE', KEYS[3], lo, hi, 'LIMIT', 0, n)
    if mode == 'after' then
      events = redis.call('XRANGE', KEYS[4], at(lo), at(hi), 'COUNT', n)
    end
  end
end
local wanted, low, high = {{}}, nil, nil
local function span(id)
  if not low or id < low then low = id end
  if not high or id > high then high = id end
end
for _, e in ipairs(log) do
  span(tonumber(string.match(e[1], '^%d+')))
  local f = e[2]
  for i = 1, #f, 2 do
    if f[i] == 'r' then wanted[tonumber(f[i + 1])] = true end
  end
end
for _, s in ipairs(moved) do
  local m = cjson.decode(s)
  span(tonumber(m.id))
  if m.r then wanted[tonumber(m.r)] = true end
end
for _, e in ipairs(events) do
  local f, action, target = e[2], nil, nil
  for i = 1, #f, 2 do
    if f[i] == 'a' then action = f[i + 1] elseif f[i] == 'g' then target = f[i + 1] end
  end
  if action == 'edit' and target then wanted[tonumber(target)] = true end
end
local reactions = {{}}
if low then
  reactions = redis.call('ZRANGEBYSCORE', KEYS[5], low, high)
end
local lookups = {{}}
for id in pairs(wanted) do
  local m = current(id)
  if m then
    lookups[#lookups + 1] = cjson.encode({{id = string.format('%d', id), n = m.n, t = m.t}})
  end
end
return {{log, events, moved, reactions, lookups}}
"
    )
});
