import type { Redis } from 'ioredis';

/**
 * A warning when Redis may evict keys under memory pressure: an evicted job is a lost send. Undefined
 * when the policy is noeviction. Managed services that refuse CONFIG get a warning to check by hand.
 */
export async function evictionPolicyWarning(redis: Redis): Promise<string | undefined> {
  try {
    const reply = await redis.config('GET', 'maxmemory-policy');
    const policy = reply[1];
    if (policy === 'noeviction') return undefined;
    return `Redis maxmemory-policy is "${policy ?? 'unknown'}": under memory pressure Redis may delete queued jobs and lose sends. Set it to noeviction (redis-server --maxmemory-policy noeviction).`;
  } catch (error) {
    return `Could not read Redis maxmemory-policy (${(error as Error).message}); make sure it is noeviction, or queued jobs may be lost.`;
  }
}
