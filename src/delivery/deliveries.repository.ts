import { Inject, Injectable } from '@nestjs/common';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { DatabaseClient, type PreparedStatement, rowsOf } from '../database/database-client.js';
import type { FrozenSlice, PreparationTx } from '../edition-lifecycle/edition-lifecycle.repository.js';
import {
  type ArticleRow,
  articles,
  deliveries,
  deliveryLeases,
  type DeliveryStatus,
  type EditionRow,
  type EditionStatus,
  editions,
  type SubscriberStatus,
  type SubscriberTier,
} from '../database/schema.js';

export interface ClaimedDelivery {
  readonly subscriberId: string;
  readonly seq: number;
  readonly tier: SubscriberTier;
  readonly attempts: number;
  readonly email: string;
  readonly name: string;
  readonly subscriberStatus: SubscriberStatus;
}

export interface DeliveryOutcome {
  readonly subscriberId: string;
  /** The row's place in the ledger: what lets a chunk's record touch that chunk's rows alone. */
  readonly seq: number;
  readonly status: Extract<DeliveryStatus, 'pending' | 'sent' | 'failed' | 'skipped'>;
  readonly messageId: string | null;
  readonly smtpResponse: string | null;
}

export interface DeliveryCounts {
  total: number;
  pending: number;
  sent: number;
  failed: number;
  skipped: number;
}

/**
 * Outcomes into the ledger, in one statement: $1 the outcomes as a JSON array of {seq, status,
 * message_id, response}, $2 the edition, $3 and $4 the lowest and highest seq among them. Each row's
 * one write after preparation (its attempt counted); answers the edition's status as the statement
 * saw it. A sending worker's most frequent statement, one per group of outcomes: prepared, so that
 * PostgreSQL parses and plans it once per connection (unprepared, a group of 50 took 0.93 ms, 0.52
 * of it parsing and planning). The rows are found through their span of the ledger's (edition, seq) key, so that
 * whichever plan runs, generic or not, recording a group reads that group.
 */
export const RECORD_OUTCOMES = {
  name: 'deliveries_record_outcomes',
  text: `with recorded as (
    update deliveries d set status = r.status, attempts = d.attempts + 1, message_id = coalesce(r.message_id, d.message_id),
      smtp_response = coalesce(r.response, d.smtp_response),
      sent_at = case when r.status = 'sent' then now() else d.sent_at end, updated_at = now()
    from json_to_recordset($1::json) as r(seq bigint, status text, message_id text, response text)
    where d.edition_id = $2 and d.seq between $3 and $4 and d.seq = r.seq
  )
  select status from editions where id = $2`,
} as const;

/** RECORD_OUTCOMES's values for these outcomes of an edition (at least one). */
export function recordOutcomesValues(
  editionId: string,
  outcomes: readonly DeliveryOutcome[],
): [string, string, number, number] {
  let fromSeq = Infinity;
  let toSeq = -Infinity;
  for (const outcome of outcomes) {
    fromSeq = Math.min(fromSeq, outcome.seq);
    toSeq = Math.max(toSeq, outcome.seq);
  }
  const records = JSON.stringify(
    outcomes.map((o) => ({
      seq: o.seq,
      status: o.status,
      message_id: o.messageId,
      response: o.smtpResponse,
    })),
  );
  return [records, editionId, fromSeq, toSeq];
}

/** The ledger, and the parts of an edition that sending needs. */
@Injectable()
export class DeliveriesRepository {
  private readonly recordOutcomes: PreparedStatement<{ status: EditionStatus }>;

  constructor(@Inject(DatabaseClient) private readonly database: DatabaseClient) {
    this.recordOutcomes = database.prepared(RECORD_OUTCOMES.name, RECORD_OUTCOMES.text, 'write');
  }

  private get db() {
    return this.database.db;
  }

  /** The edition's articles, in the order the editor chose. */
  async articlesOf(edition: Pick<EditionRow, 'articleIds'>): Promise<ArticleRow[]> {
    if (edition.articleIds.length === 0) return [];
    const rows = await this.db.select().from(articles).where(inArray(articles.id, edition.articleIds));
    const byId = new Map(rows.map((row) => [row.id, row]));
    return edition.articleIds.flatMap((id) => byId.get(id) ?? []);
  }

