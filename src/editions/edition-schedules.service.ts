import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { PublicationSettings } from '../settings/publication-settings.js';
import type { EditionScheduleRow, NewEditionScheduleRow } from '../database/schema.js';
import { InvalidInputException } from '../http/api-error.js';
import { longDateFormat } from '../i18n/dates.js';
import { parsePublicationTime } from '../lib/publication-time.js';
import { cronProblem, nextSlot, type Recurrence } from '../lib/recurrence.js';
import { isValidTimeZone } from '../lib/time-zone.js';
import { MAX_EDITION_ARTICLES } from './dto/edition-input.dto.js';
import type { CreateScheduleDto, UpdateScheduleDto } from './dto/schedule-input.dto.js';
import {
  type DueSlot,
  EditionSchedulesRepository,
  type SlotPlan,
  type SlotResult,
} from './edition-schedules.repository.js';

const DATE_PLACEHOLDER = '{date}';

/** Recurring editions: a cron expression and a time zone that make editions of what is new. */
@Injectable()
export class EditionSchedulesService {
  constructor(
    @Inject(EditionSchedulesRepository) private readonly repository: EditionSchedulesRepository,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
  ) {}

  /** The recurrence the input describes, or a 400 naming the field at fault. */
  private recurrence(cron: string, timeZone: string): Recurrence {
    if (!isValidTimeZone(timeZone)) {
      throw InvalidInputException.field(
        'time_zone',
        `expected an IANA time zone such as Europe/Paris, got "${timeZone}"`,
      );
    }
    const problem = cronProblem(cron, timeZone);
    if (problem) throw InvalidInputException.field('cron', problem);
    return { cron: cron.trim(), timeZone };
  }

  async create(input: CreateScheduleDto, now = new Date()): Promise<EditionScheduleRow> {
    const recurrence = this.recurrence(input.cron, input.time_zone ?? this.publication.current().timeZone);
    let coveredUntil = now;
    if (input.articles_since !== undefined) {
      const since = parsePublicationTime(input.articles_since, this.publication.current().timeZone);
      if (!since) {
        throw InvalidInputException.field(
          'articles_since',
          `"${input.articles_since}" is not an ISO 8601 date-time such as 2026-11-22T18:00`,
        );
      }
      if (since > now) throw InvalidInputException.field('articles_since', 'must not be in the future');
      coveredUntil = since;
    }
    return this.repository.insert({
      name: input.name.trim(),
      cron: recurrence.cron,
      timeZone: recurrence.timeZone,
      subject: input.subject.trim(),
      preheader: input.preheader?.trim() ?? '',
      audience: input.audience ?? 'all',
      active: input.active ?? true,
      nextRunAt: nextSlot(recurrence, now),
      coveredUntil,
    });
  }

  list(): Promise<EditionScheduleRow[]> {
    return this.repository.list();
  }

  async get(id: string): Promise<EditionScheduleRow> {
    const row = await this.repository.findById(id);
    if (!row) throw new NotFoundException(`No edition schedule with id ${id}`);
    return row;
  }

  async update(id: string, input: UpdateScheduleDto, now = new Date()): Promise<EditionScheduleRow> {
    const current = await this.get(id);
    const patch: Partial<NewEditionScheduleRow> = {};
    if (input.name !== undefined) patch.name = input.name.trim();
    if (input.subject !== undefined) patch.subject = input.subject.trim();
    if (input.preheader !== undefined) patch.preheader = input.preheader.trim();
    if (input.audience !== undefined) patch.audience = input.audience;
    if (input.active !== undefined) patch.active = input.active;
    const retimed = input.cron !== undefined || input.time_zone !== undefined;
    const resumed = input.active === true && !current.active;
    if (retimed || resumed) {
      // A new rhythm, or a schedule switched back on, starts from now: slots missed meanwhile are not sent late.
      const recurrence = this.recurrence(input.cron ?? current.cron, input.time_zone ?? current.timeZone);
      patch.cron = recurrence.cron;
      patch.timeZone = recurrence.timeZone;
      patch.nextRunAt = nextSlot(recurrence, now);
    }
    const row = await this.repository.update(id, patch);
    if (!row) throw new NotFoundException(`No edition schedule with id ${id}`);
    return row;
  }

  async remove(id: string): Promise<void> {
    if (!(await this.repository.delete(id))) throw new NotFoundException(`No edition schedule with id ${id}`);
  }

  /**
   * For the scheduler tick: every schedule whose slot has come makes an edition of the articles
   * published since its previous one, scheduled at the slot, or skips the slot when nothing is new.
   * Slots missed while no worker ran are not made up: the next slot is the next one after now.
   */
  runDue(now: Date = new Date()): Promise<SlotResult[]> {
    return this.repository.runDue(now, MAX_EDITION_ARTICLES, (slot) => this.plan(slot, now));
  }

  private plan({ schedule, articles }: DueSlot, now: Date): SlotPlan {
    const slot = schedule.nextRunAt;
    const nextRunAt = nextSlot(schedule, now > slot ? now : slot);
    const last = articles.at(-1);
    if (!last) return { edition: undefined, coveredUntil: schedule.coveredUntil, nextRunAt };
    // A full edition covers up to its newest article; the rest wait for the next slot.
    const coveredUntil = articles.length === MAX_EDITION_ARTICLES ? last.publishedAt : slot;
    const date = longDateFormat(this.publication.current().locale, schedule.timeZone).format(slot);
    return {
      edition: {
        content: {
          subject: schedule.subject.replaceAll(DATE_PLACEHOLDER, date),
          preheader: schedule.preheader,
          audience: schedule.audience,
          articleIds: articles.map((article) => article.id),
        },
        sendAt: slot,
      },
      coveredUntil,
      nextRunAt,
    };
  }
}
