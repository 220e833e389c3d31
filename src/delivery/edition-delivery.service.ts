import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { PublicationSettings } from '../settings/publication-settings.js';
import type { EditionRow, SubscriberTier } from '../database/schema.js';
import { type ComposedEdition, EditionComposer, type EditionLinks } from '../mail/edition-composer.js';
import { MailTransport } from '../mail/mail-transport.js';
import type { RecipientParts } from '../mail/prepared-message.js';
import { SettingsRepository, tracking } from '../settings/settings.repository.js';
import { ClicksRepository } from './clicks.repository.js';
import { editionMessageId, unsubscribeAddress, verpSender } from '../mail/copy-identity.js';
import { readerQueryOf, SubscriberTokens } from '../mail/subscriber-tokens.js';
import { OPEN_PIXEL_ID } from '../mail/tracked-links.js';
import { Departures } from '../redis/departures.js';
import { SendThrottle } from '../redis/send-throttle.js';
import { type ClaimedDelivery, DeliveriesRepository, type DeliveryOutcome } from './deliveries.repository.js';
import { DeliveryQueue } from '../queue/delivery.queue.js';
import { type DeliveryJobs, SEND_BATCH_SIZE } from '../queue/jobs.js';
import { classifySmtpFailure } from './smtp-outcome.js';
import { SuppressionRepository } from './suppression.repository.js';
import {
  EditionLifecycleRepository,
  type LedgerSpan,
  type SendingEdition,
} from '../edition-lifecycle/edition-lifecycle.repository.js';
import { type KnownStatuses, SubscriberStatusReads } from './subscriber-status-reads.js';
import { LeaseKeeper } from './lease-keeper.js';
import { OutcomeWindow, TakenRows } from './outcome-window.js';

/**
 * The most rows one worker process has taken to send and not yet recorded, whatever it sends at
 * once: the most a crash sends twice, and the most that go out after a cancel (see TakenRows).
 * Less than a chunk, so a crash re-sends no more than one. Room for three groups: one being
 * written, one filling, and the lanes' rows of the two chunks sent at once; with less, two batches
 * at once filled it and wrote their outcomes in small groups, more work for PostgreSQL a message.
 */
export const ROWS_IN_FLIGHT = 450;
/**
 * Outcomes written to the ledger per statement, while the rest of the chunk goes out. A statement
 * costs PostgreSQL a start of its own (a group of 50 took 0.93 ms, 0.52 of it parsing and planning
 * before the statement was prepared): groups of 150 rather than 50 cut its CPU a message by a third
 * in the send benchmark, and the workers' with it, as each statement wakes a backend that takes a
 * core from a sending worker.
 */
const OUTCOME_GROUP = 150;
/**
 * Rows leased at once: a send batch's worth, so that a batch costs one lease and its sessions run
 * through it without stopping (ROWS_IN_FLIGHT bounds what is at risk, not the lease).
 */
const CHUNK_SIZE = SEND_BATCH_SIZE;
/** The first slice of an audience: a batch for each of two workers, so sending starts at once. */
const FIRST_SLICE = 2 * SEND_BATCH_SIZE;
/**
 * Subscribers frozen into the ledger per statement after the first slice: 100 send batches. One
 * statement, one transaction, about 5 µs a subscriber on an idle PostgreSQL (most of it the ledger's
 * two indexes): a quarter of a second for 50,000, during which a cancel waits on the edition's row.
 * Smaller slices measured slower in all while a send runs beside them (3.0 s for 100,000 in slices
 * of 10,000, against 2.3 s, with the ledger's foreign keys then); slices of 100,000 no faster.
 */
const FREEZE_SLICE = 100 * SEND_BATCH_SIZE;

/** Thrown at the end of a batch that met temporary failures, so that BullMQ retries it later. */
export class TransientDeliveryError extends Error {
  override name = 'TransientDeliveryError';
}

type Composed = Readonly<Record<SubscriberTier, ComposedEdition>>;

