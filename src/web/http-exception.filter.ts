import { STATUS_CODES } from 'node:http';
import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Inject,
  Logger,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiErrorBody, FieldProblem } from '../http/api-error.js';
import { messagesFor } from '../i18n/messages.js';
import { PageRenderer } from './page-renderer.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';

function statusText(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

/** Turns anything thrown into the one error body; unknown errors become a 500 that reveals nothing. */
export function toErrorBody(exception: unknown): ApiErrorBody {
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    if (typeof response === 'string')
      return { statusCode: status, error: statusText(status), message: response };
    const body = response as { message?: unknown; error?: unknown; details?: FieldProblem[] };
    const message = Array.isArray(body.message)
      ? body.message.join('; ')
      : typeof body.message === 'string'
        ? body.message
        : statusText(status);
    return {
      statusCode: status,
      error: typeof body.error === 'string' ? body.error : statusText(status),
      message,
      ...(body.details ? { details: body.details } : {}),
    };
  }
  // Fastify's own errors (bad JSON, body too large, wrong content type) carry a 4xx statusCode.
  const status = (exception as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500 && exception instanceof Error) {
    return { statusCode: status, error: statusText(status), message: exception.message };
  }
  return { statusCode: 500, error: statusText(500), message: 'Internal server error' };
}

function wantsHtml(request: FastifyRequest): boolean {
  return !request.url.startsWith('/api/') && (request.headers.accept ?? '').includes('text/html');
}

@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  constructor(
    @Inject(PageRenderer) private readonly renderer: PageRenderer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const body = toErrorBody(exception);
    if (body.statusCode >= 500) {
      this.logger.error({ err: exception, url: request.url, method: request.method }, 'Unhandled error');
    }
    reply.header('Cache-Control', body.statusCode === 404 ? 'public, max-age=60' : 'no-store');
    if (body.statusCode === 401) reply.header('WWW-Authenticate', 'Bearer');
    if (!wantsHtml(request)) {
      // A route may have set an HTML content type before it threw.
      void reply.status(body.statusCode).type('application/json; charset=utf-8').send(body);
      return;
    }
    const t = messagesFor(this.config.locale);
    const [heading, text] =
      body.statusCode === 404
        ? [t.notFoundTitle, t.notFoundText]
        : body.statusCode >= 500
          ? [t.errorTitle, t.errorText]
          : [t.badRequestTitle, body.message];
    const html = this.renderer.render(
      'error',
      {
        title: `${heading} — ${this.config.publicationName}`,
        description: heading,
        canonical: `${this.config.publicUrl}${request.url.split('?')[0] ?? '/'}`,
        ogType: 'website',
        noindex: true,
      },
      { heading, text },
    );
    void reply.status(body.statusCode).type('text/html; charset=utf-8').send(html);
  }
}
