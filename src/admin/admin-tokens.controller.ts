import {
  Body,
  Controller,
  Get,
  Inject,
  NotFoundException,
  Param,
  Post,
  Res,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { TOKEN_SCOPES } from '../database/schema.js';
import { ApiTokensRepository, type IssuedToken } from '../editors/api-tokens.repository.js';
import { uuidParam } from '../http/validation.js';
import { isSingleLine } from '../lib/single-line.js';
import { AdminRenderer } from './admin-renderer.js';
import { Desk, type DeskContext } from './desk-context.js';
import { DeskExceptionFilter } from './desk-exception.filter.js';
import { one, seeOther } from './desk-http.js';
import { DeskSessionGuard } from './desk-session.guard.js';

type Form = Record<string, unknown>;
const uuid = uuidParam('a token');

/** API tokens for the editor API: made here, shown once, stored as hashes, revoked here. */
@ApiExcludeController()
@UseFilters(DeskExceptionFilter)
@UseGuards(DeskSessionGuard)
@Controller('admin/tokens')
export class AdminTokensController {
  constructor(
    @Inject(ApiTokensRepository) private readonly tokens: ApiTokensRepository,
    @Inject(AdminRenderer) private readonly renderer: AdminRenderer,
  ) {}

  @Get()
  async list(@Desk() desk: DeskContext, @Res() reply: FastifyReply): Promise<void> {
    await this.page(reply, desk);
  }

  /** Answers the page itself rather than a redirect, so the secret is never in a URL or history. */
  @Post()
  async create(@Desk() desk: DeskContext, @Body() form: Form, @Res() reply: FastifyReply): Promise<void> {
    const name = (one(form.name) ?? '').trim();
    const scope = TOKEN_SCOPES.find((s) => s === one(form.scope));
    const errors: Record<string, string> = {};
    if (name === '' || name.length > 100 || !isSingleLine(name))
      errors.name = 'must be one line of 1 to 100 characters';
    if (!scope) errors.scope = 'must be read or write';
    if (!scope || Object.keys(errors).length > 0) return this.page(reply, desk, undefined, errors, 400);
    await this.page(reply, desk, await this.tokens.issue(desk.editor.id, name, scope));
  }

  @Post(':id/revoke')
  async revoke(
    @Desk() desk: DeskContext,
    @Param('id', uuid) id: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!(await this.tokens.revoke(desk.editor.id, id))) throw new NotFoundException(`No live token ${id}`);
    await seeOther(reply, '/admin/tokens');
  }

  private async page(
    reply: FastifyReply,
    desk: DeskContext,
    issued?: IssuedToken,
    errors: Record<string, string> = {},
    status = 200,
  ): Promise<void> {
    const t = this.renderer.t;
    await this.renderer.send(
      reply,
      'tokens',
      { title: t.tokens, section: 'tokens', desk },
      { tokens: await this.tokens.listFor(desk.editor.id), issued, errors, scopes: TOKEN_SCOPES },
      status,
    );
  }
}
