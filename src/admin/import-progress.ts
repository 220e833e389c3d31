import { Transform, type TransformCallback } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';

export interface ImportProgressState {
  /** Bytes of the file the importer has read so far. */
  readonly read: number;
  /** The file's size, when the browser said it (Content-Length). */
  readonly total: number | null;
  readonly done: boolean;
}

/** How often progress is written to Redis while a file is read. */
const WRITE_EVERY_MS = 200;
const KEEP_SECONDS = 3600;

/**
 * How far a CSV import has read its file, kept in Redis so that the page's polls find it whichever
 * API process they reach. The importer pulls the file through a counting stream, so bytes read
 * follow rows imported (the parser holds only a small buffer ahead).
 */
@Injectable()
export class ImportProgress {
  constructor(
    @Inject(Redis) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private key(editorId: string, importId: string): string {
    return `${this.config.queuePrefix}:import:${editorId}:${importId}`;
  }

  /** A pass-through stream that records how much of the file has gone by. */
  async track(editorId: string, importId: string, total: number | null): Promise<Transform> {
    const key = this.key(editorId, importId);
    const write = (read: number, done: boolean): Promise<unknown> =>
      this.redis
        .multi()
        .hset(key, { read, total: total ?? '', done: done ? 1 : 0 })
        .expire(key, KEEP_SECONDS)
        .exec();
    await write(0, false);
    let read = 0;
    let lastWrite = Date.now();
    return new Transform({
      transform(chunk: Buffer, _encoding, callback: TransformCallback) {
        read += chunk.length;
        if (Date.now() - lastWrite < WRITE_EVERY_MS) {
          callback(null, chunk);
          return;
        }
        lastWrite = Date.now();
        // Progress is a courtesy: a failed write never stops the import.
        const pass = (): void => {
          callback(null, chunk);
        };
        write(read, false).then(pass, pass);
      },
      flush(callback: TransformCallback) {
        const end = (): void => {
          callback();
        };
        write(read, true).then(end, end);
      },
    });
  }

  async state(editorId: string, importId: string): Promise<ImportProgressState | undefined> {
    const hash = await this.redis.hgetall(this.key(editorId, importId));
    if (hash.read === undefined) return undefined;
    return {
      read: Number(hash.read),
      total: hash.total ? Number(hash.total) : null,
      done: hash.done === '1',
    };
  }
}
