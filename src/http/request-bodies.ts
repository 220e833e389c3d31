import { parse as parseQueryString } from 'node:querystring';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type FieldProblem, InvalidInputException, toErrorBody } from './api-error.js';

/**
 * What a request may carry, decided in one place before any route runs: which routes take which
 * bodies, and what no input may hold. Nothing from outside reaches validation, a guard or a handler
 * before it passed here, so a hostile body costs milliseconds and a 4xx, never a 500 or the process.
 */

/** How deep JSON may nest: our deepest input is two levels; class-transformer recurses per level. */
export const MAX_JSON_DEPTH = 16;

/** The bodies a route takes besides JSON and forms, named on the route with `TakesBody`. */
type SpecialBody = 'csv-stream' | 'xml-stream' | 'anything' | 'json-text' | 'image';

/** The largest image an editor may upload: a camera's full-size JPEG fits. */
export const IMAGE_BODY_LIMIT = 15 * 1024 ** 2;

interface BodyRouteConfig {
  readonly takesBody?: SpecialBody;
}

/**
 * `csv-stream`: the body is handed over as a stream of CSV (imports). `anything`: any content type
 * or none is accepted and ignored, as RFC 8058 asks of the one-click unsubscribe. `json-text`: a
 * JSON body handed over as the exact text received, for a signature over its bytes (webhooks).
 * `image`: an image's bytes (image/*), buffered up to IMAGE_BODY_LIMIT (uploads from the desk).
 * `xml-stream`: an XML file as a stream (a WordPress export or a feed, imported as articles).
 */
export const TakesBody = (kind: SpecialBody): MethodDecorator =>
  RouteConfig({ takesBody: kind } satisfies BodyRouteConfig);

function takesBody(request: FastifyRequest): SpecialBody | undefined {
  return (request.routeOptions.config as BodyRouteConfig | undefined)?.takesBody;
}

/** A 4xx that Fastify sends through the application's error body. */
class RequestBodyError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

function unsupported(request: FastifyRequest): RequestBodyError {
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
  return new RequestBodyError(
    415,
    `Content-Type ${type || '(none)'} is not accepted here: send application/json or application/x-www-form-urlencoded`,
  );
}

/** Deepest nesting of a JSON text, found in one pass without parsing it; stops past `limit`. */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
// eslint-disable-next-line no-control-regex
const NUL = /\u0000/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function stringProblem(text: string): string | undefined {
  if (NUL.test(text)) return 'must not contain a NUL character';
  if (LONE_SURROGATE.test(text)) return 'is not valid Unicode (a lone surrogate)';
  return undefined;
}

/**
 * What no input may hold, wherever it sits: keys that reach for prototypes, NUL characters (which
 * PostgreSQL refuses in text), lone surrogates (not Unicode: unencodable in a header or in UTF-8),
 * and nesting past MAX_JSON_DEPTH. Walked without recursion, so any shape is cheap to refuse.
 */
export function inputProblems(value: unknown, root: string): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: root, depth: 0 }];
  for (let item = stack.pop(); item !== undefined && problems.length < 10; item = stack.pop()) {
    if (typeof item.value === 'string') {
      const problem = stringProblem(item.value);
      if (problem) problems.push({ field: item.path, message: problem });
      continue;
    }
    if (typeof item.value !== 'object' || item.value === null) continue;
    if (item.depth >= MAX_JSON_DEPTH) {
      problems.push({ field: item.path, message: `is nested deeper than ${MAX_JSON_DEPTH} levels` });
      continue;
    }
    for (const [key, child] of Object.entries(item.value)) {
      const path = item.path === '' ? key : `${item.path}.${key}`;
      const keyProblem = FORBIDDEN_KEYS.has(key) ? 'is not an accepted field name' : stringProblem(key);
      if (keyProblem) problems.push({ field: path, message: keyProblem });
      else stack.push({ value: child, path, depth: item.depth + 1 });
    }
  }
  return problems;
}

