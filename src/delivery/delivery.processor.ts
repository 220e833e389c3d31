import { Processor } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import type { Job } from 'bullmq';
import { EditionDeliveryService } from './edition-delivery.service.js';
import { DELIVERY_QUEUE, type DeliveryJobs, dispatch, type JobHandlers } from '../queue/jobs.js';
import { QueueWorker } from '../queue/queue-worker.js';

/** Runs the delivery queue's jobs in worker processes. */
// Two batches at once per process, so that one sends while the other is between chunks (its
// outcomes written, its lease let go, the next job taken and its chunk claimed): one at a time kept
// each worker from sending 8 % of a send. Both share the process's rows in flight (TakenRows), so a
// crash re-sends no more than ROWS_IN_FLIGHT, as with one.
@Processor(DELIVERY_QUEUE, { concurrency: 2 })
export class DeliveryProcessor extends QueueWorker {
  private readonly handlers: JobHandlers<DeliveryJobs>;

  constructor(@Inject(EditionDeliveryService) private readonly delivery: EditionDeliveryService) {
    super();
    this.handlers = {
      'prepare-edition': (payload) => delivery.prepare(payload),
      'send-batch': (payload) => delivery.sendBatch(payload),
      'send-test': (payload) => delivery.sendTest(payload),
    };
  }

  async process(job: Job): Promise<void> {
    try {
      await dispatch(this.handlers, job, DELIVERY_QUEUE);
    } catch (error) {
      // The last attempt of a preparation: the edition ends as failed, never as sent.
      if (job.name === 'prepare-edition' && job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
        await this.delivery.preparationFailed((job.data as DeliveryJobs['prepare-edition']).editionId, error);
      }
      throw error;
    }
  }
}
