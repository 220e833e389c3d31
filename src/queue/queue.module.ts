import { BullModule, InjectQueue } from '@nestjs/bullmq';
import { Inject, Module } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import {
  DEFAULT_JOB_OPTIONS,
  DELIVERY_QUEUE,
  DESK_QUEUE,
  MEMBERS_QUEUE,
  SUBSCRIPTIONS_QUEUE,
} from './jobs.js';
import { DeskQueue } from './desk.queue.js';
import { MemberQueue } from './member.queue.js';
import { DeliveryQueue } from './delivery.queue.js';
import { SubscriptionQueue } from './subscription.queue.js';
import { RedisOutage } from '../redis/redis-outage.js';

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
    BullModule.registerQueue(
      { name: SUBSCRIPTIONS_QUEUE },
      { name: DELIVERY_QUEUE },
      { name: MEMBERS_QUEUE },
      { name: DESK_QUEUE },
    ),
  ],
  providers: [SubscriptionQueue, DeliveryQueue, MemberQueue, DeskQueue],
  exports: [SubscriptionQueue, DeliveryQueue, MemberQueue, DeskQueue, BullModule],
})
export class QueueModule {
  /**
   * While Redis is away, each queue's connection errors go to the one outage report. Said here, as
   * the queues are made: they start connecting at once, before any lifecycle hook would run.
   */
  constructor(
    @InjectQueue(SUBSCRIPTIONS_QUEUE) subscriptions: Queue,
    @InjectQueue(DELIVERY_QUEUE) delivery: Queue,
    @InjectQueue(MEMBERS_QUEUE) members: Queue,
    @InjectQueue(DESK_QUEUE) desk: Queue,
    @Inject(RedisOutage) outage: RedisOutage,
  ) {
    for (const queue of [subscriptions, delivery, members, desk]) outage.watch(queue, `queue ${queue.name}`);
  }
}
