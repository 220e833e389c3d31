import {
  type ArticleRow,
  articles,
  MEMBER_COLUMNS,
  type MemberRow,
  subscribers,
} from '../database/schema.js';
import { selectedColumns } from '../database/selected-columns.js';

/** A published article as one reader asks for it: the article, and the signed-in reader's row. */
export interface ArticleForReader {
  readonly article: PageArticle;
  /** The subscriber the reader's session names, whatever their status; undefined when none. */
  readonly subscriber: MemberRow | undefined;
}

/** What an article's page shows of it and decides by (the gate, comments): read on every page. */
const PAGE_ARTICLE_COLUMNS = [
  'id',
  'slug',
  'title',
  'lede',
  'bodyHtml',
  'teaserHtml',
  'tags',
  'tagSlugs',
  'access',
  'publishedAt',
  'author',
  'commentsClosed',
  'updatedAt',
] as const;
export type PageArticle = Pick<ArticleRow, (typeof PAGE_ARTICLE_COLUMNS)[number]>;

const ARTICLE = selectedColumns(articles, 'a', PAGE_ARTICLE_COLUMNS);
const READER = selectedColumns(subscribers, 's', MEMBER_COLUMNS);

/**
 * An article page's one query: the article of a slug ($1) and the row of the subscriber ($2) whose
 * session reads it (a member's page needs both; apart, they cost two round trips). Its own module
 * so that the page benchmark's I/O floor runs the very same statement.
 */
export const ARTICLE_FOR_READER = {
  name: 'article_for_reader',
  text: `select ${ARTICLE.list}, ${READER.list} from ${ARTICLE.from}
    left join ${READER.from} on s.id = $2::uuid
    where a.slug = $1 and a.status = 'published'`,
  /** Its result row as typed rows; undefined when no published article has the slug. */
  read(row: Readonly<Record<string, unknown>> | undefined): ArticleForReader | undefined {
    const article = row && ARTICLE.read(row);
    return article && { article, subscriber: READER.read(row) };
  },
} as const;
