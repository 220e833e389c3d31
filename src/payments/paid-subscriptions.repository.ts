import { Inject, Injectable } from '@nestjs/common';
import { and, eq, inArray, lt, sql } from 'drizzle-orm';
import { DatabaseClient, rowsOf } from '../database/database-client.js';
import { type PaidSubscriptionRow, paidSubscriptions, paymentEvents } from '../database/schema.js';
import type { PremiumGrant } from './premium-rule.js';
import type { SubscriptionState } from './stripe-gateway.js';

/** Paid members and revenue, for the desk's dashboard. */
export interface PaymentTotals {
  readonly payingMembers: number;
  /** Monthly recurring revenue in the minor unit, per currency: yearly plans count a twelfth. */
  readonly monthlyRevenue: readonly { readonly currency: string; readonly amount: number }[];
}

export interface PaymentMonth {
  /** YYYY-MM, in UTC. */
  readonly month: string;
  readonly started: number;
  readonly ended: number;
}

/** The one writer of paid_subscriptions and payment_events. */
@Injectable()
export class PaidSubscriptionsRepository {
  constructor(@Inject(DatabaseClient) private readonly database: DatabaseClient) {}

  private get db() {
    return this.database.db;
  }

  /** Claims an event for this process: false when it was applied (or is being applied) already. */
  async claimEvent(id: string, type: string): Promise<boolean> {
    const rows = await this.db.insert(paymentEvents).values({ id, type }).onConflictDoNothing().returning();
    return rows.length > 0;
  }

  /** Gives an event back after its application failed, so that Stripe's next delivery applies it. */
  async releaseEvent(id: string): Promise<void> {
    await this.db.delete(paymentEvents).where(eq(paymentEvents.id, id));
  }

  async find(id: string): Promise<PaidSubscriptionRow | undefined> {
    const [row] = await this.db.select().from(paidSubscriptions).where(eq(paidSubscriptions.id, id));
    return row;
  }

  /** The most recent subscription of each of these subscribers that has one. */
  async latestFor(subscriberIds: readonly string[]): Promise<Map<string, PaidSubscriptionRow>> {
    if (subscriberIds.length === 0) return new Map();
    const rows = await this.db
      .select()
      .from(paidSubscriptions)
      .where(inArray(paidSubscriptions.subscriberId, [...subscriberIds]))
      .orderBy(paidSubscriptions.startedAt);
    return new Map(rows.map((row) => [row.subscriberId, row]));
  }

  /** Writes a subscription as Stripe holds it now, with what it means for premium. */
  async save(
    state: SubscriptionState,
    subscriberId: string,
    pastDueSince: Date | null,
    refundedAt: Date | null,
    grant: PremiumGrant,
  ): Promise<void> {
    const values = {
      refundedAt,
      subscriberId,
      customerId: state.customerId,
      status: state.status,
      priceId: state.priceId,
      interval: state.interval,
      amount: state.amount,
      currency: state.currency,
      currentPeriodEnd: state.currentPeriodEnd,
      cancelAtPeriodEnd: state.endsAt !== null,
      pastDueSince,
      grantsPremium: grant.grants,
      premiumUntil: grant.until,
      startedAt: state.startedAt,
      endedAt: state.endedAt ?? (state.status === 'canceled' ? new Date() : null),
    };
    await this.db
      .insert(paidSubscriptions)
      .values({ id: state.id, ...values })
      .onConflictDoUpdate({
        target: paidSubscriptions.id,
        set: {
          ...values,
          // A subscription that ended stays ended at the time it first did.
          endedAt: sql`coalesce(${paidSubscriptions.endedAt}, ${values.endedAt})`,
          updatedAt: sql`now()`,
        },
      });
  }

  /**
   * A full refund of a payment of this subscriber's: their subscriptions that grant premium stop
   * granting it, until a payment made after `at`. Answers how many did.
   */
  async revokeForRefund(subscriberId: string, at: Date): Promise<number> {
    const rows = await this.db
      .update(paidSubscriptions)
      .set({ refundedAt: at, grantsPremium: false, premiumUntil: null, updatedAt: sql`now()` })
      .where(and(eq(paidSubscriptions.subscriberId, subscriberId), eq(paidSubscriptions.grantsPremium, true)))
      .returning({ id: paidSubscriptions.id });
    return rows.length;
  }

  /** Subscriptions whose grant ran out (a cancelled period ended, a grace passed): their subscribers. */
  async endLapsedGrants(): Promise<string[]> {
    const rows = await this.db
      .update(paidSubscriptions)
      .set({ grantsPremium: false, updatedAt: sql`now()` })
      .where(and(eq(paidSubscriptions.grantsPremium, true), lt(paidSubscriptions.premiumUntil, sql`now()`)))
      .returning({ subscriberId: paidSubscriptions.subscriberId });
    return [...new Set(rows.map((row) => row.subscriberId))];
  }

  async totals(): Promise<PaymentTotals> {
    const result = await this.db.execute(sql`
      select currency,
        count(distinct subscriber_id)::int as members,
        coalesce(sum(case when interval = 'year' then amount / 12.0 else amount end), 0)::float as monthly
      from paid_subscriptions where grants_premium group by currency order by currency`);
    const rows = rowsOf<{ currency: string; members: number; monthly: number }>(result);
    return {
      payingMembers: rows.reduce((sum, row) => sum + row.members, 0),
      monthlyRevenue: rows.map((row) => ({ currency: row.currency, amount: Math.round(row.monthly) })),
    };
  }

  /** New and ended paid subscriptions in each of the last `months` months (UTC), oldest first. */
  async byMonth(months: number): Promise<PaymentMonth[]> {
    const result = await this.db.execute(sql`
      with months as (
        select to_char(m, 'YYYY-MM') as month
        from generate_series(date_trunc('month', now() at time zone 'UTC') - make_interval(months => ${months - 1}),
          date_trunc('month', now() at time zone 'UTC'), interval '1 month') as m
      )
      select months.month,
        (select count(*)::int from paid_subscriptions p
          where to_char(p.started_at at time zone 'UTC', 'YYYY-MM') = months.month
            and p.status not in ('incomplete', 'incomplete_expired')) as started,
        (select count(*)::int from paid_subscriptions p
          where to_char(p.ended_at at time zone 'UTC', 'YYYY-MM') = months.month) as ended
      from months order by months.month`);
    return rowsOf<PaymentMonth>(result);
  }
}
