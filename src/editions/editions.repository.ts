import { Inject, Injectable } from '@nestjs/common';
import { and, asc, desc, eq, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import { DatabaseClient } from '../database/database-client.js';
import {
  articles,
  type EditionRow,
  type EditionStatus,
  editions,
  subscribers,
  type SubscriberTier,
} from '../database/schema.js';

@Injectable()
export class EditionsRepository {
  constructor(@Inject(DatabaseClient) private readonly database: DatabaseClient) {}

  private get db() {
    return this.database.db;
  }

  async findById(id: string): Promise<EditionRow | undefined> {
    const [row] = await this.db.select().from(editions).where(eq(editions.id, id));
    return row;
  }

  list(limit: number, offset: number, status?: EditionStatus): Promise<EditionRow[]> {
    return this.db
      .select()
      .from(editions)
      .where(status === undefined ? undefined : eq(editions.status, status))
      .orderBy(desc(editions.createdAt), desc(editions.id))
      .limit(limit)
      .offset(offset);
  }

  /** The next editions due to send, soonest first. */
  upcoming(limit: number): Promise<EditionRow[]> {
    return this.db
      .select()
      .from(editions)
      .where(eq(editions.status, 'scheduled'))
      .orderBy(editions.scheduledAt)
      .limit(limit);
  }

  /** The last editions that started sending, newest first, whatever became of them. */
  /** Editions that went out, newest first, a page at a time, with how many there are. */
  async sentPage(limit: number, offset: number): Promise<{ items: EditionRow[]; total: number }> {
    const sent = eq(editions.status, 'sent');
    const [items, [total]] = await Promise.all([
      this.db
        .select()
        .from(editions)
        .where(sent)
        .orderBy(sql`${editions.startedAt} desc nulls last`, desc(editions.id))
        .limit(limit)
        .offset(offset),
      this.db
        .select({ n: sql<number>`count(*)::int` })
        .from(editions)
        .where(sent),
    ]);
    return { items, total: total?.n ?? 0 };
  }

  recentSends(limit: number): Promise<EditionRow[]> {
    return this.db
      .select()
      .from(editions)
      .where(inArray(editions.status, ['sending', 'sent', 'failed']))
      .orderBy(sql`${editions.startedAt} desc nulls last`, desc(editions.id))
      .limit(limit);
  }

  /**
   * What an edition's rendering depends on, as one key: the edition's last change and its articles'
   * last change. A rendering kept under it is never stale, in any process, whatever its age.
   */
  async contentVersion(edition: Pick<EditionRow, 'id' | 'updatedAt' | 'articleIds'>): Promise<string> {
    let changed: Date | null = null;
    let present = 0;
    if (edition.articleIds.length > 0) {
      [{ at: changed, present } = { at: null, present: 0 }] = await this.db
        .select({
          at: sql<Date | null>`max(${articles.updatedAt})`.mapWith(articles.updatedAt),
          // An article deleted since changes no date, but the count.
          present: sql<number>`count(*)::int`,
        })
        .from(articles)
        .where(inArray(articles.id, [...edition.articleIds]));
    }
    return `${edition.id}:${edition.updatedAt.getTime()}:${changed?.getTime() ?? 0}:${present}`;
  }

  /** Which of these ids are published articles. */
  async publishedArticleIds(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db
      .select({ id: articles.id })
      .from(articles)
      .where(and(inArray(articles.id, [...ids]), eq(articles.status, 'published')));
    return new Set(rows.map((row) => row.id));
  }

  /** Marks newly published articles as seen, once each however many workers tick. */
  async claimNewlyPublished(): Promise<{ id: string; title: string; lede: string }[]> {
    return this.db
      .update(articles)
      .set({ announcedAt: sql`now()` })
      .where(and(eq(articles.status, 'published'), isNull(articles.announcedAt)))
      .returning({ id: articles.id, title: articles.title, lede: articles.lede });
  }

  /** The next scheduled edition and when it is due, if one is. */
  async nextDue(): Promise<{ id: string; at: Date } | undefined> {
    const [row] = await this.db
      .select({ id: editions.id, at: editions.scheduledAt })
      .from(editions)
      .where(and(eq(editions.status, 'scheduled'), isNotNull(editions.scheduledAt)))
      .orderBy(asc(editions.scheduledAt))
      .limit(1);
    return row?.at ? { id: row.id, at: row.at } : undefined;
  }

  /** The tier a subscriber reads at now: premium only while active and premium. */
  async readerTier(subscriberId: string): Promise<SubscriberTier> {
    const [row] = await this.db
      .select({ tier: subscribers.tier, status: subscribers.status })
      .from(subscribers)
      .where(eq(subscribers.id, subscriberId));
    return row?.status === 'active' && row.tier === 'premium' ? 'premium' : 'free';
  }
}
