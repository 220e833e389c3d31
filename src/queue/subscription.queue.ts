import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { SUBSCRIPTIONS_QUEUE, type SubscriptionJobName, type SubscriptionJobs } from './jobs.js';

/** Typed producer for the subscriptions queue. */
@Injectable()
export class SubscriptionQueue {
  constructor(@InjectQueue(SUBSCRIPTIONS_QUEUE) private readonly queue: Queue) {}

  async add<Name extends SubscriptionJobName>(
    name: Name,
    payload: SubscriptionJobs[Name],
    options: { jobId?: string } = {},
  ): Promise<void> {
    await this.queue.add(name, payload, options);
  }
}
