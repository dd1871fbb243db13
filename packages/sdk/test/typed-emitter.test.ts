import { describe, expect, it, vi } from 'vitest';
import { TypedEmitter } from '../src/typed-emitter.js';

interface Events {
  ping: { n: number };
  pong: { text: string };
}

describe('TypedEmitter', () => {
  it('delivers to listeners of that event only, and on() returns the remover', () => {
    const emitter = new TypedEmitter<Events>();
    const pings: number[] = [];
    const off = emitter.on('ping', (c) => pings.push(c.n));
    const pong = vi.fn();
    emitter.on('pong', pong);
    emitter.emit('ping', { n: 1 });
    off();
    emitter.emit('ping', { n: 2 });
    expect(pings).toEqual([1]);
    expect(pong).not.toHaveBeenCalled();
  });

  it('once() fires a single time', () => {
    const emitter = new TypedEmitter<Events>();
    const seen = vi.fn();
    emitter.once('ping', seen);
    emitter.emit('ping', { n: 1 });
    emitter.emit('ping', { n: 2 });
    expect(seen).toHaveBeenCalledTimes(1);
  });

  it('a throwing listener does not stop the others, and its error is re-thrown, not swallowed', () => {
    const emitter = new TypedEmitter<Events>();
    const boom = new Error('listener bug');
    const after = vi.fn();
    emitter.on('ping', () => {
      throw boom;
    });
    emitter.on('ping', after);
    // Capture the re-throw instead of letting it reach the test runner as an uncaught error.
    const deferred: Array<() => void> = [];
    const spy = vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((callback) => {
      deferred.push(callback);
    });
    try {
      emitter.emit('ping', { n: 1 });
    } finally {
      spy.mockRestore();
    }
    expect(after).toHaveBeenCalledOnce();
    expect(deferred).toHaveLength(1);
    expect(() => deferred[0]?.()).toThrow(boom);
  });
});
