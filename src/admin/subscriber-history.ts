import { Inject, Injectable } from '@nestjs/common';
import type {
  MessageEventKind,
  MessageEventSource,
  SubscriberRow,
  SubscriberTier,
  TierSource,
} from '../database/schema.js';
import { ClicksRepository } from '../delivery/clicks.repository.js';
import { DeliveriesRepository } from '../delivery/deliveries.repository.js';
import { MessageEventsRepository } from '../delivery/message-events.repository.js';
import { RECIPIENT_MARKERS } from '../mail/prepared-message.js';
import { SubscribersRepository } from '../subscribers/subscribers.repository.js';

/** One line of a subscriber's history: what happened, when, about which edition. */
export interface HistoryEntry {
  readonly at: Date;
  /** A sign-up, a confirmation, an edition sent (or not), a click, or what came back (an event). */
  readonly kind:
    'joined' | 'confirmed' | 'sent' | 'failed' | 'skipped' | 'click' | 'open' | 'tier' | MessageEventKind;
  readonly edition?: string;
  readonly detail?: string;
  readonly source?: MessageEventSource;
  readonly count?: number;
  /** A change of tier: from, to, and what the tier follows now. */
  readonly tier?: { readonly from: SubscriberTier; readonly to: SubscriberTier; readonly source: TierSource };
}

/** A subscriber's history on the desk, newest first: sign-up, tiers, every edition, what came back, clicks. */
@Injectable()
export class SubscriberHistory {
  constructor(
    @Inject(DeliveriesRepository) private readonly deliveries: DeliveriesRepository,
    @Inject(MessageEventsRepository) private readonly events: MessageEventsRepository,
    @Inject(ClicksRepository) private readonly clicks: ClicksRepository,
    @Inject(SubscribersRepository) private readonly subscribers: SubscribersRepository,
  ) {}

  async of(subscriber: SubscriberRow): Promise<HistoryEntry[]> {
    const [deliveries, events, clicks, opens, tiers] = await Promise.all([
      this.deliveries.ofSubscriber(subscriber.id),
      this.events.ofSubscriber(subscriber.id),
      this.clicks.ofSubscriber(subscriber.id),
      this.clicks.opensOfSubscriber(subscriber.id),
      this.subscribers.tierChangesOf(subscriber.id),
    ]);
    const entries: HistoryEntry[] = [
      { at: subscriber.createdAt, kind: 'joined' },
      ...(subscriber.confirmedAt ? [{ at: subscriber.confirmedAt, kind: 'confirmed' as const }] : []),
      // Rows still waiting (an edition being sent) are not history yet.
      ...deliveries.flatMap((d) =>
        d.status === 'sent' || d.status === 'failed' || d.status === 'skipped'
          ? [{ at: d.sentAt ?? d.updatedAt, kind: d.status, edition: d.subject }]
          : [],
      ),
      ...events.map((e) => ({
        at: e.occurredAt,
        kind: e.kind,
        source: e.source,
        detail: e.detail,
        ...(e.subject === null ? {} : { edition: e.subject }),
      })),
      ...clicks.map((c) => ({
        at: c.firstAt,
        kind: 'click' as const,
        edition: c.subject,
        detail: c.url.replace(RECIPIENT_MARKERS.readerQuery, ''),
        count: c.clicks,
      })),
      ...opens.map((o) => ({ at: o.firstAt, kind: 'open' as const, edition: o.subject, count: o.opens })),
      ...tiers.map((change) => ({
        at: change.changedAt,
        kind: 'tier' as const,
        tier: { from: change.fromTier, to: change.toTier, source: change.source },
      })),
    ];
    return entries.sort((a, b) => b.at.getTime() - a.at.getTime());
  }
}
