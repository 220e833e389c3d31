import { type ArgumentsHost, Catch, type ExceptionFilter, Inject, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toErrorBody } from '../http/api-error.js';
import { AdminRenderer } from './admin-renderer.js';
import { deskOf } from './desk-context.js';
import { isHtmx, seeOther } from './desk-http.js';
import { SignInRequiredException } from './desk-session.guard.js';

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
    const message =
      exception instanceof SignInRequiredException && exception.expired
        ? t.sessionExpired
        : body.statusCode === 404
          ? `${t.notFound} ${body.message}`
          : body.message;
    await this.renderer.send(
      reply,
      'error',
      { title: t.errorTitle, ...(desk ? { desk } : {}) },
      { status: body.statusCode, message, signIn: body.statusCode === 401 },
      body.statusCode,
    );
  }
}
