import { Body, Controller, Get, Inject, Post, Query, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { PublicationSettings } from '../settings/publication-settings.js';
import { formatMoney, parseMoney } from '../i18n/money.js';
import { MAX_GRACE_DAYS, PaymentsService, USED_STRIPE_EVENTS } from '../payments/payments.service.js';
import { PaymentProviderError, type Price } from '../payments/stripe-gateway.js';
import { offerLines } from '../settings/settings.repository.js';
import { AdminRenderer } from './admin-renderer.js';
import { Desk, type DeskContext } from './desk-context.js';
import { DeskExceptionFilter } from './desk-exception.filter.js';
import { formProblems } from './desk-form-errors.js';
import { one, seeOther } from './desk-http.js';
import { DeskSessionGuard } from './desk-session.guard.js';

type Form = Record<string, unknown>;

interface PricesForm {
  readonly monthly?: string;
  readonly yearly?: string;
  readonly graceDays?: string;
  readonly offer?: string;
}

/** The desk's payments page: the premium prices, and how Stripe is wired to the publication. */
@ApiExcludeController()
@UseFilters(DeskExceptionFilter)
@UseGuards(DeskSessionGuard)
@Controller('admin/payments')
export class AdminPaymentsController {
  constructor(
    @Inject(PaymentsService) private readonly payments: PaymentsService,
    @Inject(AdminRenderer) private readonly renderer: AdminRenderer,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  async show(@Desk() desk: DeskContext, @Query() query: Form, @Res() reply: FastifyReply): Promise<void> {
    const t = this.renderer.t;
    const notices: Readonly<Record<string, string>> = {
      '1': t.paymentsPricesSaved,
      grace: t.saved,
      offer: t.paymentsOfferSaved,
    };
    await this.page(reply, desk, {}, {}, 200, notices[one(query.saved) ?? '']);
  }

  /** New prices: created in Stripe in the publication's currency, and offered from now on. */
  @Post('prices')
  async setPrices(@Desk() desk: DeskContext, @Body() form: Form, @Res() reply: FastifyReply): Promise<void> {
    const t = this.renderer.t;
    const input: PricesForm = { monthly: one(form.monthly) ?? '', yearly: one(form.yearly) ?? '' };
    const monthly = parseMoney(this.config.currency, input.monthly ?? '');
    const yearly = parseMoney(this.config.currency, input.yearly ?? '');
    const errors = {
      ...(monthly === undefined || monthly === 0 ? { monthly: t.paymentsAmountInvalid } : {}),
      ...(yearly === undefined || yearly === 0 ? { yearly: t.paymentsAmountInvalid } : {}),
    };
    if (
      !this.payments.enabled ||
      monthly === undefined ||
      yearly === undefined ||
      Object.keys(errors).length > 0
    )
      return this.page(reply, desk, input, errors, 400);
    try {
      await this.payments.setPrices(monthly, yearly);
    } catch (error) {
      if (!(error instanceof PaymentProviderError)) throw error;
      return this.page(reply, desk, input, { form: error.message }, 503);
    }
    await seeOther(reply, '/admin/payments?saved=1');
  }

  /** The grace period after a failed payment, in days. */
  @Post('grace')
  async setGrace(@Desk() desk: DeskContext, @Body() form: Form, @Res() reply: FastifyReply): Promise<void> {
    const raw = (one(form.grace_days) ?? '').trim();
    const days = /^\d{1,3}$/.test(raw) ? Number(raw) : Number.NaN;
    try {
      await this.payments.setGraceDays(days);
    } catch (error) {
      return this.page(reply, desk, { graceDays: raw }, formProblems(error, this.renderer.t), 400);
    }
    await seeOther(reply, '/admin/payments?saved=grace');
  }

  /** What premium gives, line by line, wherever premium is offered. */
  @Post('offer')
  async setOffer(@Desk() desk: DeskContext, @Body() form: Form, @Res() reply: FastifyReply): Promise<void> {
    const t = this.renderer.t;
    const text = one(form.offer) ?? '';
    const checked = offerLines(text);
    if ('problem' in checked) {
      const problem = {
        'too-many': t.paymentsOfferTooMany,
        'too-long': t.paymentsOfferTooLong,
        control: t.paymentsOfferControl,
      }[checked.problem];
      return this.page(reply, desk, { offer: text }, { offer: problem }, 400);
    }
    await this.payments.setOfferLines(checked.lines);
    await seeOther(reply, '/admin/payments?saved=offer');
  }

  private async page(
    reply: FastifyReply,
    desk: DeskContext,
    form: PricesForm,
    errors: Record<string, string>,
    status = 200,
    notice?: string,
  ): Promise<void> {
    const t = this.renderer.t;
    let plans: Price[] = [];
    let pricesUnavailable = false;
    if (this.payments.enabled) {
      try {
        plans = await this.payments.plans();
      } catch (error) {
        if (!(error instanceof PaymentProviderError)) throw error;
        pricesUnavailable = true;
      }
    }
    await this.renderer.send(
      reply,
      'payments',
      { title: t.payments, section: 'payments', desk, ...(notice ? { notice } : {}) },
      {
        enabled: this.payments.enabled,
        currency: this.config.currency,
        plans: plans.map((price) => ({
          name: price.interval === 'month' ? t.paymentsMonthly : t.paymentsYearly,
          price: formatMoney(this.publication.current().locale, price.currency, price.amount),
          id: price.id,
        })),
        pricesUnavailable,
        graceDays: form.graceDays ?? String(await this.payments.graceDays()),
        offer: form.offer ?? (await this.payments.offer()).benefits.join('\n'),
        maxGraceDays: MAX_GRACE_DAYS,
        webhookUrl: `${this.config.publicUrl}/stripe/webhook`,
        events: USED_STRIPE_EVENTS,
        form,
        errors,
      },
      status,
    );
  }
}
