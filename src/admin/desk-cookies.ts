import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';

export const SESSION_COOKIE = 'depeche_session';
/** The double-submit token of the forms shown before there is a session: sign-in and setup. */
export const FORM_COOKIE = 'depeche_form';

/** Equal tokens, compared in constant time; anything missing or of another length is unequal. */
export function sameToken(expected: string, given: unknown): boolean {
  if (typeof given !== 'string' || expected === '') return false;
  // Compared as bytes: a string of the same length in other characters is another length in UTF-8.
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The desk's cookies: HttpOnly so scripts cannot read them, SameSite=Lax so other sites cannot post
 * with them, Secure when the public URL is https, and scoped to /admin so the public blog (and its
 * page cache) never sees them.
 */
@Injectable()
export class DeskCookies {
  private readonly options: CookieSerializeOptions;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.options = {
      path: '/admin',
      httpOnly: true,
      sameSite: 'lax',
      secure: config.publicUrl.startsWith('https:'),
    };
  }

  sessionId(request: FastifyRequest): string | undefined {
    return request.cookies[SESSION_COOKIE];
  }

  setSession(reply: FastifyReply, sessionId: string): void {
    // No Max-Age: the session's life is Redis's to decide, and a browser session cookie ends with it.
    void reply.setCookie(SESSION_COOKIE, sessionId, this.options);
    void reply.clearCookie(FORM_COOKIE, this.options);
  }

  clearSession(reply: FastifyReply): void {
    void reply.clearCookie(SESSION_COOKIE, this.options);
  }

  /** The form token for a sign-in or setup form, set in a cookie the form's hidden field must match. */
  formToken(request: FastifyRequest, reply: FastifyReply): string {
    const existing = request.cookies[FORM_COOKIE];
    if (existing !== undefined && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
    const token = randomBytes(32).toString('base64url');
    void reply.setCookie(FORM_COOKIE, token, { ...this.options, sameSite: 'strict' });
    return token;
  }

  formTokenMatches(request: FastifyRequest, given: unknown): boolean {
    return sameToken(request.cookies[FORM_COOKIE] ?? '', given);
  }
}
