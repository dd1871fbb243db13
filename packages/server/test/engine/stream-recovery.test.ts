import { describe, expect, it } from 'vitest';
import { judgeRecovery } from '../../src/engine/stream-recovery.js';

const pubs = (...offsets: number[]) => offsets.map((offset) => ({ offset, data: '' }));

describe('judgeRecovery', () => {
  const table: Array<[string, Parameters<typeof judgeRecovery>, ReturnType<typeof judgeRecovery>]> = [
    ['up to date', [{ offset: 5, epoch: 'e' }, { publications: [], position: { offset: 5, epoch: 'e' } }], { complete: true }],
    ['next publications present', [{ offset: 5, epoch: 'e' }, { publications: pubs(6, 7), position: { offset: 7, epoch: 'e' } }], { complete: true }],
    ['from the very start', [{ offset: 0, epoch: 'e' }, { publications: pubs(1, 2), position: { offset: 2, epoch: 'e' } }], { complete: true }],
    ['trimmed: first available is later', [{ offset: 5, epoch: 'e' }, { publications: pubs(9, 10), position: { offset: 10, epoch: 'e' } }], { complete: false, missed: 3 }],
    ['trimmed: nothing left', [{ offset: 5, epoch: 'e' }, { publications: [], position: { offset: 10, epoch: 'e' } }], { complete: false, missed: 5 }],
    ['epoch changed', [{ offset: 5, epoch: 'old' }, { publications: pubs(1), position: { offset: 1, epoch: 'new' } }], { complete: false }],
    ['position ahead of the stream', [{ offset: 50, epoch: 'e' }, { publications: [], position: { offset: 10, epoch: 'e' } }], { complete: false }],
  ];
  it.each(table)('%s', (_name, args, expected) => {
    expect(judgeRecovery(...args)).toEqual(expected);
  });
});
