import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { CachedTokens } from '../src/redis/cached-tokens.js';
import { HashedTokens } from '../src/redis/hashed-tokens.js';
import { TEST_REDIS_URL } from './helpers/services.js';
import { eventually } from './helpers/smtp-sink.js';

interface Session {
  readonly subscriberId: string;
}

const TTL_SECONDS = 3600;
const HOLD_MS = 30_000;
const connections: Redis[] = [];
const caches: CachedTokens<Session>[] = [];
afterAll(async () => {
  for (const cache of caches) cache.close();
  await Promise.all(connections.map((redis) => redis.quit()));
});

/**
 * Redis's real answer to a read of one token, handed back only once the test opens the gate: what
 * a read that crosses a revocation on the wire looks like from the process that made it.
 */
class GatedTokens extends HashedTokens<Session> {
  private gated: { key: string; gate: Promise<void>; open: () => void; read: () => void } | undefined;

  /** Holds back the next read of `token`; resolves once Redis has answered it. */
  closeGate(token: string): { read: Promise<void>; open: () => void } {
    let open = (): void => undefined;
    let read = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const wasRead = new Promise<void>((resolve) => {
      read = resolve;
    });
    this.gated = { key: this.key(token), gate, open, read };
    return { read: wasRead, open };
  }

  override async touchKey(key: string): Promise<Session | undefined> {
    const value = await super.touchKey(key);
    const gated = this.gated;
    if (gated?.key === key) {
      this.gated = undefined;
      gated.read();
      await gated.gate;
    }
    return value;
  }
}

/** One deployment's sessions, as `processes` processes see them, each with its own connection and a clock of its own. */
function deployment(processes: number, maxHeld = 100) {
  const namespace = `cached-${randomBytes(4).toString('hex')}:member-session`;
  const redis = new Redis(TEST_REDIS_URL);
  connections.push(redis);
  const clock = { now: 1_000_000 };
  const each = Array.from({ length: processes }, () => {
    const connection = new Redis(TEST_REDIS_URL);
    connections.push(connection);
    const tokens = new GatedTokens(connection, namespace, TTL_SECONDS);
    const cache = new CachedTokens(tokens, connection, {
      holdMs: HOLD_MS,
      maxHeld,
      now: () => clock.now,
    });
    caches.push(cache);
    return { tokens, cache };
  });
  return { redis, clock, each };
}

/**
 * Whether `cache` answers the token from memory: its value is taken out of Redis behind the cache's
 * back, asked for, and put back as it was.
 */
async function held(
  redis: Redis,
  tokens: HashedTokens<Session>,
  cache: CachedTokens<Session>,
  token: string,
) {
  const key = tokens.key(token);
  const raw = await redis.getdel(key);
  try {
    return (await cache.touch(token)) !== undefined;
  } finally {
    if (raw !== null) await redis.set(key, raw, 'EX', TTL_SECONDS);
  }
}

/** Reads through `cache` until it holds the token. */
async function untilHeld(
  redis: Redis,
  tokens: HashedTokens<Session>,
  cache: CachedTokens<Session>,
  token: string,
) {
  await eventually(async () => {
    await cache.touch(token);
    return held(redis, tokens, cache, token);
  });
}

describe('sessions held in memory', () => {
  it('are answered without Redis once heard, and a revocation in another process is heard by all', async () => {
    const { redis, each } = deployment(2);
    const [first, second] = each as [(typeof each)[0], (typeof each)[0]];
    const { token } = await first.tokens.issue({ subscriberId: 'a' });
    await untilHeld(redis, first.tokens, first.cache, token);
    await untilHeld(redis, second.tokens, second.cache, token);
    expect(await second.cache.touch(token)).toEqual({ subscriberId: 'a' });

    await first.cache.revoke(token);
    // The first process forgot it before answering; the second as soon as the message arrived.
    expect(await first.cache.touch(token)).toBeUndefined();
    await eventually(async () => (await second.cache.touch(token)) === undefined);
    expect(await redis.exists(first.tokens.key(token))).toBe(0);
  });

  it('keep no value whose read crossed a revocation', async () => {
    const { redis, each } = deployment(2);
    const [first, second] = each as [(typeof each)[0], (typeof each)[0]];
    const crossed = await first.tokens.issue({ subscriberId: 'x' });
    const marker = await first.tokens.issue({ subscriberId: 'y' });
    await untilHeld(redis, second.tokens, second.cache, marker.token);

    // The second process has Redis's answer in hand, but not yet read, when the token is revoked.
    const gate = second.tokens.closeGate(crossed.token);
    const reading = second.cache.touch(crossed.token);
    await gate.read;
    await first.cache.revoke(crossed.token);
    await first.cache.revoke(marker.token);
    // Revocations arrive in order: once the marker's is heard, so is the crossed token's.
    await eventually(async () => (await second.cache.touch(marker.token)) === undefined);
    gate.open();
    expect(await reading).toEqual({ subscriberId: 'x' });
    expect(await second.cache.touch(crossed.token)).toBeUndefined();
  });

  it('are forgotten when the subscription drops, and held again once it is back', async () => {
    const { redis, each } = deployment(1);
    const [only] = each as [(typeof each)[0]];
    const { token } = await only.tokens.issue({ subscriberId: 'b' });
    await untilHeld(redis, only.tokens, only.cache, token);

    // Revoked behind the listener's back while it is deaf: nothing held may outlive that.
    await redis.del(only.tokens.key(token));
    const listeners = (await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
    const ids = listeners
      .split('\n')
      .filter((line) => line.includes(` name=${only.cache.channel} `))
      .map((line) => /\bid=(\d+)/.exec(line)?.[1]);
    expect(ids).toHaveLength(1);
    await redis.call('CLIENT', 'KILL', 'ID', ids[0]!);
    await eventually(async () => (await only.cache.touch(token)) === undefined);

    const again = await only.tokens.issue({ subscriberId: 'b' });
    await untilHeld(redis, only.tokens, only.cache, again.token);
  });

  it('push the expiry in Redis back when read again after the hold', async () => {
    const { redis, clock, each } = deployment(1);
    const [only] = each as [(typeof each)[0]];
    const { token } = await only.tokens.issue({ subscriberId: 'c' });
    await untilHeld(redis, only.tokens, only.cache, token);
    const key = only.tokens.key(token);
    await redis.expire(key, 100);

    clock.now += HOLD_MS - 1;
    await only.cache.touch(token);
    expect(await redis.ttl(key)).toBeLessThanOrEqual(100);
    clock.now += 1;
    expect(await only.cache.touch(token)).toEqual({ subscriberId: 'c' });
    expect(await redis.ttl(key)).toBeGreaterThan(TTL_SECONDS - 60);
  });

  it('keep only the most recently read, and never a token not shaped like ours', async () => {
    const { redis, each } = deployment(1, 2);
    const [only] = each as [(typeof each)[0]];
    const tokens = await Promise.all(['d', 'e', 'f'].map((id) => only.tokens.issue({ subscriberId: id })));
    for (const { token } of tokens) await untilHeld(redis, only.tokens, only.cache, token);
    expect(await held(redis, only.tokens, only.cache, tokens[0]!.token)).toBe(false);
    expect(await held(redis, only.tokens, only.cache, tokens[2]!.token)).toBe(true);
    for (const malformed of [undefined, '', 'x'.repeat(42), `${'x'.repeat(42)}!`])
      expect(await only.cache.touch(malformed)).toBeUndefined();
  });
});
