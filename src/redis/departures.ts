import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';

/**
 * A counter of subscribers who stopped receiving (unsubscribed, erased), raised after the change
 * is committed and before it is answered. A sender that sees the counter unchanged since its last
 * look at the database knows that nobody left since: one Redis read per message, rather than one
 * database read, keeps an unsubscribe final the moment it answers.
 */
@Injectable()
export class Departures {
  constructor(
    @Inject(Redis) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private get key(): string {
    return `${this.config.queuePrefix}:departures`;
  }

  async raise(): Promise<void> {
    await this.redis.incr(this.key);
  }

  /** The counter now; undefined when Redis cannot say, and the database must be asked. */
  async count(): Promise<number | undefined> {
    try {
      return Number((await this.redis.get(this.key)) ?? 0);
    } catch {
      return undefined;
    }
  }
}
