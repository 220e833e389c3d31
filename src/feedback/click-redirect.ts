import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ClickCount, ClicksRepository } from '../delivery/clicks.repository.js';
import { RECIPIENT_MARKERS } from '../mail/prepared-message.js';
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

interface Waiting {
  editionId: string;
  linkId: string;
  subscriberId: string;
  clicks: number;
  scannerClicks: number;
  firstAt: Date;
  lastAt: Date;
}

/**
 * The click redirect, `/r/<token>`: answers the reader at once with a 302 to the link the edition
 * had (never to a URL the request names), and counts the click in memory, written to the database
 * in batches every second. Registered on Fastify directly, ahead of Nest's routing: it is hit once
 * per reader and link, in bursts after each edition. A token that is not ours gets the blog's 404.
 */
@Injectable()
export class ClickRedirect implements OnApplicationShutdown {
  private readonly logger = new Logger('ClickRedirect');
  private waiting = new Map<string, Waiting>();
  private readonly links = new Map<string, Promise<Map<string, string>>>();
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

  register(fastify: FastifyInstance): void {
    fastify.route({
      method: ['GET', 'HEAD'],
      url: '/r/:token',
      handler: (request, reply) =>
        this.follow(request as FastifyRequest<{ Params: { token: string } }>, reply),
    });
  }

  private async follow(
    request: FastifyRequest<{ Params: { token: string } }>,
    reply: FastifyReply,
  ): Promise<FastifyReply> {
    const click = this.tokens.verifyClickToken(request.params.token);
    const url = click ? await this.linkOf(click) : undefined;
    if (!click || url === undefined) {
      // The blog's own 404, in the publication's language.
      reply.callNotFound();
      return reply;
    }
    this.count(click, this.isScanner(request, click));
    const target = url.includes(RECIPIENT_MARKERS.readerQuery)
      ? url.replace(
          RECIPIENT_MARKERS.readerQuery,
          readerQueryOf({
            editionId: click.editionId,
            token: this.tokens.readerToken(click.editionId, click.subscriberId),
          }),
        )
      : url;
    return reply.header('Cache-Control', 'no-store').redirect(target, 302);
  }

  private isScanner(request: FastifyRequest, click: Click): boolean {
    if (request.method === 'HEAD') return true;
    if (SCANNER_AGENTS.test(request.headers['user-agent'] ?? '')) return true;
    return Date.now() / 1000 - click.sentAt < SCANNER_SECONDS;
  }

  private async linkOf(click: Click): Promise<string | undefined> {
    let links = this.links.get(click.editionId);
    if (!links) {
      links = this.clicks.linksOf(click.editionId);
      links.catch(() => this.links.delete(click.editionId));
      if (this.links.size >= KEPT_EDITIONS) this.links.delete(this.links.keys().next().value ?? '');
      this.links.set(click.editionId, links);
    }
    return (await links).get(click.linkId);
  }

  private count(click: Click, scanner: boolean): void {
    const key = `${click.editionId}.${click.linkId}.${click.subscriberId}`;
    const now = new Date();
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
        const slice: ClickCount[] = counts.slice(written, written + 1000);
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
