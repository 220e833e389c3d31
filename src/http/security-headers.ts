import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * Helmet's headers for these options, worked out once on a response that goes nowhere: they are the
 * same for every response (no nonces here), and running Helmet at each request (its Fastify plugin
 * even builds its middleware again each time) cost several percent of a rendered page.
 */
export function securityHeaders(options: HelmetOptions): Readonly<Record<string, string>> {
  const response = new ServerResponse(new IncomingMessage(new Socket()));
  // Helmet's middleware sets its headers and calls on at once; an error is a wrong option.
  const outcomes: unknown[] = [];
  helmet(options)(response.req, response, (error?: unknown) => {
    outcomes.push(error ?? null);
  });
  const [outcome] = outcomes;
  if (outcome === undefined) throw new Error('Helmet did not set its headers');
  if (outcome !== null) throw outcome instanceof Error ? outcome : new Error('Helmet refused its options');
  return Object.fromEntries(
    Object.entries(response.getHeaders()).map(([name, value]) => [name, String(value)]),
  );
}

/** Every response gets the security headers (a page-cache hit, earlier, keeps those it was sent with). */
export function registerSecurityHeaders(fastify: FastifyInstance, options: HelmetOptions): void {
  const headers = securityHeaders(options);
  fastify.addHook('onRequest', (_request, reply, done) => {
    void reply.headers(headers);
    done();
  });
}
