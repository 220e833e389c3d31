import type { Redis } from 'ioredis';
import type { HashedTokens } from './hashed-tokens.js';

export interface CachedTokensOptions {
  /** How long a value read from Redis is answered from memory before Redis is read (and touched) again. */
  readonly holdMs: number;
  /** How many values at most are held; the least recently read goes first. */
  readonly maxHeld: number;
  readonly now?: () => number;
}

interface Held<Value> {
  readonly value: Value;
  readonly readAt: number;
}

/**
 * Session tokens (HashedTokens) whose values a process keeps in memory for a short while, so that a
 * reader's every page does not wait on Redis for the same answer: on a busy member's page, that
 * round trip was a fifth of the API process's work. Correct across processes because revocation is
 * heard everywhere at once: `revoke` deletes the value in Redis, then publishes its key on a channel
 * every process listens to, and each one forgets the key. A process answers from memory only while
 * it is sure to hear those messages (its subscription is confirmed); when that connection drops, it
 * forgets everything it holds, since it may have missed some. A value read while a revocation was
 * heard is not kept, lest the read began before the revocation and ended after it.
 *
 * What is not revoked through here (an expiry in Redis, a flushed server) is noticed within holdMs,
 * which is also how often a value's expiry in Redis is pushed back while it is in use.
 */
export class CachedTokens<Value> {
  private readonly held = new Map<string, Held<Value>>();
  private readonly now: () => number;
  /** Where revocations go out: the same for every process of a deployment. */
  readonly channel: string;
  private subscriber: Redis | undefined;
  /** True while this process is subscribed to revocations, and so may answer from memory. */
  private hearing = false;
  /** Counts what may have made a value in flight stale: revocations heard, subscriptions lost. */
  private changes = 0;

  constructor(
    private readonly tokens: HashedTokens<Value>,
    private readonly redis: Redis,
    private readonly options: CachedTokensOptions,
  ) {
    this.channel = `${tokens.namespace}:revoked`;
    this.now = options.now ?? Date.now;
  }

  /** The token's value, read from Redis (its life pushed back) unless held since recently. */
  async touch(token: string | undefined): Promise<Value | undefined> {
    const key = this.tokens.keyOf(token);
    if (key === undefined) return undefined;
    this.listen();
    const held = this.hearing ? this.held.get(key) : undefined;
    if (held !== undefined && this.now() - held.readAt < this.options.holdMs) return held.value;
    const changesBefore = this.changes;
    const value = await this.tokens.touchKey(key);
    this.held.delete(key);
    if (value !== undefined && this.hearing && this.changes === changesBefore) this.hold(key, value);
    return value;
  }

  /** Ends the token everywhere: deleted in Redis, then forgotten by every process. */
  async revoke(token: string): Promise<void> {
    const key = this.tokens.keyOf(token);
    if (key === undefined) return;
    this.forget(key);
    await this.tokens.takeKey(key);
    await this.redis.publish(this.channel, key);
  }

  /** Stops listening; values are read from Redis again. */
  close(): void {
    this.subscriber?.disconnect();
    this.subscriber = undefined;
    this.lostHearing();
  }

  private hold(key: string, value: Value): void {
    this.held.set(key, { value, readAt: this.now() });
    if (this.held.size > this.options.maxHeld) {
      const oldest = this.held.keys().next();
      if (oldest.done !== true) this.held.delete(oldest.value);
    }
  }

  private forget(key: string): void {
    this.changes += 1;
    this.held.delete(key);
  }

  private lostHearing(): void {
    this.hearing = false;
    this.changes += 1;
    this.held.clear();
  }

  /** Opens the subscription on first use, so that processes serving no reader hold no connection. */
  private listen(): void {
    if (this.subscriber !== undefined) return;
    // Resubscribing is done here on every 'ready', so that hearing starts only once it is confirmed.
    // Named after its channel, so that CLIENT LIST tells which deployment a listener serves.
    const subscriber = this.redis.duplicate({ autoResubscribe: false, connectionName: this.channel });
    this.subscriber = subscriber;
    let connection = 0;
    subscriber.on('message', (_channel: string, key: string) => {
      this.forget(key);
    });
    subscriber.on('ready', () => {
      const current = (connection += 1);
      subscriber.subscribe(this.channel).then(
        () => {
          if (current === connection && this.subscriber === subscriber) this.hearing = true;
        },
        () => undefined,
      );
    });
    subscriber.on('close', () => {
      connection += 1;
      this.lostHearing();
    });
    // Reported by the general connection's outage watch; here a drop only means reading Redis again.
    subscriber.on('error', () => undefined);
  }
}
