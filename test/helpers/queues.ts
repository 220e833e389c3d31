import type { Redis } from 'ioredis';

/** What FLUSHALL does to one deployment, without touching other work sharing the server. */
export async function deleteQueueKeys(redis: Redis, queuePrefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${queuePrefix}:*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
