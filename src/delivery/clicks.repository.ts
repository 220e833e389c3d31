import { Inject, Injectable } from '@nestjs/common';
import { and, asc, eq, sql } from 'drizzle-orm';
import { DatabaseClient, rowsOf } from '../database/database-client.js';
import { editionLinks, editions, linkClicks } from '../database/schema.js';
import { OPEN_PIXEL_ID } from '../mail/tracked-links.js';

/** Clicks counted in memory since the last write, for one link and one subscriber. */
export interface ClickCount {
  readonly editionId: string;
  readonly linkId: string;
  readonly subscriberId: string;
  readonly clicks: number;
  readonly scannerClicks: number;
  readonly firstAt: Date;
  readonly lastAt: Date;
}

/** The owner of edition_links and link_clicks: an edition's links as sent, and the clicks on them. */
@Injectable()
export class ClicksRepository {
  constructor(@Inject(DatabaseClient) private readonly database: DatabaseClient) {}

  /** Idempotent: every worker composing the edition writes the same links under the same ids. */
  async saveLinks(editionId: string, links: ReadonlyMap<string, string>): Promise<void> {
    if (links.size === 0) return;
    await this.database.db
      .insert(editionLinks)
      .values([...links].map(([linkId, url]) => ({ editionId, linkId, url })))
      .onConflictDoNothing();
  }

  async linksOf(editionId: string): Promise<Map<string, string>> {
    const rows = await this.database.db
      .select({ linkId: editionLinks.linkId, url: editionLinks.url })
      .from(editionLinks)
      .where(eq(editionLinks.editionId, editionId));
    return new Map(rows.map((row) => [row.linkId, row.url]));
  }

  /** Adds counts in one statement; counts of a subscriber or an edition deleted meanwhile are dropped. */
  async add(counts: readonly ClickCount[]): Promise<void> {
    if (counts.length === 0) return;
    const values = sql.join(
      counts.map(
        (c) =>
          sql`(${c.editionId}::uuid, ${c.linkId}, ${c.subscriberId}::uuid, ${c.clicks}::int, ${c.scannerClicks}::int, ${c.firstAt.toISOString()}::timestamptz, ${c.lastAt.toISOString()}::timestamptz)`,
      ),
      sql`, `,
    );
    await this.database.db.execute(sql`
      insert into link_clicks (edition_id, link_id, subscriber_id, clicks, scanner_clicks, first_at, last_at)
      select v.* from (values ${values}) as v(edition_id, link_id, subscriber_id, clicks, scanner_clicks, first_at, last_at)
      where exists (select 1 from subscribers s where s.id = v.subscriber_id)
        and (exists (select 1 from edition_links l where l.edition_id = v.edition_id and l.link_id = v.link_id)
          or (v.link_id = ${OPEN_PIXEL_ID} and exists (select 1 from editions e where e.id = v.edition_id)))
      on conflict (edition_id, link_id, subscriber_id) do update set
        clicks = link_clicks.clicks + excluded.clicks,
        scanner_clicks = link_clicks.scanner_clicks + excluded.scanner_clicks,
        first_at = least(link_clicks.first_at, excluded.first_at),
        last_at = greatest(link_clicks.last_at, excluded.last_at)`);
  }

  /** A subscriber's clicks, by edition and link, for their data export and history. */
  async ofSubscriber(subscriberId: string) {
    return this.database.db
      .select({
        subject: editions.subject,
        url: editionLinks.url,
        clicks: linkClicks.clicks,
        firstAt: linkClicks.firstAt,
        lastAt: linkClicks.lastAt,
      })
      .from(linkClicks)
      .innerJoin(editions, eq(editions.id, linkClicks.editionId))
      .innerJoin(
        editionLinks,
        sql`${editionLinks.editionId} = ${linkClicks.editionId} and ${editionLinks.linkId} = ${linkClicks.linkId}`,
      )
      .where(eq(linkClicks.subscriberId, subscriberId))
      .orderBy(asc(linkClicks.firstAt));
  }

  /** Each link of an edition with its readers (unique clicks), clicks, and scanners' follows. */
  async linkStats(
    editionId: string,
  ): Promise<{ url: string; readers: number; clicks: number; scans: number }[]> {
    // Clicks past the retention period count as their link's totals.
    const result = await this.database.db.execute(sql`
      select l.url,
        (count(c.subscriber_id) filter (where c.clicks > 0) + coalesce(max(t.readers), 0))::int as readers,
        (coalesce(sum(c.clicks), 0) + coalesce(max(t.clicks), 0))::int as clicks,
        (coalesce(sum(c.scanner_clicks), 0) + coalesce(max(t.scanner_clicks), 0))::int as scans
      from edition_links l
      left join link_clicks c on c.edition_id = l.edition_id and c.link_id = l.link_id
      left join link_totals t on t.edition_id = l.edition_id and t.link_id = l.link_id
      where l.edition_id = ${editionId}
      group by l.url
      order by clicks desc, l.url`);
    return rowsOf<{ url: string; readers: number; clicks: number; scans: number }>(result);
  }

