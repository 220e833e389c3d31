import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { HashedTokens } from '../redis/hashed-tokens.js';

/** A member stays signed in this long without a visit, and this long at most. */
export const MEMBER_IDLE_SECONDS = 30 * 24 * 3600;
const ABSOLUTE_LIFETIME_SECONDS = 180 * 24 * 3600;

export interface MemberSession {
  readonly subscriberId: string;
  readonly createdAt: number;
}

/**
 * Readers' sessions on the blog, apart from the desk's, in Redis so that every API process knows
 * them. Each member's sessions are listed too, so that "sign out everywhere" (or an erasure) ends
 * all of them at once.
 */
@Injectable()
export class MemberSessions {
  private readonly tokens: HashedTokens<MemberSession>;
  private readonly listPrefix: string;

  constructor(
    @Inject(Redis) private readonly redis: Redis,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.tokens = new HashedTokens(redis, `${config.queuePrefix}:member-session`, MEMBER_IDLE_SECONDS);
    this.listPrefix = `${config.queuePrefix}:member-sessions-of`;
  }

  /** Returns the new session's id, for the cookie. */
  async create(subscriberId: string): Promise<string> {
    const { token, hash } = await this.tokens.issue({ subscriberId, createdAt: Date.now() });
    const list = `${this.listPrefix}:${subscriberId}`;
    await this.redis.multi().sadd(list, hash).expire(list, ABSOLUTE_LIFETIME_SECONDS).exec();
    return token;
  }

  /** The session of a cookie, its idle expiry pushed back; undefined when gone, too old or malformed. */
  async get(sessionId: string | undefined): Promise<MemberSession | undefined> {
    const session = await this.tokens.touch(sessionId);
    if (session === undefined || sessionId === undefined) return undefined;
    if (Date.now() - session.createdAt <= ABSOLUTE_LIFETIME_SECONDS * 1000) return session;
    await this.destroy(sessionId);
    return undefined;
  }

  async destroy(sessionId: string): Promise<void> {
    const session = await this.tokens.take(sessionId);
    if (session)
      await this.redis.srem(`${this.listPrefix}:${session.subscriberId}`, HashedTokens.hash(sessionId));
  }

  /** Ends every session of a member. */
  async destroyAllOf(subscriberId: string): Promise<void> {
    const list = `${this.listPrefix}:${subscriberId}`;
    const hashes = await this.redis.smembers(list);
    await this.redis.del(...hashes.map((hash) => this.tokens.keyOfHash(hash)), list);
  }
}
