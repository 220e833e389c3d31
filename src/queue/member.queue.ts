import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { MEMBERS_QUEUE, type MemberJobName, type MemberJobs } from './jobs.js';

/** Typed producer for the members queue. */
@Injectable()
export class MemberQueue {
  constructor(@InjectQueue(MEMBERS_QUEUE) private readonly queue: Queue) {}

  async add<Name extends MemberJobName>(name: Name, payload: MemberJobs[Name]): Promise<void> {
    // A link asked for twice arrives once; it is worth no retry storm either.
    await this.queue.add(name, payload, { attempts: 3 });
  }
}
