import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  channelKey,
  channelNameSchema,
  channelTypeOf,
  isValidChannelName,
  organizationIdSchema,
  parseChannelName,
  splitChannelKey,
  userIdSchema,
  type ParsedChannel,
} from '@apix/protocol';

function parsed(name: unknown): ParsedChannel {
  const result = parseChannelName(name);
  if (typeof result === 'string') throw new Error(`expected ${JSON.stringify(name)} to parse, got: ${result}`);
  return result;
}

const seg64 = 'a'.repeat(64);

describe('channel grammar: accepted forms', () => {
  it.each([
    'agent',
    'agent:a-1',
    'agent:A_b-9',
    'tool',
    'tool:search',
    'workflow:wf_1:run:42',
    'provider',
    'provider:openai',
    'system',
    'system:maintenance',
    'user:u1',
    'user:u1:inbox',
    'org',
    'org:announcements',
    'room:design-review',
    'room:x:y:z',
    'agent:0',
    'agent:-',
    'agent:_',
    `agent:${seg64}`,
    'agent:1:2:3:4:5:6:7:8', // exactly 8 segments
  ])('accepts %s', (name) => {
    expect(isValidChannelName(name)).toBe(true);
    expect(channelNameSchema.safeParse(name).success).toBe(true);
    const p = parsed(name);
    expect(p.name).toBe(name);
    expect([p.namespace, ...p.segments].join(':')).toBe(name);
  });

  it('accepts a name of exactly 200 characters', () => {
    const name = `agent:${seg64}:${seg64}:${seg64}`;
    expect(name).toHaveLength(200);
    expect(isValidChannelName(name)).toBe(true);
  });

  it('splits namespace and segments', () => {
    const p = parsed('workflow:wf_1:run:42');
    expect(p.namespace).toBe('workflow');
    expect(p.segments).toEqual(['wf_1', 'run', '42']);
    expect(p.ownerUserId).toBeUndefined();
  });

  it('records the owner of a user channel', () => {
    expect(parsed('user:alice').ownerUserId).toBe('alice');
    expect(parsed('user:alice:inbox:urgent').ownerUserId).toBe('alice');
    expect(parsed('agent:alice').ownerUserId).toBeUndefined();
  });
});

