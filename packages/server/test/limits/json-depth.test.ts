import { describe, expect, it } from 'vitest';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../src/limits/json-depth.js';

describe('exceedsJsonDepth', () => {
  const nested = (levels: number, open = '[', close = ']') => open.repeat(levels) + close.repeat(levels);

  it('accepts nesting up to the bound and refuses one level more', () => {
    expect(exceedsJsonDepth(nested(MAX_JSON_DEPTH))).toBe(false);
    expect(exceedsJsonDepth(nested(MAX_JSON_DEPTH + 1))).toBe(true);
    expect(exceedsJsonDepth('{"a":'.repeat(MAX_JSON_DEPTH + 1) + '1' + '}'.repeat(MAX_JSON_DEPTH + 1))).toBe(true);
  });

  it('accepts many brackets side by side (more than the bound, but shallow), as text and as bytes', () => {
    const wide = JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ i, list: [i] })));
    expect(exceedsJsonDepth(wide)).toBe(false);
    expect(exceedsJsonDepth(Buffer.from(wide))).toBe(false);
    expect(exceedsJsonDepth(`[${wide},${nested(MAX_JSON_DEPTH)}]`)).toBe(true);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ s: '['.repeat(10_000), t: '\\"[[[[', u: ['"{{{{'] });
    expect(exceedsJsonDepth(text, 3)).toBe(false);
  });

  it('scans bytes like text, and 100,000 levels without recursion', () => {
    expect(exceedsJsonDepth(Buffer.from(nested(5))), 'bytes').toBe(false);
    expect(exceedsJsonDepth(Buffer.from(nested(100_000)))).toBe(true);
  });
});
