import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { DESK_QUEUE, type DeskJobName, type DeskJobs } from './jobs.js';

/** Typed producer for the desk queue: the emails the desk sends its editors. */
@Injectable()
export class DeskQueue {
  constructor(@InjectQueue(DESK_QUEUE) private readonly queue: Queue) {}

  async add<Name extends DeskJobName>(name: Name, payload: DeskJobs[Name]): Promise<void> {
    await this.queue.add(name, payload);
  }
}
