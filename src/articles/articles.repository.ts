import { Inject, Injectable } from '@nestjs/common';
import { and, arrayContains, count, desc, eq, like, lte, ne, or, type SQL, sql } from 'drizzle-orm';
import { DatabaseClient } from '../database/database-client.js';
import { type ArticleRow, type ArticleStatus, articles, type NewArticleRow } from '../database/schema.js';

export interface PublishedQuery {
  readonly limit: number;
  readonly offset: number;
  readonly tagSlug?: string;
}

export interface EditorQuery {
  readonly limit: number;
  readonly offset: number;
  readonly status?: ArticleStatus;
}

export interface Page<T> {
  readonly items: T[];
  readonly total: number;
}

const PG_UNIQUE_VIOLATION = '23505';

/** Whether an error (possibly wrapped by drizzle) is PostgreSQL's unique violation on `constraint`. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    const pgError = current as Error & { code?: string; constraint?: string; detail?: string };
    if (pgError.code === PG_UNIQUE_VIOLATION) {
      return pgError.constraint === constraint || (pgError.detail ?? pgError.message).includes(constraint);
    }
  }
  return false;
}

export const ARTICLE_SLUG_CONSTRAINT = 'articles_slug_unique';

@Injectable()
export class ArticlesRepository {
  constructor(@Inject(DatabaseClient) private readonly database: DatabaseClient) {}

  private get db() {
    return this.database.db;
  }

  async insert(row: NewArticleRow): Promise<ArticleRow> {
    const [inserted] = await this.db.insert(articles).values(row).returning();
    if (!inserted) throw new Error('INSERT … RETURNING gave no row');
    return inserted;
  }

  async update(id: string, patch: Partial<NewArticleRow>): Promise<ArticleRow | undefined> {
    const [updated] = await this.db
      .update(articles)
      .set({ ...patch, updatedAt: sql`now()` })
      .where(eq(articles.id, id))
      .returning();
    return updated;
  }

  async delete(id: string): Promise<boolean> {
    const deleted = await this.db.delete(articles).where(eq(articles.id, id)).returning({ id: articles.id });
    return deleted.length > 0;
  }

  async findById(id: string): Promise<ArticleRow | undefined> {
    const [row] = await this.db.select().from(articles).where(eq(articles.id, id));
    return row;
  }

  async findPublishedBySlug(slug: string): Promise<ArticleRow | undefined> {
    const [row] = await this.db
      .select()
      .from(articles)
      .where(and(eq(articles.slug, slug), eq(articles.status, 'published')));
    return row;
  }

  /** Slugs equal to `base` or of the form `base-N`, to pick a free one. */
  async slugsLike(base: string, exceptId?: string): Promise<Set<string>> {
    const rows = await this.db
      .select({ slug: articles.slug })
      .from(articles)
      .where(
        and(
          or(eq(articles.slug, base), like(articles.slug, `${base}-%`)),
          exceptId === undefined ? undefined : ne(articles.id, exceptId),
        ),
      );
    return new Set(rows.map((row) => row.slug));
  }

  /** One page of articles matching `where`, in `order`, with the total count. */
  private async page(
    where: SQL | undefined,
    order: SQL[],
    limit: number,
    offset: number,
  ): Promise<Page<ArticleRow>> {
    const [items, [total]] = await Promise.all([
      this.db
        .select()
        .from(articles)
        .where(where)
        .orderBy(...order)
        .limit(limit)
        .offset(offset),
      this.db.select({ n: count() }).from(articles).where(where),
    ]);
    return { items, total: total?.n ?? 0 };
  }

  listPublished(query: PublishedQuery): Promise<Page<ArticleRow>> {
    const where = and(
      eq(articles.status, 'published'),
      query.tagSlug === undefined ? undefined : arrayContains(articles.tagSlugs, [query.tagSlug]),
    );
    return this.page(where, [desc(articles.publishedAt), desc(articles.id)], query.limit, query.offset);
  }

  /**
   * What the sitemap lists of the published articles: address, last change and tags, newest
   * first, at most `limit` (a sitemap holds 50,000 addresses).
   */
  async sitemapEntries(limit: number): Promise<Pick<ArticleRow, 'slug' | 'updatedAt' | 'tagSlugs'>[]> {
    return this.db
      .select({ slug: articles.slug, updatedAt: articles.updatedAt, tagSlugs: articles.tagSlugs })
      .from(articles)
      .where(eq(articles.status, 'published'))
      .orderBy(desc(articles.publishedAt), desc(articles.id))
      .limit(limit);
  }

  listForEditors(query: EditorQuery): Promise<Page<ArticleRow>> {
    const where = query.status === undefined ? undefined : eq(articles.status, query.status);
    return this.page(where, [desc(articles.updatedAt), desc(articles.id)], query.limit, query.offset);
  }

  /**
   * Publishes every scheduled article that is due, in one statement, so that any number of
   * workers ticking at once publish each article once. published_at is the time the editor chose.
   */
  async publishDue(now: Date): Promise<Pick<ArticleRow, 'id' | 'slug'>[]> {
    return this.db
      .update(articles)
      .set({ status: 'published', publishedAt: sql`${articles.publishAt}`, updatedAt: sql`now()` })
      .where(and(eq(articles.status, 'scheduled'), lte(articles.publishAt, now)))
      .returning({ id: articles.id, slug: articles.slug });
  }
}
