import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { AppConfig } from '../src/config/app-config.js';
import { DEPARTURE_READ_MS, Departures } from '../src/redis/departures.js';
import { TEST_REDIS_URL } from './helpers/services.js';

const connections: Redis[] = [];
afterAll(async () => {
  await Promise.all(connections.map((redis) => redis.quit()));
});

/** The counter on a deployment of its own, read on a clock the test moves, its reads counted. */
class ClockedDepartures extends Departures {
  clock = 0;
  reads = 0;

  protected override now(): number {
    return this.clock;
  }

  override count(): Promise<number | undefined> {
    this.reads += 1;
    return super.count();
  }
}

function departures(): { departures: ClockedDepartures; redis: Redis } {
  const redis = new Redis(TEST_REDIS_URL);
  connections.push(redis);
  const config = { queuePrefix: `departures-${randomBytes(4).toString('hex')}` } as AppConfig;
  return { departures: new ClockedDepartures(redis, config), redis };
}

/** Once Redis has answered every command sent before this one, and their callbacks have run. */
async function answered(redis: Redis): Promise<void> {
  await redis.ping();
  for (let turn = 0; turn < 10; turn += 1) await Promise.resolve();
}

describe('departures, as senders read them', () => {
  it('keeps an answer at hand while senders ask: the next read goes out before the last runs out', async () => {
    const { departures: counter, redis } = departures();
    expect(await counter.recent()).toBe(0);
    expect(counter.reads).toBe(1);

    // Half the read's life gone: still answered at once, and the next read is on its way.
    counter.clock = DEPARTURE_READ_MS * 0.6;
    expect(counter.recentNow()).toEqual(expect.objectContaining({ counter: 0 }));
    expect(counter.reads).toBe(2);
    await answered(redis);

    // Past the first read's life: the second one answers, with no wait.
    counter.clock = DEPARTURE_READ_MS * 1.2;
    expect(counter.recentNow()).toEqual(expect.objectContaining({ counter: 0 }));
  });

  it('never answers at once from a read sent longer ago than a sender may start on', async () => {
    const { departures: counter, redis } = departures();
    await counter.recent();
    // Nobody asked for a while: the last read is too old to start a message on.
    counter.clock = DEPARTURE_READ_MS * 3;
    await counter.raiseWithoutWaiting();
    expect(counter.recentNow()).toBeUndefined();
    // The read that question sent answers the next one, with the departure in it.
    await answered(redis);
    expect(counter.recentNow()).toEqual(expect.objectContaining({ counter: 1 }));
    expect(await counter.recent()).toBe(1);
  });
});