describe('channel grammar: refused forms', () => {
  const refused: Array<[string, string]> = [
    // path tricks
    ['dot-dot segment', 'agent:..'],
    ['dot-dot inside a segment', 'agent:a..b'],
    ['dot in a segment', 'agent:a.b'],
    ['slash after namespace', 'agent/x'],
    ['slash in a segment', 'agent:a/b'],
    ['leading ../', '../agent:x'],
    ['another tenant named by key', 'other-org/agent:x'],
    ['backslash', 'agent:a\\b'],
    // percent-encoding
    ['percent-encoded colon', 'agent%3Ax'],
    ['percent-encoded dots', 'agent:%2e%2e'],
    ['percent in a segment', 'agent:a%20b'],
    // Unicode look-alikes
    ['Cyrillic a in the namespace', '\u0430gent:x'],
    ['Cyrillic a in a segment', 'agent:\u0430'],
    ['full-width colon', 'agent\uff1ax'],
    ['full-width letters', '\uff41gent:x'],
    ['zero-width space', 'agent:\u200bx'],
    ['combining accent', 'agent:e\u0301'],
    ['Latin-1 letter', 'agent:caf\u00e9'],
    // case
    ['capitalised namespace', 'Agent:x'],
    ['upper-case namespace', 'AGENT:x'],
    ['capitalised user namespace', 'User:u1'],
    // whitespace and control characters
    ['leading space', ' agent:x'],
    ['trailing space', 'agent:x '],
    ['space after colon', 'agent: x'],
    ['tab', 'agent:\tx'],
    ['trailing newline', 'agent:x\n'],
    ['CRLF', 'agent:x\r\n'],
    ['no-break space', 'agent:x\u00a0'],
    ['NUL in a segment', 'agent:x\u0000'],
    ['NUL in the namespace', 'agent\u0000:x'],
    // wildcards
    ['star segment', 'agent:*'],
    ['star in a segment', 'agent:a*'],
    ['greater-than', 'agent:>'],
    ['hash', 'agent:#'],
    ['star namespace', '*'],
    // empty segments
    ['trailing colon', 'agent:'],
    ['double colon', 'agent::x'],
    ['leading colon', ':agent'],
    ['lone colon', ':'],
    ['empty name', ''],
    // unknown namespaces, including prototype names
    ['unknown namespace', 'chat:x'],
    ['plural namespace', 'agents:x'],
    ['namespace prefix', 'age:x'],
    ['__proto__', '__proto__'],
    ['constructor', 'constructor'],
    ['toString', 'toString:x'],
    ['hasOwnProperty', 'hasOwnProperty'],
    // user needs an id
    ['user without id', 'user'],
    ['user with empty id', 'user:'],
    ['user with empty id and more', 'user::inbox'],
    // limits
    ['nine segments', 'agent:1:2:3:4:5:6:7:8:9'],
    ['65-character segment', `agent:${'a'.repeat(65)}`],
    ['201 characters', `org:${seg64}:${seg64}:${seg64}:ab`],
    ['very long', `agent:${'a:'.repeat(5000)}a`],
  ];

  it.each(refused)('refuses %s (%j)', (_label, name) => {
    expect(isValidChannelName(name)).toBe(false);
    expect(typeof parseChannelName(name)).toBe('string');
    expect(channelNameSchema.safeParse(name).success).toBe(false);
  });

  it('checks the 201-character case is refused for its length, not its segments', () => {
    const name = `org:${seg64}:${seg64}:${seg64}:ab`;
    expect(name).toHaveLength(201);
    expect(isValidChannelName(name.slice(0, 200))).toBe(true);
  });

  it.each([42, null, undefined, {}, ['agent'], true])('refuses a non-string (%j)', (value) => {
    expect(isValidChannelName(value)).toBe(false);
    expect(typeof parseChannelName(value)).toBe('string');
    expect(channelNameSchema.safeParse(value).success).toBe(false);
  });

  it('explains the problem, escaping invisible characters so the message shows what was sent', () => {
    const problem = parseChannelName('agent:x\u0000');
    expect(problem).toEqual(expect.any(String));
    expect(problem).toContain('\\u0000');
    expect(problem).not.toContain('\u0000');
    expect(parseChannelName('chat:x')).toMatch(/namespace/);
  });

  it('zod reports the grammar problem as the issue message', () => {
    const result = channelNameSchema.safeParse('chat:x');
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe(parseChannelName('chat:x'));
  });
});

describe('channel grammar: properties', () => {
  const NAMESPACES = ['agent', 'tool', 'workflow', 'provider', 'system', 'user', 'org', 'room'];
  /** The documented grammar, written independently of the implementation. */
  function reference(name: string): boolean {
    if (name.length === 0 || name.length > 200) return false;
    const m = /^(agent|tool|workflow|provider|system|user|org|room)((?::[A-Za-z0-9_-]{1,64}){0,8})$/.exec(name);
    if (!m) return false;
    if (m[1] === 'user' && m[2] === '') return false;
    return true;
  }

  // Mostly well-formed names with occasional mutations, so both sides of the grammar's
  // boundary are exercised (a purely random string is almost never valid).
  const odd = fc.constantFrom('Agent', 'usr', '', '.', '..', '/', '%3A', '*', '>', '#', ' ', '\u0000', '\u0430', '\uff1a', '\n', '\u200b');
  const namespace = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...NAMESPACES) }, { weight: 1, arbitrary: odd });
  const separator = fc.oneof({ weight: 12, arbitrary: fc.constant(':') }, { weight: 1, arbitrary: odd });
  const segment = fc.oneof(
    { weight: 8, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/) },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{60,70}$/) },
    { weight: 1, arbitrary: odd },
    { weight: 1, arbitrary: fc.string({ maxLength: 3, unit: 'binary' }) },
  );
  const tricky = fc
    .tuple(namespace, fc.array(fc.tuple(separator, segment), { maxLength: 10 }))
    .map(([ns, rest]) => ns + rest.map(([sep, seg]) => sep + seg).join(''));

  it('accepts exactly the documented grammar', () => {
    fc.assert(
      fc.property(tricky, (name) => {
        expect(isValidChannelName(name)).toBe(reference(name));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses any name with a character outside A-Z a-z 0-9 _ - :', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (tail) => {
        fc.pre(/[^A-Za-z0-9_:-]/.test(tail));
        expect(isValidChannelName(`agent:${tail}`)).toBe(false);
      }),
    );
  });
});

