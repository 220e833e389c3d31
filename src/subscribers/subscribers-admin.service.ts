import { Readable } from 'node:stream';
import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { stringify } from 'csv-stringify/sync';
import type { SubscriberRow, SubscriberStatus, SubscriberTier } from '../database/schema.js';
import { FieldConflictException, InvalidInputException } from '../http/api-error.js';
import { normaliseEmail } from '../lib/email-address.js';
import { PublicationSettings } from '../settings/publication-settings.js';
import { parsePublicationTime } from '../lib/publication-time.js';
import type { CreateSubscriberDto, UpdateSubscriberDto } from './dto/subscriber-input.dto.js';
import { SubscriptionService } from './subscription.service.js';
import { spreadsheetSafe } from './spreadsheet-safe.js';
import {
  cursorValue,
  type SubscriberCursor,
  type SubscriberFilter,
  type SubscriberSort,
  SubscribersRepository,
} from './subscribers.repository.js';

const EXPORT_BATCH = 2000;
export const EXPORT_COLUMNS = [
  'email',
  'name',
  'tier',
  'status',
  'created_at',
  'confirmed_at',
  'consent_source',
];

/** A cursor names its sort, so that one given out for one order is never read in another. */
function encodeCursor(row: SubscriberRow, sort: SubscriberSort): string {
  return Buffer.from(JSON.stringify([sort, cursorValue(row, sort), row.id])).toString('base64url');
}

