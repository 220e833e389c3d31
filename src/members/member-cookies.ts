import type { CookieSerializeOptions } from '@fastify/cookie';
import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { MEMBER_IDLE_SECONDS } from './member-sessions.js';

export const MEMBER_COOKIE = 'depeche_member';

const MEMBER_COOKIE_IN_HEADER = new RegExp(`(?:^|;)\\s*${MEMBER_COOKIE}=`);

/** Whether a raw Cookie header holds a member's cookie, valid or not, before cookies are parsed. */
export function carriesMemberCookie(cookieHeader: string | undefined): boolean {
  return cookieHeader !== undefined && MEMBER_COOKIE_IN_HEADER.test(cookieHeader);
}

/**
 * The member's cookie, apart from the desk's: HttpOnly, SameSite=Lax so other sites cannot post
 * with it, Secure behind https, kept across browser restarts for as long as the session may idle.
 */
@Injectable()
export class MemberCookies {
  private readonly options: CookieSerializeOptions;
  private readonly origin: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.options = {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: config.publicUrl.startsWith('https:'),
    };
    this.origin = new URL(config.publicUrl).origin;
  }

  sessionId(request: FastifyRequest): string | undefined {
    return request.cookies[MEMBER_COOKIE];
  }

  set(reply: FastifyReply, sessionId: string): void {
    void reply.setCookie(MEMBER_COOKIE, sessionId, { ...this.options, maxAge: MEMBER_IDLE_SECONDS });
  }

  clear(reply: FastifyReply): void {
    void reply.clearCookie(MEMBER_COOKIE, this.options);
  }

  /**
   * A form post from another site carries that site's Origin: refused, so that no page elsewhere
   * can sign a reader in (to someone else's account) or out. A post without Origin (an old browser,
   * a script) is judged by its cookie alone.
   */
  sameOrigin(request: FastifyRequest): boolean {
    const origin = request.headers.origin;
    return origin === undefined || origin === this.origin;
  }
}
