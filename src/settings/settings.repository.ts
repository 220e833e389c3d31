import { Inject, Injectable } from '@nestjs/common';
import { inArray, sql } from 'drizzle-orm';
import { DatabaseClient } from '../database/database-client.js';
import { settings } from '../database/schema.js';

/** Every setting an editor may change on the desk, by key. */
export const SETTING_KEYS = [
  'stripe.price.month',
  'stripe.price.year',
  'payments.grace_days',
  'tracking.clicks',
] as const;
export type SettingKey = (typeof SETTING_KEYS)[number];

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

/** Whether editions' links go through the click redirect: on unless an editor turned it off. */
export async function clickTracking(settings: SettingsRepository): Promise<boolean> {
  const { 'tracking.clicks': value } = await settings.get(['tracking.clicks']);
  return value !== 'off';
}
