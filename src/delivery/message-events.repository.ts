import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { asc, eq, inArray, type SQL, sql } from 'drizzle-orm';
import { DatabaseClient, rowsOf } from '../database/database-client.js';
import {
  editions,
  editionTotals,
  messageEvents,
  type MessageEventKind,
  type MessageEventSource,
} from '../database/schema.js';

export interface NewMessageEvent {
  readonly kind: MessageEventKind;
  readonly source: MessageEventSource;
  readonly subscriberId: string;
  /** The copy's edition, known for sure; undefined: the last edition sent to the subscriber. */
  readonly editionId: string | undefined;
  readonly detail: string;
  /** What identifies the report itself, for an event that ties to no edition: sent twice, it counts once. */
  readonly reportKey: string;
}

/** A copy of an edition: which edition, to whom. */
export interface Copy {
  readonly editionId: string;
  readonly subscriberId: string;
}

function uuids(ids: readonly string[]): SQL {
  return sql.join(
    ids.map((id) => sql`(${id}::uuid)`),
    sql`, `,
  );
}

/**
 * The owner of message_events: what became of messages after they left. It reads the ledger to
 * tie a report to the copy it is about, and never believes a report's word for it.
 */
@Injectable()
export class MessageEventsRepository {
  constructor(@Inject(DatabaseClient) private readonly database: DatabaseClient) {}

  /**
   * Writes events in one statement, each attributed to its edition (the last one sent to the
   * subscriber when the event names none); an event whose subscriber was erased in the meantime,
   * or whose key is already written, is left out. Per copy, an event of one kind counts once
   * however often and by whatever way it is reported; without a copy, once per report.
   */
  async insert(events: readonly NewMessageEvent[]): Promise<void> {
    if (events.length === 0) return;
    const unnamed = events.filter((event) => event.editionId === undefined);
    const latest = await this.latestEditions([...new Set(unnamed.map((event) => event.subscriberId))]);
    const values = sql.join(
      events.map((event) => {
        const editionId = event.editionId ?? latest.get(event.subscriberId) ?? null;
        const dedupeKey =
          editionId === null
            ? `${event.kind}:${event.subscriberId}:${event.reportKey}`
            : `${event.kind}:${editionId}:${event.subscriberId}`;
        return sql`(${event.kind}, ${event.source}, ${event.subscriberId}::uuid, ${editionId}::uuid, ${event.detail}, ${dedupeKey})`;
      }),
      sql`, `,
    );
    await this.database.db.execute(sql`
      insert into message_events (kind, source, subscriber_id, edition_id, detail, dedupe_key)
      select v.kind, v.source, v.subscriber_id, v.edition_id, v.detail, v.dedupe_key
      from (values ${values}) as v(kind, source, subscriber_id, edition_id, detail, dedupe_key)
      where exists (select 1 from subscribers s where s.id = v.subscriber_id)
      on conflict (dedupe_key) do nothing`);
  }

  /** Which of these copies the ledger holds as sent: a report naming any other is not believed. */
  async sentCopies(copies: readonly Copy[]): Promise<Set<string>> {
    if (copies.length === 0) return new Set();
    const pairs = sql.join(
      copies.map((copy) => sql`(${copy.editionId}::uuid, ${copy.subscriberId}::uuid)`),
      sql`, `,
    );
    const result = await this.database.db.execute(sql`
      select d.edition_id, d.subscriber_id
      from (values ${pairs}) as c(edition_id, subscriber_id)
      join deliveries d on d.edition_id = c.edition_id and d.subscriber_id = c.subscriber_id
      where d.status = 'sent'`);
    return new Set(
      rowsOf<{ edition_id: string; subscriber_id: string }>(result).map(
        (row) => `${row.edition_id}.${row.subscriber_id}`,
      ),
    );
  }

  /** The edition each subscriber was sent last: what a report that names no copy is about. */
  private async latestEditions(subscriberIds: readonly string[]): Promise<Map<string, string>> {
    if (subscriberIds.length === 0) return new Map();
    const result = await this.database.db.execute(sql`
      select s.id as subscriber_id,
        (select d.edition_id from deliveries d
         where d.subscriber_id = s.id and d.status = 'sent'
         order by d.sent_at desc limit 1) as edition_id
      from (values ${uuids(subscriberIds)}) as s(id)`);
    const latest = new Map<string, string>();
    for (const row of rowsOf<{ subscriber_id: string; edition_id: string | null }>(result))
      if (row.edition_id !== null) latest.set(row.subscriber_id, row.edition_id);
    return latest;
  }

