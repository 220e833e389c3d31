import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { type ClickCount, ClicksRepository } from '../delivery/clicks.repository.js';
import { RECIPIENT_MARKERS } from '../mail/prepared-message.js';
import { OPEN_PIXEL_ID } from '../mail/tracked-links.js';
import { type Click, readerQueryOf, SubscriberTokens } from '../mail/subscriber-tokens.js';

/** Security scanners that follow every link of a message before its reader sees it. */
const SCANNER_AGENTS =
  /barracuda|mimecast|proofpoint|urldefense|symantec|messagelabs|trend ?micro|sophos|forcepoint|fireeye|ironport|cisco|safelinks|microsoft office|outlook-ios-linkchecker|google-safety|bitdefender|kaspersky|mcafee|checkpoint|zscaler|bot\b|crawler|spider|python-requests|curl\/|wget\/|go-http-client|headlesschrome|preview/i;

/** A follow this soon after the copy was sent is a scanner's: no reader opens and clicks that fast. */
export const SCANNER_SECONDS = 10;

/** Counts written at most this often, and sooner once this many links and readers are waiting. */
const FLUSH_MS = 1000;
const FLUSH_AT = 5000;
/** Beyond this many waiting counts (the database down for long), new ones are dropped, not hoarded. */
const MAX_WAITING = 200_000;
const KEPT_EDITIONS = 500;
const RELOAD_MS = 5000;

/** A click's answer: nothing kept, and nothing of the link told to the page it leads to. */
function redirectHeaders(target: string): Record<string, string | number> {
  return {
    location: target,
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'content-length': 0,
  };
}

/** The open pixel: a transparent GIF of one pixel, never kept by anyone. */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
const PIXEL_HEADERS = {
  'content-type': 'image/gif',
  'content-length': PIXEL.length,
  'cache-control': 'no-store, private',
  'referrer-policy': 'no-referrer',
};

interface Waiting {
  editionId: string;
  linkId: string;
  subscriberId: string;
  clicks: number;
  scannerClicks: number;
  /** Milliseconds since the epoch: a click costs no Date until it is written. */
  firstAt: number;
  lastAt: number;
}

/**
 * The click redirect, `/r/<token>`: answers the reader at once with a 302 to the link the edition
 * had (never to a URL the request names), and counts the click in memory, written to the database
 * in batches every second. It is hit once per reader and link, in bursts after each edition.
 */
