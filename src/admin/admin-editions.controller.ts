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
import { ArticlesService } from '../articles/articles.service.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { PublicationSettings } from '../settings/publication-settings.js';
import { type EditionRow, SUBSCRIBER_TIERS } from '../database/schema.js';
import { CreateEditionDto, TestEditionDto } from '../editions/dto/edition-input.dto.js';
import { EditionsService } from '../editions/editions.service.js';
import { fill } from '../i18n/admin-messages.js';
import { uuidParam } from '../http/validation.js';
import { AdminRenderer } from './admin-renderer.js';
import { DeskDashboardService } from './desk-dashboard.service.js';
import { Desk, type DeskContext } from './desk-context.js';
import { DeskExceptionFilter } from './desk-exception.filter.js';
import { formProblems, problemsByField } from './desk-form-errors.js';
import { checkForm, one, seeOther, sendHtml } from './desk-http.js';
import {
  EMPTY_EDITION_FORM,
  type EditionFormValues,
  editionActions,
  editionFormValues,
  editionInput,
  previewSummary,
  progressView,
} from './edition-views.js';
import { DeskSessionGuard } from './desk-session.guard.js';
import { isFinished } from '../edition-lifecycle/edition-states.js';
import { SettingsRepository, tracking } from '../settings/settings.repository.js';
import { EditionReports } from './edition-report.js';

type Form = Record<string, unknown>;
const uuid = uuidParam('an edition');
const CHOOSABLE_ARTICLES = 50;

