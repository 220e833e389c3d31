import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';

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
 * effect everywhere at once. The cookie holds a random id; Redis only its SHA-256, so that reading
 * Redis does not give sessions away. Each request pushes the idle expiry back.
 */
@Injectable()
export class SessionStore {
  constructor(
    @Inject(Redis) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  key(sessionId: string): string {
    const hash = createHash('sha256').update(sessionId, 'utf8').digest('base64url');
    return `${this.config.queuePrefix}:session:${hash}`;
  }

  /** Returns the new session's id, for the cookie. */
  async create(editorId: string): Promise<{ id: string; session: AdminSession }> {
    const id = randomBytes(32).toString('base64url');
    const session: AdminSession = {
      editorId,
      csrf: randomBytes(32).toString('base64url'),
      createdAt: Date.now(),
    };
    await this.redis.set(this.key(id), JSON.stringify(session), 'EX', this.config.sessionIdleSeconds);
    return { id, session };
  }

  async get(sessionId: string): Promise<AdminSession | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(sessionId)) return undefined;
    const key = this.key(sessionId);
    const raw = await this.redis.getex(key, 'EX', this.config.sessionIdleSeconds);
    if (raw === null) return undefined;
    const session = JSON.parse(raw) as AdminSession;
    if (Date.now() - session.createdAt > ABSOLUTE_LIFETIME_MS) {
      await this.redis.del(key);
      return undefined;
    }
    return session;
  }

  async destroy(sessionId: string): Promise<void> {
    await this.redis.del(this.key(sessionId));
  }
}
