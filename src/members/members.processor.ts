import { Processor } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import type { Job } from 'bullmq';
import { dispatch, type JobHandlers, MEMBERS_QUEUE, type MemberJobs } from '../queue/jobs.js';
import { QueueWorker } from '../queue/queue-worker.js';
import { MembersService } from './members.service.js';

/** Runs the members queue's jobs in worker processes. */
@Processor(MEMBERS_QUEUE, { concurrency: 4 })
export class MembersProcessor extends QueueWorker {
  private readonly handlers: JobHandlers<MemberJobs>;

  constructor(@Inject(MembersService) members: MembersService) {
    super();
    this.handlers = {
      'sign-in-link': (payload) => members.sendSignInLink(payload),
      'member-notice': (payload) => members.sendNotice(payload),
    };
  }

  async process(job: Job): Promise<void> {
    await dispatch(this.handlers, job, MEMBERS_QUEUE);
  }
}