  /**
   * An edition's opens, as its pixel counted them: readers who opened (views by scanners apart),
   * views, and scanners' views; folded ones included.
   */
  async openStats(editionId: string): Promise<{ readers: number; opens: number; scans: number }> {
    // The pixel's reader rows and its folded totals (one row at most), as linkStats reads a link.
    const result = await this.database.db.execute(sql`
      select
        (count(c.subscriber_id) filter (where c.clicks > 0) + coalesce(max(t.readers), 0))::int as readers,
        (coalesce(sum(c.clicks), 0) + coalesce(max(t.clicks), 0))::int as opens,
        (coalesce(sum(c.scanner_clicks), 0) + coalesce(max(t.scanner_clicks), 0))::int as scans
      from (select 1) one
      left join link_clicks c on c.edition_id = ${editionId} and c.link_id = ${OPEN_PIXEL_ID}
      left join link_totals t on t.edition_id = ${editionId} and t.link_id = ${OPEN_PIXEL_ID}`);
    return (
      rowsOf<{ readers: number; opens: number; scans: number }>(result)[0] ?? {
        readers: 0,
        opens: 0,
        scans: 0,
      }
    );
  }

  /** A subscriber's opens, by edition, for their data export and history. */
  async opensOfSubscriber(subscriberId: string) {
    return this.database.db
      .select({
        subject: editions.subject,
        opens: linkClicks.clicks,
        firstAt: linkClicks.firstAt,
        lastAt: linkClicks.lastAt,
      })
      .from(linkClicks)
      .innerJoin(editions, eq(editions.id, linkClicks.editionId))
      .where(and(eq(linkClicks.subscriberId, subscriberId), eq(linkClicks.linkId, OPEN_PIXEL_ID)))
      .orderBy(asc(linkClicks.firstAt));
  }

  /**
   * Folds the clicks of readers who last clicked before `cutoff` into their links' totals (and the
   * edition's count of readers) and deletes them, in one statement. Answers how many rows.
   */
  async foldOlderThan(cutoff: Date): Promise<number> {
    const result = await this.database.db.execute(sql`
      with moved as (
        delete from link_clicks where last_at < ${cutoff.toISOString()}::timestamptz
        returning edition_id, link_id, subscriber_id, clicks, scanner_clicks
      ), links as (
        insert into link_totals (edition_id, link_id, readers, clicks, scanner_clicks)
        select edition_id, link_id, count(*) filter (where clicks > 0)::int, sum(clicks)::int, sum(scanner_clicks)::int
        from moved group by edition_id, link_id
        on conflict (edition_id, link_id) do update set
          readers = link_totals.readers + excluded.readers,
          clicks = link_totals.clicks + excluded.clicks,
          scanner_clicks = link_totals.scanner_clicks + excluded.scanner_clicks
      ), readers as (
        insert into edition_totals (edition_id, kind, count)
        select edition_id, 'readers', count(distinct subscriber_id) filter (where clicks > 0 and link_id <> ${OPEN_PIXEL_ID})::int
        from moved group by edition_id
        on conflict (edition_id, kind) do update set count = edition_totals.count + excluded.count
      )
      select count(*)::int as n from moved`);
    return rowsOf<{ n: number }>(result)[0]?.n ?? 0;
  }

  /** How many readers' clicks were folded into an edition's totals. */
  async foldedReaders(editionId: string): Promise<number> {
    const result = await this.database.db.execute(sql`
      select count from edition_totals where edition_id = ${editionId} and kind = 'readers'`);
    return rowsOf<{ count: number }>(result)[0]?.count ?? 0;
  }

  /** Readers who clicked anything in an edition, and by the hour of their first click from `start`. */
  async readersByHour(editionId: string, start: Date): Promise<{ hour: number; n: number }[]> {
    const result = await this.database.db.execute(sql`
      select floor(extract(epoch from (first_at - ${start.toISOString()}::timestamptz)) / 3600)::int as hour, count(*)::int as n
      from (
        select subscriber_id, min(first_at) as first_at from link_clicks
        where edition_id = ${editionId} and clicks > 0 and link_id <> ${OPEN_PIXEL_ID} group by subscriber_id
      ) readers
      group by 1 order by 1`);
    return rowsOf<{ hour: number; n: number }>(result);
  }
}
