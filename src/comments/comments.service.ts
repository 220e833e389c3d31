import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { plainText, renderCommentMarkdown, truncateText } from '../content/markdown.js';
import type { ArticleRow, CommentRow, CommentStatus, SubscriberRow } from '../database/schema.js';
import { EditorsRepository } from '../editors/editors.repository.js';
import { fill, messagesFor } from '../i18n/messages.js';
import { ExpiringCache } from '../lib/expiring-cache.js';
import { TransactionalMailer } from '../mail/transactional-mailer.js';
import { DeskQueue } from '../queue/desk.queue.js';
import type { DeskJobs } from '../queue/jobs.js';
import { type RateDecision, RateLimiter } from '../redis/rate-limiter.js';
import { PublicationSettings } from '../settings/publication-settings.js';
import {
  checkComment,
  type CommentField,
  type CommentForm,
  type CommentingState,
  type CommentProblem,
  commentingState,
} from './comment-rules.js';
import { type CommentPage, CommentsRepository } from './comments.repository.js';

/** A comment as an article page shows it, with its replies when it is a top-level one. */
export interface CommentView {
  readonly id: string;
  readonly authorName: string;
  readonly html: string;
  readonly createdAt: Date;
  /** Its author was erased: the comment keeps its place for its replies, with no name and no text. */
  readonly erased: boolean;
  readonly replies: readonly CommentView[];
}

/** An article's comments as its page shows them. */
export interface ArticleComments {
  readonly threads: readonly CommentView[];
  /** The comments shown, replies included, erased ones not. */
  readonly count: number;
}

/** What became of a comment sent from the blog. */
export type CommentOutcome =
  /** Stored: shown at once (post-moderation) or once an editor approves it. */
  | { readonly kind: 'stored'; readonly comment: CommentRow }
  /** A robot filled in the hidden field: nothing stored, and it is told the same as a person. */
  | { readonly kind: 'ignored' }
  | { readonly kind: 'refused'; readonly state: Exclude<CommentingState, 'open'> }
  | { readonly kind: 'invalid'; readonly problems: Partial<Record<CommentField, CommentProblem>> }
  | { readonly kind: 'too-many'; readonly retryAfterSeconds: number };

/** How many comments a member may send, and one network address: enough to talk, too few to flood. */
const PER_MEMBER = { max: 5, windowSeconds: 600 };
const PER_CLIENT = { max: 20, windowSeconds: 3600 };
/** What the editors' notice quotes of a comment. */
const NOTICE_EXCERPT_CHARS = 280;

/**
 * Members' comments: who may write where, what is stored, what pages show, what editors moderate,
 * and what erasure and export do with them. Pages read an article's comments from a cache kept
 * as long as a public page, emptied here at every change this process makes.
 */
@Injectable()
export class CommentsService {
  private readonly logger = new Logger('Comments');
  private readonly shown: ExpiringCache<Promise<ArticleComments>>;

  constructor(
    @Inject(CommentsRepository) private readonly repository: CommentsRepository,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
    @Inject(RateLimiter) private readonly rateLimiter: RateLimiter,
    @Inject(DeskQueue) private readonly queue: DeskQueue,
    @Inject(EditorsRepository) private readonly editors: EditorsRepository,
    @Inject(TransactionalMailer) private readonly mailer: TransactionalMailer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.shown = new ExpiringCache(config.pageCacheSeconds * 1000, 1000);
  }

  /** Whether this reader may comment on this article now, and if not, why. */
  state(
    article: Pick<ArticleRow, 'commentsClosed' | 'publishedAt'>,
    member?: Pick<SubscriberRow, 'tier'>,
  ): CommentingState {
    return commentingState(this.publication.current(), article, member, new Date());
  }

  /** The comments an article's page shows, oldest first, replies under what they answer. */
  forArticle(articleId: string): Promise<ArticleComments> {
    return this.shown.remember(articleId, () => this.repository.shownOn(articleId).then(threadsOf));
  }

  /** How many comments each article shows, for the cards of a list. */
  counts(articleIds: readonly string[]): Promise<Map<string, number>> {
    return this.repository.shownCounts(articleIds);
  }

  /** A member's comment from the blog: checked, limited, stored, and the editors told. */
  async post(
    article: Pick<ArticleRow, 'id' | 'commentsClosed' | 'publishedAt'>,
    member: Pick<SubscriberRow, 'id' | 'tier'> | undefined,
    form: CommentForm,
    client: string,
  ): Promise<CommentOutcome> {
    const state = this.state(article, member);
    if (state !== 'open' || !member) return { kind: 'refused', state: state === 'open' ? 'sign-in' : state };
    if (form.website.trim() !== '') {
      this.logger.log({ articleId: article.id, subscriberId: member.id }, 'Comment caught by the honeypot');
      return { kind: 'ignored' };
    }
    const checked = checkComment(form);
    if ('problems' in checked) return { kind: 'invalid', problems: checked.problems };
    let parentId: string | null = null;
    if (checked.comment.parent !== undefined) {
      const target = await this.repository.replyTarget(checked.comment.parent, article.id);
      if (target === undefined) return { kind: 'invalid', problems: { parent: 'reply' } };
      parentId = target;
    }
    const limited = await this.limit(member.id, client);
    if (!limited.allowed) return { kind: 'too-many', retryAfterSeconds: limited.retryAfterSeconds };
    const publication = this.publication.current();
    const comment = await this.repository.insert({
      articleId: article.id,
      parentId,
      subscriberId: member.id,
      authorName: checked.comment.name,
      bodyMd: checked.comment.body,
      bodyHtml: renderCommentMarkdown(checked.comment.body, publication.locale),
      status: publication.commentModeration === 'post' ? 'approved' : 'pending',
    });
    this.changed(article.id);
    await this.queue.add('comment-notice', { commentId: comment.id });
    return { kind: 'stored', comment };
  }

