import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';

/**
 * The oldest a counter read may be, from the moment it was sent, when a sender starts a message on
 * it. Senders read the counter at most this often, however many messages they start. At 25 ms a
 * sending worker read it about 70 times a second, and those reads took 4 % of its CPU in `perf`;
 * at 100 ms they take about 1 %, and an unsubscribe answers 200 ms after its commit (FENCE_MS).
 */
export const DEPARTURE_READ_MS = 100;

/**
 * How long a departure waits, after Redis counted it, before it is answered: longer than any read
 * a sender may still start a message on. A message started after the answer was therefore checked
 * by a read that reached Redis after the count, and saw it. Only durations are compared, each on
 * one machine's monotonic clock, so senders and answerers may run on different machines.
 */
const FENCE_MS = 2 * DEPARTURE_READ_MS;

/**
 * How old the newest answered read may grow before another is sent, while senders ask: well under
 * DEPARTURE_READ_MS, so that a recent answer is at hand as each read comes back and a sender never
 * waits for Redis to start a message. One read took a sender's turn 6 % of the time when reads
 * were sent only once the last had run out: those messages waited a round trip to Redis, and lost
 * their place behind the message before them on their session.
 */
const REFRESH_MS = DEPARTURE_READ_MS / 2;

/** A read that came back. */
interface AnsweredRead {
  readonly sentAt: number;
  readonly counter: number | undefined;
}

/**
 * A counter of subscribers who stopped receiving (unsubscribed, erased, suppressed), raised after
 * the change is committed. A sender that sees the counter unchanged since its last look at the
 * database knows that nobody left since; with the fence above, an unsubscribe is final the moment
 * it answers, for a Redis read per sender every REFRESH_MS or so rather than one per message.
 */
@Injectable()
export class Departures {
  /** The newest read that came back. */
  private answered: AnsweredRead | undefined;
  /** The read on its way, if any: one at a time. */
  private sending: Promise<number | undefined> | undefined;

  constructor(
    @Inject(Redis) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private get key(): string {
    return `${this.config.queuePrefix}:departures`;
  }

  /** Counts a departure, and returns once no sender can start a message to that subscriber. */
  async raise(): Promise<void> {
    await this.raiseWithoutWaiting();
    await sleep(FENCE_MS);
  }

  /** Counts a departure nobody waits on (a bounce, a complaint): senders see it within moments. */
  async raiseWithoutWaiting(): Promise<void> {
    await this.redis.incr(this.key);
  }

  /** The counter now; undefined when Redis cannot say, and the database must be asked. */
  async count(): Promise<number | undefined> {
    try {
      return Number((await this.redis.get(this.key)) ?? 0);
    } catch {
      return undefined;
    }
  }

  /** The monotonic clock reads are timed by (a test sets its own). */
  protected now(): number {
    return performance.now();
  }

  /** Sends a read unless one is on its way; answers the one on its way. */
  private read(): Promise<number | undefined> {
    if (this.sending) return this.sending;
    const sentAt = this.now();
    const read = this.count().then((counter) => {
      if (this.sending === read) this.sending = undefined;
      if (this.answered === undefined || this.answered.sentAt < sentAt) this.answered = { sentAt, counter };
      return counter;
    });
    this.sending = read;
    return read;
  }

  /**
   * The counter from a read sent at most DEPARTURE_READ_MS before this returns: what a sender may
   * start a message on, in the same turn. Reads are shared by every message of the process.
   */
  async recent(): Promise<number | undefined> {
    for (;;) {
      const now = this.recentNow();
      if (now !== undefined) return now.counter;
      // A read on its way that was sent too long ago is waited for all the same: one at a time.
      await this.read();
    }
  }

  /**
   * What `recent` gives, when it can give it without waiting: the answer of a read sent at most
   * DEPARTURE_READ_MS ago that has come back. A sender starts its message in the same turn. Sends
   * the next read once that answer is REFRESH_MS old, so that the next question finds one too.
   */
  recentNow(): { readonly counter: number | undefined } | undefined {
    const answered = this.answered;
    const age = answered === undefined ? Infinity : this.now() - answered.sentAt;
    // Never rejects: a read Redis cannot answer answers undefined (see count).
    if (age > REFRESH_MS) void this.read();
    return answered !== undefined && age <= DEPARTURE_READ_MS ? answered : undefined;
  }
}
