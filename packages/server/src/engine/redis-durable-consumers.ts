import type { Cluster, Redis } from 'ioredis';
import type { Broker } from './broker.js';
import {
  checkCount,
  checkMinIdle,
  checkName,
  checkStart,
  DurableGroupMissingError,
  MAX_ENTRIES_PER_CALL,
  RELEASED_HOLDER,
  RELEASED_IDLE_MS,
  type ClaimOptions,
  type DeadLetter,
  type DeadLetterOutcome,
  type DeadLetterPage,
  type DeadLetterQuery,
  type DurableConsumers,
  type DurableEntry,
  type DurableEntryId,
  type GoneEntry,
  type GroupQuery,
  type GroupStart,
  type GroupSummary,
  type JoinOptions,
  type MemberSummary,
  type JoinOutcome,
  type ReadOptions,
  type ReadOutcome,
  type ReleaseOutcome,
} from './durable-consumers.js';
import { DEFAULT_MAX_DEAD_LETTERS_PER_CHANNEL } from './memory-durable-consumers.js';
import { assertRedisPrefix, channelKeys, DEFAULT_REDIS_PREFIX, encodeTagContent } from './redis-keys.js';
import { luaScript, runScript } from './redis-script.js';

/** The largest sequence part of a stream id: `<offset>-MAX` sorts after every id of that offset. */
const MAX_SEQUENCE = '18446744073709551615';

/**
 * How entries of the Redis broker's log read (ADR 0015): ids `<offset>-<append ms>`, the encoded
 * event in field `d`. So an entry's offset is the first part of its id, and "after offset N" is
 * the id `N-<max>`.
 */
export function offsetOfLogId(id: string): number | undefined {
  const match = /^(\d+)-\d+$/.exec(id);
  return match ? Number(match[1]) : undefined;
}

export function logIdAfterOffset(offset: number): string {
  return `${offset}-${MAX_SEQUENCE}`;
}

export interface RedisDurableConsumersOptions {
  /** A connection the caller owns (not closed by `close`). RESP2 and RESP3 replies are both understood. */
  readonly redis: Redis | Cluster;
  /**
   * The broker that writes the channels' logs, with the same `prefix`. `join` reads the
   * channel's position through it first, so the log and its epoch exist before the group does:
   * the broker recreates a stream it finds without an epoch, which would drop a group made on it.
   */
  readonly broker?: Broker;
  /** The broker's key prefix (`REDIS_KEY_PREFIX`); default `apix`. */
  readonly prefix?: string;
  readonly maxDeadLettersPerChannel?: number;
}

/** Ids of entries redelivered from the dead letters live in the group's redrive stream. */
const REDRIVE_PREFIX = 'r:';
/** XAUTOCLAIM scans at most COUNT×10 pending entries per call; a few calls bound one claim. */
const MAX_AUTOCLAIM_ROUNDS = 8;
const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

type StreamEntry = [id: string, fields: string[] | null];

/**
 * Moves a pending entry to the dead letters in one step, so two nodes dead-lettering the same
 * entry store it once. KEYS: stream, dlq. ARGV: group, id, reason, offset ('' when the entry
 * carries its own), maxLen, nowMs, dataField, redrive ('1' when the stream is a redrive stream).
 */
const DEAD_LETTER_SCRIPT = `
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 then return 'not-pending' end
local count = tonumber(pending[1][4])
local found = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if ARGV[8] == '1' then redis.call('XDEL', KEYS[1], ARGV[2]) end
if #found == 0 then return 'gone' end
local fields = found[1][2]
local data = nil
local offset = ARGV[4]
for i = 1, #fields, 2 do
  local name = fields[i]
  if name == ARGV[7] then data = fields[i + 1] end
  if ARGV[8] == '1' and name == 'o' then offset = fields[i + 1] end
  if ARGV[8] == '1' and name == 'c' then count = count + tonumber(fields[i + 1]) end
end
if data == nil then return 'gone' end
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[5], '*', 'g', ARGV[1], 'o', offset, 'd', data, 'r', ARGV[3], 'c', count, 't', ARGV[6])
return 'dead-lettered'
`;

