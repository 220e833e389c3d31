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
import { RedisOutage } from './redis-outage.js';

/** The process's general-purpose Redis connection (health, sessions); queues open their own. */
@Global()
@Module({
  providers: [
    RedisOutage,
    {
      provide: Redis,
      inject: [APP_CONFIG, RedisOutage],
      useFactory: (config: AppConfig, outage: RedisOutage) => {
        const redis = openRedis(config.redisUrl);
        outage.watch(redis, 'redis');
        // The general connection is the first to notice that Redis is back.
        redis.on('ready', () => {
          outage.ready();
        });
        return redis;
      },
    },
    Departures,
  ],
  exports: [Redis, Departures, RedisOutage],
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