/** A chunk of the ledger claimed under its own lease, with its subscribers' statuses as claimed. */
interface Claimed {
  readonly lease: string;
  readonly rows: ClaimedDelivery[];
  readonly statuses: KnownStatuses;
}

/** The send batches over a span of ledger positions: SEND_BATCH_SIZE positions each. */
function batchesOver(editionId: string, span: LedgerSpan): DeliveryJobs['send-batch'][] {
  const batches: DeliveryJobs['send-batch'][] = [];
  for (let fromSeq = span.fromSeq; fromSeq <= span.toSeq; fromSeq += SEND_BATCH_SIZE)
    batches.push({ editionId, fromSeq, toSeq: Math.min(fromSeq + SEND_BATCH_SIZE - 1, span.toSeq) });
  return batches;
}

function skipped(row: Pick<ClaimedDelivery, 'subscriberId' | 'seq'>, reason: string): DeliveryOutcome {
  return {
    subscriberId: row.subscriberId,
    seq: row.seq,
    status: 'skipped',
    messageId: null,
    smtpResponse: reason,
  };
}

/** The send pipeline of an edition: prepare, send in batches, finalise, reconcile. */
@Injectable()
export class EditionDeliveryService implements OnModuleDestroy {
  private readonly logger = new Logger(EditionDeliveryService.name);
  /** Each edition is rendered once per tier in each worker process, however many batches it has. */
  private readonly composed = new Map<string, Promise<Composed>>();
  /** When this process last told the reconciler that an edition moves. */
  private readonly touchedAt = new Map<string, number>();
  /** The leases of the chunks this process holds, renewed while it lives. */
  private readonly leases: LeaseKeeper;
  /** Editions this process has rehearsed composing (see getReady), and the rehearsals in turn. */
  private readonly rehearsed = new Set<string>();
  private rehearsal: Promise<void> = Promise.resolve();
  /** Shared by the chunks this process sends at once (see DeliveryProcessor's concurrency). */
  private readonly takenRows = new TakenRows(ROWS_IN_FLIGHT);

  constructor(
    @Inject(DeliveriesRepository) private readonly ledger: DeliveriesRepository,
    @Inject(EditionLifecycleRepository) private readonly lifecycle: EditionLifecycleRepository,
    @Inject(SuppressionRepository) private readonly suppressions: SuppressionRepository,
    @Inject(DeliveryQueue) private readonly queue: DeliveryQueue,
    @Inject(EditionComposer) private readonly composer: EditionComposer,
    @Inject(MailTransport) private readonly transport: MailTransport,
    @Inject(SubscriberTokens) private readonly tokens: SubscriberTokens,
    @Inject(SendThrottle) private readonly throttle: SendThrottle,
    @Inject(Departures) private readonly departures: Departures,
    @Inject(ClicksRepository) private readonly clicks: ClicksRepository,
    @Inject(SettingsRepository) private readonly settings: SettingsRepository,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.leases = new LeaseKeeper(
      (ids) => this.ledger.renewLeases(ids, config.deliveryLeaseSeconds),
      (config.deliveryLeaseSeconds * 1000) / 3,
      (error) => {
        this.logger.warn({ err: error }, 'Could not renew the leases of the chunks in flight');
      },
    );
  }

  async onModuleDestroy(): Promise<void> {
    this.leases.stop();
    // Not cut off by the database closing under it.
    await this.rehearsal;
  }

  /**
   * Gets this process ready for an edition due soon, so that its first message waits on neither of
   * two costs: loading MJML (half a second, paid at first use so that a start need not pay it) and
   * composing the edition with code not yet warm (about 0.4 s, ten times a warm composition). The
   * rehearsal composes both tiers of the edition as it stands and throws them away: the edition may
   * still change, and is composed again as it stands when it starts. Once per edition and process.
   */
  getReady(editionId: string): void {
    if (this.rehearsed.has(editionId)) return;
    this.rehearsed.add(editionId);
    this.rehearsal = this.rehearsal
      .then(async () => {
        await this.composer.preload();
        const edition = await this.lifecycle.findById(editionId);
        if (edition) await this.composeBothTiers(edition);
      })
      .catch((error: unknown) => {
        this.logger.warn({ err: error, editionId }, 'Could not rehearse an edition ahead of its send');
      });
  }

