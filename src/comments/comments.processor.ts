import { Processor } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import type { Job } from 'bullmq';
import { DESK_QUEUE, type DeskJobs, dispatch, type JobHandlers } from '../queue/jobs.js';
import { QueueWorker } from '../queue/queue-worker.js';
import { CommentsService } from './comments.service.js';

/** Runs the desk queue's jobs in worker processes. */
@Processor(DESK_QUEUE, { concurrency: 2 })
export class DeskProcessor extends QueueWorker {
  private readonly handlers: JobHandlers<DeskJobs>;

  constructor(@Inject(CommentsService) comments: CommentsService) {
    super();
    this.handlers = { 'comment-notice': (payload) => comments.sendNotice(payload) };
  }

  async process(job: Job): Promise<void> {
    await dispatch(this.handlers, job, DESK_QUEUE);
  }
}
