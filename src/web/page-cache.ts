import type { FastifyInstance } from 'fastify';
import { ExpiringCache } from '../lib/expiring-cache.js';
import { carriesMemberCookie } from '../members/member-cookies.js';

/** The public pages every reader sees alike: only these are kept. */
const CACHED_ROUTES = new Set([
  '/',
  '/articles/:slug',
  '/tags/:tag',
  '/archives',
  '/archives/:year/:month',
  '/newsletter',
  '/feed',
  '/feed.xml',
  '/feed.json',
]);
/** Query strings kept apart: none, or a page number. Anything else is served fresh, never stored. */
const CACHEABLE_QUERY = /^(?:\?page=\d{1,6})?$/;
/**
 * Routes that write what articles' pages show: articles, through the API or the desk (its live
 * preview writes nothing), and comments, from the blog or the desk's moderation; matched on the
 * route the request reached, however its path was spelled.
 */
const ARTICLE_WRITES =
  /^\/(?:(?:api|admin)\/articles(?!\/preview)(?:\/|$)|admin\/comments(?:\/|$)|articles\/:slug\/comments$)/;
const MAX_ENTRIES = 1000;

interface CachedPage {
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

/** Headers that belong to one response, not to the page. */
const PER_RESPONSE_HEADERS = new Set([
  'content-length',
  'date',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'x-cache',
]);

/**
 * Whether a response may be kept for everyone: it says so itself (`Cache-Control: public`, which
 * BlogReaders gives only pages made for anyone). A cookie it sets is not kept with it: the cookie
 * plugin adds Set-Cookie after this hook, and only string headers are kept.
 */
function sharedResponse(cacheControl: unknown): boolean {
  return typeof cacheControl === 'string' && /^public\b/.test(cacheControl);
}

/**
 * Rendered public pages, kept for a few seconds in each API process and served by the first hook,
 * so a burst of readers (a newsletter just landed) costs one render per page per interval instead
 * of one per request. Only what anonymous readers see is kept, and only anonymous readers are
 * served from it: a request with a member's cookie always reaches its handler (which may show it
 * more), and a page its handler made for one reader (`Cache-Control: private`) is never stored.
 * An article write through this process clears the pages at once; other processes' copies expire
 * within `ttlSeconds`.
 */
export class PageCache {
  private readonly pages: ExpiringCache<CachedPage>;

  constructor(private readonly ttlSeconds: number) {
    this.pages = new ExpiringCache(ttlSeconds * 1000, MAX_ENTRIES);
  }

  get enabled(): boolean {
    return this.ttlSeconds > 0;
  }

  /** Forgets every page: what they all show (the publication's name, say) has changed. */
  clear(): void {
    this.pages.clear();
  }

  /**
   * Serves hits ahead of every other hook, so a hit costs no security-header computation, no
   * middleware and no handler: the stored headers are those the page was first sent with,
   * security headers included. Stores fresh 200s; clears on article writes. Register it first.
   */
  register(fastify: FastifyInstance): void {
    if (!this.enabled) return;
    const cacheable = (method: string, route: string | undefined, url: string): boolean => {
      const query = url.includes('?') ? url.slice(url.indexOf('?')) : '';
      return (
        method === 'GET' && route !== undefined && CACHED_ROUTES.has(route) && CACHEABLE_QUERY.test(query)
      );
    };
    fastify.addHook('onRequest', (request, reply, done) => {
      const page =
        cacheable(request.method, request.routeOptions.url, request.url) &&
        // Cookies are not parsed yet: this hook runs first.
        !carriesMemberCookie(request.headers.cookie)
          ? this.pages.get(request.url)
          : undefined;
      if (!page) {
        done();
        return;
      }
      // Sent without calling done(): Fastify takes the request as answered, no routing, no handler.
      void reply.headers(page.headers).header('X-Cache', 'hit').send(page.body);
    });
    fastify.addHook('onSend', (request, reply, payload, done) => {
      if (
        reply.statusCode === 200 &&
        !reply.hasHeader('x-cache') &&
        sharedResponse(reply.getHeader('cache-control')) &&
        cacheable(request.method, request.routeOptions.url, request.url) &&
        (typeof payload === 'string' || Buffer.isBuffer(payload))
      ) {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(reply.getHeaders())) {
          if (!PER_RESPONSE_HEADERS.has(name) && (typeof value === 'string' || typeof value === 'number'))
            headers[name] = String(value);
        }
        this.pages.set(request.url, {
          body: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
          headers,
        });
      }
      done(null, payload);
    });
    // Only a write that was allowed and done: a refused or failed one changed nothing.
    fastify.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url;
      if (
        request.method !== 'GET' &&
        request.method !== 'HEAD' &&
        reply.statusCode < 400 &&
        route !== undefined &&
        ARTICLE_WRITES.test(route)
      )
        this.pages.clear();
      done();
    });
  }
}
