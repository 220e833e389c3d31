import {
  Body,
  Controller,
  Get,
  Inject,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
  Res,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import {
  type PaidSubscriptionRow,
  SUBSCRIBER_STATUSES,
  SUBSCRIBER_TIERS,
  type SubscriberRow,
} from '../database/schema.js';
import { PaymentsService } from '../payments/payments.service.js';
import { TakesBody } from '../http/request-bodies.js';
import { InvalidInputException } from '../http/api-error.js';
import { uuidParam } from '../http/validation.js';
import { SubscriberImporter } from '../subscribers/subscriber-importer.js';
import { SubscribersAdminService } from '../subscribers/subscribers-admin.service.js';
import {
  SUBSCRIBER_SORTS,
  type SubscriberFilter,
  type SubscriberSort,
} from '../subscribers/subscribers.repository.js';
import { fill } from '../i18n/admin-messages.js';
import { AdminRenderer } from './admin-renderer.js';
import { Desk, type DeskContext } from './desk-context.js';
import { DeskExceptionFilter } from './desk-exception.filter.js';
import { many, one, seeOther } from './desk-http.js';
import { DeskSessionGuard } from './desk-session.guard.js';
import { CSV_FILE, ImportProgress } from './import-progress.js';
import { SubscriberHistory } from './subscriber-history.js';

type Form = Record<string, unknown>;
const uuid = uuidParam('a subscriber');
const PAGE_SIZE = 50;

/** The most subscribers one bulk action takes: a few pages of the list. */
const BULK_MAX = 500;
const BULK_ACTIONS = ['free', 'premium', 'erase', 'export'] as const;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function filterOf(query: Form): SubscriberFilter & { readonly q: string; readonly sort: SubscriberSort } {
  const status = SUBSCRIBER_STATUSES.find((s) => s === one(query.status));
  const tier = SUBSCRIBER_TIERS.find((t) => t === one(query.tier));
  const q = (one(query.q) ?? '').trim().slice(0, 200);
  const sort = SUBSCRIBER_SORTS.find((s) => s === one(query.sort)) ?? 'newest';
  return { ...(status ? { status } : {}), ...(tier ? { tier } : {}), ...(q ? { search: q } : {}), q, sort };
}

/** The desk's subscriber pages: list, search, tiers, erasure, CSV import and export. */
@ApiExcludeController()
@UseFilters(DeskExceptionFilter)
@UseGuards(DeskSessionGuard)
@Controller('admin/subscribers')
export class AdminSubscribersController {
  constructor(
    @Inject(SubscribersAdminService) private readonly subscribers: SubscribersAdminService,
    @Inject(SubscriberImporter) private readonly importer: SubscriberImporter,
    @Inject(ImportProgress) private readonly progress: ImportProgress,
    @Inject(AdminRenderer) private readonly renderer: AdminRenderer,
    @Inject(PaymentsService) private readonly payments: PaymentsService,
    @Inject(SubscriberHistory) private readonly history: SubscriberHistory,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  async list(@Desk() desk: DeskContext, @Query() query: Form, @Res() reply: FastifyReply): Promise<void> {
    const filter = filterOf(query);
    const cursor = one(query.cursor);
    const [page, total] = await Promise.all([
      this.subscribers.list(filter, PAGE_SIZE, cursor || undefined, filter.sort),
      this.subscribers.count(filter),
    ]);
    const params = new URLSearchParams({
      ...(filter.q ? { q: filter.q } : {}),
      ...(filter.tier ? { tier: filter.tier } : {}),
      ...(filter.status ? { status: filter.status } : {}),
      ...(filter.sort !== 'newest' ? { sort: filter.sort } : {}),
    });
    const nextParams = new URLSearchParams(params);
    if (page.nextCursor) nextParams.set('cursor', page.nextCursor);
    const t = this.renderer.t;
    const paid = this.payments.enabled
      ? await this.payments.latestSubscriptions(page.items.map((row) => row.id))
      : new Map<string, PaidSubscriptionRow>();
    await this.renderer.send(
      reply,
      'subscribers',
      {
        title: t.subscribers,
        section: 'subscribers',
        desk,
        ...(/^\d{1,4}$/.test(one(query.done) ?? '')
          ? { notice: fill(t.bulkDone, { count: one(query.done) ?? '' }) }
          : {}),
      },
      {
        subscribers: page.items.map((row) => ({
          ...row,
          payment: this.paymentBadge(row, paid.get(row.id)),
        })),
        filter,
        total,
        tiers: SUBSCRIBER_TIERS,
        statuses: SUBSCRIBER_STATUSES,
        sorts: SUBSCRIBER_SORTS,
        bulkActions: BULK_ACTIONS,
        exportUrl: `/admin/subscribers/export.csv?${params.toString()}`,
        nextUrl: page.nextCursor ? `/admin/subscribers?${nextParams.toString()}` : undefined,
        back: `/admin/subscribers?${params.toString()}`,
      },
    );
  }

  /** One subscriber: who they are, their payment, and the history of their messages. */
  @Get(':id')
  async show(
    @Desk() desk: DeskContext,
    @Param('id', uuid) id: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const subscriber = await this.subscribers.get(id);
    const paid = this.payments.enabled
      ? (await this.payments.latestSubscriptions([subscriber.id])).get(subscriber.id)
      : undefined;
    await this.renderer.send(
      reply,
      'subscriber',
      { title: subscriber.email, section: 'subscribers', desk },
      {
        subscriber: { ...subscriber, payment: this.paymentBadge(subscriber, paid) },
        history: await this.history.of(subscriber),
        tiers: SUBSCRIBER_TIERS,
        back: `/admin/subscribers/${subscriber.id}`,
      },
    );
  }

  /** What the desk says of a subscriber's payment, with the customer's page in Stripe. */
  private paymentBadge(subscriber: SubscriberRow, paid: PaidSubscriptionRow | undefined) {
    const stripe = this.config.stripe;
    if (!stripe || !paid) return undefined;
    return {
      status: paid.status,
      endsAt: paid.cancelAtPeriodEnd && paid.grantsPremium ? paid.premiumUntil : null,
      stripeUrl: subscriber.externalRef
        ? `${stripe.dashboardUrl}/customers/${subscriber.externalRef}`
        : undefined,
    };
  }

  @Get('export.csv')
  export(@Query() query: Form, @Res() reply: FastifyReply): Promise<void> {
    return this.sendCsv(reply, filterOf(query));
  }

  private async sendCsv(reply: FastifyReply, filter: SubscriberFilter): Promise<void> {
    const day = new Date().toISOString().slice(0, 10);
    await reply
      .status(200)
      .header('Cache-Control', 'no-store')
      .type('text/csv; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="subscribers-${day}.csv"`)
      .send(this.subscribers.exportCsv(filter));
  }

  /**
   * One action on the subscribers ticked in the list: a tier, erasure, or a CSV of just them. Every
   * address is checked before anything is done; one erased meanwhile is passed over.
   */
  @Post('bulk')
  async bulk(@Body() form: Form, @Res() reply: FastifyReply): Promise<void> {
    const ids = many(form.ids);
    if (ids.length === 0)
      throw InvalidInputException.field('ids', 'choose at least one subscriber', 'arrayMinSize');
    if (ids.length > BULK_MAX)
      throw new InvalidInputException([
        { field: 'ids', message: `at most ${BULK_MAX} at once`, code: 'arrayMaxSize', limit: BULK_MAX },
      ]);
    if (!ids.every((id) => UUID.test(id)))
      throw InvalidInputException.field('ids', 'must be subscribers of this list', 'isUuid');
    const action = BULK_ACTIONS.find((known) => known === one(form.action));
    if (!action) throw InvalidInputException.field('action', 'choose an action', 'isIn');
    if (action === 'export') return this.sendCsv(reply, { ids });
    let done = 0;
    for (const id of new Set(ids)) {
      try {
        if (action === 'erase') await this.subscribers.erase(id);
        else await this.subscribers.update(id, { tier: action });
        done += 1;
      } catch (error) {
        if (!(error instanceof NotFoundException)) throw error;
      }
    }
    const back = this.backTo(form);
    await seeOther(reply, `${back}${back.includes('?') ? '&' : '?'}done=${done}`);
  }

  @Post(':id/tier')
  async changeTier(
    @Param('id', uuid) id: string,
    @Body() form: Form,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const tier = SUBSCRIBER_TIERS.find((t) => t === one(form.tier));
    if (!tier) throw InvalidInputException.field('tier', 'must be free or premium');
    const until = tier === 'premium' ? one(form.premium_until)?.trim() : undefined;
    await this.subscribers.update(id, { tier, ...(until ? { premium_until: until } : {}) });
    await seeOther(reply, this.backTo(form));
  }

  @Post(':id/erase')
  async erase(@Param('id', uuid) id: string, @Body() form: Form, @Res() reply: FastifyReply): Promise<void> {
    await this.subscribers.erase(id);
    await seeOther(reply, this.backTo(form));
  }

  /**
   * The CSV as the request body (text/csv), sent by the page's script with an id of its choosing so
   * that it can poll the progress while this request runs; answers the report as a fragment.
   */
  @Post('import')
  @TakesBody('csv-stream')
  async import(
    @Desk() desk: DeskContext,
    @Req() request: FastifyRequest,
    @Query() query: Form,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const counter = await this.progress.receive(desk.editor.id, request, one(query.id), CSV_FILE);
    await this.renderer.sendReport(reply, 'import-report', () => this.importer.import(counter));
  }

  @Get('import/:importId')
  async importState(
    @Desk() desk: DeskContext,
    @Param('importId') importId: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.progress.answer(desk.editor.id, importId, reply);
  }

  private backTo(form: Form): string {
    const back = one(form.back) ?? '';
    // The list's own query string, as URLSearchParams writes it: nothing that could break a header.
    return /^\/admin\/subscribers(?:\?[\w%&=.~+-]*)?$/.test(back) ? back : '/admin/subscribers';
  }
}
