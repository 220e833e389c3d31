import { Body, Controller, Get, Inject, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DeskAccounts, type LinkOutcome } from '../desk-accounts/desk-accounts.service.js';
import { fill } from '../i18n/admin-messages.js';
import { AdminAuthService } from './admin-auth.service.js';
import { AdminRenderer } from './admin-renderer.js';
import { DeskCookies } from './desk-cookies.js';
import { DeskExceptionFilter } from './desk-exception.filter.js';
import { problemsByField } from './desk-form-errors.js';
import { one, seeOther } from './desk-http.js';

type Form = Record<string, unknown>;

/** What a page about a mailed link shows: a heading, some lines, and maybe a form. */
interface LinkPage {
  readonly heading: string;
  readonly paragraphs?: readonly string[];
  readonly error?: string;
  readonly again?: boolean;
  readonly form?: {
    readonly action: string;
    readonly button: string;
    readonly email?: boolean;
    readonly emailValue?: string;
    readonly name?: boolean;
    readonly nameValue?: string;
    readonly password?: boolean;
  };
  readonly errors?: Record<string, string>;
}

/**
 * The desk's doors for people without a session: asking for a password reset link, using it,
 * and making one's account from an invitation. Each form carries the desk's pre-session token.
 */
@ApiExcludeController()
@UseFilters(DeskExceptionFilter)
@Controller('admin')
export class AdminAccountLinksController {
  constructor(
    @Inject(DeskAccounts) private readonly accounts: DeskAccounts,
    @Inject(AdminAuthService) private readonly auth: AdminAuthService,
    @Inject(AdminRenderer) private readonly renderer: AdminRenderer,
    @Inject(DeskCookies) private readonly cookies: DeskCookies,
  ) {}

  private page(request: FastifyRequest, reply: FastifyReply, view: LinkPage, status = 200): Promise<void> {
    return this.renderer.send(
      reply,
      'desk-link',
      { title: view.heading },
      { ...view, formToken: this.cookies.formToken(request, reply) },
      status,
    );
  }

  private gone(request: FastifyRequest, reply: FastifyReply, again: boolean): Promise<void> {
    const t = this.renderer.t;
    return this.page(request, reply, { heading: t.linkGone, again }, 410);
  }

  @Get('forgot-password')
  forgotForm(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.page(request, reply, this.forgotView());
  }

  private forgotView(email = ''): LinkPage {
    const t = this.renderer.t;
    return {
      heading: t.forgotTitle,
      paragraphs: [t.forgotText],
      form: { action: '/admin/forgot-password', button: t.forgotSend, email: true, emailValue: email },
    };
  }

  /** The same answer for every address: only an editor's gets a link. */
  @Post('forgot-password')
  async forgot(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Body() form: Form,
  ): Promise<void> {
    const t = this.renderer.t;
    const email = (one(form.email) ?? '').slice(0, 320);
    if (!this.cookies.formTokenMatches(request, form._csrf))
      return this.page(request, reply, { ...this.forgotView(email), error: t.forbidden }, 403);
    const decision = await this.accounts.requestReset(email, request.ip);
    if (!decision.allowed) {
      void reply.header('Retry-After', String(decision.retryAfterSeconds));
      const error = fill(t.signInThrottled, { seconds: decision.retryAfterSeconds });
      return this.page(request, reply, { ...this.forgotView(email), error }, 429);
    }
    await this.page(request, reply, { heading: t.forgotTitle, paragraphs: [t.forgotSent] });
  }

  @Get('reset-password/:token')
  async resetForm(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Param('token') token: string,
  ): Promise<void> {
    const editor = await this.accounts.openReset(token);
    if (!editor) return this.gone(request, reply, true);
    await this.page(request, reply, this.resetView(token, editor.email));
  }

  private resetView(token: string, email: string, errors: Record<string, string> = {}): LinkPage {
    const t = this.renderer.t;
    return {
      heading: t.resetTitle,
      paragraphs: [fill(t.resetText, { email })],
      form: { action: `/admin/reset-password/${token}`, button: t.resetSave, password: true },
      errors,
    };
  }

  @Post('reset-password/:token')
  async reset(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Param('token') token: string,
    @Body() form: Form,
  ): Promise<void> {
    const editor = await this.accounts.openReset(token);
    if (!editor) return this.gone(request, reply, true);
    if (!this.cookies.formTokenMatches(request, form._csrf))
      return this.page(
        request,
        reply,
        { ...this.resetView(token, editor.email), error: this.renderer.t.forbidden },
        403,
      );
    const outcome = await this.accounts.reset(
      token,
      one(form.password) ?? '',
      one(form.password_again) ?? '',
    );
    return this.finish(
      request,
      reply,
      outcome,
      (errors) => this.resetView(token, editor.email, errors),
      true,
    );
  }

  @Get('invitation/:token')
  async invitationForm(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Param('token') token: string,
  ): Promise<void> {
    const invitation = await this.accounts.openInvitation(token);
    if (!invitation) return this.gone(request, reply, false);
    await this.page(request, reply, this.invitationView(token, invitation, invitation.name));
  }

  private invitationView(
    token: string,
    invitation: { email: string; invitedBy: string },
    name: string,
    errors: Record<string, string> = {},
  ): LinkPage {
    const t = this.renderer.t;
    return {
      heading: t.invitationTitle,
      paragraphs: [fill(t.invitationText, { inviter: invitation.invitedBy, email: invitation.email })],
      form: {
        action: `/admin/invitation/${token}`,
        button: t.invitationSave,
        name: true,
        nameValue: name,
        password: true,
      },
      errors,
    };
  }

  @Post('invitation/:token')
  async accept(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Param('token') token: string,
    @Body() form: Form,
  ): Promise<void> {
    const invitation = await this.accounts.openInvitation(token);
    if (!invitation) return this.gone(request, reply, false);
    const name = one(form.name) ?? '';
    if (!this.cookies.formTokenMatches(request, form._csrf))
      return this.page(
        request,
        reply,
        { ...this.invitationView(token, invitation, name), error: this.renderer.t.forbidden },
        403,
      );
    const outcome = await this.accounts.acceptInvitation(token, {
      name,
      password: one(form.password) ?? '',
      passwordAgain: one(form.password_again) ?? '',
    });
    return this.finish(
      request,
      reply,
      outcome,
      (errors) => this.invitationView(token, invitation, name, errors),
      false,
    );
  }

  /** A link used: the editor is signed in on this browser; a refused form shows again, said why. */
  private async finish(
    request: FastifyRequest,
    reply: FastifyReply,
    outcome: LinkOutcome,
    again: (errors: Record<string, string>) => LinkPage,
    reset: boolean,
  ): Promise<void> {
    switch (outcome.kind) {
      case 'gone':
        return this.gone(request, reply, reset);
      case 'invalid':
        return this.page(request, reply, again(problemsByField(outcome.problems, this.renderer.t)), 400);
      case 'done': {
        const { id } = await this.auth.startSession(outcome.editor.id);
        this.cookies.setSession(reply, id);
        return seeOther(reply, '/admin');
      }
    }
  }
}
