import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { CachedTokens } from '../redis/cached-tokens.js';
import { HashedTokens } from '../redis/hashed-tokens.js';

/** A member stays signed in this long without a visit, and this long at most. */
export const MEMBER_IDLE_SECONDS = 30 * 24 * 3600;
const ABSOLUTE_LIFETIME_MS = 180 * 24 * 3600 * 1000;
/**
 * How a process keeps the sessions it reads (see CachedTokens): from memory for 30 s before asking
 * Redis again, long enough to spare a reader's next pages the round trip and short against the idle
 * expiry it pushes back; 10,000 of them at most, about 2 MB.
 */
export const MEMBER_SESSION_HOLD = { holdMs: 30_000, maxHeld: 10_000 } as const;

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
export class MemberSessions implements OnApplicationShutdown {
  private readonly tokens: HashedTokens<MemberSession>;
  private readonly cached: CachedTokens<MemberSession>;

  constructor(@Inject(Redis) redis: Redis, @Inject(APP_CONFIG) config: AppConfig) {
    this.tokens = new HashedTokens(redis, `${config.queuePrefix}:member-session`, MEMBER_IDLE_SECONDS);
    this.cached = new CachedTokens(this.tokens, redis, MEMBER_SESSION_HOLD);
  }

  /** Returns the new session's id, for the cookie. */
  async create(subscriberId: string): Promise<string> {
    return (await this.tokens.issue({ subscriberId, createdAt: Date.now() })).token;
  }

  /** The session of a cookie, its idle expiry pushed back; undefined when gone, too old or malformed. */
  async get(sessionId: string | undefined): Promise<MemberSession | undefined> {
    const session = await this.cached.touch(sessionId);
    if (session === undefined || sessionId === undefined) return undefined;
    if (Date.now() - session.createdAt <= ABSOLUTE_LIFETIME_MS) return session;
    await this.destroy(sessionId);
    return undefined;
  }

  /** Ends the session in every process at once. */
  destroy(sessionId: string): Promise<void> {
    return this.cached.revoke(sessionId);
  }

  onApplicationShutdown(): void {
    this.cached.close();
  }
}
