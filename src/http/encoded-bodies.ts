import type { FastifyInstance } from 'fastify';

/**
 * Text bodies (pages, JSON) turned into bytes once, as soon as they are made. Sent as a string, a
 * body is encoded twice: once to count its bytes for Content-Length, again to write it; as bytes,
 * once. On a member's article page (12 KB of French) the two passes cost more than its query.
 * Register it before any other onSend hook, so that they all see the bytes.
 */
export function registerEncodedBodies(fastify: FastifyInstance): void {
  fastify.addHook('onSend', (_request, _reply, payload, done) => {
    done(null, typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload);
  });
}
