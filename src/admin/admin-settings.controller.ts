import { Body, Controller, Get, Inject, Post, Query, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { LOCALES } from '../config/app-config.js';
import {
  COMMENT_MODERATION,
  COMMENTS_ACCESS,
  PUBLICATION_FIELDS,
  PUBLICATION_LIMITS,
  type PublicationForm,
  publicationForm,
  type PublicationProblem,
} from '../settings/publication.js';
import { fill } from '../i18n/messages.js';
import { PublicationSettings } from '../settings/publication-settings.js';
import { AdminRenderer } from './admin-renderer.js';
import { Desk, type DeskContext } from './desk-context.js';
import { DeskExceptionFilter } from './desk-exception.filter.js';
import { deskProblem, DeskRefusal } from './desk-form-errors.js';
import { one, seeOther } from './desk-http.js';
import { DeskSessionGuard } from './desk-session.guard.js';

/** Every time zone this runtime knows, offered as the field is typed. */
const TIME_ZONES: readonly string[] = Intl.supportedValuesOf('timeZone');

/** The publication's settings: who it is, how its emails go out, its language and time zone. */
@ApiExcludeController()
@UseFilters(DeskExceptionFilter)
@UseGuards(DeskSessionGuard)
@Controller('admin/settings')
export class AdminSettingsController {
  constructor(
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
    @Inject(AdminRenderer) private readonly renderer: AdminRenderer,
  ) {}

  @Get()
  async show(
    @Desk() desk: DeskContext,
    @Query() query: Record<string, unknown>,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const saved = one(query.saved) === '1';
    await this.page(reply, desk, publicationForm(this.publication.current()), {}, 200, saved);
  }

  @Post()
  async save(
    @Desk() desk: DeskContext,
    @Body() body: Record<string, unknown>,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (desk.editor.role !== 'owner') throw new DeskRefusal(this.renderer.t.settingsOwnerOnly);
    const form = Object.fromEntries(
      PUBLICATION_FIELDS.map((field) => [field, one(body[field]) ?? '']),
    ) as PublicationForm;
    const checked = await this.publication.save(form);
    if ('problems' in checked) return this.page(reply, desk, form, checked.problems, 400);
    await seeOther(reply, '/admin/settings?saved=1');
  }

  private async page(
    reply: FastifyReply,
    desk: DeskContext,
    form: PublicationForm,
    problems: Partial<Record<string, PublicationProblem>>,
    status: number,
    saved = false,
  ): Promise<void> {
    const errors = Object.fromEntries(
      Object.entries(problems).map(([field, problem]) => [
        field,
        deskProblem({ code: problem }, this.renderer.t),
      ]),
    );
    await this.renderer.send(
      reply,
      'settings',
      {
        title: this.renderer.t.settings,
        section: 'settings',
        desk,
        ...(saved ? { notice: this.renderer.t.settingsSaved } : {}),
      },
      {
        form,
        errors,
        owner: desk.editor.role === 'owner',
        locales: LOCALES.map((locale) => ({ value: locale, selected: locale === form.locale })),
        images: (['logo', 'favicon'] as const).map((name) => ({
          name,
          value: form[name],
          error: errors[name],
        })),
        commentsAccess: COMMENTS_ACCESS.map((value) => ({ value, selected: value === form.comments })),
        commentModerations: COMMENT_MODERATION.map((value) => ({
          value,
          selected: value === form.comment_moderation,
        })),
        senderHint:
          this.publication.signingDomain === undefined
            ? this.renderer.t.settingsSenderHint
            : fill(this.renderer.t.settingsSenderHintDkim, { domain: this.publication.signingDomain }),
        timeZones: TIME_ZONES,
        limits: PUBLICATION_LIMITS,
      },
      status,
    );
  }
}
