import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { randomLinkToken } from '../lib/link-token.js';

/** What our tokens look like: 32 random bytes in base64url. Anything else is not looked up. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Random tokens handed out (in a cookie, in a link) that stand for a JSON value kept in Redis. Redis
 * keeps the value under the token's SHA-256 only, so that reading Redis gives no token away. Used
 * for sessions (the desk's, the members') and for one-time links.
 */
export class HashedTokens<Value> {
  constructor(
    private readonly redis: Redis,
    /** The key prefix, queue prefix and kind: `depeche:session`. */
    readonly namespace: string,
    /** How long a value lives without a read that pushes it back. */
    private readonly ttlSeconds: number,
  ) {}

  /** The Redis key of a token's value. */
  key(token: string): string {
    return `${this.namespace}:${createHash('sha256').update(token, 'utf8').digest('base64url')}`;
  }

  /** The key of a token shaped like ours; undefined for anything else, which is never looked up. */
  keyOf(token: string | undefined): string | undefined {
    return token !== undefined && TOKEN.test(token) ? this.key(token) : undefined;
  }

  /** A new token for the value. */
  async issue(value: Value): Promise<{ token: string }> {
    // Some of these tokens are mailed (sign-in links): never one a spam filter reads as a wallet.
    const token = randomLinkToken();
    await this.redis.set(this.key(token), JSON.stringify(value), 'EX', this.ttlSeconds);
    return { token };
  }

  /** The token's value, its life pushed back (a session in use); undefined when gone or malformed. */
  async touch(token: string | undefined): Promise<Value | undefined> {
    const key = this.keyOf(token);
    return key === undefined ? undefined : this.touchKey(key);
  }

  /** touch, given the token's key. */
  async touchKey(key: string): Promise<Value | undefined> {
    const raw = await this.redis.getex(key, 'EX', this.ttlSeconds);
    return raw === null ? undefined : (JSON.parse(raw) as Value);
  }

  /** The token's value as it is, its life left as it was (a link shown before it is used). */
  async peek(token: string): Promise<Value | undefined> {
    const key = this.keyOf(token);
    const raw = key === undefined ? null : await this.redis.get(key);
    return raw === null ? undefined : (JSON.parse(raw) as Value);
  }

  async exists(token: string): Promise<boolean> {
    const key = this.keyOf(token);
    return key !== undefined && (await this.redis.exists(key)) === 1;
  }

  /** Reads and deletes in one command: a one-time token is used once, however many ask at once. */
  async take(token: string): Promise<Value | undefined> {
    const key = this.keyOf(token);
    return key === undefined ? undefined : this.takeKey(key);
  }

  /** take, given the token's key. */
  async takeKey(key: string): Promise<Value | undefined> {
    const raw = await this.redis.getdel(key);
    return raw === null ? undefined : (JSON.parse(raw) as Value);
  }
}
