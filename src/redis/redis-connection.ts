import { Redis, type RedisOptions } from 'ioredis';

/**
 * Options shared by every Redis connection. BullMQ requires maxRetriesPerRequest: null on the
 * connections its workers block on; the same value elsewhere keeps commands queued, not failed,
 * while Redis restarts.
 */
export function redisOptions(): RedisOptions {
  return { maxRetriesPerRequest: null, enableReadyCheck: true, connectionName: 'depeche' };
}

export function openRedis(url: string): Redis {
  return new Redis(url, redisOptions());
}

/** Answers whether a Redis server answers PING at `url` within `timeoutMs`, without retrying. */
export async function redisAnswers(url: string, timeoutMs = 1500): Promise<boolean> {
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}
