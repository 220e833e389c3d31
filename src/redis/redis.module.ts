import {
  Global,
  Inject,
  Logger,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { evictionPolicyWarning } from './eviction-policy.js';
import { openRedis } from './redis-connection.js';
import { Departures } from './departures.js';

/** Reports a lost connection once, and its return once, instead of once per reconnection attempt. */
function watchConnection(redis: Redis, logger: Logger): Redis {
  let lost = false;
  redis.on('error', (error: Error) => {
    if (lost) return;
    lost = true;
    logger.warn({ err: error }, 'Redis connection lost; retrying');
  });
  redis.on('ready', () => {
    if (!lost) return;
    lost = false;
    logger.log('Redis connection restored');
  });
  return redis;
}

/** The process's general-purpose Redis connection (health, sessions); queues open their own. */
@Global()
@Module({
  providers: [
    {
      provide: Redis,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => watchConnection(openRedis(config.redisUrl), new Logger('Redis')),
    },
    Departures,
  ],
  exports: [Redis, Departures],
})
export class RedisModule implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(@Inject(Redis) private readonly redis: Redis) {}

  /** Said loudly at every boot, but not fatal: some managed services hide the setting. */
  onApplicationBootstrap(): void {
    void evictionPolicyWarning(this.redis).then((warning) => {
      if (warning) new Logger('Redis').warn(warning);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    // QUIT waits for the server; with no server there is nobody to wait for.
    if (this.redis.status !== 'ready') {
      this.redis.disconnect();
      return;
    }
    await this.redis.quit().catch(() => {
      this.redis.disconnect();
    });
  }
}
