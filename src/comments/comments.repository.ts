import { Inject, Injectable } from '@nestjs/common';
import { and, asc, count, desc, eq, getTableColumns, inArray, sql } from 'drizzle-orm';
import { DatabaseClient, type PreparedStatement } from '../database/database-client.js';
import { articles, type CommentRow, type CommentStatus, comments, subscribers } from '../database/schema.js';
import { selectedColumns } from '../database/selected-columns.js';

const SHOWN = selectedColumns(comments, 'c');

export interface NewComment {
  readonly articleId: string;
  readonly parentId: string | null;
  readonly subscriberId: string;
  readonly authorName: string;
  readonly bodyMd: string;
  readonly bodyHtml: string;
  readonly status: Extract<CommentStatus, 'pending' | 'approved'>;
}

/** A comment as the desk lists it: with its article and its author's address. */
export interface CommentForDesk extends CommentRow {
  readonly articleTitle: string;
  readonly articleSlug: string;
  readonly authorEmail: string | null;
}

export interface CommentPage {
  readonly items: CommentForDesk[];
  readonly total: number;
}

/** The one writer of `comments`. */
@Injectable()
export class CommentsRepository {
  /** The comments an article ($1) shows, oldest first: asked on every article page. */
  private readonly shown: PreparedStatement<Record<string, unknown>>;

  constructor(@Inject(DatabaseClient) private readonly database: DatabaseClient) {
    this.shown = database.prepared(
      'comments_shown',
      `select ${SHOWN.list} from ${SHOWN.from}
        where c.article_id = $1::uuid and c.status = 'approved' order by c.created_at, c.id`,
    );
  }

  private get db() {
    return this.database.db;
  }

  async insert(comment: NewComment): Promise<CommentRow> {
    const [row] = await this.db.insert(comments).values(comment).returning();
    if (!row) throw new Error('The comment was not stored');
    return row;
  }

  async findById(id: string): Promise<CommentRow | undefined> {
    const [row] = await this.db.select().from(comments).where(eq(comments.id, id));
    return row;
  }

  async findForDesk(id: string): Promise<CommentForDesk | undefined> {
    const [row] = await this.deskQuery().where(eq(comments.id, id));
    return row;
  }

  /** What an article's page shows: approved comments and the erased ones kept for their replies. */
  async shownOn(articleId: string): Promise<CommentRow[]> {
    return (await this.shown([articleId])).flatMap((row) => SHOWN.read(row) ?? []);
  }

  /** How many comments each article shows (erased ones not counted). */
  async shownCounts(articleIds: readonly string[]): Promise<Map<string, number>> {
    if (articleIds.length === 0) return new Map();
    const rows = await this.db
      .select({ articleId: comments.articleId, shown: count() })
      .from(comments)
      .where(
        and(
          inArray(comments.articleId, [...articleIds]),
          eq(comments.status, 'approved'),
          sql`${comments.bodyMd} <> ''`,
          // A reply shows only under a shown comment.
          sql`(${comments.parentId} is null or exists (select 1 from ${comments} as parent
            where parent.id = ${comments.parentId} and parent.status = 'approved'))`,
        ),
      )
      .groupBy(comments.articleId);
    return new Map(rows.map((row) => [row.articleId, row.shown]));
  }

  private deskQuery() {
    return this.db
      .select({
        ...getTableColumns(comments),
        articleTitle: articles.title,
        articleSlug: articles.slug,
        authorEmail: subscribers.email,
      })
      .from(comments)
      .innerJoin(articles, eq(articles.id, comments.articleId))
      .leftJoin(subscribers, eq(subscribers.id, comments.subscriberId))
      .$dynamic();
  }

  /** A page of comments for the desk, newest first, of one status or all. */
  async page(status: CommentStatus | undefined, limit: number, offset: number): Promise<CommentPage> {
    const where = status === undefined ? undefined : eq(comments.status, status);
    const [items, [total]] = await Promise.all([
      this.deskQuery()
        .where(where)
        .orderBy(desc(comments.createdAt), desc(comments.id))
        .limit(limit)
        .offset(offset),
      this.db.select({ total: count() }).from(comments).where(where),
    ]);
    return { items, total: total?.total ?? 0 };
  }

  async countsByStatus(): Promise<Record<CommentStatus, number>> {
    const rows = await this.db
      .select({ status: comments.status, n: count() })
      .from(comments)
      .groupBy(comments.status);
    const counts: Record<CommentStatus, number> = { pending: 0, approved: 0, hidden: 0 };
    for (const row of rows) counts[row.status] = row.n;
    return counts;
  }

  async pendingCount(): Promise<number> {
    const [row] = await this.db.select({ n: count() }).from(comments).where(eq(comments.status, 'pending'));
    return row?.n ?? 0;
  }

  /** Sets a comment's status; the comment as it was before, or undefined when there is none. */
  async moderate(
    id: string,
    status: Extract<CommentStatus, 'approved' | 'hidden'>,
  ): Promise<CommentRow | undefined> {
    const [row] = await this.db
      .update(comments)
      .set({ status, moderatedAt: sql`now()`, updatedAt: sql`now()` })
      .where(eq(comments.id, id))
      .returning();
    return row;
  }

  /** Deletes a comment, and its replies with it. */
  async delete(id: string): Promise<CommentRow | undefined> {
    const [row] = await this.db.delete(comments).where(eq(comments.id, id)).returning();
    return row;
  }

  /** A member's comments, oldest first: what they may download of what they wrote. */
  ofSubscriber(
    subscriberId: string,
  ): Promise<(CommentRow & { articleSlug: string; articleTitle: string })[]> {
    return this.db
      .select({
        ...getTableColumns(comments),
        articleSlug: articles.slug,
        articleTitle: articles.title,
      })
      .from(comments)
      .innerJoin(articles, eq(articles.id, comments.articleId))
      .where(eq(comments.subscriberId, subscriberId))
      .orderBy(asc(comments.createdAt));
  }

  /**
   * Takes a member's words out: their comments without replies go; those others answered keep
   * their place with no author and no text, so that the replies still read in order. Returns the
   * articles touched.
   */
  async forgetAuthor(subscriberId: string): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      const answered = tx
        .select({ id: sql`1` })
        .from(sql`${comments} as reply`)
        .where(sql`reply.parent_id = ${comments.id}`);
      const removed = await tx
        .delete(comments)
        .where(and(eq(comments.subscriberId, subscriberId), sql`not exists (${answered})`))
        .returning({ articleId: comments.articleId });
      const kept = await tx
        .update(comments)
        .set({ subscriberId: null, authorName: '', bodyMd: '', bodyHtml: '', updatedAt: sql`now()` })
        .where(eq(comments.subscriberId, subscriberId))
        .returning({ articleId: comments.articleId });
      return [...new Set([...removed, ...kept].map((row) => row.articleId))];
    });
  }

  /**
   * The comment a reply to `id` hangs under: `id` itself when it is a shown top-level comment of
   * the article, its parent when it is a reply (replies go one level deep); else undefined.
   */
  async replyTarget(id: string, articleId: string): Promise<string | undefined> {
    const [row] = await this.db
      .select({ id: comments.id, parentId: comments.parentId })
      .from(comments)
      .where(and(eq(comments.id, id), eq(comments.articleId, articleId), eq(comments.status, 'approved')));
    return row && (row.parentId ?? row.id);
  }
}