  /** Renders one tier of an edition as it stands now (previews and the web version). */
  async compose(
    edition: EditionRow,
    tier: SubscriberTier,
    links: EditionLinks = 'recipient',
  ): Promise<ComposedEdition> {
    return this.composer.compose(edition, await this.ledger.articlesOf(edition), tier, links);
  }

  /** Both tiers of an edition as its recipients get them, as it stands now. */
  private async composeBothTiers(edition: EditionRow): Promise<Composed> {
    const articles = await this.ledger.articlesOf(edition);
    const counted = await tracking(this.settings);
    const free = await this.composer.compose(edition, articles, 'free', 'recipient', counted);
    const premium = await this.composer.compose(edition, articles, 'premium', 'recipient', counted);
    return { free, premium };
  }

  /** Renders both tiers of an edition being sent, once per process. */
  private composedFor(edition: EditionRow): Promise<Composed> {
    let composed = this.composed.get(edition.id);
    if (!composed) {
      composed = this.composeBothTiers(edition).then(async (tiers) => {
        // Written before any copy leaves: a click always finds the link it was for.
        await this.clicks.saveLinks(edition.id, new Map([...tiers.free.links, ...tiers.premium.links]));
        return tiers;
      });
      composed.catch(() => this.composed.delete(edition.id));
      this.composed.set(edition.id, composed);
    }
    return composed;
  }

  /**
   * Freezes the audience into the ledger with set-based statements, queueing each slice's send
   * batches as soon as it is written, cut from the span of positions the slice took (no look at the
   * ledger): a small first slice so that the first messages leave at once, then large ones. The
   * audience is streamed through the database, never loaded. A preparation that was cut short (its
   * job lost, its worker killed) resumes after the last slice it froze, once it has queued again
   * what that slice left (job ids make this idempotent).
   */
  async prepare(job: DeliveryJobs['prepare-edition']): Promise<void> {
    const { editionId, generation } = job;
    await this.enqueueRemaining(editionId, generation);
    for (let slice = FIRST_SLICE; ; slice = FREEZE_SLICE) {
      const step = await this.lifecycle.freezeNextSlice(
        editionId,
        (tx, edition, afterId) => this.ledger.freezeAudienceSlice(tx, edition, afterId, slice),
        slice,
      );
      if (step.kind === 'done') break;
      if (step.span) await this.queue.addBatches(batchesOver(editionId, step.span), generation);
      // Once the first batches can go, and once the whole audience is in: see refreshStatistics.
      if (slice === FIRST_SLICE || step.prepared) await this.ledger.refreshStatistics();
      if (step.prepared) break;
    }
    await this.finalise(editionId);
  }

  /** Queues batches over what the ledger still holds to send, found by reading it. */
  private async enqueueRemaining(editionId: string, generation?: string): Promise<number> {
    const ranges = await this.ledger.rangesWithWork(editionId, SEND_BATCH_SIZE);
    await this.queue.addBatches(
      ranges.map((range) => ({ editionId, ...range })),
      generation,
    );
    return ranges.length;
  }

  /** The MAIL FROM of a subscriber's message: with VERP_ADDRESS, bounces say whose message bounced. */
  private envelopeSender(subscriberId: string): string {
    const verp = this.config.verpAddress;
    return verp === undefined ? this.publication.current().mailFrom.address : verpSender(verp, subscriberId);
  }

  /** Where a mailed unsubscribe goes: the listener's box with VERP_ADDRESS, else the sender. */
  private get unsubscribeBox(): string {
    const verp = this.config.verpAddress;
    return verp === undefined ? this.publication.current().mailFrom.address : unsubscribeAddress(verp);
  }

