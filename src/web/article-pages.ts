import { Inject, Injectable } from '@nestjs/common';
import {
  type ArticleLink,
  type ArticleNeighbours,
  ArticlesRepository,
} from '../articles/articles.repository.js';
import type { CommentField, CommentingState, CommentProblem } from '../comments/comment-rules.js';
import { COMMENT_LIMITS } from '../comments/comment-rules.js';
import { CommentsService } from '../comments/comments.service.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { ArticleRow } from '../database/schema.js';
import { fill, problemText } from '../i18n/messages.js';
import { ExpiringCache } from '../lib/expiring-cache.js';
import { PaymentsService } from '../payments/payments.service.js';
import { PublicationSettings } from '../settings/publication-settings.js';
import type { ArticleRead, BlogReader } from './blog-readers.js';
import {
  articleJsonLd,
  articleUrl,
  paywallFor,
  readingMinutes,
  shareLinks,
  toArticleView,
} from './blog-view.js';
import { PageRenderer } from './page-renderer.js';

/** The comment form as the reader left it: what they typed, what is wrong, what became of it. */
export interface CommentFormState {
  readonly values?: { readonly body: string; readonly name: string; readonly parent: string };
  readonly problems?: Partial<Record<CommentField, CommentProblem>>;
  /** A line above the comments: thanks, or why nothing was taken. */
  readonly notice?: string;
  /** The comment being answered, when the reader pressed "Répondre". */
  readonly replyTo?: string;
}

const COMMENT_PROBLEM_CODES: Readonly<Record<CommentProblem, string>> = {
  required: 'isNotBlank',
  'too-long': 'maxLength',
  'one-line': 'isSingleLine',
  reply: 'commentReply',
};

/** One version of an article: what is kept about it is kept until it changes. */
function versionKey(row: Pick<ArticleRow, 'id' | 'updatedAt'>): string {
  return `${row.id}:${row.updatedAt.getTime()}`;
}

/**
 * An article's page as one reader sees it: the text through the access gate, what surrounds it,
 * its comments and whether this reader may write one. The article route and the comment form's
 * answers (a refusal shows the page again, with the form as it was sent) render it alike.
 */
@Injectable()
export class ArticlePages {
  private readonly around: ExpiringCache<Promise<ArticleNeighbours>>;
  /**
   * Each article version's reading time: the whole body's words counted, which costs more than the
   * rest of the page. It changes with the text alone, so it is kept whatever the page cache does.
   */
  private readonly minutes = new ExpiringCache<number>(24 * 3600 * 1000, 1000);

  constructor(
    @Inject(ArticlesRepository) private readonly articles: ArticlesRepository,
    @Inject(PageRenderer) private readonly renderer: PageRenderer,
    @Inject(PaymentsService) private readonly payments: PaymentsService,
    @Inject(CommentsService) private readonly comments: CommentsService,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.around = new ExpiringCache(config.pageCacheSeconds * 1000, 1000);
  }

  /**
   * The articles around one, the same for every reader: kept as long as a public page is, so that
   * a member's page, rendered at each request, does not ask the database for them.
   */
  private surroundings(row: ArticleRow): Promise<ArticleNeighbours> {
    return this.around.remember(versionKey(row), () => this.articles.neighbours(row));
  }

  private readingMinutes(row: ArticleRow): number {
    return this.minutes.remember(versionKey(row), () => readingMinutes(row));
  }

  /** The article as its reader may read it: in full for premium readers, else up to the cut. */
  async render({ article: row, reader }: ArticleRead, form: CommentFormState = {}): Promise<string> {
    const [around, comments] = await Promise.all([this.surroundings(row), this.comments.forArticle(row.id)]);
    const article = toArticleView(this.config, row, reader.audience);
    const link = (to: ArticleLink | undefined) => to && { ...to, url: articleUrl(this.config, to.slug) };
    const publication = this.publication.current();
    return this.renderer.render(
      'article',
      {
        title: `${article.title} — ${publication.name}`,
        description: article.description,
        canonical: articleUrl(this.config, article.slug),
        ogType: 'article',
        publishedTime: article.publishedAt.toISOString(),
        tags: article.tags.map((tag) => tag.name),
        jsonLd: articleJsonLd(this.config, publication, article),
      },
      {
        article,
        readingMinutes: this.readingMinutes(row),
        share: shareLinks(article, this.renderer.t.shareByEmail),
        older: link(around.older),
        newer: link(around.newer),
        related: around.related.map(link),
        reader,
        paywall: article.gated
          ? paywallFor(this.config, reader, article, await this.payments.offer())
          : undefined,
        comments: this.commentsView(row, reader, comments, form),
      },
    );
  }

  /** The comments section: undefined when the publication takes none. */
  private commentsView(
    row: ArticleRow,
    reader: BlogReader,
    comments: Awaited<ReturnType<CommentsService['forArticle']>>,
    form: CommentFormState,
  ) {
    const state: CommentingState = this.comments.state(
      row,
      reader.memberTier === undefined ? undefined : { tier: reader.memberTier },
    );
    if (state === 'off') return undefined;
    const t = this.renderer.t;
    const open = state === 'open';
    const replyTo =
      open && form.replyTo !== undefined
        ? comments.threads.find((thread) => thread.id === form.replyTo && !thread.erased)
        : undefined;
    const errors = Object.fromEntries(
      Object.entries(form.problems ?? {}).map(([field, problem]) => [
        field,
        problemText(
          { field, code: COMMENT_PROBLEM_CODES[problem], limit: COMMENT_LIMITS[field as 'body'] },
          t,
        ) ?? t.problem_invalid,
      ]),
    );
    return {
      ...comments,
      heading: fill(t.commentsCount, { count: comments.count }),
      open,
      closed: state === 'closed',
      signIn: state === 'sign-in',
      premiumOnly: state === 'premium-only',
      signInUrl: `${this.config.publicUrl}/sign-in?next=${encodeURIComponent(`/articles/${row.slug}#comments`)}`,
      action: `${articleUrl(this.config, row.slug)}/comments`,
      bodyHint: fill(t.commentBodyHint, { limit: COMMENT_LIMITS.body }),
      limits: COMMENT_LIMITS,
      notice: form.notice,
      replyTo: replyTo && { id: replyTo.id, label: fill(t.commentReplyTo, { name: replyTo.authorName }) },
      values: form.values ?? { body: '', name: reader.memberName ?? '', parent: replyTo?.id ?? '' },
      errors,
    };
  }
}
