import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { HashedTokens } from '../redis/hashed-tokens.js';

/** How long a sign-in link works. */
export const SIGN_IN_LINK_SECONDS = 15 * 60;

/** Who a link signs in, and where they were going. */
export interface SignInLink {
  readonly subscriberId: string;
  /** A path of the blog to come back to after signing in. */
  readonly next: string;
}

/**
 * One-time sign-in links, kept in Redis for SIGN_IN_LINK_SECONDS. Using a link deletes it in the
 * same command that reads it, so two clicks never sign in twice.
 */
@Injectable()
export class MemberLinks {
  private readonly tokens: HashedTokens<SignInLink>;

  constructor(@Inject(Redis) redis: Redis, @Inject(APP_CONFIG) config: AppConfig) {
    this.tokens = new HashedTokens(redis, `${config.queuePrefix}:member-link`, SIGN_IN_LINK_SECONDS);
  }

  async issue(link: SignInLink): Promise<string> {
    return (await this.tokens.issue(link)).token;
  }

  /** Whether the link still works, without using it (the page that shows the button). */
  isLive(token: string): Promise<boolean> {
    return this.tokens.exists(token);
  }

  /** Uses the link: answers whom it signs in, once; a used, expired or forged link answers nothing. */
  consume(token: string): Promise<SignInLink | undefined> {
    return this.tokens.take(token);
  }
}