/**
 * Hands pending entries to a member again, whatever their idle time. KEYS: stream. ARGV: group,
 * member, ids… Returns a flat list of triples: id, delivery count (0 when the entry was trimmed:
 * Redis 7.0's XCLAIM drops it from the pending list and returns nothing), fields.
 */
const RETRY_SCRIPT = `
local out = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
  if #pending > 0 then
    local claimed = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id)
    if #claimed == 0 or not claimed[1][2] then
      redis.call('XACK', KEYS[1], ARGV[1], id)
      table.insert(out, id); table.insert(out, 0); table.insert(out, {})
    else
      table.insert(out, id); table.insert(out, tonumber(pending[1][4]) + 1); table.insert(out, claimed[1][2])
    end
  end
end
return out
`;

/**
 * Gives up a member's pending entries, in one step per stream. KEYS: stream. ARGV: group,
 * member, released holder, idle ms, ids… An entry the member holds moves to the released holder
 * with `IDLE` set far back, so the next XAUTOCLAIM of any member takes it; `JUSTID` keeps its
 * delivery count (releasing is not a delivery). An entry the log trimmed is acked away and
 * reported (Redis 7.0's XCLAIM would drop it from the pending list silently). Returns a flat list
 * of pairs: id, 1 (released) or 0 (gone). Ids held by someone else are skipped: acked, claimed or
 * retried meanwhile, they are theirs.
 */
const RELEASE_SCRIPT = `
local out = {}
for i = 5, #ARGV do
  local id = ARGV[i]
  local row = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)[1]
  if row and row[2] == ARGV[2] then
    if #redis.call('XRANGE', KEYS[1], id, id) == 0 then
      redis.call('XACK', KEYS[1], ARGV[1], id)
      table.insert(out, id); table.insert(out, 0)
    else
      redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, id, 'IDLE', ARGV[4], 'JUSTID')
      table.insert(out, id); table.insert(out, 1)
    end
  end
end
return out
`;

/**
 * Removes a member that holds nothing, in one step (so no read can hand it an entry between the
 * check and the removal: XGROUP DELCONSUMER drops whatever the consumer still holds). KEYS: log,
 * redrive. ARGV: group, member. Returns 1 when the member is not in the group afterwards, 0 when
 * it holds pending entries (nothing changed). The redrive stream's group may be missing (a log
 * group made by an older version): then nothing is pending there.
 */
const REMOVE_MEMBER_SCRIPT = `
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) > 0 then return 0 end
local redrive = redis.pcall('XPENDING', KEYS[2], ARGV[1], '-', '+', 1, ARGV[2])
local redriveGroup = type(redrive) == 'table' and not redrive.err
if redriveGroup and #redrive > 0 then return 0 end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
if redriveGroup then redis.call('XGROUP', 'DELCONSUMER', KEYS[2], ARGV[1], ARGV[2]) end
return 1
`;

/**
 * A page of the log's groups with their idle time, in one step. KEYS: log. ARGV: prefix, after
 * ('' for the first page), limit. XINFO GROUPS lists groups in name (byte) order; XINFO CONSUMERS
 * is asked only for the page's groups, so the work is bounded by the limit. Lua sees RESP2 replies:
 * flat field/value arrays. Returns a flat list of triples: name, smallest consumer idle ms (-1: no
 * consumers), and the consumers as a flat list of triples (name, pending, idle ms; in name order,
 * as Redis keeps them). A missing log has no groups.
 */
const LIST_GROUPS_SCRIPT = `
local groups = redis.pcall('XINFO', 'GROUPS', KEYS[1])
if type(groups) ~= 'table' or groups.err then return {} end
local prefix, after, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
-- Byte order, as the radix tree orders groups (Lua's '>' follows the server's locale).
local function later(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x > y end
  end
  return #a > #b
end
local out = {}
local taken = 0
for _, info in ipairs(groups) do
  if taken >= limit then break end
  local name = nil
  for i = 1, #info, 2 do if info[i] == 'name' then name = info[i + 1] end end
  if name and string.sub(name, 1, #prefix) == prefix and (after == '' or later(name, after)) then
    taken = taken + 1
    local idle = -1
    local members = {}
    for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], name)) do
      local f = {}
      for i = 1, #consumer, 2 do f[consumer[i]] = consumer[i + 1] end
      local value = tonumber(f['idle'])
      if idle < 0 or value < idle then idle = value end
      table.insert(members, f['name']); table.insert(members, f['pending']); table.insert(members, value)
    end
    table.insert(out, name); table.insert(out, idle); table.insert(out, members)
  end
end
return out
`;

