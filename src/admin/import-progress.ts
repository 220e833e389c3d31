import { pipeline, type Readable, Transform, type TransformCallback } from 'node:stream';
import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InvalidInputException } from '../http/api-error.js';
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
/** The kind of file an import takes: its content types, as said in a refusal, and the refusal's code. */
export interface ImportFile {
  readonly types: RegExp;
  readonly name: string;
  readonly code: string;
}

export const CSV_FILE: ImportFile = { types: /^(?:text|application)\/csv\b/, name: 'text/csv', code: 'csv' };
export const XML_FILE: ImportFile = {
  types: /^(?:application|text)\/(?:(?:rss|atom)\+)?xml\b/,
  name: 'application/xml (or RSS or Atom)',
  code: 'xml-type',
};

/** The id a page gives its import, to poll it by. */
const IMPORT_ID = /^[A-Za-z0-9-]{8,64}$/;

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

  /**
   * An upload's body, counted as it goes by under the import id the page chose (`?id=`), for the
   * page to poll while this request runs. A client that goes away mid-upload ends it with an error.
   */
  async receive(
    editorId: string,
    request: FastifyRequest,
    importId: unknown,
    file: ImportFile,
  ): Promise<Readable> {
    const type = request.headers['content-type'] ?? '';
    // Only a file of the kind expected arrives as a stream; a form or JSON body is no import.
    if (!file.types.test(type) || typeof (request.body as Readable | undefined)?.pipe !== 'function')
      throw InvalidInputException.field(
        'content-type',
        `must be ${file.name}, got "${type || 'none'}"`,
        file.code,
      );
    const id = typeof importId === 'string' ? importId : '';
    if (!IMPORT_ID.test(id))
      throw InvalidInputException.field('id', 'must be 8 to 64 letters, digits or hyphens');
    const length = Number(request.headers['content-length']);
    const counter = await this.track(editorId, id, Number.isFinite(length) ? length : null);
    pipeline(request.body as Readable, counter, () => undefined);
    return counter;
  }

  /** How far an import has gone, as the page polls it; nothing read yet before its upload arrives. */
  async answer(editorId: string, importId: string, reply: FastifyReply): Promise<void> {
    if (!IMPORT_ID.test(importId)) throw new NotFoundException(`No import ${importId}`);
    const state = (await this.state(editorId, importId)) ?? { read: 0, total: null, done: false };
    await reply.header('Cache-Control', 'no-store').send(state);
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
