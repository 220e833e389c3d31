import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { EditionRow, SubscriberTier } from '../database/schema.js';
import { type ComposedEdition, EditionComposer, type EditionLinks } from '../mail/edition-composer.js';
import { MailTransport } from '../mail/mail-transport.js';
import type { RecipientParts } from '../mail/prepared-message.js';
import { SubscriberTokens } from '../mail/subscriber-tokens.js';
import { SendThrottle } from '../redis/send-throttle.js';
import { type ClaimedDelivery, DeliveriesRepository, type DeliveryOutcome } from './deliveries.repository.js';
import { DeliveryQueue } from './delivery.queue.js';
import { type DeliveryJobs, SEND_BATCH_SIZE } from './jobs.js';
import { classifySmtpFailure } from './smtp-outcome.js';
import { SuppressionRepository } from './suppression.repository.js';

/** Rows claimed, sent and recorded together: one UPDATE per this many messages, and the most a crash re-sends. */
export const FLUSH_EVERY = 100;
/** How stale a chunk's view of its subscribers' status may get while it sends. */
const STATUS_REFRESH_MS = 250;
/** Subscribers frozen into the ledger per statement while preparing: 20 send batches. */
const FREEZE_SLICE = 20 * SEND_BATCH_SIZE;

/** Thrown at the end of a batch that met temporary failures, so that BullMQ retries it later. */
export class TransientDeliveryError extends Error {
  override name = 'TransientDeliveryError';
}

type Composed = Readonly<Record<SubscriberTier, ComposedEdition>>;

function skipped(row: Pick<ClaimedDelivery, 'subscriberId'>, reason: string): DeliveryOutcome {
  return { subscriberId: row.subscriberId, status: 'skipped', messageId: null, smtpResponse: reason };
}

/** The send pipeline of an edition: prepare, send in batches, finalise, reconcile. */
@Injectable()
export class EditionDeliveryService {
  private readonly logger = new Logger(EditionDeliveryService.name);
  /** Each edition is rendered once per tier in each worker process, however many batches it has. */
  private readonly composed = new Map<string, Promise<Composed>>();