  /**
   * Subscribers whose last `editions` editions sent to them all bounced, softly or not: an address
   * that fails edition after edition is suppressed even though no single failure was final.
   */
  async bouncedEveryTime(subscriberIds: readonly string[], editions: number): Promise<string[]> {
    if (subscriberIds.length === 0) return [];
    const result = await this.database.db.execute(sql`
      select s.id
      from (values ${uuids(subscriberIds)}) as s(id)
      where (
        select count(*) from (
          select d.edition_id from deliveries d
          where d.subscriber_id = s.id and d.status = 'sent'
          order by d.sent_at desc limit ${editions}
        ) recent
        where exists (
          select 1 from message_events m
          where m.subscriber_id = s.id and m.edition_id = recent.edition_id
            and m.kind in ('soft-bounce', 'hard-bounce')
        )
      ) >= ${editions}`);
    return rowsOf<{ id: string }>(result).map((row) => row.id);
  }

  /** A subscriber's events, oldest first, with the subject of the edition each is about. */
  async ofSubscriber(subscriberId: string): Promise<
    {
      kind: MessageEventKind;
      source: MessageEventSource;
      subject: string | null;
      detail: string;
      occurredAt: Date;
    }[]
  > {
    return this.database.db
      .select({
        kind: messageEvents.kind,
        source: messageEvents.source,
        subject: editions.subject,
        detail: messageEvents.detail,
        occurredAt: messageEvents.occurredAt,
      })
      .from(messageEvents)
      .leftJoin(editions, eq(editions.id, messageEvents.editionId))
      .where(eq(messageEvents.subscriberId, subscriberId))
      .orderBy(asc(messageEvents.occurredAt), asc(messageEvents.id));
  }

  /** How many events of each kind each of these editions had. */
  async countsForEditions(
    editionIds: readonly string[],
  ): Promise<Map<string, Record<MessageEventKind, number>>> {
    const counts = new Map(
      editionIds.map((id) => [id, { 'hard-bounce': 0, 'soft-bounce': 0, complaint: 0, unsubscribe: 0 }]),
    );
    if (editionIds.length === 0) return counts;
    const rows = await this.database.db
      .select({ editionId: messageEvents.editionId, kind: messageEvents.kind, n: sql<number>`count(*)::int` })
      .from(messageEvents)
      .where(inArray(messageEvents.editionId, [...editionIds]))
      .groupBy(messageEvents.editionId, messageEvents.kind);
    // Events past the retention period count as their totals.
    const folded = await this.database.db
      .select({ editionId: editionTotals.editionId, kind: editionTotals.kind, n: editionTotals.count })
      .from(editionTotals)
      .where(inArray(editionTotals.editionId, [...editionIds]));
    for (const row of [...rows, ...folded]) {
      const edition = row.editionId === null ? undefined : counts.get(row.editionId);
      if (edition && row.kind !== 'readers') edition[row.kind] += row.n;
    }
    return counts;
  }

  /**
   * Folds the events older than `cutoff` into their editions' totals and deletes them, in one
   * statement: every event is counted once however many workers fold at once. Answers how many.
   */
  async foldOlderThan(cutoff: Date): Promise<number> {
    const result = await this.database.db.execute(sql`
      with moved as (
        delete from message_events where occurred_at < ${cutoff.toISOString()}::timestamptz
        returning edition_id, kind
      ), added as (
        insert into edition_totals (edition_id, kind, count)
        select edition_id, kind, count(*)::int from moved where edition_id is not null group by edition_id, kind
        on conflict (edition_id, kind) do update set count = edition_totals.count + excluded.count
      )
      select count(*)::int as n from moved`);
    return rowsOf<{ n: number }>(result)[0]?.n ?? 0;
  }

  /** An edition's events by hour from `start`, for its timeline. */
  async hourlyForEdition(
    editionId: string,
    start: Date,
  ): Promise<{ hour: number; kind: MessageEventKind; n: number }[]> {
    const result = await this.database.db.execute(sql`
      select floor(extract(epoch from (occurred_at - ${start.toISOString()}::timestamptz)) / 3600)::int as hour, kind, count(*)::int as n
      from message_events where edition_id = ${editionId}
      group by 1, 2 order by 1`);
    return rowsOf<{ hour: number; kind: MessageEventKind; n: number }>(result);
  }

  /** An unsubscribe by link (the page, or the one-click POST). */
  async recordUnsubscribe(subscriberId: string): Promise<void> {
    await this.insert([
      {
        kind: 'unsubscribe',
        source: 'link',
        subscriberId,
        editionId: undefined,
        detail: 'link',
        reportKey: randomUUID(),
      },
    ]);
  }
}
