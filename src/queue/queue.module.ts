import { BullModule, InjectQueue } from '@nestjs/bullmq';
import { Inject, Module, type OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { DEFAULT_JOB_OPTIONS, DELIVERY_QUEUE, MEMBERS_QUEUE, SUBSCRIPTIONS_QUEUE } from './jobs.js';
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
    ),
  ],
  providers: [SubscriptionQueue, DeliveryQueue, MemberQueue],
  exports: [SubscriptionQueue, DeliveryQueue, MemberQueue, BullModule],
})
export class QueueModule implements OnModuleInit {
  constructor(
    @InjectQueue(SUBSCRIPTIONS_QUEUE) private readonly subscriptions: Queue,
    @InjectQueue(DELIVERY_QUEUE) private readonly delivery: Queue,
    @InjectQueue(MEMBERS_QUEUE) private readonly members: Queue,
    @Inject(RedisOutage) private readonly outage: RedisOutage,
  ) {}

  /** While Redis is away, each queue's connection errors go to the one outage report. */
  onModuleInit(): void {
    for (const queue of [this.subscriptions, this.delivery, this.members])
      this.outage.watch(queue, `queue ${queue.name}`);
  }
}