describe('namespace → ChannelType', () => {
  // From the seed's ChannelType enum; `room` is an organisation-wide channel for collaboration.
  it.each([
    ['agent:a1', 'AGENT_EVENTS'],
    ['agent', 'AGENT_EVENTS'],
    ['tool:search', 'TOOL_EVENTS'],
    ['workflow:wf1', 'WORKFLOW_EVENTS'],
    ['provider:openai', 'PROVIDER_EVENTS'],
    ['system', 'SYSTEM_EVENTS'],
    ['system:alerts', 'SYSTEM_EVENTS'],
    ['user:u1', 'PRIVATE_USER'],
    ['user:u1:notifications', 'PRIVATE_USER'],
    ['org', 'ORGANIZATION'],
    ['org:announcements', 'ORGANIZATION'],
    ['room:standup', 'ORGANIZATION'],
  ])('%s is %s', (name, type) => {
    expect(channelTypeOf(name)).toBe(type);
    expect(parsed(name).type).toBe(type);
  });

  it('channelTypeOf throws on an invalid name instead of guessing', () => {
    expect(() => channelTypeOf('Agent:x')).toThrow(TypeError);
    expect(() => channelTypeOf('user')).toThrow(TypeError);
  });
});

describe('organisation and user ids', () => {
  it.each(['o1', 'acme-corp', 'A_B', 'x'.repeat(64)])('accepts %s', (id) => {
    expect(organizationIdSchema.safeParse(id).success).toBe(true);
    expect(userIdSchema.safeParse(id).success).toBe(true);
  });
  it.each(['', 'a/b', 'a:b', 'a b', 'a.b', '\u0430', 'x'.repeat(65), 'a\n'])('refuses %j', (id) => {
    expect(organizationIdSchema.safeParse(id).success).toBe(false);
    expect(userIdSchema.safeParse(id).success).toBe(false);
  });
});

describe('channelKey', () => {
  const NAMESPACES = ['agent', 'tool', 'workflow', 'provider', 'system', 'user', 'org', 'room'] as const;
  // Small alphabets make near-collisions (shared prefixes and suffixes) likely.
  const smallSegment = fc.stringMatching(/^[a-c_-]{1,4}$/);
  const anySegment = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
  const segment = fc.oneof(smallSegment, anySegment, fc.constantFrom(...NAMESPACES));
  const org = fc.oneof(smallSegment, anySegment, fc.constantFrom(...NAMESPACES, 'agentorg', 'o', 'user-u1'));
  const channel = fc
    .tuple(fc.constantFrom(...NAMESPACES), fc.array(segment, { maxLength: 4 }))
    .filter(([ns, segs]) => ns !== 'user' || segs.length > 0)
    .map(([ns, segs]) => [ns, ...segs].join(':'))
    .filter((name) => name.length <= 200);

  it('the generators only produce valid orgs and channels', () => {
    fc.assert(
      fc.property(org, channel, (o, c) => {
        expect(organizationIdSchema.safeParse(o).success).toBe(true);
        expect(isValidChannelName(c)).toBe(true);
      }),
    );
  });

  it('is injective: distinct (organisation, channel) pairs give distinct keys', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(org, channel), { minLength: 2, maxLength: 60, selector: ([o, c]) => `${o}\u0000${c}` }),
        (pairs) => {
          const keys = new Set(pairs.map(([o, c]) => channelKey(o, c)));
          expect(keys.size).toBe(pairs.length);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('is injective pairwise', () => {
    fc.assert(
      fc.property(org, channel, org, channel, (o1, c1, o2, c2) => {
        const same = o1 === o2 && c1 === c2;
        expect(channelKey(o1, c1) === channelKey(o2, c2)).toBe(same);
      }),
      { numRuns: 2000 },
    );
  });

  it('splitChannelKey inverts channelKey', () => {
    fc.assert(
      fc.property(org, channel, (o, c) => {
        expect(splitChannelKey(channelKey(o, c))).toEqual({ organizationId: o, channel: c });
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps tenants apart for the same channel name', () => {
    expect(channelKey('acme', 'agent:a1')).not.toBe(channelKey('globex', 'agent:a1'));
  });

  it.each(['', 'agent:x', '/agent:x'])('splitChannelKey refuses %j', (key) => {
    expect(() => splitChannelKey(key)).toThrow(TypeError);
  });
});
