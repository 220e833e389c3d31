import { Inject, Injectable } from '@nestjs/common';
import { and, arrayContains, count, desc, eq, like, lte, ne, or, type SQL, sql } from 'drizzle-orm';
import { ARTICLES_FOR_READERS, type ArticleForReader, ArticlesForReaders } from './article-for-reader.js';
import { type SearchDocument, searchDocument } from '../content/search-text.js';
import { type Database, DatabaseClient, type PreparedStatement } from '../database/database-client.js';
import {
  type ArticleRow,
  articleSearch,
  type ArticleStatus,
  articles,
  type NewArticleRow,
} from '../database/schema.js';

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

/** An article another one points to: enough for a link. */
export interface ArticleLink {
  readonly slug: string;
  readonly title: string;
  readonly publishedAt: Date;
  readonly premium: boolean;
}

/** What an article page links to around it. */
export interface ArticleNeighbours {
  /** The article published just before it, and just after. */
  readonly older?: ArticleLink;
  readonly newer?: ArticleLink;
  /** The latest others sharing one of its tags. */
  readonly related: readonly ArticleLink[];
}

/** How many related articles an article page shows. */
const RELATED = 3;

/** The columns an article's search document is made from: a write touching one indexes it again. */
const SEARCHED: readonly (keyof NewArticleRow)[] = ['title', 'lede', 'bodyHtml', 'teaserHtml', 'access'];

/** How many articles a boot indexes at once when it finds some never indexed (after an upgrade). */
const INDEX_BATCH = 200;

/**
 * A search document as PostgreSQL searches it: the title weighs most, then the lede, then the text;
 * each stemmed as French and as English, so that a query in either language finds its words.
 */
function searchVector(document: SearchDocument): SQL {
  return sql`setweight(to_tsvector('french', ${document.title}), 'A')
    || setweight(to_tsvector('english', ${document.title}), 'A')
    || setweight(to_tsvector('french', ${document.lede}), 'B')
    || setweight(to_tsvector('english', ${document.lede}), 'B')
    || to_tsvector('french', ${document.body})
    || to_tsvector('english', ${document.body})`;
}

/** The month (YYYY-MM) an article was published in, in a time zone. */
function publishedMonth(timeZone: string): SQL<string> {
  return sql<string>`to_char(${articles.publishedAt} at time zone ${timeZone}, 'YYYY-MM')`;
}

/** A folded query as either stemming reads it; websearch syntax never fails (quotes, -word, or). */
function searchQuery(folded: string): SQL {
  return sql`(websearch_to_tsquery('french', ${folded}) || websearch_to_tsquery('english', ${folded}))`;
}

@Injectable()
export class ArticlesRepository {
  /** See ARTICLES_FOR_READERS. */
  private readonly forReaders: ArticlesForReaders;

  /** The articles around one ($1 its publication time, $2 its id, $3 its tags), on every article page. */
  private readonly neighbourRows: PreparedStatement<{
    kind: string;
    slug: string;
    title: string;
    published_at: Date | string;
    access: string;
  }>;

  constructor(@Inject(DatabaseClient) private readonly database: DatabaseClient) {
    this.neighbourRows = database.prepared(
      'article_neighbours',
      `(select 'older' as kind, slug, title, published_at, access from articles
          where status = 'published' and (published_at, id) < ($1::timestamptz, $2::uuid)
          order by published_at desc, id desc limit 1)
        union all
        (select 'newer', slug, title, published_at, access from articles
          where status = 'published' and (published_at, id) > ($1::timestamptz, $2::uuid)
          order by published_at, id limit 1)
        union all
        (select 'related', slug, title, published_at, access from articles
          where status = 'published' and id <> $2::uuid and tag_slugs && $3::text[]
          order by published_at desc, id desc limit ${RELATED})`,
    );
    this.forReaders = new ArticlesForReaders(
      database.prepared<Record<string, unknown>>(ARTICLES_FOR_READERS.name, ARTICLES_FOR_READERS.text),
    );
  }

  private get db() {
    return this.database.db;
  }

  async insert(row: NewArticleRow): Promise<ArticleRow> {
    return this.db.transaction(async (tx) => {
      const [inserted] = await tx.insert(articles).values(row).returning();
      if (!inserted) throw new Error('INSERT … RETURNING gave no row');
      await this.index(tx, inserted);
      return inserted;
    });
  }

  async update(id: string, patch: Partial<NewArticleRow>): Promise<ArticleRow | undefined> {
    return this.db.transaction(async (tx) => {
      const [updated] = await tx
        .update(articles)
        .set({ ...patch, updatedAt: sql`now()` })
        .where(eq(articles.id, id))
        .returning();
      if (updated && SEARCHED.some((column) => column in patch)) await this.index(tx, updated);
      return updated;
    });
  }

