import {
  type ArticleRow,
  articles,
  MEMBER_COLUMNS,
  type MemberRow,
  subscribers,
} from '../database/schema.js';
import { selectedColumns } from '../database/selected-columns.js';
import { ExpiringCache } from '../lib/expiring-cache.js';

/** A published article as one reader asks for it: the article, and the signed-in reader's row. */
export interface ArticleForReader {
  readonly article: PageArticle;
  /** The subscriber the reader's session names, whatever their status; undefined when none. */
  readonly subscriber: MemberRow | undefined;
}

/** What an article's page shows of it and decides by (the gate, comments), but its text. */
const PAGE_ARTICLE_HEAD_COLUMNS = [
  'id',
  'slug',
  'title',
  'lede',
  'tags',
  'tagSlugs',
  'access',
  'publishedAt',
  'author',
  'commentsClosed',
  'updatedAt',
] as const;
type ArticleText = Pick<ArticleRow, 'bodyHtml' | 'teaserHtml'>;
/** What an article's page shows of it and decides by: read on every page. */
export type PageArticle = Pick<ArticleRow, (typeof PAGE_ARTICLE_HEAD_COLUMNS)[number]> & ArticleText;

const ARTICLE = selectedColumns(articles, 'a', PAGE_ARTICLE_HEAD_COLUMNS);
const READER = selectedColumns(subscribers, 's', MEMBER_COLUMNS);

/** The text, unless the asker holds that version (same id, same updated_at): then null, not sent. */
const TEXT_UNLESS_HELD = (column: string, key: keyof ArticleText) =>
  `case when a.id = q.held_id and a.updated_at = q.held_at then null else a.${column} end as "a.${key}"`;

/**
 * Article pages' one query, for every page asked at about the same time: for each question (its
 * place n), the published article of a slug ($1) and the row of the subscriber ($2) whose session
 * reads it (a member's page needs both; apart, they cost two round trips). A question comes with
 * the version of the article its asker holds ($3 its id, $4 its updated_at, kept to the
 * millisecond as a Date holds it, and set by every write of an article): that article's text (tens
 * of KB) is then left out. Its own module so that the page benchmark's I/O floor runs the very
 * same statement.
 */
export const ARTICLES_FOR_READERS = {
  name: 'articles_for_readers',
  text: `select q.n::int as "n", ${ARTICLE.list}, ${TEXT_UNLESS_HELD('body_html', 'bodyHtml')},
    ${TEXT_UNLESS_HELD('teaser_html', 'teaserHtml')}, ${READER.list}
    from unnest($1::text[], $2::uuid[], $3::uuid[], $4::timestamptz[])
      with ordinality as q(slug, subscriber_id, held_id, held_at, n)
    join ${ARTICLE.from} on a.slug = q.slug and a.status = 'published'
    left join ${READER.from} on s.id = q.subscriber_id`,
} as const;

type HeldArticle = Pick<PageArticle, 'id' | 'updatedAt'> & ArticleText;
type Row = Readonly<Record<string, unknown>>;

/** One page's question, waiting for its answer. */
interface Question {
  readonly slug: string;
  readonly subscriberId: string | null;
  readonly held: HeldArticle | undefined;
  resolve(answer: ArticleForReader | undefined): void;
  reject(error: unknown): void;
}

/**
 * Reads articles for their readers (ARTICLES_FOR_READERS). Pages asked in one turn of the event
 * loop share one query: the round trip cost more than anything else on a member's page, and under
 * load each turn brings several (alone, a page waits for nothing but the end of its turn). The
 * text of the versions read lately is kept by slug, so that the database sends an article's text
 * again only once it has changed; what is held is checked against the row at every read, so an
 * edited, replaced or unpublished article is read as it is now.
 */
export class ArticlesForReaders {
  /** The last version read of each slug: 200 articles at most, each sent again after an hour. */
  private readonly held = new ExpiringCache<HeldArticle>(3600_000, 200);
  private asked: Question[] = [];

  constructor(private readonly run: (values: readonly unknown[]) => Promise<readonly Row[]>) {}

  /** The published article of a slug and the row of a subscriber; undefined when no such article. */
  find(slug: string, subscriberId: string | undefined): Promise<ArticleForReader | undefined> {
    return new Promise((resolve, reject) => {
      if (this.asked.length === 0) setImmediate(() => void this.send());
      this.asked.push({
        slug,
        subscriberId: subscriberId ?? null,
        held: this.held.get(slug),
        resolve,
        reject,
      });
    });
  }

  /** Asks this turn's questions together; when the database refuses that, each one alone. */
  private async send(): Promise<void> {
    const asked = this.asked;
    this.asked = [];
    let rows: readonly (Row | undefined)[];
    try {
      rows = await this.query(asked);
    } catch (error) {
      // One question the database refuses (a malformed id) must not fail those asked with it.
      if (asked.length === 1) asked[0]?.reject(error);
      else
        for (const question of asked)
          this.query([question]).then(
            ([row]) => {
              this.settle(question, row);
            },
            (refused: unknown) => {
              question.reject(refused);
            },
          );
      return;
    }
    asked.forEach((question, index) => {
      this.settle(question, rows[index]);
    });
  }

  /** Answers one question; a row that cannot be read fails that question alone, never leaves the rest waiting. */
  private settle(question: Question, row: Row | undefined): void {
    try {
      this.answer(question, row);
    } catch (error) {
      question.reject(error);
    }
  }

  /** Each question's row, in the questions' order (undefined where no published article matched). */
  private async query(asked: readonly Question[]): Promise<(Row | undefined)[]> {
    const rows = await this.run([
      asked.map((question) => question.slug),
      asked.map((question) => question.subscriberId),
      asked.map((question) => question.held?.id ?? null),
      asked.map((question) => question.held?.updatedAt ?? null),
    ]);
    const inOrder: (Row | undefined)[] = Array.from({ length: asked.length }, () => undefined);
    for (const row of rows) inOrder[(row.n as number) - 1] = row;
    return inOrder;
  }

  private answer(question: Question, row: Row | undefined): void {
    const head = row && ARTICLE.read(row);
    if (!row || !head) {
      question.resolve(undefined);
      return;
    }
    let text: ArticleText;
    if (typeof row['a.bodyHtml'] === 'string' && typeof row['a.teaserHtml'] === 'string') {
      text = { bodyHtml: row['a.bodyHtml'], teaserHtml: row['a.teaserHtml'] };
      this.held.set(question.slug, { id: head.id, updatedAt: head.updatedAt, ...text });
    } else if (question.held) {
      // Left out: the statement found the very version this question held.
      text = question.held;
    } else {
      question.reject(new Error('The article page statement left out a text nobody held'));
      return;
    }
    question.resolve({
      article: { ...head, bodyHtml: text.bodyHtml, teaserHtml: text.teaserHtml },
      subscriber: READER.read(row),
    });
  }
}
