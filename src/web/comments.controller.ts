import { Body, Controller, Inject, NotFoundException, Param, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CommentingState } from '../comments/comment-rules.js';
import { CommentsService } from '../comments/comments.service.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { one } from '../http/form-values.js';
import { seeOther, sendHtml } from '../http/html-replies.js';
import { MemberCookies } from '../members/member-cookies.js';
import { ArticlePages, type CommentFormState } from './article-pages.js';
import { BlogReaders } from './blog-readers.js';
import { articleUrl, parseSlug } from './blog-view.js';
import { PageRenderer } from './page-renderer.js';

/** Why a comment was not taken, as the page says it above the comments. */
const REFUSAL_WORDS = {
  off: 'commentsClosed',
  closed: 'commentsClosed',
  'sign-in': 'commentsSignIn',
  'premium-only': 'commentsPremiumOnly',
} as const satisfies Record<Exclude<CommentingState, 'open'>, string>;

/**
 * A member's comment, sent from an article page. Taken: back to the page (a GET), with thanks.
 * Not taken: the page again, with the form as it was sent and the reason beside the field.
 */
@ApiExcludeController()
@Controller()
export class CommentsController {
  constructor(
    @Inject(BlogReaders) private readonly readers: BlogReaders,
    @Inject(CommentsService) private readonly comments: CommentsService,
    @Inject(MemberCookies) private readonly cookies: MemberCookies,
    @Inject(ArticlePages) private readonly pages: ArticlePages,
    @Inject(PageRenderer) private readonly renderer: PageRenderer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('articles/:slug/comments')
  async post(
    @Req() request: FastifyRequest,
    @Param('slug') slugParam: string,
    @Body() body: Record<string, unknown> | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const read = await this.readers.readArticle(request, reply, parseSlug(slugParam, 'article'));
    if (!read) throw new NotFoundException('No such article');
    const row = read.article;
    const t = this.renderer.t;
    const form = {
      body: one(body?.body) ?? '',
      name: one(body?.name) ?? '',
      parent: one(body?.parent) ?? '',
      website: one(body?.website) ?? '',
    };
    const values = { body: form.body, name: form.name, parent: form.parent };
    const again = (state: CommentFormState, status: number) =>
      this.pages
        .render(read, { values, replyTo: form.parent || undefined, ...state })
        .then((html) => sendHtml(reply, html, status));
    // A form posted from another site is not the member's doing.
    if (!this.cookies.sameOrigin(request)) return again({ notice: t.badRequestTitle }, 403);
    const outcome = await this.comments.post(row, read.member, form, request.ip);
    const page = articleUrl(this.config, row.slug);
    switch (outcome.kind) {
      case 'stored': {
        const { id, status } = outcome.comment;
        return seeOther(
          reply,
          `${page}?comment=${status}#${status === 'approved' ? `comment-${id}` : 'comments'}`,
        );
      }
      case 'ignored':
        return seeOther(reply, `${page}?comment=pending#comments`);
      case 'refused':
        return again({ notice: t[REFUSAL_WORDS[outcome.state]] }, outcome.state === 'sign-in' ? 401 : 403);
      case 'invalid':
        return again({ problems: outcome.problems }, 400);
      case 'too-many':
        void reply.header('Retry-After', String(outcome.retryAfterSeconds));
        return again({ notice: t.commentsTooMany }, 429);
    }
  }
}