/** The editor's desk pages for editions: build, preview both tiers, test, schedule, watch. */
@ApiExcludeController()
@UseFilters(DeskExceptionFilter)
@UseGuards(DeskSessionGuard)
@Controller('admin/editions')
export class AdminEditionsController {
  constructor(
    @Inject(EditionsService) private readonly editions: EditionsService,
    @Inject(ArticlesService) private readonly articles: ArticlesService,
    @Inject(DeskDashboardService) private readonly dashboard: DeskDashboardService,
    @Inject(AdminRenderer) private readonly renderer: AdminRenderer,
    @Inject(SettingsRepository) private readonly settings: SettingsRepository,
    @Inject(EditionReports) private readonly reports: EditionReports,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  async list(@Desk() desk: DeskContext, @Query() query: Form, @Res() reply: FastifyReply): Promise<void> {
    const rows = await this.editions.list(1, 100);
    const items = await Promise.all(rows.map((edition) => this.dashboard.withCounts(edition)));
    const t = this.renderer.t;
    const notice = one(query.saved) === 'tracking' ? t.saved : undefined;
    await this.renderer.send(
      reply,
      'editions',
      { title: t.editions, section: 'editions', desk, ...(notice ? { notice } : {}) },
      {
        open: items.filter((i) => !isFinished(i.edition.status)),
        past: items.filter((i) => isFinished(i.edition.status)),
        tracking: await tracking(this.settings),
        redirectBase: `${this.config.publicUrl}/r/`,
      },
    );
  }

  /** What the next editions count (clicks, opens); editions already sent keep theirs. */
  @Post('tracking')
  async setTracking(@Body() form: Form, @Res() reply: FastifyReply): Promise<void> {
    await this.settings.set({
      'tracking.clicks': one(form.clicks) === 'on' ? 'on' : 'off',
      'tracking.opens': one(form.opens) === 'on' ? 'on' : 'off',
    });
    await seeOther(reply, '/admin/editions?saved=tracking');
  }

  @Get('new')
  async newForm(@Desk() desk: DeskContext, @Res() reply: FastifyReply): Promise<void> {
    await this.createForm(reply, desk, EMPTY_EDITION_FORM, {});
  }

  @Post()
  async create(@Desk() desk: DeskContext, @Body() form: Form, @Res() reply: FastifyReply): Promise<void> {
    const values = editionFormValues(form);
    const refuse = (errors: Record<string, string>): Promise<void> =>
      this.createForm(reply, desk, values, errors, 400);
    if (values.article_ids.length === 0) return refuse({ article_ids: this.renderer.t.articlesNeeded });
    const checked = await checkForm(CreateEditionDto, editionInput(values));
    if (!checked.ok) return refuse(problemsByField(checked.problems, this.renderer.t));
    let edition: EditionRow;
    try {
      edition = await this.editions.create(checked.value);
    } catch (error) {
      return refuse(formProblems(error, this.renderer.t, 'article_ids'));
    }
    await seeOther(reply, `/admin/editions/${edition.id}`);
  }

  @Get(':id')
  async show(
    @Desk() desk: DeskContext,
    @Param('id', uuid) id: string,
    @Query() query: Form,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const t = this.renderer.t;
    const notice = one(query.tested)
      ? fill(t.testSent, { email: desk.editor.email })
      : one(query.saved)
        ? t.saved
        : undefined;
    await this.detail(reply, desk, await this.editions.get(id), {}, 200, notice);
  }

  @Post(':id')
  async update(
    @Desk() desk: DeskContext,
    @Param('id', uuid) id: string,
    @Body() form: Form,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const edition = await this.editions.get(id);
    // The articles and their order as the form sends them: a draft's may change until it goes.
    const values = editionFormValues(form);
    const checked = await checkForm(CreateEditionDto, editionInput(values));
    const refuse = (errors: Record<string, string>) =>
      this.detail(reply, desk, edition, errors, 400, undefined, values.article_ids);
    if (!checked.ok) return refuse(problemsByField(checked.problems, this.renderer.t));
    try {
      await this.editions.update(id, checked.value);
    } catch (error) {
      return refuse(formProblems(error, this.renderer.t, 'article_ids'));
    }
    await seeOther(reply, `/admin/editions/${id}?saved=1`);
  }

  /** The email as the tier receives it, for the preview iframes. */
  @Get(':id/preview/:tier')
  async preview(
    @Param('id', uuid) id: string,
    @Param('tier') tier: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const known = SUBSCRIBER_TIERS.find((t) => t === tier);
    if (!known) throw new NotFoundException(`No tier ${tier}: free or premium`);
    const preview = await this.editions.preview(id, known);
    // The email's own styles are inline; the frame is sandboxed and runs no script.
    await sendHtml(reply, preview.html);
  }

  @Post(':id/test')
  async test(
    @Desk() desk: DeskContext,
    @Param('id', uuid) id: string,
    @Body() form: Form,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const edition = await this.editions.get(id);
    const checked = await checkForm(TestEditionDto, {
      email: desk.editor.email,
      tier: one(form.tier) ?? 'premium',
    });
    if (!checked.ok)
      return this.detail(reply, desk, edition, problemsByField(checked.problems, this.renderer.t), 400);
    await this.editions.sendTest(id, checked.value.email, checked.value.tier ?? 'premium');
    await seeOther(reply, `/admin/editions/${id}?tested=1`);
  }

  @Post(':id/schedule')
  async schedule(
    @Desk() desk: DeskContext,
    @Param('id', uuid) id: string,
    @Body() form: Form,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const sendAt = (one(form.send_at) ?? '').trim();
    try {
      await this.editions.schedule(id, one(form.action) === 'now' || sendAt === '' ? undefined : sendAt);
    } catch (error) {
      return this.detail(
        reply,
        desk,
        await this.editions.get(id),
        formProblems(error, this.renderer.t, 'send_at'),
        400,
      );
    }
    await seeOther(reply, `/admin/editions/${id}`);
  }

  @Post(':id/cancel')
  async cancel(
    @Desk() desk: DeskContext,
    @Param('id', uuid) id: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    try {
      await this.editions.cancel(id);
    } catch (error) {
      return this.detail(reply, desk, await this.editions.get(id), formProblems(error, this.renderer.t), 409);
    }
    await seeOther(reply, `/admin/editions/${id}`);
  }

  /** The edition's report as CSV: its figures, then its links. */
  @Get(':id/report.csv')
  async reportCsv(@Param('id', uuid) id: string, @Res() reply: FastifyReply): Promise<void> {
    const report = await this.reports.reportOf(await this.editions.get(id));
    if (!report) throw new NotFoundException('This edition has not been sent: it has no report yet');
    await reply
      .header('Cache-Control', 'no-store')
      .type('text/csv; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="edition-${id}.csv"`)
      .send(this.reports.csv(report));
  }

  /** The progress bar alone, which the page polls while the edition is scheduled or sending. */
  @Get(':id/progress')
  async progress(
    @Param('id', uuid) id: string,
    @Query() query: Form,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const { edition, counts } = await this.dashboard.withCounts(await this.editions.get(id));
    // The page around the bar offers what the status it was drawn with allows (schedule, cancel):
    // once the status moves on, htmx reloads the whole page rather than the bar alone.
    const shown = one(query.shown);
    if (shown !== undefined && shown !== edition.status) void reply.header('HX-Refresh', 'true');
    await this.renderer.sendFragment(reply, 'edition-progress', progressView(edition, counts));
  }

  private async createForm(
    reply: FastifyReply,
    desk: DeskContext,
    values: EditionFormValues,
    errors: Record<string, string>,
    status = 200,
  ): Promise<void> {
    const t = this.renderer.t;
    await this.renderer.send(
      reply,
      'edition-new',
      { title: t.newEdition, section: 'editions', desk },
      { values, errors, articles: await this.choosable(values.article_ids) },
      status,
    );
  }

  /**
   * The published articles an edition may carry, those chosen ticked and numbered in their order;
   * a chosen article no longer among the latest published stays on the list.
   */
  private async choosable(chosen: readonly string[]) {
    const published = await this.articles.list({ status: 'published', page: 1, limit: CHOOSABLE_ARTICLES });
    const listed = new Set(published.items.map((article) => article.id));
    const missing = await Promise.all(
      chosen.filter((id) => !listed.has(id)).map((id) => this.articles.get(id).catch(() => undefined)),
    );
    return [...missing.filter((article) => article !== undefined), ...published.items].map((article) => ({
      article,
      checked: chosen.includes(article.id),
      // The place it has in the order, so that a refused form keeps what was typed.
      position: chosen.includes(article.id) ? chosen.indexOf(article.id) + 1 : '',
    }));
  }

  private async detail(
    reply: FastifyReply,
    desk: DeskContext,
    edition: EditionRow,
    errors: Record<string, string>,
    status = 200,
    notice?: string,
    chosen: readonly string[] = edition.articleIds,
  ): Promise<void> {
    const t = this.renderer.t;
    const actions = editionActions(edition);
    const [articles, { counts }, previews, report, recipients, choosable] = await Promise.all([
      Promise.all(edition.articleIds.map((id) => this.articles.get(id).catch(() => undefined))),
      this.dashboard.withCounts(edition),
      Promise.all(
        SUBSCRIBER_TIERS.map(async (tier) =>
          previewSummary(edition.id, tier, await this.editions.preview(edition.id, tier)),
        ),
      ),
      this.reports.reportOf(edition),
      this.dashboard.audienceSize(edition.audience),
      actions.draft ? this.choosable(chosen) : [],
    ]);
    await this.renderer.send(
      reply,
      'edition',
      { title: edition.subject, section: 'editions', desk, notice },
      {
        edition,
        errors,
        articles: articles.filter((a) => a !== undefined),
        previews,
        progress: progressView(edition, counts),
        ...actions,
        choosable,
        recipients,
        zone: this.publication.current().timeZone,
        editorEmail: desk.editor.email,
        report,
        timeline: report
          ? this.reports.timelineSvg(report, {
              chart: t.reportTimeline,
              first: t.reportTimelineReaders,
              second: t.reportTimelineLeft,
              hour: t.reportHour,
            })
          : '',
      },
      status,
    );
  }
}
