import { type ArgumentsHost, Catch, type ExceptionFilter, Inject, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type ApiErrorBody, toErrorBody } from '../http/api-error.js';
import type { AdminMessages } from '../i18n/admin-messages.js';
import { AdminRenderer } from './admin-renderer.js';
import { deskOf } from './desk-context.js';
import { isHtmx, seeOther } from './desk-http.js';
import { DeskMissing, deskProblem, DeskRefusal } from './desk-form-errors.js';
import { CsrfRefusedException, SignInRequiredException } from './desk-session.guard.js';

/**
 * What the desk's error page says, in the publication's language: the problems of refused input
 * field by field, a word for each kind of refusal, and the desk's own French refusals as they are;
 * never the API's English text.
 */
function deskMessage(exception: unknown, body: ApiErrorBody, t: AdminMessages): string {
  if (exception instanceof SignInRequiredException && exception.expired) return t.sessionExpired;
  if (exception instanceof CsrfRefusedException) return t.csrfRefused;
  if (body.details && body.details.length > 0)
    return body.details.map((problem) => deskProblem(problem, t)).join(' ');
  switch (body.statusCode) {
    case 404:
      return exception instanceof DeskMissing ? body.message : t.notFound;
    case 409:
      return t.problem_conflict;
    case 503:
      return t.unavailable;
    case 403:
      // The desk's own refusals (owner only…) are written in the publication's words.
      return exception instanceof DeskRefusal ? body.message : t.forbidden;
    default:
      return body.statusCode >= 500 ? t.errorText : t.problem_invalid;
  }
}

/**
 * Errors on the desk are pages, not JSON. Without a session, a page request goes to the sign-in
 * page and comes back after; an htmx request is told to go there; a form post is refused with 401.
 */
@Catch()
export class DeskExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('DeskExceptionFilter');

  constructor(@Inject(AdminRenderer) private readonly renderer: AdminRenderer) {}

  async catch(exception: unknown, host: ArgumentsHost): Promise<void> {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const t = this.renderer.t;
    if (exception instanceof SignInRequiredException) {
      const signIn = `/admin/sign-in?next=${encodeURIComponent(request.url)}${exception.expired ? '&expired=1' : ''}`;
      if (isHtmx(request)) {
        await reply.status(401).header('HX-Redirect', signIn).send('');
        return;
      }
      if (request.method === 'GET') {
        await seeOther(reply, signIn);
        return;
      }
    }
    const body = toErrorBody(exception);
    if (body.statusCode >= 500) {
      this.logger.error({ err: exception, url: request.url, method: request.method }, 'Unhandled error');
    }
    const desk = deskOf(request);
    const message = deskMessage(exception, body, t);
    await this.renderer.send(
      reply,
      'error',
      { title: t.errorTitle, ...(desk ? { desk } : {}) },
      { status: body.statusCode, message, signIn: body.statusCode === 401 },
      body.statusCode,
    );
  }
}
