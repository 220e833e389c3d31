import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { DEFAULT_JOB_OPTIONS, DELIVERY_QUEUE, SUBSCRIPTIONS_QUEUE } from './jobs.js';
import { DeliveryQueue } from './delivery.queue.js';
import { SubscriptionQueue } from './subscription.queue.js';

/** BullMQ on REDIS_URL under QUEUE_PREFIX, and the typed producers of every queue. */
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        // Workers block on their connections: BullMQ needs maxRetriesPerRequest null on them.
        connection: { url: config.redisUrl, maxRetriesPerRequest: null },
        prefix: config.queuePrefix,
        defaultJobOptions: DEFAULT_JOB_OPTIONS,
      }),
    }),
    BullModule.registerQueue({ name: SUBSCRIPTIONS_QUEUE }, { name: DELIVERY_QUEUE }),
  ],
  providers: [SubscriptionQueue, DeliveryQueue],
  exports: [SubscriptionQueue, DeliveryQueue, BullModule],
})
export class QueueModule {}
