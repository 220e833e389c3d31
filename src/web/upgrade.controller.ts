import { Body, ConflictException, Controller, Get, Inject, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { SubscriberRow } from '../database/schema.js';
import { InvalidInputException } from '../http/api-error.js';
import { one } from '../http/form-values.js';
import { seeOther, sendHtml } from '../http/html-replies.js';
import type { Messages } from '../i18n/messages.js';
import { formatMoney } from '../i18n/money.js';
import { MemberCookies } from '../members/member-cookies.js';
import { blogPath, MembersService } from '../members/members.service.js';
import { PaymentsService } from '../payments/payments.service.js';
import { RateLimiter } from '../redis/rate-limiter.js';
import { PaymentProviderError, type Price } from '../payments/stripe-gateway.js';
import { type BlogReader, readerOf } from './blog-readers.js';
import { type PageData, PageRenderer, type PageTemplate } from './page-renderer.js';

type Form = Record<string, unknown>;

interface UpgradeForm {
  readonly next: string;
  readonly plan?: string;
  readonly email?: string;
  readonly error?: { readonly plan?: string; readonly email?: string };
}

/**
 * Going premium: the upgrade page (plans, what premium gives, one button), Stripe's checkout, the
 * way back from it, and the billing portal from "my account". With payments off, the page sends
 * readers to PREMIUM_URL.
 */
@ApiExcludeController()
@Controller()
export class UpgradeController {
  constructor(
    @Inject(PaymentsService) private readonly payments: PaymentsService,
    @Inject(MembersService) private readonly members: MembersService,
    @Inject(MemberCookies) private readonly cookies: MemberCookies,
    @Inject(PageRenderer) private readonly renderer: PageRenderer,
    @Inject(RateLimiter) private readonly rateLimiter: RateLimiter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}
  /** The wording of the publication's locale, as it stands. */
  private get t(): Messages {
    return this.renderer.t;
  }

  private async send<Data extends object>(
    reply: FastifyReply,
    page: PageTemplate,
    heading: string,
    data: PageData<Data>,
    status = 200,
  ): Promise<void> {
    await sendHtml(reply, this.renderer.readerPage(page, heading, data, '/upgrade'), status);
  }

  private message(reply: FastifyReply, heading: string, text: string, member: boolean, status = 200) {
    const reader: BlogReader = { audience: 'public', member, viaEmailLink: false };
    return this.send(reply, 'message', heading, { heading, paragraphs: [text], reader }, status);
  }

  private plansView(plans: readonly Price[], chosen: string | undefined) {
    const money = (price: Price, amount: number) => formatMoney(this.renderer.locale, price.currency, amount);
    return plans.map((price, index) => ({
      interval: price.interval,
      name: price.interval === 'month' ? this.t.upgradeMonthly : this.t.upgradeYearly,
      price: money(price, price.amount),
      per: price.interval === 'month' ? this.t.upgradePerMonth : this.t.upgradePerYear,
      equals:
        price.interval === 'year'
          ? this.t.upgradeYearlyEquals.replace('{amount}', money(price, Math.round(price.amount / 12)))
          : undefined,
      checked: chosen === undefined ? index === 0 : chosen === price.interval,
    }));
  }

  private async upgradePage(
    reply: FastifyReply,
    member: SubscriberRow | undefined,
    form: UpgradeForm,
    status = 200,
  ): Promise<void> {
    const [plans, offer] = await Promise.all([this.payments.plans(), this.payments.offer()]);
    await this.send(
      reply,
      'upgrade',
      this.t.upgradeTitle,
      {
        reader: readerOf(member),
        member,
        plans: this.plansView(plans, form.plan),
        benefits: offer.benefits,
        next: form.next,
        nextEncoded: encodeURIComponent(form.next),
        email: form.email,
        error: form.error,
      },
      status,
    );
  }

  /** Runs a page that needs Stripe; Stripe out of reach gets a page that says so, not a 500. */
  private async withStripe(reply: FastifyReply, member: boolean, run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      if (!(error instanceof PaymentProviderError)) throw error;
      await this.message(reply, this.t.upgradeUnavailableTitle, this.t.upgradeUnavailableText, member, 503);
    }
  }

  @Get('upgrade')
  async page(
    @Req() request: FastifyRequest,
    @Query() query: Form,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!this.payments.enabled) return seeOther(reply, this.config.premiumUrl);
    const member = (await this.members.member(this.cookies.sessionId(request)))?.subscriber;
    if (member?.tier === 'premium')
      return this.message(reply, this.t.upgradeAlreadyTitle, this.t.upgradeAlreadyText, true);
    await this.withStripe(reply, member !== undefined, () =>
      this.upgradePage(reply, member, { next: blogPath(one(query.next)) }),
    );
  }

  /** Opens Stripe's checkout for the chosen plan, for the member or the address given. */
  @Post('upgrade')
  async checkout(
    @Req() request: FastifyRequest,
    @Body() form: Form,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!this.payments.enabled) return seeOther(reply, this.config.premiumUrl);
    const member = (await this.members.member(this.cookies.sessionId(request)))?.subscriber;
    // Each try opens a checkout at Stripe: a client gets as many as it gets sign-in links.
    const allowed = await this.rateLimiter.hit('checkout-client', request.ip, this.config.signInRateLimit);
    if (!allowed.allowed) {
      void reply.header('Retry-After', String(allowed.retryAfterSeconds));
      return this.message(reply, this.t.tooManyTitle, this.t.tooManyText, member !== undefined, 429);
    }
    const view: UpgradeForm = {
      next: blogPath(one(form.next)),
      plan: one(form.plan),
      email: (one(form.email) ?? '').slice(0, 320),
    };
    await this.withStripe(reply, member !== undefined, async () => {
      try {
        const url = await this.payments.checkout({
          interval: view.plan,
          member,
          email: view.email,
          next: view.next,
        });
        await seeOther(reply, url);
      } catch (error) {
        if (error instanceof ConflictException)
          return this.message(reply, this.t.upgradeAlreadyTitle, this.t.upgradeAlreadyText, true, 409);
        if (!(error instanceof InvalidInputException)) throw error;
        const errors = Object.fromEntries(error.problems.map((problem) => [problem.field, problem.message]));
        await this.upgradePage(reply, member, { ...view, error: errors }, 400);
      }
    });
  }

  /**
   * Back from Stripe's checkout. The payment is applied now, webhook or not; the reader goes back to
   * the article, signed in when this payment made them a member, else asked to sign in by email.
   */
  @Get('upgrade/done')
  async done(
    @Req() request: FastifyRequest,
    @Query() query: Form,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!this.payments.enabled) return seeOther(reply, this.config.premiumUrl);
    const next = blogPath(one(query.next));
    const current = await this.members.member(this.cookies.sessionId(request));
    await this.withStripe(reply, current !== undefined, async () => {
      const completed = await this.payments.completeCheckout(one(query.session_id) ?? '');
      if (!completed)
        return this.message(
          reply,
          this.t.upgradePendingTitle,
          this.t.upgradePendingText,
          current !== undefined,
        );
      if (current?.subscriber.id === completed.subscriber.id)
        return seeOther(reply, `${this.config.publicUrl}${next}`);
      if (completed.signIn) {
        this.cookies.set(reply, await this.members.startSession(completed.subscriber.id));
        return seeOther(reply, `${this.config.publicUrl}${next}`);
      }
      await this.members.offerSignIn(completed.subscriber.email, next);
      await this.message(reply, this.t.upgradeDoneTitle, this.t.upgradeDoneSignIn, current !== undefined);
    });
  }

  /** Stripe's customer portal: card, invoices, cancellation. */
  @Post('account/billing')
  async billing(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    if (!this.cookies.sameOrigin(request))
      return this.message(reply, this.t.badRequestTitle, this.t.badRequestTitle, false, 403);
    const member = await this.members.member(this.cookies.sessionId(request));
    if (!member) return seeOther(reply, `${this.config.publicUrl}/sign-in?next=%2Faccount`);
    if (!this.payments.enabled || !member.subscriber.externalRef)
      return seeOther(reply, `${this.config.publicUrl}/account`);
    await this.withStripe(reply, true, async () =>
      seeOther(reply, await this.payments.billingPortal(member.subscriber)),
    );
  }
}
