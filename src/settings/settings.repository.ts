import { Inject, Injectable } from '@nestjs/common';
import { inArray, sql } from 'drizzle-orm';
import { DatabaseClient } from '../database/database-client.js';
import { settings } from '../database/schema.js';
import { isSingleLine } from '../lib/single-line.js';
import type { PublicationField } from './publication.js';

/** Every setting an editor may change on the desk, by key. */
export const SETTING_KEYS = [
  'stripe.price.month',
  'stripe.price.year',
  'payments.grace_days',
  'tracking.clicks',
  'tracking.opens',
  'offer.benefits',
  'offer.from_price',
] as const;
/** Those, and the publication's own settings (see publication.ts). */
export type SettingKey = (typeof SETTING_KEYS)[number] | `publication.${PublicationField}`;

/** The one writer of publication settings kept in the database; the environment gives the defaults. */
@Injectable()
export class SettingsRepository {
  constructor(@Inject(DatabaseClient) private readonly database: DatabaseClient) {}

  async get(keys: readonly SettingKey[]): Promise<Partial<Record<SettingKey, string>>> {
    const rows = await this.database.db
      .select()
      .from(settings)
      .where(inArray(settings.key, [...keys]));
    return Object.fromEntries(rows.map((row) => [row.key, row.value]));
  }

  async set(values: Partial<Record<SettingKey, string>>): Promise<void> {
    const rows = Object.entries(values).map(([key, value]) => ({ key, value }));
    if (rows.length === 0) return;
    await this.database.db.transaction(async (tx) => {
      for (const row of rows)
        await tx
          .insert(settings)
          .values(row)
          .onConflictDoUpdate({ target: settings.key, set: { value: row.value, updatedAt: sql`now()` } });
    });
  }
}

/** What an edition's copies count of their readers. */
export interface Tracking {
  /** Links go through the click redirect: on unless an editor turned it off. */
  readonly clicks: boolean;
  /** A pixel counts opens: off unless an editor turned it on (unreliable, see tracked-links.ts). */
  readonly opens: boolean;
}

export const NO_TRACKING: Tracking = { clicks: false, opens: false };

export async function tracking(settings: SettingsRepository): Promise<Tracking> {
  const stored = await settings.get(['tracking.clicks', 'tracking.opens']);
  return { clicks: stored['tracking.clicks'] !== 'off', opens: stored['tracking.opens'] === 'on' };
}

/** The most lines an editor may give for what premium gives, and the longest line. */
export const OFFER_MAX_LINES = 6;
export const OFFER_MAX_LINE_LENGTH = 160;

/** What the premium offer says wherever it is made: the paywall, the upgrade page, free emails. */
export interface PremiumOffer {
  /** What premium gives, line by line: the editor's words, else the locale's. */
  readonly benefits: readonly string[];
  /** The lowest price a month, as the blog last showed it ("4,17 €"); absent without one. */
  readonly fromPrice?: string;
}

/**
 * The premium offer as it stands: the lines an editor wrote on the desk (`defaults` when none),
 * and the starting price the payments module last learnt from Stripe.
 */
export async function premiumOffer(
  settings: SettingsRepository,
  defaults: readonly string[],
  payments: boolean,
): Promise<PremiumOffer> {
  const stored = await settings.get(['offer.benefits', 'offer.from_price']);
  const lines = (stored['offer.benefits'] ?? '').split('\n').filter((line) => line !== '');
  const fromPrice = payments ? stored['offer.from_price'] : undefined;
  return { benefits: lines.length > 0 ? lines : defaults, ...(fromPrice ? { fromPrice } : {}) };
}

/**
 * The lines of the offer as typed on the desk, checked: at most OFFER_MAX_LINES lines of at most
 * OFFER_MAX_LINE_LENGTH characters with no control character, blank lines dropped; an empty text
 * brings back the defaults.
 */
export function offerLines(
  text: string,
): { lines: string[] } | { problem: 'too-many' | 'too-long' | 'control' } {
  const lines = text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.replace(/\s+/g, ' ').trim())
    .filter((line) => line !== '');
  if (!lines.every(isSingleLine)) return { problem: 'control' };
  if (lines.length > OFFER_MAX_LINES) return { problem: 'too-many' };
  if (lines.some((line) => line.length > OFFER_MAX_LINE_LENGTH)) return { problem: 'too-long' };
  return { lines };
}
