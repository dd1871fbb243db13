import { describe, expect, it } from 'vitest';
import { PositionTracker } from '../src/position-tracker.js';

describe('PositionTracker (duplicate drop by (epoch, offset))', () => {
  it.each([
    { name: 'first event ever', last: undefined, epoch: 'e1', offset: 1, accepted: true },
    { name: 'next offset', last: { epoch: 'e1', offset: 4 }, epoch: 'e1', offset: 5, accepted: true },
    { name: 'a gap is still new', last: { epoch: 'e1', offset: 4 }, epoch: 'e1', offset: 9, accepted: true },
    { name: 'the same offset again', last: { epoch: 'e1', offset: 4 }, epoch: 'e1', offset: 4, accepted: false },
    { name: 'an older offset', last: { epoch: 'e1', offset: 4 }, epoch: 'e1', offset: 2, accepted: false },
    { name: 'another epoch, lower offset', last: { epoch: 'e1', offset: 4 }, epoch: 'e2', offset: 1, accepted: true },
  ])('$name → accepted=$accepted', ({ last, epoch, offset, accepted }) => {
    const tracker = new PositionTracker(last);
    expect(tracker.accept(epoch, offset)).toBe(accepted);
    expect(tracker.position).toEqual(accepted ? { epoch, offset } : last);
  });

  it('delivers a replayed sequence once: duplicates dropped, new epoch resets the count', () => {
    const tracker = new PositionTracker();
    const arrivals: Array<[string, number]> = [
      ['e1', 1], ['e1', 2], ['e1', 3],
      ['e1', 2], ['e1', 3], ['e1', 4], // resume replayed 2 and 3
      ['e2', 1], ['e2', 1], ['e2', 2], // the stream was lost and started again
    ];
    const delivered = arrivals.filter(([epoch, offset]) => tracker.accept(epoch, offset));
    expect(delivered).toEqual([['e1', 1], ['e1', 2], ['e1', 3], ['e1', 4], ['e2', 1], ['e2', 2]]);
  });

  it('hands out copies, so callers cannot move it', () => {
    const tracker = new PositionTracker({ epoch: 'e1', offset: 3 });
    const position = tracker.position;
    if (position) position.offset = 100;
    expect(tracker.accept('e1', 4)).toBe(true);
  });
});
