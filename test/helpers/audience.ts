import { randomUUID } from 'node:crypto';
import {
  addressHashOf,
  type SubscriberStatus,
  type SubscriberTier,
  subscribers,
  suppressions,
} from '../../src/database/schema.js';
import type { TestApp } from './test-app.js';

export interface Audience {
  readonly free: string[];
  readonly premium: string[];
  /** Active but on the suppression list, pending, unsubscribed, bounced: never mailed. */
  readonly excluded: string[];
}

/** Inserts subscribers straight into the database: the mix an edition's audience is cut from. */
export async function seedAudience(
  t: TestApp,
  counts: {
    free: number;
    premium: number;
    pending?: number;
    unsubscribed?: number;
    bounced?: number;
    suppressed?: number;
  },
  prefix = 'lecteur',
): Promise<Audience> {
  const rows: { email: string; tier: SubscriberTier; status: SubscriberStatus }[] = [];
  const add = (n: number, tier: SubscriberTier, status: SubscriberStatus, kind: string): string[] =>
    Array.from({ length: n }, (_, i) => {
      const email = `${prefix}-${kind}-${i}@exemple.fr`;
      rows.push({ email, tier, status });
      return email;
    });
  const free = add(counts.free, 'free', 'active', 'free');
  const premium = add(counts.premium, 'premium', 'active', 'premium');
  const excluded = [
    ...add(counts.pending ?? 0, 'free', 'pending', 'pending'),
    ...add(counts.unsubscribed ?? 0, 'premium', 'unsubscribed', 'unsub'),
    ...add(counts.bounced ?? 0, 'free', 'bounced', 'bounced'),
  ];
  const suppressed = add(counts.suppressed ?? 0, 'premium', 'active', 'suppressed');
  excluded.push(...suppressed);
  for (let i = 0; i < rows.length; i += 1000) {
    await t.database.db.insert(subscribers).values(
      rows.slice(i, i + 1000).map((row) => ({
        id: randomUUID(),
        email: row.email,
        name: `Nom ${row.email.split('@')[0] ?? ''}`,
        tier: row.tier,
        // Premium seeded by hand is an editor's grant, as THE tier rule reads it.
        comped: row.tier === 'premium',
        status: row.status,
        consentSource: 'import' as const,
        consentWording: 'test',
        confirmedAt: row.status === 'pending' ? null : new Date(),
      })),
    );
  }
  if (suppressed.length > 0) {
    await t.database.db
      .insert(suppressions)
      .values(
        suppressed.map((email) => ({ addressHash: addressHashOf(email), reason: 'complaint' as const })),
      );
  }
  return { free, premium, excluded };
}