@Injectable()
export class ClickRedirect implements OnApplicationShutdown {
  private readonly logger = new Logger('ClickRedirect');
  private waiting = new Map<string, Waiting>();
  private readonly links = new Map<
    string,
    { readonly links: Promise<Map<string, string>>; readonly readAt: number }
  >();
  private flushing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    @Inject(SubscriberTokens) private readonly tokens: SubscriberTokens,
    @Inject(ClicksRepository) private readonly clicks: ClicksRepository,
  ) {
    this.timer = setInterval(() => {
      void this.flush();
    }, FLUSH_MS);
    this.timer.unref();
  }

  /**
   * Answers a click link straight from the HTTP server, before Fastify sees the request: a click
   * needs none of what pages need (routing, security headers, cookies, bodies), and bursts of them
   * follow every edition. Returns false for any other request. A link that is not ours goes on to
   * `fallback` (the application), which answers with the blog's 404.
   */
  serve(request: IncomingMessage, response: ServerResponse, fallback: () => void): boolean {
    const url = request.url ?? '';
    const open = url.startsWith('/o/');
    if ((!open && !url.startsWith('/r/')) || (request.method !== 'GET' && request.method !== 'HEAD'))
      return false;
    if (open) {
      if (this.opened(request))
        response.writeHead(200, PIXEL_HEADERS).end(request.method === 'HEAD' ? '' : PIXEL);
      else fallback();
      return true;
    }
    this.follow(request).then(
      (target) => {
        if (target === undefined) fallback();
        else response.writeHead(302, redirectHeaders(target)).end();
      },
      (error: unknown) => {
        this.logger.warn(
          { err: error },
          'Could not read the links of an edition; answered by the application',
        );
        fallback();
      },
    );
    return true;
  }

  /** The same for requests that reach the application (injected ones, and the fallback above). */
  register(fastify: FastifyInstance): void {
    fastify.route({
      method: ['GET', 'HEAD'],
      url: '/o/*',
      handler: async (request, reply) => {
        if (!this.opened(request.raw)) {
          reply.callNotFound();
          return reply;
        }
        return reply
          .code(200)
          .headers(PIXEL_HEADERS)
          .send(request.method === 'HEAD' ? '' : PIXEL);
      },
    });
    fastify.route({
      method: ['GET', 'HEAD'],
      url: '/r/*',
      handler: async (request, reply) => {
        const target = await this.follow(request.raw);
        if (target === undefined) {
          // The blog's own 404, in the publication's language.
          reply.callNotFound();
          return reply;
        }
        return reply.code(302).headers(redirectHeaders(target)).send();
      },
    });
  }

  /** Counts a view of an open pixel (`/o/<token>`); false for a token that is not one. */
  private opened(request: IncomingMessage): boolean {
    const url = request.url ?? '';
    const end = url.indexOf('?');
    const view = this.tokens.verifyClickToken(url.slice('/o/'.length, end === -1 ? undefined : end));
    if (view?.linkId !== OPEN_PIXEL_ID) return false;
    this.count(view, this.isScanner(request, view));
    return true;
  }

  /** Where a click link leads, counting the click; undefined for a link that is not ours. */
  private async follow(request: IncomingMessage): Promise<string | undefined> {
    const url = request.url ?? '';
    const end = url.indexOf('?');
    const click = this.tokens.verifyClickToken(url.slice('/r/'.length, end === -1 ? undefined : end));
    const link = click ? await this.linkOf(click) : undefined;
    if (!click || link === undefined) return undefined;
    this.count(click, this.isScanner(request, click));
    if (!link.includes(RECIPIENT_MARKERS.readerQuery)) return link;
    const reader = this.tokens.readerToken(click.editionId, click.subscriberId);
    return link.replace(
      RECIPIENT_MARKERS.readerQuery,
      readerQueryOf({ editionId: click.editionId, token: reader }),
    );
  }

  private isScanner(request: IncomingMessage, click: Click): boolean {
    if (request.method === 'HEAD') return true;
    if (SCANNER_AGENTS.test(request.headers['user-agent'] ?? '')) return true;
    return Date.now() / 1000 - click.sentAt < SCANNER_SECONDS;
  }

  /**
   * The link a click names, from the edition's links kept in memory. A link missing from what was
   * read is looked for again, at most every few seconds per edition: links are saved before any
   * copy leaves, but one worker's may land after another's.
   */
  private async linkOf(click: Click): Promise<string | undefined> {
    const kept = this.links.get(click.editionId);
    const fresh = kept !== undefined && Date.now() - kept.readAt < RELOAD_MS;
    const found = kept ? (await kept.links).get(click.linkId) : undefined;
    if (found !== undefined || fresh) return found;
    const links = this.clicks.linksOf(click.editionId);
    links.catch(() => this.links.delete(click.editionId));
    this.links.delete(click.editionId);
    if (this.links.size >= KEPT_EDITIONS) this.links.delete(this.links.keys().next().value ?? '');
    this.links.set(click.editionId, { links, readAt: Date.now() });
    return (await links).get(click.linkId);
  }

  private count(click: Click, scanner: boolean): void {
    const key = `${click.editionId}.${click.linkId}.${click.subscriberId}`;
    const now = Date.now();
    let entry = this.waiting.get(key);
    if (!entry) {
      if (this.waiting.size >= MAX_WAITING) {
        this.logger.warn('Too many clicks waiting to be written; this one is not counted');
        return;
      }
      entry = { ...click, clicks: 0, scannerClicks: 0, firstAt: now, lastAt: now };
      this.waiting.set(key, entry);
    }
    if (scanner) entry.scannerClicks += 1;
    else entry.clicks += 1;
    entry.lastAt = now;
    if (this.waiting.size >= FLUSH_AT) void this.flush();
  }

  /** Writes what is waiting; what cannot be written waits for the next flush. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async write(): Promise<void> {
    if (this.waiting.size === 0) return;
    const batch = this.waiting;
    this.waiting = new Map();
    const counts: Waiting[] = [...batch.values()];
    let written = 0;
    try {
      for (; written < counts.length; written += 1000) {
        const slice: ClickCount[] = counts.slice(written, written + 1000).map((entry) => ({
          ...entry,
          firstAt: new Date(entry.firstAt),
          lastAt: new Date(entry.lastAt),
        }));
        await this.clicks.add(slice);
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'Could not write clicks; they wait for the next try');
      for (const entry of counts.slice(written)) {
        const key = `${entry.editionId}.${entry.linkId}.${entry.subscriberId}`;
        const later = this.waiting.get(key);
        if (later) {
          later.clicks += entry.clicks;
          later.scannerClicks += entry.scannerClicks;
          later.firstAt = entry.firstAt;
        } else this.waiting.set(key, entry);
      }
    }
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
