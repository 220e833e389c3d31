import type { EventEmitter } from 'node:events';
import { Injectable, Logger } from '@nestjs/common';

/** Socket errors that mean "Redis cannot be reached", as ioredis and BullMQ report them. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const CONNECTION_MESSAGES =
  /Connection is closed|Stream isn't writeable|connect ETIMEDOUT|Socket closed unexpectedly/i;

export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  return (code !== undefined && CONNECTION_CODES.has(code)) || CONNECTION_MESSAGES.test(error.message);
}

/**
 * One account of Redis being away, for every connection of the process (the general client, each
 * queue's, each worker's): a line when it goes, a line when it comes back, and nothing per retry
 * in between, however many connections retry however often. Errors that are not about reaching
 * Redis are logged each time, as they are.
 */
@Injectable()
export class RedisOutage {
  private readonly logger = new Logger('Redis');
  private downSince: number | undefined;

  get isDown(): boolean {
    return this.downSince !== undefined;
  }

  /** Sends an emitter's 'error' events here; an emitter with a listener never prints its own. */
  watch(emitter: EventEmitter, source: string): void {
    emitter.on('error', (error: unknown) => {
      this.failed(error, source);
    });
  }

  failed(error: unknown, source: string): void {
    if (!isConnectionError(error)) {
      this.logger.error(
        { err: error, source },
        `${source}: ${error instanceof Error ? error.message : String(error)}`,
      );
      return;
    }
    if (this.downSince !== undefined) return;
    this.downSince = Date.now();
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    this.logger.warn(
      { reason, source },
      `Redis is unreachable (${reason}): queues, sessions and rate limits wait for it; retrying`,
    );
  }

  /** A connection is ready again: the outage, if there was one, is over. */
  ready(): void {
    if (this.downSince === undefined) return;
    const seconds = Math.round((Date.now() - this.downSince) / 100) / 10;
    this.downSince = undefined;
    this.logger.log({ outageSeconds: seconds }, `Redis is back after ${seconds} s`);
  }
}
