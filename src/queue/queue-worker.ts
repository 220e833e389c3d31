import { WorkerHost } from '@nestjs/bullmq';
import { Inject, type OnModuleInit } from '@nestjs/common';
import { RedisOutage } from '../redis/redis-outage.js';

/**
 * A BullMQ processor whose worker reports its errors through RedisOutage: a worker without an
 * 'error' listener prints a raw stack for every failed reconnection while Redis is away.
 */
export abstract class QueueWorker extends WorkerHost implements OnModuleInit {
  @Inject(RedisOutage) private readonly outage!: RedisOutage;

  /** The worker exists once BullMQ's module has started (its hooks run before this module's). */
  onModuleInit(): void {
    this.outage.watch(this.worker, `worker ${this.worker.name}`);
  }
}
