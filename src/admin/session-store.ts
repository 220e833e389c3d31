import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { HashedTokens } from '../redis/hashed-tokens.js';

export interface AdminSession {
  readonly editorId: string;
  /** The synchroniser token every form and htmx request of this session must carry. */
  readonly csrf: string;
  readonly createdAt: number;
}

/** Sessions end after this long whatever the activity, so a stolen cookie does not live for ever. */
const ABSOLUTE_LIFETIME_MS = 7 * 24 * 3600 * 1000;

/**
 * Editor's desk sessions, kept in Redis so that every API process sees them and a sign-out takes
 * effect everywhere at once. Each request pushes the idle expiry back.
 */
@Injectable()
export class SessionStore {
  private readonly tokens: HashedTokens<AdminSession>;

  constructor(@Inject(Redis) redis: Redis, @Inject(APP_CONFIG) config: AppConfig) {
    this.tokens = new HashedTokens(redis, `${config.queuePrefix}:session`, config.sessionIdleSeconds);
  }

  key(sessionId: string): string {
    return this.tokens.key(sessionId);
  }

  /** Returns the new session's id, for the cookie. */
  async create(editorId: string): Promise<{ id: string; session: AdminSession }> {
    const session: AdminSession = {
      editorId,
      csrf: randomBytes(32).toString('base64url'),
      createdAt: Date.now(),
    };
    return { id: (await this.tokens.issue(session)).token, session };
  }

  async get(sessionId: string): Promise<AdminSession | undefined> {
    const session = await this.tokens.touch(sessionId);
    if (session === undefined || Date.now() - session.createdAt <= ABSOLUTE_LIFETIME_MS) return session;
    await this.destroy(sessionId);
    return undefined;
  }

  async destroy(sessionId: string): Promise<void> {
    await this.tokens.take(sessionId);
  }
}
