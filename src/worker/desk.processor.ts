import { Processor } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import type { Job } from 'bullmq';
import { CommentsService } from '../comments/comments.service.js';
import { DeskAccounts } from '../desk-accounts/desk-accounts.service.js';
import { DESK_QUEUE, type DeskJobs, dispatch, type JobHandlers } from '../queue/jobs.js';
import { QueueWorker } from '../queue/queue-worker.js';

/** Runs the desk queue's jobs in worker processes: the emails the desk sends its editors. */
@Processor(DESK_QUEUE, { concurrency: 2 })
export class DeskProcessor extends QueueWorker {
  private readonly handlers: JobHandlers<DeskJobs>;

  constructor(
    @Inject(CommentsService) comments: CommentsService,
    @Inject(DeskAccounts) accounts: DeskAccounts,
  ) {
    super();
    this.handlers = {
      'comment-notice': (payload) => comments.sendNotice(payload),
      'editor-invitation': (payload) => accounts.sendInvitation(payload),
      'password-reset': (payload) => accounts.sendReset(payload),
    };
  }

  async process(job: Job): Promise<void> {
    await dispatch(this.handlers, job, DESK_QUEUE);
  }
}
