import { Inject, Injectable } from '@nestjs/common';
import {
  type ArticleLink,
  type ArticleNeighbours,
  ArticlesRepository,
} from '../articles/articles.repository.js';
import type { CommentField, CommentingState, CommentProblem } from '../comments/comment-rules.js';
import { COMMENT_LIMITS } from '../comments/comment-rules.js';
import { type ArticleComments, CommentsService } from '../comments/comments.service.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { PageArticle } from '../articles/article-for-reader.js';
import { fill, problemText } from '../i18n/messages.js';
import Handlebars from 'handlebars';
import { gatedContent } from '../content/access-gate.js';
import { ExpiringCache } from '../lib/expiring-cache.js';
import { PageSlots, type SlottedPage } from '../lib/page-slots.js';
import type { PremiumOffer } from '../settings/settings.repository.js';
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
function versionKey(row: Pick<PageArticle, 'id' | 'updatedAt'>): string {
  return `${row.id}:${row.updatedAt.getTime()}`;
}

type CommentsSectionView = ReturnType<ArticlePages['commentsView']>;

/** What differs between two readers of one article version with the same skeleton. */
type ArticleSlot = 'body' | 'commentsHeading' | 'commentsSection';
const SLOTS = new PageSlots<ArticleSlot>(['body', 'commentsHeading', 'commentsSection']);
/** The one part of a plain visit's comments section that differs between its readers. */
const SECTION_SLOTS = new PageSlots<'memberName'>(['memberName']);

/**
 * An article's page as one reader sees it: the text through the access gate, what surrounds it,
 * its comments and whether this reader may write one. The article route and the comment form's
 * answers (a refusal shows the page again, with the form as it was sent) render it alike.
 *
 * A member's page cannot be kept whole, and rendering all of it cost more than anything else at
 * each request. So the page is rendered once per article version and kind of reader with a slot
 * for each part that differs between readers of that kind (the text as the gate gives it, the
 * comments), and that skeleton is filled at each request. The skeleton never holds the text: after
 * the cut or before, it comes from this request's own read, through the gate.
 */
@Injectable()
export class ArticlePages {
  private readonly around: ExpiringCache<Promise<ArticleNeighbours>>;
  /** Kept as long as the articles around one are (see surroundings), since it shows them. */
  private readonly skeletons: ExpiringCache<SlottedPage<ArticleSlot>>;
  /** Plain visits' comments sections, by the comments they show (see commentsSection). */
  private sections = new WeakMap<
    ArticleComments,
    Map<string, { readonly heading: string; readonly page: SlottedPage<'memberName'> }>
  >();
  /**
   * The offer the kept skeletons' paywalls show: another offer (PaymentsService keeps the same
   * object while it says the same), and they are made again.
   */
  private skeletonOffer: PremiumOffer | undefined;
  /**
   * Each article version's reading time: the whole body's words counted, which costs more than the
   * rest of the page. It changes with the text alone, so it is kept whatever the page cache does.
   */
  private readonly minutes = new ExpiringCache<number>(24 * 3600 * 1000, 1000);
  /**
   * Each article version's text as each kind of reader gets it (whole, or to the cut), as bytes:
   * encoding it again at every member's page cost as much as filling the rest of the page.
   */
  private readonly textBytes = new ExpiringCache<Buffer>(24 * 3600 * 1000, 400);

  constructor(
    @Inject(ArticlesRepository) private readonly articles: ArticlesRepository,
    @Inject(PageRenderer) private readonly renderer: PageRenderer,
    @Inject(PaymentsService) private readonly payments: PaymentsService,
    @Inject(CommentsService) private readonly comments: CommentsService,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.around = new ExpiringCache(config.pageCacheSeconds * 1000, 1000);
    this.skeletons = new ExpiringCache(config.pageCacheSeconds * 1000, 1000);
    // The publication's name, wording and look are in every skeleton.
    publication.onChange(() => {
      this.skeletons.clear();
      this.sections = new WeakMap();
    });
  }

  /**
   * The articles around one, the same for every reader: kept as long as a public page is, so that
   * a member's page, rendered at each request, does not ask the database for them.
   */
  private surroundings(row: PageArticle): Promise<ArticleNeighbours> {
    return this.around.remember(versionKey(row), () => this.articles.neighbours(row));
  }

  private readingMinutes(row: PageArticle): number {
    return this.minutes.remember(versionKey(row), () => readingMinutes(row));
  }

