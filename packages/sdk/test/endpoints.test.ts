import { describe, expect, it } from 'vitest';
import { endpointPicker } from '../src/index.js';

describe('endpointPicker', () => {
  it('one URL: always that one', () => {
    const pick = endpointPicker('ws://a/ws');
    expect([1, 2, 3].map(pick)).toEqual(['ws://a/ws', 'ws://a/ws', 'ws://a/ws']);
  });

  it('several URLs: each attempt moves to the next, round and round', () => {
    const pick = endpointPicker(['ws://a/ws', 'ws://b/ws', 'ws://c/ws']);
    expect([1, 2, 3, 4, 5].map(pick)).toEqual(['ws://a/ws', 'ws://b/ws', 'ws://c/ws', 'ws://a/ws', 'ws://b/ws']);
  });

  it('a function: asked with the attempt number', () => {
    const pick = endpointPicker((attempt) => `ws://node-${attempt % 2}/ws`);
    expect([1, 2].map(pick)).toEqual(['ws://node-1/ws', 'ws://node-0/ws']);
  });

  it('an empty list is refused at once', () => {
    expect(() => endpointPicker([])).toThrow(TypeError);
  });
});