  private async limit(subscriberId: string, client: string): Promise<RateDecision> {
    const byMember = await this.rateLimiter.hit('comment-member', subscriberId, PER_MEMBER);
    if (!byMember.allowed) return byMember;
    return this.rateLimiter.hit('comment-client', client, PER_CLIENT);
  }

  page(status: CommentStatus | undefined, limit: number, offset: number): Promise<CommentPage> {
    return this.repository.page(status, limit, offset);
  }

  countsByStatus(): Promise<Record<CommentStatus, number>> {
    return this.repository.countsByStatus();
  }

  pendingCount(): Promise<number> {
    return this.repository.pendingCount();
  }

  /** An editor shows or hides a comment; false when there is no such comment. */
  async moderate(id: string, status: 'approved' | 'hidden'): Promise<boolean> {
    const row = await this.repository.moderate(id, status);
    if (row) this.changed(row.articleId);
    return row !== undefined;
  }

  /** An editor deletes a comment and its replies; false when there is no such comment. */
  async delete(id: string): Promise<boolean> {
    const row = await this.repository.delete(id);
    if (row) this.changed(row.articleId);
    return row !== undefined;
  }

  /** Erasure: the member's comments go, or lose their author and text where others answered them. */
  async forgetAuthor(subscriberId: string): Promise<void> {
    for (const articleId of await this.repository.forgetAuthor(subscriberId)) this.changed(articleId);
  }

  /** What a member wrote, as their data export gives it. */
  async exportOf(subscriberId: string): Promise<object[]> {
    return (await this.repository.ofSubscriber(subscriberId)).map((comment) => ({
      article: comment.articleTitle,
      url: `${this.config.publicUrl}/articles/${comment.articleSlug}#comment-${comment.id}`,
      name: comment.authorName,
      text: comment.bodyMd,
      status: comment.status,
      reply_to: comment.parentId,
      written_at: comment.createdAt.toISOString(),
    }));
  }

  /** Worker side: tells every editor of a new comment, with a link to moderate it. */
  async sendNotice({ commentId }: DeskJobs['comment-notice']): Promise<void> {
    const comment = await this.repository.findForDesk(commentId);
    if (!comment) return;
    const publication = this.publication.current();
    const t = messagesFor(publication.locale);
    const excerpt = truncateText(plainText(comment.bodyHtml), NOTICE_EXCERPT_CHARS);
    const values = { name: comment.authorName, title: comment.articleTitle, excerpt };
    const text = `${fill(t.commentNoticeText, values)} ${comment.status === 'pending' ? t.commentNoticePending : t.commentNoticeShown}`;
    for (const editor of await this.editors.list())
      await this.mailer.send(
        'member-notice',
        { email: editor.email, name: editor.name },
        {
          subject: fill(t.commentNoticeSubject, { title: comment.articleTitle }),
          preheader: excerpt,
          text,
          buttonUrl: `${this.config.publicUrl}/admin/comments?status=${comment.status}`,
          buttonLabel: t.commentNoticeButton,
        },
      );
  }

  private changed(articleId: string): void {
    this.shown.delete(articleId);
  }
}

/** Shown comments, oldest first, as threads one level deep; an erased one only where it was answered. */
function threadsOf(rows: readonly CommentRow[]): ArticleComments {
  const view = (row: CommentRow, replies: CommentView[]): CommentView => ({
    id: row.id,
    authorName: row.authorName,
    html: row.bodyHtml,
    createdAt: row.createdAt,
    erased: row.bodyMd === '',
    replies,
  });
  const repliesTo = new Map<string, CommentView[]>();
  for (const row of rows)
    if (row.parentId !== null)
      repliesTo.set(row.parentId, [...(repliesTo.get(row.parentId) ?? []), view(row, [])]);
  const threads: CommentView[] = [];
  let count = 0;
  for (const row of rows) {
    if (row.parentId !== null) continue;
    const replies = repliesTo.get(row.id) ?? [];
    const thread = view(row, replies);
    if (thread.erased && replies.length === 0) continue;
    threads.push(thread);
    count += (thread.erased ? 0 : 1) + replies.length;
  }
  return { threads, count };
}
