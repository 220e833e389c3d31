import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { HashedTokens } from '../redis/hashed-tokens.js';

/** A member stays signed in this long without a visit, and this long at most. */
export const MEMBER_IDLE_SECONDS = 30 * 24 * 3600;
const ABSOLUTE_LIFETIME_MS = 180 * 24 * 3600 * 1000;

export interface MemberSession {
  readonly subscriberId: string;
  readonly createdAt: number;
}

/**
 * Readers' sessions on the blog, apart from the desk's, in Redis so that every API process knows
 * them. A member who is erased or leaves is signed out by the next request, which finds no active
 * subscriber behind the session (MembersService.member).
 */
@Injectable()
export class MemberSessions {
  private readonly tokens: HashedTokens<MemberSession>;

  constructor(@Inject(Redis) redis: Redis, @Inject(APP_CONFIG) config: AppConfig) {
    this.tokens = new HashedTokens(redis, `${config.queuePrefix}:member-session`, MEMBER_IDLE_SECONDS);
  }

  /** Returns the new session's id, for the cookie. */
  async create(subscriberId: string): Promise<string> {
    return (await this.tokens.issue({ subscriberId, createdAt: Date.now() })).token;
  }

  /** The session of a cookie, its idle expiry pushed back; undefined when gone, too old or malformed. */
  async get(sessionId: string | undefined): Promise<MemberSession | undefined> {
    const session = await this.tokens.touch(sessionId);
    if (session === undefined || sessionId === undefined) return undefined;
    if (Date.now() - session.createdAt <= ABSOLUTE_LIFETIME_MS) return session;
    await this.destroy(sessionId);
    return undefined;
  }

  async destroy(sessionId: string): Promise<void> {
    await this.tokens.take(sessionId);
  }
}
