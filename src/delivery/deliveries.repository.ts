import { Inject, Injectable } from '@nestjs/common';
import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { DatabaseClient, rowsOf } from '../database/database-client.js';
import {
  type ArticleRow,
  articles,
  deliveries,
  type DeliveryStatus,
  type EditionAudience,
  type EditionRow,
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
  readonly status: Extract<DeliveryStatus, 'pending' | 'sent' | 'failed' | 'skipped'>;
  readonly messageId: string | null;
  readonly smtpResponse: string | null;
}

export interface DeliveryCounts {
  total: number;
  pending: number;
  sending: number;
  sent: number;
  failed: number;
  skipped: number;
}

/** The ledger, and the parts of an edition that sending needs. */
@Injectable()
export class DeliveriesRepository {
  constructor(@Inject(DatabaseClient) private readonly database: DatabaseClient) {}

  private get db() {
    return this.database.db;
  }

  async edition(editionId: string): Promise<EditionRow | undefined> {
    const [row] = await this.db.select().from(editions).where(eq(editions.id, editionId));
    return row;
  }

  /** The edition's articles, in the order the editor chose. */
  async articlesOf(edition: Pick<EditionRow, 'articleIds'>): Promise<ArticleRow[]> {
    if (edition.articleIds.length === 0) return [];
    const rows = await this.db.select().from(articles).where(inArray(articles.id, edition.articleIds));
    const byId = new Map(rows.map((row) => [row.id, row]));
    return edition.articleIds.flatMap((id) => byId.get(id) ?? []);
  }

  /**
   * Freezes the next slice of the audience into the ledger: at most `limit` active subscribers of
   * the audience's tiers with ids after `afterId`, less the suppressed addresses, in id order.
   * Returns the last subscriber id of the slice (undefined when nothing was left). A second run
   * (after a crash) inserts nothing twice: the ledger's key refuses it.
   */
  async freezeAudienceSlice(
    editionId: string,
    audience: EditionAudience,
    afterId: string | undefined,
    limit: number,
  ): Promise<string | undefined> {
    const tiers =
      audience === 'all' ? sql`('free', 'premium')` : audience === 'free' ? sql`('free')` : sql`('premium')`;
    const after = afterId === undefined ? sql`` : sql`and s.id > ${afterId}`;
    const result = await this.db.execute(sql`
      with slice as (
        select s.id, s.tier from subscribers s
        where s.status = 'active' and s.tier in ${tiers} ${after}
          and not exists (select 1 from suppressions x where x.address_hash = encode(sha256(convert_to(lower(s.email), 'UTF8')), 'hex'))
        order by s.id
        limit ${limit}
      ), frozen as (
        insert into deliveries (edition_id, subscriber_id, tier)
        select ${editionId}, id, tier from slice order by id
        on conflict do nothing
      ), progress as (update editions set progress_at = now() where id = ${editionId})
      select (select id from slice order by id desc limit 1) as last_id`);
    const [row] = rowsOf<{ last_id: string | null }>(result);
    return row?.last_id ?? undefined;
  }

  /** Stamps the end of the first preparation; a re-run after a crash keeps the first stamp. */
  async markPrepared(editionId: string): Promise<void> {
    await this.db
      .update(editions)
      .set({ preparedAt: sql`now()` })
      .where(and(eq(editions.id, editionId), isNull(editions.preparedAt)));
  }

  /** Ranges of at most `size` consecutive ledger positions after `afterSeq` that still hold work. */
  async rangesWithWork(
    editionId: string,
    size: number,
    afterSeq = 0,
  ): Promise<{ fromSeq: number; toSeq: number }[]> {
    const result = await this.db.execute(sql`
      select min(seq)::bigint as from_seq, max(seq)::bigint as to_seq from (
        select seq, (row_number() over (order by seq) - 1) / ${size} as chunk
        from deliveries where edition_id = ${editionId} and status in ('pending', 'sending') and seq > ${afterSeq}
      ) c group by chunk order by 1`);
    return rowsOf<{ from_seq: string | number; to_seq: string | number }>(result).map((row) => ({
      fromSeq: Number(row.from_seq),
      toSeq: Number(row.to_seq),
    }));
  }