function decodeCursor(cursor: string, sort: SubscriberSort): SubscriberCursor {
  try {
    const [given, value, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (given !== sort || typeof value !== 'string' || typeof id !== 'string' || !/^[0-9a-f-]{36}$/.test(id))
      throw new Error('bad cursor');
    if ((sort === 'newest' || sort === 'oldest') && Number.isNaN(new Date(value).getTime()))
      throw new Error('bad cursor');
    return { value, id };
  } catch {
    throw InvalidInputException.field('cursor', 'is not a cursor this API gave out');
  }
}

/** What editors do with subscribers through the API. */
@Injectable()
export class SubscribersAdminService {
  constructor(
    @Inject(SubscribersRepository) private readonly repository: SubscribersRepository,
    @Inject(SubscriptionService) private readonly subscriptions: SubscriptionService,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
  ) {}

  async list(
    filter: SubscriberFilter,
    limit: number,
    cursor?: string,
    sort: SubscriberSort = 'newest',
  ): Promise<{ items: SubscriberRow[]; nextCursor: string | null }> {
    const rows = await this.repository.list(
      filter,
      limit + 1,
      cursor === undefined ? undefined : decodeCursor(cursor, sort),
      sort,
    );
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > limit && last ? encodeCursor(last, sort) : null };
  }

  count(filter: SubscriberFilter): Promise<number> {
    return this.repository.count(filter);
  }

  totals(): Promise<{ status: SubscriberStatus; tier: SubscriberTier; count: number }[]> {
    return this.repository.totals();
  }

  activeByJoinDay(
    since: Date,
    timeZone: string,
  ): Promise<{ before: number; days: { day: string; count: number }[] }> {
    return this.repository.activeByJoinDay(since, timeZone);
  }

  async get(id: string): Promise<SubscriberRow> {
    const row = await this.repository.findById(id);
    if (!row) throw new NotFoundException(`No subscriber with id ${id}`);
    return row;
  }

  /**
   * confirmed: active at once, with consent recorded as vouched for by the editor; otherwise the
   * subscriber gets the same confirmation email as from the blog's form (and is created by it).
   */
  async create(input: CreateSubscriberDto, editorIp: string): Promise<SubscriberRow | undefined> {
    const address = normaliseEmail(input.email);
    if (!address.ok) throw InvalidInputException.field('email', address.reason, address.code);
    if (await this.repository.isSuppressed(address.email)) {
      throw new FieldConflictException(
        'email',
        'is on the suppression list (bounced, complained or erased) and cannot be added',
      );
    }
    if (input.confirmed !== true) {
      await this.subscriptions.requestSubscription({
        email: address.email,
        name: input.name ?? '',
        ip: editorIp,
        userAgent: null,
        source: 'api',
      });
      return undefined;
    }
    const row = await this.repository.insert({
      email: address.email,
      name: input.name?.trim() ?? '',
      tier: input.tier ?? 'free',
      status: 'active',
      consentSource: 'api',
      consentIp: editorIp,
      consentWording: 'confirmed-by-editor',
      confirmedAt: new Date(),
    });
    if (!row) {
      throw new FieldConflictException('email', `${address.email} is already a subscriber`);
    }
    return row;
  }

  async update(id: string, input: UpdateSubscriberDto): Promise<SubscriberRow> {
    const current = await this.get(id);
    if (input.status === 'active' && current.status !== 'active' && current.confirmedAt === null) {
      throw new ConflictException(
        'status: a subscriber who never confirmed cannot be made active; create them with confirmed: true instead',
      );
    }
    const grantEnd = this.grantEnd(input);
    if (input.tier !== undefined) await this.repository.setGrant(id, input.tier === 'premium', grantEnd);
    const row = await this.repository.update(id, {
      ...(input.name !== undefined ? { name: input.name.trim() } : {}),
      ...(input.status === 'unsubscribed' && current.status !== 'unsubscribed'
        ? { status: 'unsubscribed' as const, unsubscribedAt: new Date() }
        : {}),
      ...(input.status === 'active' ? { status: 'active' as const, unsubscribedAt: null } : {}),
    });
    if (!row) throw new NotFoundException(`No subscriber with id ${id}`);
    return row;
  }

  /** When an editor's grant of premium ends: a date to come, or null for no end. */
  private grantEnd(input: UpdateSubscriberDto): Date | null {
    if (input.premium_until === undefined) return null;
    if (input.tier !== 'premium')
      throw InvalidInputException.field('premium_until', 'goes with tier premium only', 'premium-only');
    // A day alone means through that day: the grant ends as the next one begins.
    const day = /^\d{4}-\d{2}-\d{2}$/.exec(input.premium_until.trim());
    const nextDay = day && parsePublicationTime(day[0], 'UTC');
    const until = nextDay
      ? parsePublicationTime(
          new Date(nextDay.getTime() + 86_400_000).toISOString().slice(0, 10),
          this.publication.current().timeZone,
        )
      : parsePublicationTime(input.premium_until, this.publication.current().timeZone);
    if (!until)
      throw InvalidInputException.field(
        'premium_until',
        `"${input.premium_until}" is not an ISO 8601 date such as 2027-06-30`,
        'date',
      );
    if (until.getTime() <= Date.now())
      throw InvalidInputException.field('premium_until', 'must be in the future', 'future');
    return until;
  }

  async erase(id: string): Promise<void> {
    if (!(await this.subscriptions.eraseSubscriber(id, 'editor')))
      throw new NotFoundException(`No subscriber with id ${id}`);
  }

  /** The subscribers as CSV, read from the database a batch at a time as the client reads. */
  exportCsv(filter: SubscriberFilter): Readable {
    const repository = this.repository;
    async function* lines(): AsyncGenerator<string> {
      yield stringify([EXPORT_COLUMNS]);
      let after: SubscriberCursor | undefined;
      for (;;) {
        const rows = await repository.list(filter, EXPORT_BATCH, after);
        if (rows.length === 0) return;
        yield stringify(
          rows.map((row) => [
            spreadsheetSafe(row.email),
            spreadsheetSafe(row.name),
            row.tier,
            row.status,
            row.createdAt.toISOString(),
            row.confirmedAt?.toISOString() ?? '',
            row.consentSource,
          ]),
        );
        const last = rows.at(-1);
        if (!last || rows.length < EXPORT_BATCH) return;
        after = { value: cursorValue(last, 'newest'), id: last.id };
      }
    }
    return Readable.from(lines());
  }
}
