import { describe, expect, it } from 'vitest';
import { FreshRead } from './subscriber-status-reads.js';

/** Lets pending promise callbacks run: reads begin a few turns after they are asked for. */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 20; turn += 1) await Promise.resolve();
}

/** A read whose answers the test gives, one by one, and which counts the reads begun. */
function controlledRead(): {
  read: () => Promise<number>;
  began: number;
  answer: (value: number) => Promise<void>;
} {
  const waiting: ((value: number) => void)[] = [];
  const state = {
    began: 0,
    read: () => {
      state.began += 1;
      return new Promise<number>((resolve) => waiting.push(resolve));
    },
    answer: async (value: number) => {
      await settle();
      const resolve = waiting.shift();
      if (!resolve) throw new Error('no read under way to answer');
      resolve(value);
      await settle();
    },
  };
  return state;
}

describe('FreshRead', () => {
  it('shares one read among the questions of one turn', async () => {
    const source = controlledRead();
    const fresh = new FreshRead(source.read);
    const answers = Promise.all([fresh.get(), fresh.get(), fresh.get()]);
    await source.answer(1);
    expect(await answers).toEqual([1, 1, 1]);
    expect(source.began).toBe(1);
  });

  it('never answers a question with a read that began before it, and shares the next one', async () => {
    const source = controlledRead();
    const fresh = new FreshRead(source.read);
    const first = fresh.get();
    await settle();
    expect(source.began).toBe(1);
    // Asked while the first read is under way: they wait for a read that begins after them.
    const later = [fresh.get(), fresh.get(), fresh.get()];
    await source.answer(1);
    expect(await first).toBe(1);
    expect(source.began).toBe(2);
    await source.answer(2);
    expect(await Promise.all(later)).toEqual([2, 2, 2]);
    expect(source.began).toBe(2);
  });

  it('goes on after a failed read', async () => {
    let calls = 0;
    const fresh = new FreshRead(() => {
      calls += 1;
      return calls === 1 ? Promise.reject(new Error('Redis away')) : Promise.resolve(calls);
    });
    await expect(fresh.get()).rejects.toThrow('Redis away');
    expect(await fresh.get()).toBe(2);
  });
});