  /**
   * Claims the rows of a range that still need sending. A claim is a lease: rows another worker is
   * sending stay its own, and rows left `sending` by a crash are claimed again once the lease has
   * run out, then sent again with the same Message-ID, so nothing is lost.
   */
  async claim(
    editionId: string,
    range: { readonly fromSeq: number; readonly toSeq: number },
    limit: number,
    leaseSeconds: number,
  ): Promise<ClaimedDelivery[]> {
    const result = await this.db.execute(sql`
      update deliveries d set status = 'sending', attempts = d.attempts + 1, updated_at = now()
      from subscribers s
      where s.id = d.subscriber_id and (d.edition_id, d.subscriber_id) in (
        select edition_id, subscriber_id from deliveries
        where edition_id = ${editionId} and seq between ${range.fromSeq} and ${range.toSeq}
          and (status = 'pending'
            or (status = 'sending' and updated_at < now() - make_interval(secs => ${leaseSeconds})))
        order by seq limit ${limit}
        for update skip locked)
      returning d.subscriber_id, d.seq, d.tier, d.attempts, s.email, s.name, s.status`);
    return rowsOf<{
      subscriber_id: string;
      seq: string | number;
      tier: SubscriberTier;
      attempts: number;
      email: string;
      name: string;
      status: SubscriberStatus;
    }>(result).map((row) => ({
      subscriberId: row.subscriber_id,
      seq: Number(row.seq),
      tier: row.tier,
      attempts: row.attempts,
      email: row.email,
      name: row.name,
      subscriberStatus: row.status,
    }));
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

  /** Records many outcomes in one statement. */
  async record(editionId: string, outcomes: readonly DeliveryOutcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    const records = JSON.stringify(
      outcomes.map((o) => ({
        id: o.subscriberId,
        status: o.status,
        message_id: o.messageId,
        response: o.smtpResponse,
      })),
    );
    await this.db.execute(sql`
      with progress as (update editions set progress_at = now() where id = ${editionId})
      update deliveries d set status = r.status, message_id = coalesce(r.message_id, d.message_id),
        smtp_response = coalesce(r.response, d.smtp_response),
        sent_at = case when r.status = 'sent' then now() else d.sent_at end, updated_at = now()
      from json_to_recordset(${records}::json) as r(id uuid, status text, message_id text, response text)
      where d.edition_id = ${editionId} and d.subscriber_id = r.id`);
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
    const counts: DeliveryCounts = { total: 0, pending: 0, sending: 0, sent: 0, failed: 0, skipped: 0 };
    for (const row of rows) {
      counts[row.status] = row.n;
      counts.total += row.n;
    }
    return counts;
  }

  /**
   * Closes the edition once no row is pending or sending: `sent`, or `failed` when nothing could be
   * delivered, with the counts frozen. Safe to call from every batch; only the last one acts.
   */
  async finaliseIfDone(editionId: string): Promise<EditionRow | undefined> {
    // Called after every batch: first a look for one open row from the ledger's end, where the
    // open rows are while a send goes on, so the whole ledger is counted once, when it is done.
    const open = await this.db.execute(sql`
      select 1 from deliveries where edition_id = ${editionId} and status in ('pending', 'sending')
      order by seq desc limit 1`);
    if (rowsOf(open).length > 0) return undefined;
    const result = await this.db.execute(sql`
      with c as (
        select count(*)::int as total,
          count(*) filter (where status = 'sent')::int as sent,
          count(*) filter (where status = 'failed')::int as failed,
          count(*) filter (where status = 'skipped')::int as skipped,
          count(*) filter (where status in ('pending', 'sending'))::int as open,
          (select smtp_response from deliveries where edition_id = ${editionId} and status = 'failed' limit 1) as first_failure
        from deliveries where edition_id = ${editionId}
      )
      update editions e set
        status = case when c.failed > 0 and c.sent = 0 then 'failed' else 'sent' end,
        finished_at = now(), total = c.total, sent = c.sent, failed = c.failed, skipped = c.skipped,
        failure_reason = case when c.failed > 0 then c.failed || ' failed; first: ' || coalesce(c.first_failure, 'unknown') end,
        updated_at = now()
      from c where e.id = ${editionId} and e.status = 'sending' and c.open = 0
      returning e.id`);
    return rowsOf<{ id: string }>(result).length > 0 ? this.edition(editionId) : undefined;
  }

  /**
   * Editions being sent whose ledger has not moved for `idleSeconds`: their jobs are gone (Redis
   * flushed or restarted) or their rows were left by a crash.
   */
  async stalledEditionIds(idleSeconds: number): Promise<string[]> {
    const result = await this.db.execute(sql`
      select e.id from editions e
      where e.status = 'sending'
        and coalesce(e.progress_at, e.started_at) < now() - make_interval(secs => ${idleSeconds})`);
    return rowsOf<{ id: string }>(result).map((row) => row.id);
  }

  /** Deliveries of one subscriber, for their data export. */
  async ofSubscriber(
    subscriberId: string,
  ): Promise<{ subject: string; status: string; sentAt: Date | null }[]> {
    return this.db
      .select({ subject: editions.subject, status: deliveries.status, sentAt: deliveries.sentAt })
      .from(deliveries)
      .innerJoin(editions, eq(editions.id, deliveries.editionId))
      .where(eq(deliveries.subscriberId, subscriberId))
      .orderBy(asc(deliveries.updatedAt));
  }
}
