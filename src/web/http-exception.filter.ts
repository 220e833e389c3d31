import { type ArgumentsHost, Catch, type ExceptionFilter, Inject, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type FieldProblem, toErrorBody } from '../http/api-error.js';
import { fill, type Messages, problemText } from '../i18n/messages.js';
import { PageRenderer } from './page-renderer.js';

/**
 * What a reader is told of refused input, in the publication's language: each field and its
 * problem, or a general word (never the API's English text on a page).
 */
function readerProblems(problems: readonly FieldProblem[], t: Messages): string {
  if (problems.length === 0) return t.problem_invalid;
  const labels = t as unknown as Readonly<Record<string, string | undefined>>;
  return problems
    .map((problem) => {
      const text = problemText(problem, t) ?? t.problem_invalid;
      const field = labels[`field_${problem.field}`];
      return field === undefined ? text : fill(t.problemLine, { field, problem: text });
    })
    .join(' ');
}

function wantsHtml(request: FastifyRequest): boolean {
  return !request.url.startsWith('/api/') && (request.headers.accept ?? '').includes('text/html');
}

@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  constructor(@Inject(PageRenderer) private readonly renderer: PageRenderer) {}

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
    const t = this.renderer.t;
    const [heading, text] =
      body.statusCode === 404
        ? [t.notFoundTitle, t.notFoundText]
        : body.statusCode >= 500
          ? [t.errorTitle, t.errorText]
          : [t.badRequestTitle, readerProblems(body.details ?? [], t)];
    const html = this.renderer.readerPage(
      'error',
      heading,
      { heading, text },
      request.url.split('?')[0] ?? '/',
    );
    void reply.status(body.statusCode).type('text/html; charset=utf-8').send(html);
  }
}
