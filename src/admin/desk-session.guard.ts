import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AdminAuthService } from './admin-auth.service.js';
import { attachDesk } from './desk-context.js';
import { DeskCookies, sameToken } from './desk-cookies.js';

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** No live session: the filter sends a browser to the sign-in page. */
export class SignInRequiredException extends UnauthorizedException {
  constructor(readonly expired: boolean) {
    super(expired ? 'Your session has expired: sign in again' : 'Sign in to the desk first');
  }
}

/**
 * Lets a desk request through when it carries a live session, and, unless it only reads, the
 * session's CSRF token in the `_csrf` form field or the X-CSRF-Token header (htmx sends that one).
 */
/** A desk form posted without its session's CSRF token (or with another's): changes nothing. */
export class CsrfRefusedException extends ForbiddenException {
  constructor() {
    super('The form is missing its CSRF token or it is wrong: reload the page and try again');
  }
}

@Injectable()
export class DeskSessionGuard implements CanActivate {
  constructor(
    @Inject(AdminAuthService) private readonly auth: AdminAuthService,
    @Inject(DeskCookies) private readonly cookies: DeskCookies,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const sessionId = this.cookies.sessionId(request);
    const live = await this.auth.resolve(sessionId);
    if (sessionId === undefined || live === undefined)
      throw new SignInRequiredException(sessionId !== undefined);
    const { session, editor } = live;
    if (!SAFE_METHODS.has(request.method)) {
      const body = request.body as { _csrf?: unknown } | null | undefined;
      const given = request.headers['x-csrf-token'] ?? (typeof body === 'object' ? body?._csrf : undefined);
      if (!sameToken(session.csrf, given)) {
        throw new CsrfRefusedException();
      }
    }
    attachDesk(request, { sessionId, session, editor });
    return true;
  }
}
