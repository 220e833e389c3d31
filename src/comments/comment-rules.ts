import type { ArticleRow, SubscriberTier } from '../database/schema.js';
import { isSingleLine } from '../lib/single-line.js';
import type { Publication } from '../settings/publication.js';

/**
 * Whether a reader may comment on an article, and if not, why: the publication takes no comments
 * (`off`), this article's are closed, the reader must sign in, or only premium members comment.
 */
export type CommentingState = 'off' | 'closed' | 'sign-in' | 'premium-only' | 'open';

const DAY_MS = 24 * 3600 * 1000;

/** The one place that decides who may comment where. */
export function commentingState(
  publication: Pick<Publication, 'comments' | 'commentsCloseAfterDays'>,
  article: Pick<ArticleRow, 'commentsClosed' | 'publishedAt'>,
  member: { readonly tier: SubscriberTier } | undefined,
  now: Date,
): CommentingState {
  if (publication.comments === 'off') return 'off';
  if (article.commentsClosed) return 'closed';
  const days = publication.commentsCloseAfterDays;
  if (days > 0 && article.publishedAt && now.getTime() - article.publishedAt.getTime() > days * DAY_MS)
    return 'closed';
  if (!member) return 'sign-in';
  if (publication.comments === 'premium' && member.tier !== 'premium') return 'premium-only';
  return 'open';
}

export const COMMENT_LIMITS = { body: 5000, name: 80 } as const;

/** A comment as the form sent it. */
export interface CommentForm {
  readonly body: string;
  readonly name: string;
  /** The comment it answers, if any. */
  readonly parent: string;
  /** A field people never see: only a robot fills it in. */
  readonly website: string;
}

export type CommentProblem = 'required' | 'too-long' | 'one-line' | 'reply';
export type CommentField = 'body' | 'name' | 'parent';

export type CommentCheck =
  | { readonly comment: { readonly body: string; readonly name: string; readonly parent?: string } }
  | { readonly problems: Partial<Record<CommentField, CommentProblem>> };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What a comment may be: some text, a name on one line, and a parent that looks like one. */
export function checkComment(form: CommentForm): CommentCheck {
  const problems: Partial<Record<CommentField, CommentProblem>> = {};
  const body = form.body.replace(/\r\n?/g, '\n').trim();
  if (body === '') problems.body = 'required';
  else if (body.length > COMMENT_LIMITS.body) problems.body = 'too-long';
  const name = form.name.trim();
  if (name === '') problems.name = 'required';
  else if (name.length > COMMENT_LIMITS.name) problems.name = 'too-long';
  else if (!isSingleLine(name)) problems.name = 'one-line';
  const parent = form.parent.trim();
  if (parent !== '' && !UUID.test(parent)) problems.parent = 'reply';
  if (Object.keys(problems).length > 0) return { problems };
  return { comment: { body, name, ...(parent === '' ? {} : { parent: parent.toLowerCase() }) } };
}
