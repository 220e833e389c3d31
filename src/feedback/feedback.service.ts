import { Inject, Injectable } from '@nestjs/common';
import { PublicationSettings } from '../settings/publication-settings.js';
import type { MessageEventKind, MessageEventSource } from '../database/schema.js';
import { MessageEventsRepository, type NewMessageEvent } from '../delivery/message-events.repository.js';
import { SuppressionRepository } from '../delivery/suppression.repository.js';
import { SubscribersRepository } from '../subscribers/subscribers.repository.js';

/** One thing a report says happened to a subscriber's message. */
export interface Feedback {
  readonly kind: MessageEventKind;
  readonly source: MessageEventSource;
  readonly subscriberId: string;
  /** The edition the report names; believed only if the ledger sent it to that subscriber. */
  readonly editionId: string | undefined;
  /**
   * What names the subscriber: something only they or we hold (their VERP address, their signed
   * token, a relay's signed call), or only the copy the report quotes, which must then be one the
   * ledger sent them: otherwise the report is dropped.
   */
  readonly namedBy: 'subscriber' | 'copy';
  readonly detail: string;
  /** What identifies the report itself (see NewMessageEvent). */
  readonly reportKey: string;
}

interface Waiting {
  readonly feedback: Feedback;
  resolve(): void;
  reject(error: unknown): void;
}

/** Reports written in one go: enough to keep one round of statements per batch cheap. */
const MAX_BATCH = 500;

/**
 * Applies what comes back about messages, from the inbound listener and the relays' webhooks
 * alike: each report becomes an event attributed to its edition, and its effect follows (a hard
 * bounce or a complaint suppresses the address, a soft bounce does after SOFT_BOUNCE_LIMIT editions
 * in a row, an unsubscribe unsubscribes). Reports arriving together are written in batches; each
 * caller's promise settles once its report is written and applied, so a listener answers the
 * sending server only then. Every step is idempotent: a report applied twice has its effect once.
 */
@Injectable()
export class FeedbackService {
  private waiting: Waiting[] = [];
  private draining: Promise<void> | undefined;

  constructor(
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
    @Inject(MessageEventsRepository) private readonly events: MessageEventsRepository,
    @Inject(SuppressionRepository) private readonly suppressions: SuppressionRepository,
    @Inject(SubscribersRepository) private readonly subscribers: SubscribersRepository,
  ) {}

  record(feedback: Feedback): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ feedback, resolve, reject });
      this.draining ??= this.drain();
    });
  }

  /** While one batch is written, the next gathers. */
  private async drain(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, MAX_BATCH);
      try {
        await this.apply(batch.map((entry) => entry.feedback));
        for (const entry of batch) entry.resolve();
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
    this.draining = undefined;
  }

  private async apply(reports: readonly Feedback[]): Promise<void> {
    let batch = reports;
    const named = reports.flatMap((feedback) =>
      feedback.editionId === undefined
        ? []
        : [{ editionId: feedback.editionId, subscriberId: feedback.subscriberId }],
    );
    const sent = await this.events.sentCopies(named);
    const believed = (feedback: Feedback): string | undefined =>
      feedback.editionId !== undefined && sent.has(`${feedback.editionId}.${feedback.subscriberId}`)
        ? feedback.editionId
        : undefined;
    // A quoted Message-ID is easy to make up: only a copy the ledger sent counts as proof.
    batch = batch.filter((feedback) => feedback.namedBy === 'subscriber' || believed(feedback) !== undefined);
    const events: NewMessageEvent[] = batch.map((feedback) => ({
      kind: feedback.kind,
      source: feedback.source,
      subscriberId: feedback.subscriberId,
      editionId: believed(feedback),
      detail: feedback.detail,
      reportKey: feedback.reportKey,
    }));
    await this.events.insert(events);
    const of = (kind: MessageEventKind): string[] => [
      ...new Set(batch.filter((feedback) => feedback.kind === kind).map((feedback) => feedback.subscriberId)),
    ];
    await this.suppressions.suppress(of('hard-bounce'), 'hard-bounce');
    await this.suppressions.suppress(of('complaint'), 'complaint');
    const worn = await this.events.bouncedEveryTime(
      of('soft-bounce'),
      this.publication.current().softBounceLimit,
    );
    await this.suppressions.suppress(worn, 'soft-bounce');
    await this.subscribers.unsubscribeAll(of('unsubscribe'));
  }
}