  /**
   * Freezes the next slice of the audience into the ledger, inside the preparation's transaction:
   * the next `limit` active subscribers of the audience's tiers with ids after `afterId`, in id
   * order, less the suppressed addresses (by the hash each subscriber keeps), in one INSERT …
   * SELECT. The slice is cut before the suppression list is checked: cut after, the planner
   * compared all the audience left with the list at every slice. Answers the span of
   * ledger positions the slice took, from which its send batches are cut without reading the
   * ledger again. A plain INSERT: the cursor, moved in the slice's transaction under the edition's
   * lock, is what keeps a subscriber from being frozen twice, and should it ever fail, the ledger's
   * key fails the slice rather than passing over the row (`ON CONFLICT DO NOTHING` made each row a
   * speculative insertion, confirmed by a WAL record of its own: 40 % of the INSERT on an idle
   * PostgreSQL). Its references are the triggers' (see `deliveries`).
   */
  async freezeAudienceSlice(
    tx: PreparationTx,
    edition: Pick<EditionRow, 'id' | 'audience'>,
    afterId: string | undefined,
    limit: number,
  ): Promise<FrozenSlice> {
    const audience = edition.audience;
    const tiers =
      audience === 'all' ? sql`('free', 'premium')` : audience === 'free' ? sql`('free')` : sql`('premium')`;
    const after = afterId === undefined ? sql`` : sql`and s.id > ${afterId}`;
    // Until the slice commits, an erasure waits before it deletes its subscriber's ledger rows
    // (migration 0023). Taken in a statement of its own: the INSERT's snapshot must be younger
    // than any erasure that got the lock first, so that it no longer sees the erased subscriber.
    await tx.execute(sql`select pg_advisory_xact_lock_shared(ledger_lock_key())`);
    const result = await tx.execute(sql`
      with slice as (
        select s.id, s.tier, s.address_hash from subscribers s
        where s.status = 'active' and s.tier in ${tiers} ${after}
        order by s.id
        limit ${limit}
      ), kept as (
        select k.id, k.tier from slice k
        where not exists (select 1 from suppressions x where x.address_hash = k.address_hash)
      ), frozen as (
        insert into deliveries (edition_id, subscriber_id, tier)
        select ${edition.id}, id, tier from kept order by id
        returning seq
      )
      select (select id from slice order by id desc limit 1) as last_id, (select count(*)::int from slice) as scanned,
        (select count(*)::int from kept) as n,
        (select min(seq) from frozen)::bigint as from_seq, (select max(seq) from frozen)::bigint as to_seq`);
    const [row] = rowsOf<{
      last_id: string | null;
      scanned: number;
      n: number;
      from_seq: string | number | null;
      to_seq: string | number | null;
    }>(result);
    return {
      lastId: row?.last_id ?? undefined,
      scanned: row?.scanned ?? 0,
      count: row?.n ?? 0,
      span:
        row?.from_seq == null || row.to_seq == null
          ? undefined
          : { fromSeq: Number(row.from_seq), toSeq: Number(row.to_seq) },
    };
  }

  /**
   * Brings the planner's picture of the ledger up to date while an edition's audience is frozen
   * into it: a ledger that grew by a whole edition since autovacuum last looked is otherwise taken
   * for a few rows, and the look for open rows after every batch reads the whole edition instead
   * of its end. Sampled, so it costs about the same for any size of ledger.
   */
  async refreshStatistics(): Promise<void> {
    await this.db.execute(sql`analyze deliveries`);
  }

  /** Ranges of at most `size` consecutive ledger positions that still hold work. */
  async rangesWithWork(editionId: string, size: number): Promise<{ fromSeq: number; toSeq: number }[]> {
    const result = await this.db.execute(sql`
      select min(seq)::bigint as from_seq, max(seq)::bigint as to_seq from (
        select seq, (row_number() over (order by seq) - 1) / ${size} as chunk
        from deliveries where edition_id = ${editionId} and status = 'pending'
      ) c group by chunk order by 1`);
    return rowsOf<{ from_seq: string | number; to_seq: string | number }>(result).map((row) => ({
      fromSeq: Number(row.from_seq),
      toSeq: Number(row.to_seq),
    }));
  }

  /**
   * Leases the next chunk of a range that still needs sending: up to `limit` pending rows after
   * `fromSeq`, never past another chunk's lease, under one lease row over their span. The rows
   * themselves are read, not written: a recipient's one write after preparation is its outcome.
   * Two workers after the same rows race on the lease's exclusion constraint; the loser looks again
   * past the winner's span. Answers the rows in ledger order, empty when the range has no work left.
   */
  async claim(
    editionId: string,
    range: { readonly fromSeq: number; readonly toSeq: number },
    limit: number,
    lease: { readonly id: string; readonly seconds: number },
  ): Promise<ClaimedDelivery[]> {
    for (;;) {
      const result = await this.db.execute(sql`
        with held as (
          select from_seq, to_seq from delivery_leases
          where edition_id = ${editionId} and to_seq >= ${range.fromSeq} and from_seq <= ${range.toSeq}
        ), start as (
          select min(x.seq) as seq from deliveries x
          where x.edition_id = ${editionId} and x.seq between ${range.fromSeq} and ${range.toSeq}
            and x.status = 'pending'
            and not exists (select 1 from held h where x.seq between h.from_seq and h.to_seq)
        ), bounds as (
          select s.seq as lo,
            coalesce((select min(h.from_seq) - 1 from held h where h.from_seq > s.seq), ${range.toSeq}) as hi
          from start s
        ), pick as (
          -- Scalar subqueries, so that both bounds reach the index scan rather than filter it.
          select x.seq, x.subscriber_id, x.tier, x.attempts from deliveries x
          where x.edition_id = ${editionId} and x.status = 'pending'
            and x.seq between (select lo from bounds) and (select hi from bounds)
          order by x.seq limit ${limit}
        ), lease as (
          insert into delivery_leases (id, edition_id, from_seq, to_seq, expires_at)
          select ${lease.id}, ${editionId}, min(seq), max(seq), now() + make_interval(secs => ${lease.seconds})
          from pick having count(*) > 0
          on conflict do nothing
          returning id
        )
        select p.subscriber_id, p.seq, p.tier, p.attempts + 1 as attempts, s.email, s.name, s.status,
          exists (select 1 from lease) as leased
        from pick p join subscribers s on s.id = p.subscriber_id
        order by p.seq`);
      const rows = rowsOf<{
        subscriber_id: string;
        seq: string | number;
        tier: SubscriberTier;
        attempts: number;
        email: string;
        name: string;
        status: SubscriberStatus;
        leased: boolean;
      }>(result);
      // Another worker leased an overlapping span first: look again, past it.
      if (rows[0]?.leased === false) continue;
      return rows.map((row) => ({
        subscriberId: row.subscriber_id,
        seq: Number(row.seq),
        tier: row.tier,
        attempts: row.attempts,
        email: row.email,
        name: row.name,
        subscriberStatus: row.status,
      }));
    }
  }

