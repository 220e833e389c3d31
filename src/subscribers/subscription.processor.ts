import { Processor } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import type { Job } from 'bullmq';
import { dispatch, type JobHandlers, SUBSCRIPTIONS_QUEUE, type SubscriptionJobs } from '../queue/jobs.js';
import { SubscriptionService } from './subscription.service.js';
import { QueueWorker } from '../queue/queue-worker.js';

/** Runs the subscriptions queue's jobs in worker processes. */
@Processor(SUBSCRIPTIONS_QUEUE, { concurrency: 8 })
export class SubscriptionProcessor extends QueueWorker {
  private readonly handlers: JobHandlers<SubscriptionJobs>;

  constructor(@Inject(SubscriptionService) subscriptions: SubscriptionService) {
    super();
    this.handlers = {
      'subscribe-request': (payload) => subscriptions.handleSubscribeRequest(payload),
      'send-welcome': (payload) => subscriptions.sendWelcome(payload.subscriberId),
    };
  }

  process(job: Job): Promise<void> {
    return dispatch(this.handlers, job, SUBSCRIPTIONS_QUEUE);
  }
}
