/**
 * Deepest JSON nesting accepted at the edge (HTTP bodies and WebSocket frames). Real
 * payloads nest a handful of levels; thousands of levels only serve to make recursive code
 * further in (schema validation, serialisers, the storage driver) overflow its stack.
 */
export const MAX_JSON_DEPTH = 64;

const OPEN_BRACE = 0x7b; // {
const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACE = 0x7d; // }
const CLOSE_BRACKET = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * Whether `text` (JSON, or something that will be parsed as JSON) opens more than `maxDepth`
 * objects/arrays at once. One linear pass over the characters with no recursion and no
 * allocation, so it is safe to run before parsing on input of any shape; brackets inside
 * strings do not count. Invalid JSON is left for the parser to refuse.
 */
export function exceedsJsonDepth(text: string | Uint8Array, maxDepth: number = MAX_JSON_DEPTH): boolean {
  // Fast path for every ordinary frame: nesting deeper than maxDepth needs more than maxDepth
  // opening brackets, and counting them with indexOf (vectorised) is far cheaper than walking
  // every character. Brackets inside strings are counted too: that only sends a frame to the
  // exact walk below, never past it.
  if (openingBrackets(text, maxDepth) <= maxDepth) return false;
  let depth = 0;
  let inString = false;
  const length = text.length;
  const isString = typeof text === 'string';
  for (let i = 0; i < length; i++) {
    const c = isString ? (text as string).charCodeAt(i) : (text as Uint8Array)[i]!;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/** How many `{` and `[` the text holds, counting no further than `limit + 1`. */
function openingBrackets(text: string | Uint8Array, limit: number): number {
  let count = 0;
  for (const bracket of typeof text === 'string' ? ['{', '['] : [OPEN_BRACE, OPEN_BRACKET]) {
    // Both string and Uint8Array have indexOf(value, from); the casts pick the matching overload.
    let at = (text as string).indexOf(bracket as string);
    while (at !== -1) {
      if (++count > limit) return count;
      at = (text as string).indexOf(bracket as string, at + 1);
    }
  }
  return count;
}
