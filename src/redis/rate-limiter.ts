import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';

export interface RateLimit {
  readonly max: number;
  readonly windowSeconds: number;
}

export interface RateDecision {
  readonly allowed: boolean;
  /** Seconds until the window resets. */
  readonly retryAfterSeconds: number;
}

/**
 * Fixed-window counters in Redis, shared by every API process so that a limit holds however many
 * processes serve the requests.
 */
@Injectable()
export class RateLimiter {
  constructor(
    @Inject(Redis) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async hit(bucket: string, key: string, limit: RateLimit): Promise<RateDecision> {
    const redisKey = `${this.config.queuePrefix}:rate:${bucket}:${key}`;
    const replies = await this.redis
      .multi()
      .incr(redisKey)
      .expire(redisKey, limit.windowSeconds, 'NX')
      .ttl(redisKey)
      .exec();
    const count = Number(replies?.[0]?.[1] ?? 0);
    const ttl = Number(replies?.[2]?.[1] ?? limit.windowSeconds);
    return { allowed: count <= limit.max, retryAfterSeconds: Math.max(1, ttl) };
  }
}