  /** Extends the leases of the chunks this worker holds: it is alive. */
  async renewLeases(ids: readonly string[], seconds: number): Promise<void> {
    if (ids.length === 0) return;
    await this.db.execute(sql`
      update delivery_leases set expires_at = now() + make_interval(secs => ${seconds})
      where id = any(${`{${ids.join(',')}}`}::uuid[])`);
  }

  async releaseLease(id: string): Promise<void> {
    await this.db.delete(deliveryLeases).where(eq(deliveryLeases.id, id));
  }

  /**
   * Takes the leases that ran out (their worker died) and answers, per edition, the span of the
   * ledger they covered: whoever takes them queues that span again, once.
   */
  async takeExpiredLeases(): Promise<{ editionId: string; fromSeq: number; toSeq: number }[]> {
    const result = await this.db.execute(sql`
      with taken as (delete from delivery_leases where expires_at < now() returning edition_id, from_seq, to_seq)
      select edition_id, min(from_seq)::bigint as from_seq, max(to_seq)::bigint as to_seq
      from taken group by edition_id`);
    return rowsOf<{ edition_id: string; from_seq: string | number; to_seq: string | number }>(result).map(
      (row) => ({ editionId: row.edition_id, fromSeq: Number(row.from_seq), toSeq: Number(row.to_seq) }),
    );
  }

  /** Which of these subscribers are no longer active (unsubscribed, erased, bounced…). */
  async inactiveAmong(subscriberIds: readonly string[]): Promise<Set<string>> {
    if (subscriberIds.length === 0) return new Set();
    const result = await this.db.execute(sql`
      select i.id from unnest(${`{${subscriberIds.join(',')}}`}::uuid[]) as i(id)
      left join subscribers s on s.id = i.id
      where s.id is null or s.status <> 'active'`);
    return new Set(rowsOf<{ id: string }>(result).map((row) => row.id));
  }

  /**
   * Records outcomes (see RECORD_OUTCOMES) and answers the edition's status as that statement saw
   * it: a sender reads a cancel with no round trip of its own.
   */
  async record(editionId: string, outcomes: readonly DeliveryOutcome[]): Promise<EditionStatus | undefined> {
    if (outcomes.length === 0) return undefined;
    const [row] = await this.recordOutcomes(recordOutcomesValues(editionId, outcomes));
    return row?.status;
  }

  /** Cancelling mid-send: whatever was not handed to SMTP yet is not sent. */
  async skipPending(editionId: string): Promise<void> {
    await this.db
      .update(deliveries)
      .set({ status: 'skipped', smtpResponse: 'edition cancelled', updatedAt: sql`now()` })
      .where(and(eq(deliveries.editionId, editionId), eq(deliveries.status, 'pending')));
  }

  async counts(editionId: string): Promise<DeliveryCounts> {
    const rows = await this.db
      .select({ status: deliveries.status, n: sql<number>`count(*)::int` })
      .from(deliveries)
      .where(eq(deliveries.editionId, editionId))
      .groupBy(deliveries.status)
      .orderBy(asc(deliveries.status));
    const counts: DeliveryCounts = { total: 0, pending: 0, sent: 0, failed: 0, skipped: 0 };
    for (const row of rows) {
      counts[row.status] = row.n;
      counts.total += row.n;
    }
    return counts;
  }

  /** Deliveries of one subscriber, for their data export and their history on the desk. */
  async ofSubscriber(
    subscriberId: string,
  ): Promise<{ subject: string; status: DeliveryStatus; sentAt: Date | null; updatedAt: Date }[]> {
    return this.db
      .select({
        subject: editions.subject,
        status: deliveries.status,
        sentAt: deliveries.sentAt,
        updatedAt: deliveries.updatedAt,
      })
      .from(deliveries)
      .innerJoin(editions, eq(editions.id, deliveries.editionId))
      .where(eq(deliveries.subscriberId, subscriberId))
      .orderBy(asc(deliveries.updatedAt));
  }
}
