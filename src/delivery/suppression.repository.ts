import { Inject, Injectable } from '@nestjs/common';
import { and, inArray, ne, sql } from 'drizzle-orm';
import { DatabaseClient } from '../database/database-client.js';
import { type SubscriberStatus, subscribers, suppressions } from '../database/schema.js';
import { Departures } from '../redis/departures.js';

/** Why an address is suppressed by what came back from a message; erasure and editors have their own paths. */
export type FeedbackSuppression = 'hard-bounce' | 'soft-bounce' | 'complaint';

/**
 * What each reason does to the subscriber: a bounce marks an active or pending subscriber bounced
 * (an unsubscribed one keeps the state it chose); a complaint marks anyone complained, the
 * strongest "never again" there is.
 */
const STATUS_AFTER: Record<FeedbackSuppression, { status: SubscriberStatus; from: 'receiving' | 'any' }> = {
  'hard-bounce': { status: 'bounced', from: 'receiving' },
  'soft-bounce': { status: 'bounced', from: 'receiving' },
  complaint: { status: 'complained', from: 'any' },
};

/** Subscribers whose address must never be mailed again, because of what their messages met. */
@Injectable()
export class SuppressionRepository {
  constructor(
    @Inject(DatabaseClient) private readonly database: DatabaseClient,
    @Inject(Departures) private readonly departures: Departures,
  ) {}

  /** Marks the subscribers and suppresses their addresses, together; idempotent. */
  async suppress(subscriberIds: readonly string[], reason: FeedbackSuppression): Promise<void> {
    if (subscriberIds.length === 0) return;
    const { status, from } = STATUS_AFTER[reason];
    await this.database.db.transaction(async (tx) => {
      await tx
        .update(subscribers)
        .set({ status, confirmTokenHash: null, updatedAt: sql`now()` })
        .where(
          and(
            inArray(subscribers.id, [...subscriberIds]),
            from === 'receiving'
              ? inArray(subscribers.status, ['active', 'pending'])
              : ne(subscribers.status, status),
          ),
        );
      // The hash each subscriber keeps: the one a freeze compares with the list.
      await tx.execute(sql`
        insert into ${suppressions} (address_hash, reason)
        select address_hash, ${reason} from ${subscribers} where ${inArray(subscribers.id, [...subscriberIds])}
        on conflict do nothing`);
    });
    // Senders in progress skip them from their next message on; nobody waits on a bounce's answer.
    await this.departures.raiseWithoutWaiting();
  }
}
