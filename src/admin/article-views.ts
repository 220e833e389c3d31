import type { ArticleRow } from '../database/schema.js';
import { formatPublicationTime } from '../lib/publication-time.js';
import { one } from './desk-http.js';

/**
 * What the desk's article editor shows, built from rows and posted forms: the controller fetches
 * and answers, these shape. Field names follow the form.
 */

/** What the form shows: the stored article, or what the editor typed when it was refused. */
export interface ArticleFormValues {
  readonly title: string;
  readonly slug: string;
  readonly lede: string;
  readonly body_md: string;
  readonly tags: string;
  readonly access: string;
  readonly author: string;
  readonly publish_at: string;
  /** "on" when the editor closed the article's comments. */
  readonly comments_closed: string;
}

export const ARTICLE_ACTIONS = ['save', 'publish', 'schedule', 'unpublish'] as const;
export type ArticleAction = (typeof ARTICLE_ACTIONS)[number];

/** The stored article as the form shows it, or an empty form for a new one. */
export function storedArticleValues(article: ArticleRow | undefined, timezone: string): ArticleFormValues {
  return {
    title: article?.title ?? '',
    slug: article?.slug ?? '',
    lede: article?.lede ?? '',
    body_md: article?.bodyMd ?? '',
    tags: article?.tags.join(', ') ?? '',
    access: article?.access ?? 'premium',
    author: article?.author ?? '',
    comments_closed: article?.commentsClosed ? 'on' : '',
    // Minutes, as the datetime-local field shows them.
    publish_at: article?.publishAt ? formatPublicationTime(article.publishAt, timezone).slice(0, 16) : '',
  };
}

/** The posted form, with the line endings browsers send folded to the stored ones. */
export function postedArticleValues(form: Record<string, unknown>): ArticleFormValues {
  return {
    title: one(form.title) ?? '',
    slug: (one(form.slug) ?? '').trim(),
    lede: one(form.lede) ?? '',
    body_md: (one(form.body_md) ?? '').replace(/\r\n/g, '\n'),
    tags: one(form.tags) ?? '',
    access: one(form.access) ?? 'premium',
    author: one(form.author) ?? '',
    publish_at: one(form.publish_at) ?? '',
    comments_closed: one(form.comments_closed) === 'on' ? 'on' : '',
  };
}

/** Which button sent the form; a form without one saves. */
export function postedArticleAction(form: Record<string, unknown>): ArticleAction {
  return ARTICLE_ACTIONS.find((action) => action === one(form.action)) ?? 'save';
}

/** The same values as the API's DTO takes them: tags as a list, an empty slug left to be made. */
export function articleInput(values: ArticleFormValues): object {
  return {
    title: values.title,
    ...(values.slug !== '' ? { slug: values.slug } : {}),
    lede: values.lede,
    body_md: values.body_md,
    tags: values.tags
      .split(',')
      .map((tag) => tag.trim())
      .filter((tag) => tag !== ''),
    access: values.access,
    author: values.author,
    comments_closed: values.comments_closed === 'on',
  };
}

/** The live preview beside the editor: the teaser, the cut, and what only members read. */
export function articlePreview(
  values: Pick<ArticleFormValues, 'title' | 'lede' | 'access'>,
  cut: { teaserHtml: string; restHtml: string; marked: boolean },
): object {
  return { ...cut, premium: values.access !== 'public', title: values.title, lede: values.lede };
}
