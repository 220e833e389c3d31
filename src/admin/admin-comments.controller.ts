import {
  Body,
  Controller,
  Get,
  Inject,
  Param,
  Post,
  Query,
  Res,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CommentsService } from '../comments/comments.service.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { COMMENT_STATUSES, type CommentStatus } from '../database/schema.js';
import { uuidParam } from '../http/validation.js';
import { AdminRenderer } from './admin-renderer.js';
import { Desk, type DeskContext } from './desk-context.js';
import { DeskExceptionFilter } from './desk-exception.filter.js';
import { DeskMissing } from './desk-form-errors.js';
import { one, seeOther } from './desk-http.js';
import { DeskSessionGuard } from './desk-session.guard.js';

type Form = Record<string, unknown>;
const uuid = uuidParam('a comment');
const PAGE_SIZE = 30;

/** A status filter from a query or a form: one of the statuses, or all of them. */
function statusIn(value: unknown): CommentStatus | undefined {
  return COMMENT_STATUSES.find((status) => status === one(value));
}

/** The desk's comments: what waits for approval, what is shown, what was hidden; and moderation. */
@ApiExcludeController()
@UseFilters(DeskExceptionFilter)
@UseGuards(DeskSessionGuard)
@Controller('admin/comments')
export class AdminCommentsController {
  constructor(
    @Inject(CommentsService) private readonly comments: CommentsService,
    @Inject(AdminRenderer) private readonly renderer: AdminRenderer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  async list(@Desk() desk: DeskContext, @Query() query: Form, @Res() reply: FastifyReply): Promise<void> {
    // What waits is what an editor comes for: the default.
    const status = one(query.status) === 'all' ? undefined : (statusIn(query.status) ?? 'pending');
    const page = Math.max(1, Math.min(100_000, Number.parseInt(one(query.page) ?? '1', 10) || 1));
    const [result, counts] = await Promise.all([
      this.comments.page(status, PAGE_SIZE, (page - 1) * PAGE_SIZE),
      this.comments.countsByStatus(),
    ]);
    const filter = status ?? 'all';
    await this.renderer.send(
      reply,
      'comments',
      { title: this.renderer.t.comments, section: 'comments', desk },
      {
        comments: result.items.map((comment) => ({
          ...comment,
          articleUrl: `${this.config.publicUrl}/articles/${comment.articleSlug}#comment-${comment.id}`,
          erased: comment.bodyMd === '',
        })),
        filter,
        tabs: [
          ...COMMENT_STATUSES.map((value) => ({ value, count: counts[value], current: value === filter })),
          { value: 'all', current: filter === 'all' },
        ],
        nextPage: page * PAGE_SIZE < result.total ? page + 1 : undefined,
        previousPage: page > 1 ? page - 1 : undefined,
      },
    );
  }

  @Post(':id/approve')
  approve(@Param('id', uuid) id: string, @Body() form: Form, @Res() reply: FastifyReply): Promise<void> {
    return this.moderated(reply, form, this.comments.moderate(id, 'approved'));
  }

  @Post(':id/hide')
  hide(@Param('id', uuid) id: string, @Body() form: Form, @Res() reply: FastifyReply): Promise<void> {
    return this.moderated(reply, form, this.comments.moderate(id, 'hidden'));
  }

  @Post(':id/delete')
  delete(@Param('id', uuid) id: string, @Body() form: Form, @Res() reply: FastifyReply): Promise<void> {
    return this.moderated(reply, form, this.comments.delete(id));
  }

  /** Back to the list the editor was reading; a comment gone meanwhile is a 404 said in words. */
  private async moderated(reply: FastifyReply, form: Form, done: Promise<boolean>): Promise<void> {
    if (!(await done)) throw new DeskMissing(this.renderer.t.commentGone);
    const filter = one(form.filter) === 'all' ? 'all' : (statusIn(form.filter) ?? 'pending');
    await seeOther(reply, `/admin/comments?status=${filter}`);
  }
}