/**
 * The reads of several members of one channel's groups, in one step (one round trip for every
 * subscriber a publication woke on this node). KEYS: the log, then each read's redrive stream.
 * ARGV: per read, group, member, count, from ('pending' | 'new' | 'both').
 *
 * Per read, in order: the member's pending entries of the log, then of the redrive stream, then
 * new redrive entries (redelivered dead letters go before the log's), then new log entries — at
 * most `count` entries and gone reports in all. `'0'` re-reads pending entries (Redis counts
 * each as a delivery); `'>'` takes entries no member was handed yet.
 *
 * Returns `{bodies, result1, result2, …}`: an entry's fields are sent once however many groups
 * read it (`bodies`); a result is a flat list of quadruples — source ('l' log, 'r' redrive),
 * id, delivery count (0: trimmed while pending; Redis 7.0 answers such an entry with a nil body
 * forever, so it is acked away here and reported), index into bodies — or `{'!', error}` when
 * that read failed (a missing group fails its own read, never its neighbours').
 */
const READ_SCRIPT = luaScript(`
local bodies = {}
local logBody = {}
local out = {bodies}
local function take(result, key, group, member, source, from, room)
  if room <= 0 then return room end
  local reply = redis.pcall('XREADGROUP', 'GROUP', group, member, 'COUNT', room, 'STREAMS', key, from)
  if type(reply) == 'table' and reply.err then error(reply.err, 0) end
  if not reply then return room end
  local entries = reply[1][2]
  for i = 1, #entries do
    local id, fields = entries[i][1], entries[i][2]
    if not fields then
      redis.call('XACK', key, group, id)
      table.insert(result, source); table.insert(result, id); table.insert(result, 0); table.insert(result, 0)
    else
      local count = 1
      if from == '0' then
        local row = redis.call('XPENDING', key, group, id, id, 1)[1]
        if row then count = tonumber(row[4]) end
      end
      local body
      if source == 'l' then body = logBody[id] end
      if not body then
        table.insert(bodies, fields)
        body = #bodies
        if source == 'l' then logBody[id] = body end
      end
      table.insert(result, source); table.insert(result, id); table.insert(result, count); table.insert(result, body)
    end
    room = room - 1
  end
  return room
end
for r = 1, #KEYS - 1 do
  local group, member = ARGV[4 * r - 3], ARGV[4 * r - 2]
  local room = tonumber(ARGV[4 * r - 1])
  local from = ARGV[4 * r]
  local result = {}
  local ok, err = pcall(function()
    if from ~= 'new' then
      room = take(result, KEYS[1], group, member, 'l', '0', room)
      room = take(result, KEYS[r + 1], group, member, 'r', '0', room)
    end
    if from ~= 'pending' then
      room = take(result, KEYS[r + 1], group, member, 'r', '>', room)
      room = take(result, KEYS[1], group, member, 'l', '>', room)
    end
  end)
  if ok then table.insert(out, result) else table.insert(out, {'!', tostring(type(err) == 'table' and err.err or err)}) end
end
return out
`);
/** Reads of one channel batched into one script call at most (bounds the script's reply). */
const MAX_READS_PER_CALL = 64;