  recipientParts(
    editionId: string,
    row: Pick<ClaimedDelivery, 'subscriberId' | 'email' | 'name'>,
  ): RecipientParts {
    const token = this.tokens.manageToken(row.subscriberId);
    const reader = this.tokens.readerToken(editionId, row.subscriberId);
    // The moment the copy is made: a follow within seconds of it is a scanner's (ClickRedirect).
    const clickToken = this.tokens.clickTokensFor({
      editionId,
      subscriberId: row.subscriberId,
      sentAt: Math.floor(Date.now() / 1000),
    });
    const base = this.config.publicUrl;
    return {
      email: row.email,
      name: row.name,
      // Derived from edition and subscriber: a message sent again after a crash keeps its identity.
      messageId: editionMessageId(editionId, row.subscriberId, this.composer.domain),
      unsubscribeUrl: `${base}/unsubscribe/${token}`,
      unsubscribeMailto: `mailto:${this.unsubscribeBox}?subject=${encodeURIComponent(`unsubscribe ${token}`)}`,
      preferencesUrl: `${base}/preferences/${token}`,
      webVersionUrl: `${base}/editions/${editionId}/${reader}`,
      readerQuery: readerQueryOf({ editionId, token: reader }),
      // The open pixel's views are counted at /o/, where the answer is an image, not a redirect.
      clickUrl: (linkId) => `${base}/${linkId === OPEN_PIXEL_ID ? 'o' : 'r'}/${clickToken(linkId)}`,
    };
  }

  /**
   * Sends one range of the ledger. Its rows are leased CHUNK_SIZE at a time (one row in
   * delivery_leases over their span, renewed while this process lives), so that a dead worker's
   * rows are free again as soon as its lease runs out. Their outcomes are written in groups while
   * the chunk goes out (see OutcomeWindow): only the rows taken and not yet recorded can be sent
   * twice after a crash, ROWS_IN_FLIGHT at most, and a cancel, which every group's write reads, stops
   * within as many. Rows that met a temporary failure wait for the job's retry.
   */
  async sendBatch(batch: DeliveryJobs['send-batch']): Promise<void> {
    const edition = await this.lifecycle.findById(batch.editionId);
    if (edition?.status !== 'sending') return;
    const composed = await this.composedFor(edition);
    let transient = 0;
    // Past the range's last position there is nothing to claim: no look is spent on finding that.
    for (let fromSeq = batch.fromSeq; fromSeq <= batch.toSeq;) {
      const claimed = await this.claimChunk(batch.editionId, fromSeq, batch.toSeq);
      if (claimed.rows.length === 0) break;
      const window = new OutcomeWindow(
        async (outcomes) => {
          const status = await this.ledger.record(batch.editionId, outcomes);
          this.progressed(batch.editionId);
          return status === 'sending';
        },
        OUTCOME_GROUP,
        this.takenRows,
      );
      try {
        transient += await this.sendChunk(composed, batch.editionId, claimed, window);
        await window.finish();
        await this.ledger.releaseLease(claimed.lease);
      } finally {
        // A chunk whose outcomes could not all be written keeps its lease row until it runs out:
        // the reconciler then queues its rows again.
        this.leases.release(claimed.lease);
      }
      if (window.cancelled) return;
      fromSeq = Math.max(...claimed.rows.map((row) => row.seq)) + 1;
    }
    if (transient > 0) throw new TransientDeliveryError(`${transient} temporary failure(s); retrying later`);
    await this.finalise(batch.editionId);
  }

  /** Leases the next chunk of a batch's range, with its subscribers' statuses as claimed. */
  private async claimChunk(editionId: string, fromSeq: number, toSeq: number): Promise<Claimed> {
    const lease = randomUUID();
    this.leases.hold(lease);
    try {
      // Read before the claim: the statuses the claim reads are fresh as long as it stays put.
      const counter = await this.departures.recent();
      const rows = await this.ledger.claim(editionId, { fromSeq, toSeq }, CHUNK_SIZE, {
        id: lease,
        seconds: this.config.deliveryLeaseSeconds,
      });
      if (rows.length === 0) this.leases.release(lease);
      const inactive = new Set(
        rows.filter((row) => row.subscriberStatus !== 'active').map((row) => row.subscriberId),
      );
      return { lease, rows, statuses: { counter, inactive } };
    } catch (error) {
      this.leases.release(lease);
      throw error;
    }
  }