  /** The article as its reader may read it: in full for premium readers, else up to the cut. */
  async render({ article: row, reader }: ArticleRead, form: CommentFormState = {}): Promise<Buffer> {
    const [around, comments] = await Promise.all([this.surroundings(row), this.comments.forArticle(row.id)]);
    const visible = gatedContent(row, reader.audience);
    const offer = visible.access === 'teaser' ? await this.payments.offer() : undefined;
    if (offer !== undefined && offer !== this.skeletonOffer) {
      this.skeletons.clear();
      this.skeletonOffer = offer;
    }
    const state = this.comments.state(
      row,
      reader.memberTier === undefined ? undefined : { tier: reader.memberTier },
    );
    const shown = state !== 'off';
    // Everything the skeleton shows of the reader, beside the article's version.
    const kind = `${reader.audience}:${reader.member}:${reader.lapsed === true}:${shown}`;
    const skeleton = this.skeletons.remember(`${versionKey(row)}:${kind}`, () =>
      this.skeleton(row, reader, around, offer, shown),
    );
    const section = shown ? this.commentsSection(row, reader, comments, form, state) : undefined;
    const text = this.textBytes.remember(`${versionKey(row)}:${visible.access}`, () =>
      Buffer.from(visible.html, 'utf8'),
    );
    return skeleton.fill({
      body: text,
      commentsHeading: section?.heading ?? '',
      commentsSection: section?.html ?? '',
    });
  }

  /**
   * The comments section as this reader sees it, and its heading (escaped). A plain visit's (no
   * form sent back, no reply asked for) differs between readers by the name the form starts with
   * alone: it is made once for the comments it shows and kept with them, the name put in at each
   * request.
   */
  private commentsSection(
    row: PageArticle,
    reader: BlogReader,
    comments: ArticleComments,
    form: CommentFormState,
    state: Exclude<CommentingState, 'off'>,
  ): { readonly heading: string; readonly html: string | Buffer } {
    const render = (view: CommentsSectionView): string =>
      this.renderer.fragment('article-comments', {
        article: { url: articleUrl(this.config, row.slug) },
        comments: view,
      });
    const plain =
      form.values === undefined &&
      form.problems === undefined &&
      form.notice === undefined &&
      form.replyTo === undefined;
    if (!plain) {
      const view = this.commentsView(row, reader, comments, form, state);
      return { heading: Handlebars.escapeExpression(view.heading), html: render(view) };
    }
    let kept = this.sections.get(comments);
    if (!kept) {
      kept = new Map();
      this.sections.set(comments, kept);
    }
    const key = `${row.slug}:${state}`;
    let section = kept.get(key);
    if (!section) {
      const view = this.commentsView(row, reader, comments, form, state);
      section = {
        heading: Handlebars.escapeExpression(view.heading),
        page: SECTION_SLOTS.cut(
          render({ ...view, values: { ...view.values, name: SECTION_SLOTS.marker('memberName') } }),
        ),
      };
      kept.set(key, section);
    }
    return {
      heading: section.heading,
      html: section.page.fill({ memberName: Handlebars.escapeExpression(reader.memberName ?? '') }),
    };
  }

  /** The page with a marker in each slot, cut at the markers. */
  private skeleton(
    row: PageArticle,
    reader: BlogReader,
    around: ArticleNeighbours,
    offer: PremiumOffer | undefined,
    commentsShown: boolean,
  ): SlottedPage<ArticleSlot> {
    const article = toArticleView(this.config, row, reader.audience);
    const link = (to: ArticleLink | undefined) => to && { ...to, url: articleUrl(this.config, to.slug) };
    const publication = this.publication.current();
    const rendered = this.renderer.render(
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
        article: { ...article, html: SLOTS.marker('body') },
        readingMinutes: this.readingMinutes(row),
        share: shareLinks(article, this.renderer.t.shareByEmail),
        older: link(around.older),
        newer: link(around.newer),
        related: around.related.map(link),
        reader,
        paywall: article.gated && offer ? paywallFor(this.config, reader, article, offer) : undefined,
        comments: commentsShown ? { heading: SLOTS.marker('commentsHeading') } : undefined,
        commentsSection: SLOTS.marker('commentsSection'),
      },
    );
    return SLOTS.cut(rendered);
  }

  /** What the comments section shows this reader, in the state they find comments in. */
  private commentsView(
    row: PageArticle,
    reader: BlogReader,
    comments: ArticleComments,
    form: CommentFormState,
    state: Exclude<CommentingState, 'off'>,
  ) {
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
    // Named one by one: properties added after a spread cost V8 far more (microseconds, here).
    return {
      threads: comments.threads,
      count: comments.count,
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