interface QueuedRead {
  readonly group: string;
  readonly member: string;
  readonly options: ReadOptions;
  readonly resolve: (outcome: ReadOutcome) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Moves a dead letter back to its group's redrive stream in one step. KEYS: dlq, redrive.
 * ARGV: letter id, group. Returns 1 when moved.
 */
const REDELIVER_SCRIPT = `
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then return 0 end
local f = {}
local fields = found[1][2]
for i = 1, #fields, 2 do f[fields[i]] = fields[i + 1] end
if f['g'] ~= ARGV[2] then return 0 end
redis.call('XADD', KEYS[2], '*', 'o', f['o'], 'd', f['d'], 'c', f['c'])
redis.call('XDEL', KEYS[1], ARGV[1])
return 1
`;

/**
 * Durable consumers on Redis Streams consumer groups: a group on the channel's log stream
 * (XGROUP CREATE … MKSTREAM, XREADGROUP, XACK, XAUTOCLAIM, XPENDING), dead letters in one
 * stream per channel (`<prefix>:{ch}:dlq`), and per group a small redrive stream (`<prefix>:{ch}:g:<group>:r`)
 * with a consumer group of the same name, for entries redelivered from the dead letters (Redis
 * cannot put an acked entry back into a pending list).
 *
 * Redis 7.0 traps, handled: an entry trimmed while pending comes back from XREADGROUP with id
 * 0 as `[id, nil]`, and XAUTOCLAIM lists it in its third element (and drops it from the pending
 * list itself). Both are acked away (the former) and reported in `gone`, never thrown.
 */
export class RedisDurableConsumers implements DurableConsumers {
  readonly name = 'redis';
  readonly #redis: Redis | Cluster;
  readonly #broker: Broker | undefined;
  readonly #prefix: string;
  readonly #maxDeadLetters: number;
  /** Reads issued this tick, by channel key (see `read`). */
  #queuedReads = new Map<string, QueuedRead[]>();
  #closed = false;

