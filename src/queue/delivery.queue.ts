import { randomUUID } from 'node:crypto';
import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { DELIVERY_QUEUE, type DeliveryJobName, type DeliveryJobs } from './jobs.js';

/** BullMQ's priorities: lower is sooner, and jobs with none go before all of them. */
const SEND_BATCH_PRIORITY = 10;

/** Typed producer for the delivery queue; job ids make every enqueue idempotent. */
@Injectable()
export class DeliveryQueue {
  /**
   * A key that lives as long as the queue's jobs do: Redis flushed, or restarted without its data,
   * loses both, and the first process to notice the key gone learns that every job was lost.
   */
  private get epochKey(): string {
    return `${this.config.queuePrefix}:${DELIVERY_QUEUE}:epoch`;
  }

  constructor(
    @InjectQueue(DELIVERY_QUEUE) readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(Redis) private readonly redis: Redis,
  ) {}

  /**
   * Answers a new epoch when the queue's jobs were lost since the last look (to this caller only,
   * however many processes look at once), undefined otherwise.
   */
  async claimLostEpoch(): Promise<string | undefined> {
    if ((await this.redis.exists(this.epochKey)) === 1) return undefined;
    const epoch = randomUUID();
    return (await this.redis.set(this.epochKey, epoch, 'NX')) === 'OK' ? epoch : undefined;
  }

  async add<Name extends DeliveryJobName>(
    name: Name,
    payload: DeliveryJobs[Name],
    jobId?: string,
  ): Promise<void> {
    await this.queue.add(name, payload, {
      // Retried on the same schedule as batches; its last failure ends the edition as failed.
      backoff: { type: 'exponential', delay: this.config.retryBaseDelayMs },
      ...(jobId === undefined ? {} : { jobId }),
    });
  }

  /**
   * `generation` gives the job ids a new suffix, for work queued again after its jobs were lost;
   * `urgent` puts the batches ahead of all waiting work, for rows a dead worker left behind.
   * Other batches wait behind every job without a priority (BullMQ takes those first): a
   * preparation or an editor's test copy never queues behind an edition's thousands of batches.
   */
  async addBatches(
    batches: readonly DeliveryJobs['send-batch'][],
    generation?: string,
    urgent = false,
  ): Promise<void> {
    await this.queue.addBulk(
      batches.map((batch) => ({
        name: 'send-batch',
        data: batch,
        opts: {
          ...(urgent ? { lifo: true } : { priority: SEND_BATCH_PRIORITY }),
          // A batch outlives its rows' own attempts, so that the last one is always recorded.
          attempts: this.config.maxDeliveryAttempts + 2,
          backoff: { type: 'exponential', delay: this.config.retryBaseDelayMs },
          jobId: `batch-${batch.editionId}-${batch.fromSeq}${generation === undefined ? '' : `-${generation}`}`,
        },
      })),
    );
  }
}
