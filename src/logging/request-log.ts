import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

/** Paths whose requests are too frequent and too dull to log one line each. */
const QUIET_PATHS = new Set(['/health', '/metrics']);
/**
 * Click links: a burst of them follows every edition, each is counted anyway, and their URL names
 * the reader who clicked, which a log line would keep beyond the publication's own records.
 */
const QUIET_PREFIXES = ['/r/'];

/** One line per answered request: method, URL, status and time, with no header (no cookie, no token). */
export function registerRequestLog(fastify: FastifyInstance, logger: Logger): void {
  const requests = logger.child({ context: 'HTTP' });
  /** Whether an answered request gets its line. */
  const logged = (request: FastifyRequest, reply: FastifyReply): boolean =>
    requests.isLevelEnabled('info') &&
    !QUIET_PATHS.has(request.url.split('?')[0] ?? '') &&
    !(QUIET_PREFIXES.some((prefix) => request.url.startsWith(prefix)) && reply.statusCode < 400);
  // A callback, not a promise: this runs after every request (see bootstrap).
  fastify.addHook('onResponse', (request, reply, done) => {
    if (logged(request, reply))
      requests.info(
        {
          req: { id: request.id, method: request.method, url: request.url, remoteAddress: request.ip },
          res: { statusCode: reply.statusCode },
          responseTime: Math.round(reply.elapsedTime),
        },
        `${request.method} ${request.url} ${reply.statusCode} ${Math.round(reply.elapsedTime)} ms`,
      );
    done();
  });
}