  constructor(options: RedisDurableConsumersOptions) {
    this.#redis = options.redis;
    this.#broker = options.broker;
    this.#prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
    assertRedisPrefix(this.#prefix);
    this.#maxDeadLetters = options.maxDeadLettersPerChannel ?? DEFAULT_MAX_DEAD_LETTERS_PER_CHANNEL;
  }

  /** The channel's log: the broker's stream (redis-keys.ts). */
  logKey(channelKey: string): string {
    return channelKeys(this.#prefix, channelKey).stream;
  }

  /** Beside the broker's keys, under the same hash tag: `<prefix>:{<channel>}:dlq`. */
  deadLetterKey(channelKey: string): string {
    return `${this.#channelBase(channelKey)}:dlq`;
  }

  /** `<prefix>:{<channel>}:g:<group>:r`; the group name is last but one and the suffix fixed, so keys stay distinct. */
  redriveKey(channelKey: string, group: string): string {
    return `${this.#channelBase(channelKey)}:g:${group}:r`;
  }

  #channelBase(channelKey: string): string {
    return `${this.#prefix}:{${encodeTagContent(channelKey)}}`;
  }

  async join(channelKey: string, group: string, member: string, options: JoinOptions): Promise<JoinOutcome> {
    this.#checkOpen();
    checkName('group', group);
    checkName('member', member);
    checkStart(options.start);
    if (this.#broker) await this.#broker.history(channelKey, { limit: 0 });
    const created = await this.#createGroup(this.logKey(channelKey), group, this.#startId(options.start));
    const redrive = this.redriveKey(channelKey, group);
    // A new group on the log may follow a group lost with its log: its redrive stream (a key of
    // its own) survived and holds offsets of the old epoch. A new group starts with none.
    if (created) await this.#redis.call('DEL', redrive);
    await this.#createGroup(redrive, group, '0');
    await this.#redis.call('XGROUP', 'CREATECONSUMER', this.logKey(channelKey), group, member);
    return { created };
  }

  /**
   * Queued, not sent: the reads issued within one tick (every acknowledged subscriber a
   * publication woke on this node) leave as one script call per channel, and an entry's body
   * comes back once for all of them. Each read still resolves or fails on its own.
   */
  read(channelKey: string, group: string, member: string, options: ReadOptions): Promise<ReadOutcome> {
    try {
      this.#checkOpen();
      checkName('group', group);
      checkName('member', member);
      checkCount('count', options.count);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<ReadOutcome>((resolve, reject) => {
      let queued = this.#queuedReads.get(channelKey);
      if (!queued) this.#queuedReads.set(channelKey, (queued = []));
      queued.push({ group, member, options, resolve, reject });
      if (this.#queuedReads.size === 1 && queued.length === 1) process.nextTick(() => this.#sendQueuedReads());
    });
  }

  #sendQueuedReads(): void {
    const queued = this.#queuedReads;
    this.#queuedReads = new Map();
    for (const [channelKey, reads] of queued) {
      for (let i = 0; i < reads.length; i += MAX_READS_PER_CALL) void this.#readBatch(channelKey, reads.slice(i, i + MAX_READS_PER_CALL));
    }
  }

  async #readBatch(channelKey: string, reads: readonly QueuedRead[]): Promise<void> {
    let reply: unknown[];
    try {
      reply = (await runScript(
        this.#redis,
        READ_SCRIPT,
        [this.logKey(channelKey), ...reads.map((r) => this.redriveKey(channelKey, r.group))],
        reads.flatMap((r) => [r.group, r.member, r.options.count, r.options.from]),
      )) as unknown[];
    } catch (error) {
      for (const read of reads) read.reject(error);
      return;
    }
    const answers: unknown[] = Array.isArray(reply) ? reply : [];
    const bodies = (Array.isArray(answers[0]) ? answers[0] : []) as string[][];
    reads.forEach((read, r) => {
      // Every read is answered, whatever happened to its neighbours: one malformed answer must not
      // leave the others' promises pending (their subscriptions would never read again).
      try {
        read.resolve(this.#readOutcome(channelKey, read, bodies, answers[r + 1]));
      } catch (error) {
        read.reject(error);
      }
    });
  }

  /** One read's part of a batched reply (see READ_SCRIPT); throws what the read should reject with. */
  #readOutcome(channelKey: string, read: QueuedRead, bodies: readonly string[][], result: unknown): ReadOutcome {
    if (!Array.isArray(result)) throw new Error(`malformed durable read reply (${typeof result})`);
    if (result[0] === '!') {
      const message = String(result[1]);
      throw message.startsWith('NOGROUP') ? new DurableGroupMissingError(channelKey, read.group) : new Error(message);
    }
    const entries: DurableEntry[] = [];
    const gone: GoneEntry[] = [];
    for (let i = 0; i + 3 < result.length; i += 4) {
      const redrive = result[i] === 'r';
      const id = String(result[i + 1]);
      const count = Number(result[i + 2]);
      if (count === 0) gone.push(this.#gone(id, redrive));
      else entries.push(this.#entry(id, bodies[Number(result[i + 3]) - 1] ?? [], count, redrive));
    }
    return { entries, gone };
  }

  async ack(channelKey: string, group: string, ids: readonly DurableEntryId[]): Promise<number> {
    this.#checkOpen();
    const logIds = ids.filter((id) => !id.startsWith(REDRIVE_PREFIX) && STREAM_ID.test(id));
    const redriveIds = ids
      .filter((id) => id.startsWith(REDRIVE_PREFIX))
      .map((id) => id.slice(REDRIVE_PREFIX.length))
      .filter((id) => STREAM_ID.test(id));
    let acked = 0;
    if (logIds.length > 0) acked += Number(await this.#redis.call('XACK', this.logKey(channelKey), group, ...logIds));
    if (redriveIds.length > 0) {
      const redrive = this.redriveKey(channelKey, group);
      const pipeline = this.#redis.pipeline();
      for (const id of redriveIds) pipeline.call('XACK', redrive, group, id);
      const results = (await pipeline.exec()) ?? [];
      // Redrive entries are this group's alone: once acked nobody needs them. Only the ones this
      // call acked are deleted, so an id not yet handed out cannot be dropped unread.
      const done = redriveIds.filter((_, i) => {
        const [error, reply] = results[i] ?? [null, 0];
        if (error) throw error;
        return Number(reply) === 1;
      });
      acked += done.length;
      if (done.length > 0) await this.#redis.call('XDEL', redrive, ...done);
    }
    return acked;
  }

  async claim(channelKey: string, group: string, member: string, options: ClaimOptions): Promise<ReadOutcome> {
    return this.#groupCall(channelKey, group, () => this.#claim(channelKey, group, member, options));
  }

  async #claim(channelKey: string, group: string, member: string, options: ClaimOptions): Promise<ReadOutcome> {
    this.#checkOpen();
    checkName('group', group);
    checkName('member', member);
    checkCount('count', options.count);
    checkMinIdle(options.minIdleMs);
    const entries: DurableEntry[] = [];
    const gone: GoneEntry[] = [];
    await this.#autoClaim(this.logKey(channelKey), group, member, options, false, entries, gone);
    const room = options.count - entries.length - gone.length;
    if (room > 0) {
      await this.#autoClaim(this.redriveKey(channelKey, group), group, member, { ...options, count: room }, true, entries, gone);
    }
    return { entries, gone };
  }

  async retry(channelKey: string, group: string, member: string, ids: readonly DurableEntryId[]): Promise<ReadOutcome> {
    this.#checkOpen();
    checkName('group', group);
    checkName('member', member);
    if (ids.length > MAX_ENTRIES_PER_CALL) throw new RangeError(`at most ${MAX_ENTRIES_PER_CALL} ids per retry`);
    return this.#groupCall(channelKey, group, async () => {
      const entries: DurableEntry[] = [];
      const gone: GoneEntry[] = [];
      const unique = [...new Set(ids)];
      const logIds = unique.filter((id) => !id.startsWith(REDRIVE_PREFIX) && STREAM_ID.test(id));
      const redriveIds = unique
        .filter((id) => id.startsWith(REDRIVE_PREFIX))
        .map((id) => id.slice(REDRIVE_PREFIX.length))
        .filter((id) => STREAM_ID.test(id));
      for (const [key, streamIds, redrive] of [
        [this.logKey(channelKey), logIds, false],
        [this.redriveKey(channelKey, group), redriveIds, true],
      ] as const) {
        // An empty id list still runs once, so a missing group is reported the same way.
        const reply = (await this.#redis.eval(RETRY_SCRIPT, 1, key, group, member, ...(streamIds.length > 0 ? streamIds : ['0-0']))) as unknown[];
        for (let i = 0; i + 2 < reply.length; i += 3) {
          const id = String(reply[i]);
          const count = Number(reply[i + 1]);
          if (count === 0) gone.push(this.#gone(id, redrive));
          else entries.push(this.#entry(id, reply[i + 2] as string[], count, redrive));
        }
      }
      return { entries, gone };
    });
  }

  async deadLetter(channelKey: string, group: string, id: DurableEntryId, reason: string): Promise<DeadLetterOutcome> {
    return this.#groupCall(channelKey, group, () => this.#deadLetter(channelKey, group, id, reason));
  }

  async #deadLetter(channelKey: string, group: string, id: DurableEntryId, reason: string): Promise<DeadLetterOutcome> {
    this.#checkOpen();
    const redrive = id.startsWith(REDRIVE_PREFIX);
    const given = redrive ? id.slice(REDRIVE_PREFIX.length) : id;
    // An id that is no stream id is never pending; 0-0 never is either, and still lets the script
    // report a missing group the same way as for a well-formed id.
    const streamId = STREAM_ID.test(given) ? given : '0-0';
    const stream = redrive ? this.redriveKey(channelKey, group) : this.logKey(channelKey);
    const offset = redrive ? '' : String(offsetOfLogId(streamId) ?? '');
    const outcome = await this.#redis.eval(
      DEAD_LETTER_SCRIPT,
      2,
      stream,
      this.deadLetterKey(channelKey),
      group,
      streamId,
      reason,
      offset,
      this.#maxDeadLetters,
      Date.now(),
      'd',
      redrive ? '1' : '0',
    );
    return String(outcome) as DeadLetterOutcome;
  }

  async deadLetters(channelKey: string, query: DeadLetterQuery): Promise<DeadLetterPage> {
    this.#checkOpen();
    checkCount('limit', query.limit);
    if (query.after !== undefined && !STREAM_ID.test(query.after)) {
      throw new RangeError(`malformed dead-letter cursor: ${query.after}`);
    }
    const from = query.after === undefined ? '-' : `(${query.after}`;
    const reply = (await this.#redis.call('XRANGE', this.deadLetterKey(channelKey), from, '+', 'COUNT', query.limit + 1)) as StreamEntry[];
    const letters = reply.slice(0, query.limit).map(toDeadLetter);
    return { letters, next: reply.length > query.limit ? letters.at(-1)!.id : undefined };
  }

  async deadLetterById(channelKey: string, id: string): Promise<DeadLetter | undefined> {
    this.#checkOpen();
    if (!STREAM_ID.test(id)) return undefined;
    const reply = (await this.#redis.call('XRANGE', this.deadLetterKey(channelKey), id, id)) as StreamEntry[];
    return reply.length > 0 ? toDeadLetter(reply[0]!) : undefined;
  }

  async redeliver(channelKey: string, id: string): Promise<boolean> {
    const letter = await this.deadLetterById(channelKey, id);
    if (!letter) return false;
    const moved = await this.#redis.eval(
      REDELIVER_SCRIPT,
      2,
      this.deadLetterKey(channelKey),
      this.redriveKey(channelKey, letter.group),
      id,
      letter.group,
    );
    return Number(moved) === 1;
  }

  async removeGroup(channelKey: string, group: string): Promise<boolean> {
    this.#checkOpen();
    let existed = false;
    try {
      existed = Number(await this.#redis.call('XGROUP', 'DESTROY', this.logKey(channelKey), group)) === 1;
    } catch (error) {
      // XGROUP on a missing key is an error, not 0: the log (and so the group) is gone already.
      if (!(error instanceof Error && /requires the key to exist/i.test(error.message))) throw error;
    }
    await this.#redis.call('DEL', this.redriveKey(channelKey, group));
    return existed;
  }

  async release(channelKey: string, group: string, member: string, ids: readonly DurableEntryId[]): Promise<ReleaseOutcome> {
    this.#checkOpen();
    checkName('group', group);
    checkName('member', member);
    if (ids.length > MAX_ENTRIES_PER_CALL) throw new RangeError(`at most ${MAX_ENTRIES_PER_CALL} ids per release`);
    return this.#groupCall(channelKey, group, async () => {
      const { logIds, redriveIds } = splitIds([...new Set(ids)]);
      let released = 0;
      const gone: GoneEntry[] = [];
      for (const [key, streamIds, redrive] of [
        [this.logKey(channelKey), logIds, false],
        [this.redriveKey(channelKey, group), redriveIds, true],
      ] as const) {
        // The log always runs (an empty list as 0-0, never pending), so a missing group is reported the same way.
        if (redrive && streamIds.length === 0) continue;
        const args = [group, member, RELEASED_HOLDER, RELEASED_IDLE_MS, ...(streamIds.length > 0 ? streamIds : ['0-0'])];
        const reply = (await this.#redis.eval(RELEASE_SCRIPT, 1, key, ...args)) as unknown[];
        for (let i = 0; i + 1 < reply.length; i += 2) {
          if (Number(reply[i + 1]) === 1) released++;
          else gone.push(this.#gone(String(reply[i]), redrive));
        }
      }
      return { released, gone };
    });
  }

  async removeMember(channelKey: string, group: string, member: string): Promise<boolean> {
    this.#checkOpen();
    checkName('group', group);
    checkName('member', member);
    return this.#groupCall(channelKey, group, async () => {
      const reply = await this.#redis.eval(REMOVE_MEMBER_SCRIPT, 2, this.logKey(channelKey), this.redriveKey(channelKey, group), group, member);
      return Number(reply) === 1;
    });
  }

  async listGroups(channelKey: string, query: GroupQuery): Promise<readonly GroupSummary[]> {
    this.#checkOpen();
    checkCount('limit', query.limit);
    const reply = (await this.#redis.eval(LIST_GROUPS_SCRIPT, 1, this.logKey(channelKey), query.prefix, query.after ?? '', query.limit)) as unknown[];
    const out: GroupSummary[] = [];
    for (let i = 0; i + 2 < reply.length; i += 3) {
      const idle = Number(reply[i + 1]);
      const flat = reply[i + 2] as unknown[];
      const members: MemberSummary[] = [];
      for (let j = 0; j + 2 < flat.length; j += 3) members.push({ member: String(flat[j]), pending: Number(flat[j + 1]), idleMs: Number(flat[j + 2]) });
      out.push({ group: String(reply[i]), idleMs: idle < 0 ? Number.POSITIVE_INFINITY : idle, members });
    }
    return out;
  }

  /** The connection belongs to the caller; closing only stops this instance. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  /** Runs a call on an existing group; Redis's NOGROUP (group never made, or lost with the log) becomes the typed error. */
  async #groupCall<T>(channelKey: string, group: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('NOGROUP')) throw new DurableGroupMissingError(channelKey, group);
      throw error;
    }
  }

  #startId(start: GroupStart): string {
    return start.kind === 'new' ? '$' : start.kind === 'retained' ? '0' : logIdAfterOffset(start.offset);
  }

  /** XGROUP CREATE … MKSTREAM; true when created, false when the group existed (BUSYGROUP). */
  async #createGroup(key: string, group: string, startId: string): Promise<boolean> {
    try {
      await this.#redis.call('XGROUP', 'CREATE', key, group, startId, 'MKSTREAM');
      return true;
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('BUSYGROUP')) return false;
      throw error;
    }
  }