  constructor(
    @Inject(DeliveriesRepository) private readonly ledger: DeliveriesRepository,
    @Inject(SuppressionRepository) private readonly suppressions: SuppressionRepository,
    @Inject(DeliveryQueue) private readonly queue: DeliveryQueue,
    @Inject(EditionComposer) private readonly composer: EditionComposer,
    @Inject(MailTransport) private readonly transport: MailTransport,
    @Inject(SubscriberTokens) private readonly tokens: SubscriberTokens,
    @Inject(SendThrottle) private readonly throttle: SendThrottle,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Renders one tier of an edition as it stands now (previews and the web version). */
  async compose(
    edition: EditionRow,
    tier: SubscriberTier,
    links: EditionLinks = 'recipient',
  ): Promise<ComposedEdition> {
    return this.composer.compose(edition, await this.ledger.articlesOf(edition), tier, links);
  }

  /** Renders both tiers of an edition being sent, once per process. */
  private composedFor(edition: EditionRow): Promise<Composed> {
    let composed = this.composed.get(edition.id);
    if (!composed) {
      composed = this.ledger.articlesOf(edition).then(async (articles) => ({
        free: await this.composer.compose(edition, articles, 'free'),
        premium: await this.composer.compose(edition, articles, 'premium'),
      }));
      composed.catch(() => this.composed.delete(edition.id));
      this.composed.set(edition.id, composed);
    }
    return composed;
  }

  /**
   * Freezes the audience into the ledger a slice at a time, queueing each slice's send batches as
   * soon as it is written: the first messages leave while the rest of a large audience is still
   * being frozen. The audience is streamed through the database, never loaded.
   */
  async prepare(editionId: string): Promise<void> {
    const edition = await this.ledger.edition(editionId);
    if (edition?.status !== 'sending') return;
    let afterId: string | undefined;
    let afterSeq = 0;
    do {
      afterId = await this.ledger.freezeAudienceSlice(editionId, edition.audience, afterId, FREEZE_SLICE);
      const ranges = await this.enqueueRemaining(editionId, undefined, afterSeq);
      afterSeq = ranges.at(-1)?.toSeq ?? afterSeq;
    } while (afterId !== undefined);
    await this.ledger.markPrepared(editionId);
    await this.finalise(editionId);
  }

  private async enqueueRemaining(
    editionId: string,
    generation?: string,
    afterSeq = 0,
  ): Promise<{ fromSeq: number; toSeq: number }[]> {
    const ranges = await this.ledger.rangesWithWork(editionId, SEND_BATCH_SIZE, afterSeq);
    await this.queue.addBatches(
      ranges.map((range) => ({ editionId, ...range })),
      generation,
    );
    return ranges;
  }

  /** The MAIL FROM of a subscriber's message: with VERP_ADDRESS, bounces say whose message bounced. */
  private envelopeSender(subscriberId: string): string {
    const verp = this.config.verpAddress;
    if (verp === undefined) return this.config.mailFrom.address;
    const at = verp.lastIndexOf('@');
    return `${verp.slice(0, at)}+${subscriberId}${verp.slice(at)}`;
  }

  recipientParts(
    editionId: string,
    row: Pick<ClaimedDelivery, 'subscriberId' | 'email' | 'name'>,
  ): RecipientParts {
    const token = this.tokens.manageToken(row.subscriberId);
    const base = this.config.publicUrl;
    return {
      email: row.email,
      name: row.name,
      // Derived from edition and subscriber: a message sent again after a crash keeps its identity.
      messageId: `<${editionId}.${row.subscriberId}@${this.composer.domain}>`,
      unsubscribeUrl: `${base}/unsubscribe/${token}`,
      unsubscribeMailto: `mailto:${this.config.mailFrom.address}?subject=${encodeURIComponent(`unsubscribe ${token}`)}`,
      preferencesUrl: `${base}/preferences/${token}`,
      webVersionUrl: `${base}/editions/${editionId}/${this.tokens.readerToken(editionId, row.subscriberId)}`,
    };
  }

  /**
   * Sends one range of the ledger, claiming FLUSH_EVERY rows at a time: only the rows handed to
   * SMTP and not yet recorded can be sent twice after a crash, one chunk at most, and a cancel
   * stops within one chunk. The next chunk is claimed while this one goes out, so the database's
   * round trips overlap the sending. Rows that met a temporary failure wait for the job's retry.
   */
  async sendBatch(batch: DeliveryJobs['send-batch']): Promise<void> {
    const edition = await this.ledger.edition(batch.editionId);
    if (edition?.status !== 'sending') return;
    const composed = await this.composedFor(edition);
    const claimFrom = (fromSeq: number): Promise<ClaimedDelivery[]> =>
      this.ledger.claim(
        batch.editionId,
        { fromSeq, toSeq: batch.toSeq },
        FLUSH_EVERY,
        this.config.deliveryLeaseSeconds,
      );
    let transient = 0;
    let next = claimFrom(batch.fromSeq);
    for (;;) {
      const chunk = await next;
      if (chunk.length === 0) break;
      // Re-read each chunk: a cancel takes effect for every message not yet handed to SMTP.
      if ((await this.ledger.edition(batch.editionId))?.status !== 'sending') {
        await this.ledger.record(
          batch.editionId,
          chunk.map((row) => skipped(row, 'edition cancelled')),
        );
        return;
      }
      next = claimFrom(Math.max(...chunk.map((row) => row.seq)) + 1);
      // Settled below or in the next turn; a failure here must not go unhandled meanwhile.
      next.catch(() => undefined);
      const outcomes = await this.sendChunk(batch.editionId, composed, chunk);
      transient += outcomes.filter((outcome) => outcome.status === 'pending').length;
      await this.ledger.record(batch.editionId, outcomes);
    }
    if (transient > 0) throw new TransientDeliveryError(`${transient} temporary failure(s); retrying later`);
    await this.finalise(batch.editionId);
  }

  private async sendChunk(
    editionId: string,
    composed: Composed,
    chunk: readonly ClaimedDelivery[],
  ): Promise<DeliveryOutcome[]> {
    const outcomes: DeliveryOutcome[] = [];
    const gone = this.statusWatch(chunk.map((row) => row.subscriberId));
    let next = 0;
    const lane = async (): Promise<void> => {
      for (let row = chunk[next++]; row !== undefined; row = chunk[next++]) {
        outcomes.push(
          (await gone(row.subscriberId))
            ? skipped(row, 'unsubscribed during the send')
            : await this.sendOne(editionId, composed, row),
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.config.sendConcurrency, chunk.length) }, lane));
    return outcomes;
  }

