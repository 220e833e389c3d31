import {
  Body,
  Controller,
  Get,
  Inject,
  NotFoundException,
  Param,
  Post,
  Query,
  Res,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { EditorsRepository } from '../editors/editors.repository.js';
import { uuidParam } from '../http/validation.js';
import { AdminAuthService } from './admin-auth.service.js';
import { AdminRenderer } from './admin-renderer.js';
import { DeskMissing, problemsByField, DeskRefusal } from './desk-form-errors.js';
import { DeskAccounts } from '../desk-accounts/desk-accounts.service.js';
import { Desk, type DeskContext } from './desk-context.js';
import { DeskCookies } from './desk-cookies.js';
import { DeskExceptionFilter } from './desk-exception.filter.js';
import { one, seeOther } from './desk-http.js';
import { DeskSessionGuard } from './desk-session.guard.js';

type Form = Record<string, unknown>;
const uuid = uuidParam('an editor');

/** Who works on the desk: the owner adds and removes editors; everyone changes their password. */
@ApiExcludeController()
@UseFilters(DeskExceptionFilter)
@UseGuards(DeskSessionGuard)
@Controller('admin')
export class AdminTeamController {
  constructor(
    @Inject(AdminAuthService) private readonly auth: AdminAuthService,
    @Inject(EditorsRepository) private readonly editors: EditorsRepository,
    @Inject(AdminRenderer) private readonly renderer: AdminRenderer,
    @Inject(DeskCookies) private readonly cookies: DeskCookies,
    @Inject(DeskAccounts) private readonly accounts: DeskAccounts,
  ) {}

  @Get('team')
  async team(@Desk() desk: DeskContext, @Query() query: Form, @Res() reply: FastifyReply): Promise<void> {
    const t = this.renderer.t;
    const notice = one(query.added) ? t.editorAdded : one(query.invited) ? t.editorInvited : undefined;
    await this.teamPage(reply, desk, {}, {}, 200, notice);
  }

  @Post('team/invitations/withdraw')
  async withdraw(@Desk() desk: DeskContext, @Body() form: Form, @Res() reply: FastifyReply): Promise<void> {
    if (desk.editor.role !== 'owner') throw new DeskRefusal(this.renderer.t.ownerOnly);
    if (!(await this.accounts.withdraw(one(form.email) ?? '')))
      throw new DeskMissing(this.renderer.t.linkGone);
    await seeOther(reply, '/admin/team');
  }

  @Post('team')
  async add(@Desk() desk: DeskContext, @Body() form: Form, @Res() reply: FastifyReply): Promise<void> {
    const input = {
      email: one(form.email) ?? '',
      name: one(form.name) ?? '',
      password: one(form.password) ?? '',
      passwordAgain: one(form.password_again) ?? '',
    };
    if (desk.editor.role !== 'owner') throw new DeskRefusal(this.renderer.t.ownerOnly);
    // No password: the person is invited by email and chooses their own.
    const outcome =
      input.password === '' && input.passwordAgain === ''
        ? await this.accounts.invite(desk.editor, input)
        : await this.auth.addEditor(desk.editor, input);
    switch (outcome.kind) {
      case 'forbidden':
        throw new DeskRefusal(this.renderer.t.ownerOnly);
      case 'invited':
        return seeOther(reply, '/admin/team?invited=1');
      case 'invalid':
        return this.teamPage(
          reply,
          desk,
          { email: input.email, name: input.name },
          problemsByField(outcome.problems, this.renderer.t),
          400,
        );
      case 'created':
        return seeOther(reply, '/admin/team?added=1');
    }
  }

  @Post('team/:id/remove')
  async remove(
    @Desk() desk: DeskContext,
    @Param('id', uuid) id: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const outcome = await this.auth.removeEditor(desk.editor, id);
    if (outcome === 'forbidden') throw new DeskRefusal(this.renderer.t.ownerOnly);
    if (outcome === 'not-found') throw new NotFoundException(`No editor ${id} that can be removed`);
    await seeOther(reply, '/admin/team');
  }

  @Get('account')
  async account(@Desk() desk: DeskContext, @Query() query: Form, @Res() reply: FastifyReply): Promise<void> {
    await this.accountPage(
      reply,
      desk,
      {},
      200,
      one(query.changed) ? this.renderer.t.passwordChanged : undefined,
    );
  }

  @Post('account/password')
  async changePassword(
    @Desk() desk: DeskContext,
    @Body() form: Form,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const outcome = await this.auth.changePassword(
      desk.editor,
      one(form.current_password) ?? '',
      one(form.password) ?? '',
      one(form.password_again) ?? '',
    );
    if (outcome.kind === 'invalid')
      return this.accountPage(reply, desk, problemsByField(outcome.problems, this.renderer.t), 400);
    this.cookies.setSession(reply, outcome.sessionId);
    await seeOther(reply, '/admin/account?changed=1');
  }

  private async teamPage(
    reply: FastifyReply,
    desk: DeskContext,
    form: Record<string, string>,
    errors: Record<string, string>,
    status = 200,
    notice?: string,
  ): Promise<void> {
    const t = this.renderer.t;
    await this.renderer.send(
      reply,
      'team',
      { title: t.team, section: 'team', desk, notice },
      {
        editors: await this.editors.list(),
        invitations: (await this.accounts.pending()).map((invitation) => ({
          ...invitation,
          invitedAt: new Date(invitation.invitedAt),
        })),
        owner: desk.editor.role === 'owner',
        form,
        errors,
      },
      status,
    );
  }

  private async accountPage(
    reply: FastifyReply,
    desk: DeskContext,
    errors: Record<string, string>,
    status = 200,
    notice?: string,
  ): Promise<void> {
    const t = this.renderer.t;
    await this.renderer.send(
      reply,
      'account',
      { title: t.account, section: 'account', desk, notice },
      { editor: desk.editor, errors },
      status,
    );
  }
}
