import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evictionPolicyWarning } from '../src/redis/eviction-policy.js';
import { redisAnswers } from '../src/redis/redis-connection.js';
import { freePort } from './helpers/net.js';

let port = 0;
const server = { kill: (): void => undefined };

beforeAll(async () => {
  port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--save', '', '--maxmemory-policy', 'allkeys-lru'],
    {
      stdio: 'ignore',
    },
  );
  server.kill = () => child.kill();
  while (!(await redisAnswers(`redis://127.0.0.1:${port}`, 200))) await new Promise((r) => setTimeout(r, 50));
});
afterAll(() => {
  server.kill();
});

describe('the Redis eviction policy check', () => {
  it('warns when Redis may evict queued jobs, and is silent with noeviction', async () => {
    const redis = new Redis(port, '127.0.0.1');
    try {
      expect(await evictionPolicyWarning(redis)).toContain('"allkeys-lru"');
      await redis.config('SET', 'maxmemory-policy', 'noeviction');
      expect(await evictionPolicyWarning(redis)).toBeUndefined();
    } finally {
      redis.disconnect();
    }
  });
});