/** A JSON object, or the 400 that says why the text is not one; nesting is measured before parsing. */
function parseJsonObject(text: string): object | RequestBodyError {
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH))
    return new RequestBodyError(400, `body: is nested deeper than ${MAX_JSON_DEPTH} levels`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return new RequestBodyError(400, `body: is not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return new RequestBodyError(400, 'body: must be a JSON object');
  return parsed;
}

function refuse(reply: FastifyReply, problems: readonly FieldProblem[]): void {
  void reply
    .code(400)
    .header('Cache-Control', 'no-store')
    .type('application/json; charset=utf-8')
    .send(toErrorBody(new InvalidInputException(problems)));
}

/**
 * Registers every body parser and the input check on the application's Fastify instance; the
 * application is created with Nest's own parsers off (`bodyParser: false`).
 */
export function registerRequestBodies(fastify: FastifyInstance): void {
  // Action endpoints (publish, cancel…) take no body, and many clients still send a JSON content
  // type with nothing behind it: read that as no body rather than as malformed JSON.
  fastify.addHook('onRequest', (request, _reply, done) => {
    const { headers } = request;
    const bodyless = headers['transfer-encoding'] === undefined && (headers['content-length'] ?? '0') === '0';
    if (bodyless) delete headers['content-type'];
    done();
  });

  // Forms: flat fields, a repeated name giving an array, as browsers send them.
  fastify.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => {
      done(null, parseQueryString(body as string));
    },
  );

  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // A route that takes anything ignores the body, valid or not.
    if (takesBody(request) === 'anything') {
      done(null, undefined);
      return;
    }
    if (takesBody(request) === 'json-text') {
      done(null, body);
      return;
    }
    const parsed = parseJsonObject(body as string);
    if (parsed instanceof RequestBodyError) done(parsed, undefined);
    else done(null, parsed);
  });

  // CSV imports are read as a stream, never buffered whole, whatever their size: on the routes
  // that import, and nowhere else.
  fastify.addContentTypeParser(
    ['text/csv', 'application/csv'],
    { bodyLimit: 1024 ** 3 },
    (request, payload, done) => {
      const kind = takesBody(request);
      if (kind === 'csv-stream') done(null, payload);
      else if (kind === 'anything') drain(request, payload, done);
      else done(unsupported(request), undefined);
    },
  );

  // Text: a route that reads JSON as text takes it (SNS posts its JSON as text/plain); a route that
  // takes anything ignores it; every other route refuses it.
  fastify.addContentTypeParser('text/plain', { parseAs: 'string' }, (request, body, done) => {
    const kind = takesBody(request);
    if (kind === 'json-text') done(null, body);
    else if (kind === 'anything') done(null, undefined);
    else done(unsupported(request), undefined);
  });

  // XML files (exports and feeds to import): streamed, on the routes that import them only.
  fastify.addContentTypeParser(
    ['application/xml', 'text/xml', 'application/rss+xml', 'application/atom+xml'],
    { bodyLimit: 512 * 1024 ** 2 },
    (request, payload, done) => {
      const kind = takesBody(request);
      if (kind === 'xml-stream') done(null, payload);
      else if (kind === 'anything') drain(request, payload, done);
      else done(unsupported(request), undefined);
    },
  );

  // Images: on the upload route only, whole (an image is decoded from all of its bytes).
  fastify.addContentTypeParser(
    /^image\//,
    { parseAs: 'buffer', bodyLimit: IMAGE_BODY_LIMIT },
    (request, body, done) => {
      if (takesBody(request) === 'image') done(null, body);
      else if (takesBody(request) === 'anything') done(null, undefined);
      else done(unsupported(request), undefined);
    },
  );

  // Every other content type: ignored where a route takes anything, refused everywhere else.
  fastify.addContentTypeParser('*', (request, payload, done) => {
    if (takesBody(request) === 'anything') drain(request, payload, done);
    else done(unsupported(request), undefined);
  });

  fastify.addHook('preValidation', (request, reply, done) => {
    const problems = [
      ...inputProblems(request.query, ''),
      ...inputProblems(request.params, ''),
      ...(takesBody(request) === undefined ? inputProblems(request.body, '') : []),
    ];
    if (problems.length > 0) refuse(reply, problems);
    else done();
  });
}

/** Reads a body to its end and drops it; past the route's body limit, a 413. */
function drain(
  request: FastifyRequest,
  payload: NodeJS.ReadableStream,
  done: (error: Error | null, body?: unknown) => void,
): void {
  const limit = request.routeOptions.bodyLimit;
  let bytes = 0;
  let settled = false;
  const settle = (error: Error | null): void => {
    if (settled) return;
    settled = true;
    done(error, undefined);
  };
  payload.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > limit) {
      settle(new RequestBodyError(413, `body: larger than ${limit} bytes`));
      payload.removeAllListeners('data');
      payload.resume();
    }
  });
  payload.on('error', (error: Error) => {
    settle(error);
  });
  payload.on('end', () => {
    settle(null);
  });
}
