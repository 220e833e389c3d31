import { Controller, Get, Inject, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AdminRenderer } from './admin-renderer.js';
import { DeskDashboardService } from './desk-dashboard.service.js';
import { Desk, type DeskContext } from './desk-context.js';
import { DeskExceptionFilter } from './desk-exception.filter.js';
import { DeskSessionGuard } from './desk-session.guard.js';
import { growthChartSvg, pairedBarsSvg } from './growth-chart.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { formatMoney } from '../i18n/money.js';
import { PaymentsService } from '../payments/payments.service.js';

/** How many months the paid-subscriptions chart shows. */
const PAYMENT_MONTHS = 12;

@ApiExcludeController()
@UseFilters(DeskExceptionFilter)
@UseGuards(DeskSessionGuard)
@Controller('admin')
export class AdminDashboardController {
  constructor(
    @Inject(DeskDashboardService) private readonly dashboard: DeskDashboardService,
    @Inject(AdminRenderer) private readonly renderer: AdminRenderer,
    @Inject(PaymentsService) private readonly payments: PaymentsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  async show(@Desk() desk: DeskContext, @Res() reply: FastifyReply): Promise<void> {
    const t = this.renderer.t;
    const data = await this.dashboard.dashboard();
    const chart = growthChartSvg(data.growth, t.subscribersOverTime, (day) => this.renderer.shortDay(day));
    await this.renderer.send(
      reply,
      'dashboard',
      { title: t.dashboard, section: 'dashboard', desk },
      {
        ...data,
        checklistDone: data.checklist.filter((step) => step.done).length,
        chart,
        current: data.growth.at(-1)?.total ?? 0,
        payments: await this.paymentFigures(),
        health: data.health.map((row) => ({
          ...row,
          bounce: percent(this.renderer.locale, row.bounceRate),
          complaint: percent(this.renderer.locale, row.complaintRate),
        })),
        healthWarning: data.health.some((row) => row.overBounceLimit || row.overComplaintLimit),
      },
    );
  }

  /** Paying members, monthly recurring revenue, and a year of new and ended paid subscriptions. */
  private async paymentFigures() {
    if (!this.payments.enabled) return undefined;
    const t = this.renderer.t;
    const figures = await this.payments.figures(PAYMENT_MONTHS);
    return {
      payingMembers: figures.totals.payingMembers,
      monthlyRevenue:
        figures.totals.monthlyRevenue
          .map((revenue) => formatMoney(this.renderer.locale, revenue.currency, revenue.amount))
          .join(' + ') || formatMoney(this.renderer.locale, this.config.currency, 0),
      chart: pairedBarsSvg(
        figures.months.map((m) => ({ key: m.month, first: m.started, second: m.ended })),
        { chart: t.paidPerMonth, first: t.paidStarted, second: t.paidEnded },
        (month) => this.renderer.shortMonth(month),
      ),
    };
  }
}

/** A rate as people read it on the desk: 0,25 % in French, 0.25% in English. */
function percent(locale: string, rate: number): string {
  return new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 2 }).format(rate);
}