  /**
   * Whether a subscriber of the chunk left since it was claimed, read again at most every
   * STATUS_REFRESH_MS: an unsubscribe reaches every message not yet handed to SMTP, for one query
   * per interval rather than one per message.
   */
  private statusWatch(subscriberIds: readonly string[]): (subscriberId: string) => Promise<boolean> {
    let inactive = new Set<string>();
    // Read at the chunk's first message too: the chunk was claimed while the one before went out.
    let readAt = -Infinity;
    let reading: Promise<void> | undefined;
    return async (subscriberId) => {
      if (Date.now() - readAt >= STATUS_REFRESH_MS) {
        reading ??= this.ledger.inactiveAmong(subscriberIds).then((ids) => {
          inactive = ids;
          readAt = Date.now();
          reading = undefined;
        });
        await reading;
      }
      return inactive.has(subscriberId);
    };
  }

  private async sendOne(
    editionId: string,
    composed: Composed,
    row: ClaimedDelivery,
  ): Promise<DeliveryOutcome> {
    const outcome = (
      status: DeliveryOutcome['status'],
      messageId: string | null,
      response: string,
    ): DeliveryOutcome => ({
      subscriberId: row.subscriberId,
      status,
      messageId,
      smtpResponse: response,
    });
    // Re-checked at send time: whoever unsubscribed since the audience was frozen gets nothing.
    if (row.subscriberStatus !== 'active')
      return outcome('skipped', null, `subscriber ${row.subscriberStatus}`);
    const parts = this.recipientParts(editionId, row);
    try {
      await this.throttle.take();
      const raw = composed[row.tier].message.forRecipient(parts);
      const envelope = { from: this.envelopeSender(row.subscriberId), to: row.email };
      const sent = await this.transport.sendRaw(envelope, raw, parts.messageId);
      return outcome('sent', parts.messageId, sent.response);
    } catch (error) {
      const failure = classifySmtpFailure(error);
      if (failure.kind === 'transient' && row.attempts < this.config.maxDeliveryAttempts) {
        return outcome('pending', null, failure.response);
      }
      if (failure.kind === 'hard-bounce') await this.suppressions.bounce(row.subscriberId);
      return outcome('failed', parts.messageId, failure.response);
    }
  }

  async finalise(editionId: string): Promise<void> {
    const done = await this.ledger.finaliseIfDone(editionId);
    if (!done) return;
    this.composed.delete(editionId);
    this.logger.log(
      {
        editionId,
        status: done.status,
        total: done.total,
        sent: done.sent,
        failed: done.failed,
        skipped: done.skipped,
      },
      'Edition finished',
    );
  }

  /**
   * Editions left `sending` with a ledger that stopped moving (Redis flushed or restarted, a worker
   * killed) get their remaining rows queued again; the claim's lease keeps this from sending twice.
   */
  async reconcile(): Promise<void> {
    for (const editionId of await this.ledger.stalledEditionIds(this.config.deliveryLeaseSeconds)) {
      const batches = (await this.enqueueRemaining(editionId, String(Date.now()))).length;
      this.logger.warn(
        { editionId, batches },
        'Edition stalled: remaining work queued again from the ledger',
      );
      await this.finalise(editionId);
    }
  }

  /** One copy for an editor, as the given tier sees it. */
  async sendTest(job: DeliveryJobs['send-test']): Promise<void> {
    const edition = await this.ledger.edition(job.editionId);
    if (!edition) return;
    const articles = await this.ledger.articlesOf(edition);
    const composed = await this.composer.compose(
      { ...edition, subject: `[TEST] ${edition.subject}` },
      articles,
      job.tier,
    );
    const parts = {
      email: job.email,
      name: '',
      messageId: `<test.${edition.id}.${Date.now()}@${this.composer.domain}>`,
      unsubscribeUrl: `${this.config.publicUrl}/`,
      unsubscribeMailto: `mailto:${this.config.mailFrom.address}`,
      preferencesUrl: `${this.config.publicUrl}/`,
      webVersionUrl: `${this.config.publicUrl}/editions/${edition.id}`,
    };
    await this.transport.sendRaw(
      { from: this.config.mailFrom.address, to: job.email },
      composed.message.forRecipient(parts),
      parts.messageId,
    );
  }
}
