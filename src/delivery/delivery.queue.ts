import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { Queue } from 'bullmq';
import { DELIVERY_QUEUE, type DeliveryJobName, type DeliveryJobs } from './jobs.js';

/** Typed producer for the delivery queue; job ids make every enqueue idempotent. */
@Injectable()
export class DeliveryQueue {
  constructor(
    @InjectQueue(DELIVERY_QUEUE) readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async add<Name extends DeliveryJobName>(
    name: Name,
    payload: DeliveryJobs[Name],
    jobId?: string,
  ): Promise<void> {
    await this.queue.add(name, payload, jobId === undefined ? {} : { jobId });
  }

  /** `generation` gives the job ids a new suffix, for work queued again after its jobs were lost. */
  async addBatches(batches: readonly DeliveryJobs['send-batch'][], generation?: string): Promise<void> {
    await this.queue.addBulk(
      batches.map((batch) => ({
        name: 'send-batch',
        data: batch,
        opts: {
          // A batch outlives its rows' own attempts, so that the last one is always recorded.
          attempts: this.config.maxDeliveryAttempts + 2,
          backoff: { type: 'exponential', delay: this.config.retryBaseDelayMs },
          jobId: `batch-${batch.editionId}-${batch.fromSeq}${generation === undefined ? '' : `-${generation}`}`,
        },
      })),
    );
  }
}
