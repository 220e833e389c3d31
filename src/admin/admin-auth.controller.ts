import { Body, Controller, Get, Inject, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fill } from '../i18n/admin-messages.js';
import { AdminAuthService } from './admin-auth.service.js';
import { AdminRenderer } from './admin-renderer.js';
import { problemsByField } from './desk-form-errors.js';
import { Desk, type DeskContext } from './desk-context.js';
import { DeskCookies } from './desk-cookies.js';
import { DeskExceptionFilter } from './desk-exception.filter.js';
import { deskPath, one, seeOther } from './desk-http.js';
import { DeskSessionGuard } from './desk-session.guard.js';

type Form = Record<string, unknown>;

/** Sign-in, sign-out and the first-run setup that creates the owner. */
@ApiExcludeController()
@UseFilters(DeskExceptionFilter)
@Controller('admin')
export class AdminAuthController {
  constructor(
    @Inject(AdminAuthService) private readonly auth: AdminAuthService,
    @Inject(AdminRenderer) private readonly renderer: AdminRenderer,
    @Inject(DeskCookies) private readonly cookies: DeskCookies,
  ) {}

  private signInPage(
    request: FastifyRequest,
    reply: FastifyReply,
    data: { next: string; email?: string; error?: string; notice?: string },
    status = 200,
  ): Promise<void> {
    return this.renderer.send(
      reply,
      'sign-in',
      { title: this.renderer.t.signInTitle, notice: data.notice },
      { ...data, formToken: this.cookies.formToken(request, reply) },
      status,
    );
  }

  @Get('sign-in')
  async signInForm(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Query() query: Form,
  ): Promise<void> {
    if (await this.auth.needsSetup()) return seeOther(reply, '/admin/setup');
    const next = deskPath(one(query.next));
    if (await this.auth.resolve(this.cookies.sessionId(request))) return seeOther(reply, next);
    const t = this.renderer.t;
    const notice = one(query.expired) ? t.sessionExpired : one(query['signed-out']) ? t.signedOut : undefined;
    await this.signInPage(request, reply, { next, notice });
  }

  @Post('sign-in')
  async signIn(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Body() form: Form,
  ): Promise<void> {
    const t = this.renderer.t;
    const next = deskPath(one(form.next));
    const email = one(form.email) ?? '';
    if (!this.cookies.formTokenMatches(request, form._csrf)) {
      return this.signInPage(request, reply, { next, email, error: t.forbidden }, 403);
    }
    const outcome = await this.auth.signIn(email, one(form.password) ?? '', request.ip);
    switch (outcome.kind) {
      case 'throttled': {
        void reply.header('Retry-After', String(outcome.retryAfterSeconds));
        const error = fill(t.signInThrottled, { seconds: outcome.retryAfterSeconds });
        return this.signInPage(request, reply, { next, email, error }, 429);
      }
      case 'refused':
        return this.signInPage(request, reply, { next, email, error: t.signInRefused }, 401);
      case 'signed-in':
        this.cookies.setSession(reply, outcome.sessionId);
        return seeOther(reply, next);
    }
  }

  @Post('sign-out')
  @UseGuards(DeskSessionGuard)
  async signOut(@Desk() desk: DeskContext, @Res() reply: FastifyReply): Promise<void> {
    await this.auth.signOut(desk.sessionId);
    this.cookies.clearSession(reply);
    await seeOther(reply, '/admin/sign-in?signed-out=1');
  }

  @Get('setup')
  async setupForm(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    if (!(await this.auth.needsSetup())) return seeOther(reply, '/admin/sign-in');
    await this.renderer.send(
      reply,
      'setup',
      { title: this.renderer.t.setupTitle },
      { formToken: this.cookies.formToken(request, reply), form: {}, errors: {} },
    );
  }

  @Post('setup')
  async setup(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Body() form: Form): Promise<void> {
    const t = this.renderer.t;
    const input = {
      email: one(form.email) ?? '',
      name: one(form.name) ?? '',
      password: one(form.password) ?? '',
      passwordAgain: one(form.password_again) ?? '',
    };
    const render = (errors: Record<string, string>, status: number): Promise<void> =>
      this.renderer.send(
        reply,
        'setup',
        { title: t.setupTitle },
        {
          formToken: this.cookies.formToken(request, reply),
          form: { email: input.email, name: input.name },
          errors,
        },
        status,
      );
    if (!this.cookies.formTokenMatches(request, form._csrf)) return render({ form: t.forbidden }, 403);
    const outcome = await this.auth.setup(input);
    switch (outcome.kind) {
      case 'invalid':
        return render(problemsByField(outcome.problems, this.renderer.t), 400);
      case 'done-already':
        return seeOther(reply, '/admin/sign-in');
      case 'created':
        this.cookies.setSession(reply, outcome.sessionId);
        return seeOther(reply, '/admin');
    }
  }
}