  /** Makes the article's search document again from what the public may read of it now. */
  private async index(tx: Pick<Database, 'insert'>, row: ArticleRow): Promise<void> {
    const document = searchVector(searchDocument(row));
    await tx
      .insert(articleSearch)
      .values({ articleId: row.id, document })
      .onConflictDoUpdate({ target: articleSearch.articleId, set: { document } });
  }

  /** Indexes the articles that have no search document yet (written before search existed). */
  async indexUnindexed(): Promise<number> {
    let indexed = 0;
    for (;;) {
      const rows = await this.db
        .select()
        .from(articles)
        .where(
          sql`not exists (select 1 from ${articleSearch} where ${articleSearch.articleId} = ${articles.id})`,
        )
        .limit(INDEX_BATCH);
      if (rows.length === 0) return indexed;
      await this.db.transaction(async (tx) => {
        for (const row of rows) await this.index(tx, row);
      });
      indexed += rows.length;
    }
  }

  /**
   * Published articles whose public words match a query (already folded), best match first, then
   * newest. Only what the public may read was ever indexed: premium text cannot match.
   */
  async searchPublished(folded: string, limit: number, offset: number): Promise<Page<ArticleRow>> {
    const query = searchQuery(folded);
    const matches = and(eq(articles.status, 'published'), sql`${articleSearch.document} @@ ${query}`);
    const [items, [total]] = await Promise.all([
      this.db
        .select({ article: articles })
        .from(articles)
        .innerJoin(articleSearch, eq(articleSearch.articleId, articles.id))
        .where(matches)
        .orderBy(
          sql`ts_rank(${articleSearch.document}, ${query}) desc`,
          desc(articles.publishedAt),
          desc(articles.id),
        )
        .limit(limit)
        .offset(offset),
      this.db
        .select({ n: count() })
        .from(articles)
        .innerJoin(articleSearch, eq(articleSearch.articleId, articles.id))
        .where(matches),
    ]);
    return { items: items.map((row) => row.article), total: total?.n ?? 0 };
  }

  async delete(id: string): Promise<boolean> {
    const deleted = await this.db.delete(articles).where(eq(articles.id, id)).returning({ id: articles.id });
    return deleted.length > 0;
  }

  async findById(id: string): Promise<ArticleRow | undefined> {
    const [row] = await this.db.select().from(articles).where(eq(articles.id, id));
    return row;
  }

  /** The published article of a slug, with the row of the subscriber reading it (their id from their session). */
  async findPublishedForReader(
    slug: string,
    subscriberId: string | undefined,
  ): Promise<ArticleForReader | undefined> {
    return this.forReaders.find(slug, subscriberId);
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

  /** How many articles were published each month, newest month first, in the publication's zone. */
  async months(timeZone: string): Promise<{ month: string; count: number }[]> {
    const month = publishedMonth(timeZone);
    const rows = await this.db
      .select({ month, count: sql<number>`count(*)::int` })
      .from(articles)
      .where(eq(articles.status, 'published'))
      // By position: the zone is a parameter, and each mention of it would be another one.
      .groupBy(sql`1`)
      .orderBy(sql`1 desc`);
    return rows.map((row) => ({ month: row.month, count: row.count }));
  }

  /** The articles published in one month (YYYY-MM) of the publication's zone, newest first. */
  publishedIn(month: string, timeZone: string, limit: number, offset: number): Promise<Page<ArticleRow>> {
    const where = and(eq(articles.status, 'published'), sql`${publishedMonth(timeZone)} = ${month}`);
    return this.page(where, [desc(articles.publishedAt), desc(articles.id)], limit, offset);
  }

  /**
   * The published articles around one: the one before, the one after, and the latest sharing a tag,
   * in one round trip (an article page for a member is rendered at every request).
   */
  async neighbours(article: Pick<ArticleRow, 'id' | 'publishedAt' | 'tagSlugs'>): Promise<ArticleNeighbours> {
    const rows = await this.neighbourRows([
      (article.publishedAt ?? new Date(0)).toISOString(),
      article.id,
      article.tagSlugs,
    ]);
    const links = rows.map((row) => ({
      kind: row.kind,
      link: {
        slug: row.slug,
        title: row.title,
        publishedAt: new Date(row.published_at),
        premium: row.access === 'premium',
      },
    }));
    return {
      older: links.find((row) => row.kind === 'older')?.link,
      newer: links.find((row) => row.kind === 'newer')?.link,
      related: links.filter((row) => row.kind === 'related').map((row) => row.link),
    };
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