  /** Tells the reconciler the edition's ledger moves, at most once a second per edition. */
  private progressed(editionId: string): void {
    const now = Date.now();
    if ((this.touchedAt.get(editionId) ?? 0) > now - 1000) return;
    this.touchedAt.set(editionId, now);
    this.lifecycle.touch(editionId).catch((error: unknown) => {
      this.logger.warn({ err: error, editionId }, 'Could not record the progress of an edition');
    });
  }

  /**
   * Sends a claimed chunk over SEND_CONCURRENCY lanes, each taking its rows through the window;
   * answers how many met a temporary failure. Once the window closes, a cancel skips the rows left,
   * and a failed write leaves them pending under the chunk's lease.
   */
  private async sendChunk(
    composed: Composed,
    editionId: string,
    claimed: Claimed,
    window: OutcomeWindow,
  ): Promise<number> {
    const chunk = claimed.rows;
    const statuses = new SubscriberStatusReads(
      chunk.map((row) => row.subscriberId),
      claimed.statuses,
      this.departures,
      (ids) => this.ledger.inactiveAmong(ids),
    );
    let transient = 0;
    let next = 0;
    const lane = async (): Promise<void> => {
      for (let row = chunk[next++]; row !== undefined; row = chunk[next++]) {
        if (!(await window.take())) {
          if (window.cancelled) window.add(skipped(row, 'edition cancelled'), false);
          continue;
        }
        const outcome = await this.sendOne(editionId, composed, row, statuses);
        if (outcome.status === 'pending') transient += 1;
        window.add(outcome, true);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.config.sendConcurrency, chunk.length) }, lane));
    return transient;
  }

  private async sendOne(
    editionId: string,
    composed: Composed,
    row: ClaimedDelivery,
    statuses: SubscriberStatusReads,
  ): Promise<DeliveryOutcome> {
    const outcome = (
      status: DeliveryOutcome['status'],
      messageId: string | null,
      response: string,
    ): DeliveryOutcome => ({
      subscriberId: row.subscriberId,
      seq: row.seq,
      status,
      messageId,
      smtpResponse: response,
    });
    // Re-checked at send time: whoever unsubscribed since the audience was frozen gets nothing.
    if (row.subscriberStatus !== 'active')
      return outcome('skipped', null, `subscriber ${row.subscriberStatus}`);
    const parts = this.recipientParts(editionId, row);
    try {
      const raw = composed[row.tier].message.forRecipient(parts, new Date(), this.transport.bodyEncoding);
      const envelope = { from: this.envelopeSender(row.subscriberId), to: row.email };
      // Asked as the message starts, the last step before SMTP: an unsubscribe that has answered
      // is seen by every message not started yet.
      const stillWanted = (): boolean | Promise<boolean> => {
        const gone = statuses.gone(row.subscriberId);
        return typeof gone === 'boolean' ? !gone : gone.then((left) => !left);
      };
      // The rate is metered where messages leave: a message's turn is taken as a session starts
      // it, not as it is composed, so that messages waiting for a session never leave in a burst.
      const sent = await this.transport.sendRawIfWanted(
        envelope,
        raw,
        parts.messageId,
        this.throttle.limited ? () => this.throttle.take().then(stillWanted) : stillWanted,
      );
      if (sent === undefined) return outcome('skipped', null, 'unsubscribed during the send');
      return outcome('sent', parts.messageId, sent.response);
    } catch (error) {
      const failure = classifySmtpFailure(error);
      if (failure.kind === 'transient' && row.attempts < this.config.maxDeliveryAttempts) {
        return outcome('pending', null, failure.response);
      }
      if (failure.kind === 'hard-bounce') await this.suppressions.suppress([row.subscriberId], 'hard-bounce');
      return outcome('failed', parts.messageId, failure.response);
    }
  }

  async finalise(editionId: string): Promise<void> {
    const done = await this.lifecycle.finishIfDone(editionId);
    if (!done) return;
    this.composed.delete(editionId);
    this.touchedAt.delete(editionId);
    this.rehearsed.delete(editionId);
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

  /** A preparation that failed for good ends the send as failed, with the reason on the desk. */
  async preparationFailed(editionId: string, error: unknown): Promise<void> {
    // The driver's own words sit at the end of the cause chain; the query builder's wrap the SQL.
    let cause: unknown = error;
    while (cause instanceof Error && cause.cause !== undefined) cause = cause.cause;
    const reason = `Preparation failed: ${cause instanceof Error ? cause.message : String(cause)}`;
    if (await this.lifecycle.fail(editionId, reason))
      this.logger.error({ editionId, reason }, 'Edition failed');
  }

  /**
   * Finds what was lost and queues it again, so that no edition waits on work nobody will do:
   * - Redis lost every job (flushed, or restarted without persistence): every send is queued again;
   * - a worker died: its chunks' leases ran out, and the batch they belong to is queued again,
   *   ahead of other work so that it waits on nothing;
   * - an edition that has not moved for a while (a job lost some other way, a worker killed
   *   between starting an edition and queueing its preparation): its preparation or its remaining
   *   batches are queued again. Preparing is idempotent and claims are leased, so queueing work
   *   that was not lost after all sends nothing twice.
   */
  async reconcile(): Promise<void> {
    const lostEpoch = await this.queue.claimLostEpoch();
    const sending = await this.lifecycle.sending();
    if (lostEpoch !== undefined) {
      for (const edition of sending) await this.requeue(edition, lostEpoch, 'queue lost its jobs');
      return;
    }
    // A dead worker's chunks, and the rest of the batch it was sending (which follows them in the
    // ledger, its job stuck as active until BullMQ finds it stalled), go ahead of all waiting work.
    for (const orphans of await this.ledger.takeExpiredLeases()) {
      const batch = { ...orphans, toSeq: orphans.toSeq + SEND_BATCH_SIZE };
      await this.queue.addBatches([batch], randomUUID(), true);
      this.logger.warn(batch, 'A worker died holding some rows: their batch queued again, first');
    }
    const stallSeconds = this.config.deliveryLeaseSeconds * 6;
    for (const edition of sending) {
      if (edition.idleSeconds > (edition.prepared ? stallSeconds : this.config.deliveryLeaseSeconds)) {
        await this.requeue(edition, randomUUID(), 'no progress');
      }
    }
  }

  private async requeue(edition: SendingEdition, generation: string, why: string): Promise<void> {
    // Marked as moving first: the next look waits a whole window before queueing it again.
    await this.lifecycle.touch(edition.id);
    if (!edition.prepared) {
      await this.queue.add(
        'prepare-edition',
        { editionId: edition.id, generation },
        `prepare-${edition.id}-${generation}`,
      );
    }
    const batches = await this.enqueueRemaining(edition.id, generation);
    this.logger.warn(
      { editionId: edition.id, prepared: edition.prepared, batches },
      `Edition's remaining work queued again: ${why}`,
    );
    await this.finalise(edition.id);
  }

  /** One copy for an editor, as the given tier sees it. */
  async sendTest(job: DeliveryJobs['send-test']): Promise<void> {
    const edition = await this.lifecycle.findById(job.editionId);
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
      unsubscribeMailto: `mailto:${this.unsubscribeBox}`,
      preferencesUrl: `${this.config.publicUrl}/`,
      webVersionUrl: `${this.config.publicUrl}/editions/${edition.id}`,
      readerQuery: '',
      // A test copy is composed without the click redirect: it has no click links to fill.
      clickUrl: () => this.config.publicUrl,
    };
    await this.transport.sendRaw(
      { from: this.publication.current().mailFrom.address, to: job.email },
      composed.message.forRecipient(parts, new Date(), this.transport.bodyEncoding),
      parts.messageId,
    );
  }
}
