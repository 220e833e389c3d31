import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';

/**
 * The oldest a counter read may be, from the moment it was sent, when a sender starts a message on
 * it. Senders read the counter at most this often, however many messages they start.
 */
export const DEPARTURE_READ_MS = 25;

/**
 * How long a departure waits, after Redis counted it, before it is answered: longer than any read
 * a sender may still start a message on. A message started after the answer was therefore checked
 * by a read that reached Redis after the count, and saw it. Only durations are compared, each on
 * one machine's monotonic clock, so senders and answerers may run on different machines.
 */
const FENCE_MS = 2 * DEPARTURE_READ_MS;

/** A read of the counter: when it was sent, and its answer once it came back. */
interface CounterRead {
  readonly sentAt: number;
  readonly value: Promise<number | undefined>;
  answer?: { readonly counter: number | undefined };
}

/**
 * A counter of subscribers who stopped receiving (unsubscribed, erased, suppressed), raised after
 * the change is committed. A sender that sees the counter unchanged since its last look at the
 * database knows that nobody left since; with the fence above, an unsubscribe is final the moment
 * it answers, for one Redis read per sender every DEPARTURE_READ_MS rather than one per message.
 */
@Injectable()
export class Departures {
  private latest: CounterRead | undefined;

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

  /**
   * The counter from a read sent at most DEPARTURE_READ_MS before this returns: what a sender may
   * start a message on, in the same turn. Reads are shared by every message of the process.
   */
  async recent(): Promise<number | undefined> {
    for (;;) {
      let latest = this.latest;
      if (latest === undefined || performance.now() - latest.sentAt > DEPARTURE_READ_MS) {
        const read: CounterRead = { sentAt: performance.now(), value: this.count() };
        void read.value.then((counter) => {
          read.answer = { counter };
        });
        latest = read;
        this.latest = read;
      }
      const value = await latest.value;
      if (performance.now() - latest.sentAt <= DEPARTURE_READ_MS) return value;
    }
  }

  /**
   * What `recent` gives, when it can give it without waiting: the answer of a read sent at most
   * DEPARTURE_READ_MS ago that has come back. A sender starts its message in the same turn.
   */
  recentNow(): { readonly counter: number | undefined } | undefined {
    const latest = this.latest;
    if (latest?.answer === undefined || performance.now() - latest.sentAt > DEPARTURE_READ_MS)
      return undefined;
    return latest.answer;
  }
}
