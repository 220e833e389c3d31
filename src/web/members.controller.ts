import { Body, Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { InvalidInputException } from '../http/api-error.js';
import { one } from '../http/form-values.js';
import { seeOther, sendHtml } from '../http/html-replies.js';
import type { Messages } from '../i18n/messages.js';
import { MemberCookies } from '../members/member-cookies.js';
import { blogPath, MembersService } from '../members/members.service.js';
import type { PaidSubscriptionRow } from '../database/schema.js';
import { formatMoney } from '../i18n/money.js';
import { PaymentsService } from '../payments/payments.service.js';
import { readerOf } from './blog-readers.js';
import { upgradeUrl } from './blog-view.js';
import { type PageData, PageRenderer, type PageTemplate } from './page-renderer.js';

type Form = Record<string, unknown>;

/** What the sign-in page shows around its form. */
interface SignInView {
  readonly heading: string;
  readonly paragraphs: readonly string[];
  readonly form?: { readonly next: string; readonly email?: string; readonly error?: string };
}

/**
 * Members' side of the blog: ask for a sign-in link, use it, see one's account, sign out. Every
 * answer depends on who asks, so none is kept by any cache.
 */
@ApiExcludeController()
@Controller()
export class MembersController {
  constructor(
    @Inject(MembersService) private readonly members: MembersService,
    @Inject(MemberCookies) private readonly cookies: MemberCookies,
    @Inject(PageRenderer) private readonly renderer: PageRenderer,
    @Inject(PaymentsService) private readonly payments: PaymentsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}
  /** The wording of the publication's locale, as it stands. */
  private get t(): Messages {
    return this.renderer.t;
  }

  private async send<Data extends object>(
    reply: FastifyReply,
    page: PageTemplate,
    title: string,
    data: PageData<Data>,
    status = 200,
  ): Promise<void> {
    await sendHtml(reply, this.renderer.readerPage(page, title, data, '/sign-in'), status);
  }

  private signInPage(reply: FastifyReply, view: SignInView, status = 200): Promise<void> {
    return this.send(reply, 'sign-in', view.heading, view, status);
  }

  private seeOther(reply: FastifyReply, path: string): Promise<void> {
    return seeOther(reply, `${this.config.publicUrl}${path}`);
  }

  @Get('sign-in')
  async signInForm(
    @Req() request: FastifyRequest,
    @Query() query: Form,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const next = blogPath(one(query.next));
    if (await this.members.member(this.cookies.sessionId(request)))
      return this.seeOther(reply, next === '/' ? '/account' : next);
    await this.signInPage(reply, {
      heading: this.t.signInTitle,
      paragraphs: [this.t.signInText],
      form: { next },
    });
  }

  /** Answers the same for a member's address and any other: only the member gets a link. */
  @Post('sign-in')
  async requestLink(
    @Req() request: FastifyRequest,
    @Body() form: Form,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const email = (one(form.email) ?? '').slice(0, 320);
    const next = blogPath(one(form.next));
    try {
      const decision = await this.members.requestSignIn(email, next, request.ip);
      if (!decision.allowed) {
        void reply.header('Retry-After', String(decision.retryAfterSeconds));
        await this.signInPage(reply, { heading: this.t.tooManyTitle, paragraphs: [this.t.tooManyText] }, 429);
        return;
      }
    } catch (error) {
      if (!(error instanceof InvalidInputException)) throw error;
      const problem = error.problems[0]?.message ?? this.t.badRequestTitle;
      return this.signInPage(
        reply,
        {
          heading: this.t.signInTitle,
          paragraphs: [this.t.signInText],
          form: { next, email, error: problem },
        },
        400,
      );
    }
    await this.signInPage(reply, { heading: this.t.signInSentTitle, paragraphs: [this.t.signInSentText] });
  }

  /** Shows a button and signs nobody in, so that a link scanner opening the link uses nothing. */
  @Get('sign-in/:token')
  async linkPage(@Param('token') token: string, @Res() reply: FastifyReply): Promise<void> {
    if (!(await this.members.linkIsLive(token))) return this.invalidLink(reply);
    await this.send(reply, 'message', this.t.signInLinkTitle, {
      heading: this.t.signInLinkTitle,
      paragraphs: [this.t.signInLinkText],
      form: { action: `${this.config.publicUrl}/sign-in/${token}`, button: this.t.signInButton },
    });
  }

  @Post('sign-in/:token')
  async useLink(
    @Req() request: FastifyRequest,
    @Param('token') token: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!this.cookies.sameOrigin(request)) return this.invalidLink(reply, 403);
    const signedIn = await this.members.signIn(token);
    if (!signedIn) return this.invalidLink(reply);
    this.cookies.set(reply, signedIn.sessionId);
    await this.seeOther(reply, signedIn.next === '/' ? '/account' : signedIn.next);
  }

  @Post('sign-out')
  async signOut(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    if (!this.cookies.sameOrigin(request))
      return this.signInPage(reply, { heading: this.t.badRequestTitle, paragraphs: [] }, 403);
    const sessionId = this.cookies.sessionId(request);
    if (sessionId !== undefined) await this.members.signOut(sessionId);
    this.cookies.clear(reply);
    await this.send(reply, 'message', this.t.signedOutTitle, {
      heading: this.t.signedOutTitle,
      paragraphs: [this.t.signedOutText],
    });
  }

  @Get('account')
  async account(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const member = await this.members.member(this.cookies.sessionId(request));
    if (!member) return this.seeOther(reply, '/sign-in?next=%2Faccount');
    const { subscriber } = member;
    const paid = this.payments.enabled ? await this.payments.latestSubscription(subscriber.id) : undefined;
    await this.send(reply, 'account', this.t.accountTitle, {
      reader: readerOf(subscriber),
      member: subscriber,
      premium: subscriber.tier === 'premium',
      payment: paid?.grantsPremium ? this.paymentView(paid) : undefined,
      gift: subscriber.comped ? { until: subscriber.compUntil } : undefined,
      manageBilling: this.payments.enabled && subscriber.externalRef !== null,
      upgradeUrl: upgradeUrl(this.config, '/account'),
      preferencesUrl: this.members.preferencesUrl(subscriber),
    });
  }

  /** A paid subscription as its member reads it on their account page. */
  private paymentView(paid: PaidSubscriptionRow) {
    const money =
      paid.amount > 0 ? ` · ${formatMoney(this.renderer.locale, paid.currency, paid.amount)}` : '';
    const interval = paid.interval === 'year' ? this.t.upgradeYearly : this.t.upgradeMonthly;
    return {
      plan: `${interval}${money}`,
      pastDueUntil: paid.status === 'past_due' ? paid.premiumUntil : null,
      endsAt: paid.cancelAtPeriodEnd ? paid.premiumUntil : null,
      renewsAt: paid.currentPeriodEnd,
    };
  }

  /** A used, expired, forged or mangled link: said plainly, with the form to ask for another. */
  private invalidLink(reply: FastifyReply, status = 400): Promise<void> {
    return this.signInPage(
      reply,
      { heading: this.t.linkInvalidTitle, paragraphs: [this.t.signInLinkInvalid], form: { next: '/' } },
      status,
    );
  }
}