  async #autoClaim(
    key: string,
    group: string,
    member: string,
    options: ClaimOptions,
    redrive: boolean,
    entries: DurableEntry[],
    gone: GoneEntry[],
  ): Promise<void> {
    let cursor = '0-0';
    const claimed: Array<[string, string[]]> = [];
    for (let round = 0; round < MAX_AUTOCLAIM_ROUNDS; round++) {
      const want = options.count - claimed.length - gone.length;
      if (want <= 0) break;
      const reply = (await this.#redis.call('XAUTOCLAIM', key, group, member, Math.floor(options.minIdleMs), cursor, 'COUNT', want)) as [
        string,
        StreamEntry[],
        string[]?,
      ];
      cursor = reply[0];
      for (const [id, fields] of reply[1]) {
        if (fields === null) gone.push(this.#gone(id, redrive));
        else claimed.push([id, fields]);
      }
      // Redis 7.0: the third element lists entries trimmed while pending (already dropped from the list).
      for (const id of reply[2] ?? []) gone.push(this.#gone(id, redrive));
      if (cursor === '0-0') break;
    }
    const counts = await this.#deliveryCounts(key, group, claimed.map(([id]) => id));
    claimed.forEach(([id, fields], i) => entries.push(this.#entry(id, fields, counts[i] ?? 1, redrive)));
  }

  /** Delivery counts from the pending list, one XPENDING per id in one round trip. */
  async #deliveryCounts(key: string, group: string, ids: readonly string[]): Promise<number[]> {
    if (ids.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const id of ids) pipeline.call('XPENDING', key, group, id, id, 1);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, reply]) => {
      if (error) throw error;
      const row = (reply as Array<[string, string, number, number]>)[0];
      return row ? Number(row[3]) : 1;
    });
  }

  #entry(id: string, fields: string[], pendingCount: number, redrive: boolean): DurableEntry {
    const field = (name: string) => {
      for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
      return undefined;
    };
    if (redrive) {
      // The carried count is what the entry had when dead-lettered; the redrive pending count adds to it.
      return {
        id: `${REDRIVE_PREFIX}${id}`,
        offset: Number(field('o')),
        data: field('d') ?? '',
        deliveryCount: Number(field('c') ?? 0) + pendingCount,
      };
    }
    return { id, offset: offsetOfLogId(id) ?? 0, data: field('d') ?? '', deliveryCount: pendingCount };
  }

  #gone(id: string, redrive: boolean): GoneEntry {
    return redrive ? { id: `${REDRIVE_PREFIX}${id}`, offset: undefined } : { id, offset: offsetOfLogId(id) };
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error('durable consumers are closed');
  }
}

/** Log ids and redrive ids (without their `r:` prefix); anything that is no stream id is dropped (never pending). */
function splitIds(ids: readonly DurableEntryId[]): { logIds: string[]; redriveIds: string[] } {
  return {
    logIds: ids.filter((id) => !id.startsWith(REDRIVE_PREFIX) && STREAM_ID.test(id)),
    redriveIds: ids
      .filter((id) => id.startsWith(REDRIVE_PREFIX))
      .map((id) => id.slice(REDRIVE_PREFIX.length))
      .filter((id) => STREAM_ID.test(id)),
  };
}

function toDeadLetter([id, fields]: StreamEntry): DeadLetter {
  const f = new Map<string, string>();
  for (let i = 0; fields && i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
  return {
    id,
    group: f.get('g') ?? '',
    offset: Number(f.get('o') ?? 0),
    data: f.get('d') ?? '',
    reason: f.get('r') ?? '',
    deliveryCount: Number(f.get('c') ?? 0),
    deadLetteredAt: Number(f.get('t') ?? 0),
  };
}
