import type { ImportedSubscriber } from './import-formats.js';
import { Inject, Injectable } from '@nestjs/common';
import { and, asc, desc, eq, ilike, inArray, lt, or, type SQL, sql } from 'drizzle-orm';
import { copyText, DatabaseClient, rowsOf, type StagingTable } from '../database/database-client.js';
import { Departures } from '../redis/departures.js';
import {
  addressHashOf,
  type NewSubscriberRow,
  type SubscriberRow,
  type SubscriberStatus,
  type SubscriberTier,
  subscribers,
  type SuppressionReason,
  suppressions,
  type TierChangeRow,
  tierChanges,
} from '../database/schema.js';
import type { ConsentEvidence } from '../queue/jobs.js';

export interface ConfirmationRequest {
  readonly email: string;
  readonly name: string;
  readonly locale: string;
  readonly consent: ConsentEvidence;
  readonly tokenHash: string;
  readonly expiresAt: Date;
}

export interface SubscriberFilter {
  readonly status?: SubscriberStatus;
  readonly tier?: SubscriberTier;
  /** Part of the email or the name, case-insensitive. */
  readonly search?: string;
  /** These subscribers only: a selection made on the desk. */
  readonly ids?: readonly string[];
}

/** The orders a list of subscribers may take. */
export const SUBSCRIBER_SORTS = ['newest', 'oldest', 'email', 'name'] as const;
export type SubscriberSort = (typeof SUBSCRIBER_SORTS)[number];

/** Position after the last row of a page, in the listing's order: its sort value, then its id. */
export interface SubscriberCursor {
  readonly value: string;
  readonly id: string;
}

interface SortSpec {
  readonly key: SQL;
  readonly descending: boolean;
  /** How the key's value travels in a cursor, and back into SQL. */
  readonly valueOf: (row: SubscriberRow) => string;
  readonly cast: SQL;
}

const SORTS: Readonly<Record<SubscriberSort, SortSpec>> = {
  newest: {
    key: sql`${subscribers.createdAt}`,
    descending: true,
    valueOf: (row) => row.createdAt.toISOString(),
    cast: sql`timestamptz`,
  },
  oldest: {
    key: sql`${subscribers.createdAt}`,
    descending: false,
    valueOf: (row) => row.createdAt.toISOString(),
    cast: sql`timestamptz`,
  },
  email: {
    key: sql`lower(${subscribers.email})`,
    descending: false,
    valueOf: (row) => row.email.toLowerCase(),
    cast: sql`text`,
  },
  name: {
    key: sql`lower(${subscribers.name})`,
    descending: false,
    valueOf: (row) => row.name.toLowerCase(),
    cast: sql`text`,
  },
};

/** The cursor value of a row in a sort: what the next page starts after. */
export function cursorValue(row: SubscriberRow, sort: SubscriberSort): string {
  return SORTS[sort].valueOf(row);
}

function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * THE rule for a subscriber's tier, in SQL over `subscribers as s`: premium while an editor's grant
 * stands or a paid subscription grants it. Every write of the tier goes through it.
 */
const PAID_PREMIUM = sql`exists (select 1 from paid_subscriptions p where p.subscriber_id = s.id and p.grants_premium)`;

/** The tier and its source by THE rule, for a subscriber whose editor's grant is `comped`. */
function tierRule(comped: SQL): { tier: SQL; source: SQL } {
  return {
    tier: sql`case when ${comped} or ${PAID_PREMIUM} then 'premium' else 'free' end`,
    source: sql`case when ${PAID_PREMIUM} then 'payment' else 'editor' end`,
  };
}

/** An import's batch on its way in: the checked lines. */
const IMPORT_STAGING: StagingTable = {
  name: 'imported_rows',
  columns:
    'email text, name text, tier text, consent_at timestamptz, consent_ip text, confirmed_at timestamptz',
};

/** A subscriber whose tier changed, and from what. */
export interface TierChange {
  readonly subscriber: SubscriberRow;
  readonly previousTier: SubscriberTier;
}

/** How long an address waits between two confirmation emails. */
const CONFIRMATION_INTERVAL = sql`interval '1 hour'`;

@Injectable()
export class SubscribersRepository {
  constructor(
    @Inject(DatabaseClient) private readonly database: DatabaseClient,
    @Inject(Departures) private readonly departures: Departures,
  ) {}

  private get db() {
    return this.database.db;
  }

  async isSuppressed(email: string): Promise<boolean> {
    const [row] = await this.db
      .select({ hash: suppressions.addressHash })
      .from(suppressions)
      .where(eq(suppressions.addressHash, addressHashOf(email)));
    return row !== undefined;
  }

  /**
   * Records a subscribe request and arms a confirmation token, in one statement: a new address
   * becomes `pending`; a pending or unsubscribed one gets a new token, unless it was sent one in
   * the last hour. Returns the subscriber to mail, or undefined when nothing is to be sent (active,
   * bounced, complained, or mailed too recently). Concurrent requests for one address send once.
   */
  async armConfirmation(
    request: ConfirmationRequest,
  ): Promise<Pick<SubscriberRow, 'id' | 'email' | 'name'> | undefined> {
    const { consent } = request;
    const result = await this.db.execute(sql`
      insert into subscribers as s (email, name, locale, status, consent_at, consent_ip, consent_user_agent,
        consent_source, consent_wording, confirm_token_hash, confirm_expires_at, confirm_sent_at)
      values (${request.email}, ${request.name}, ${request.locale}, 'pending', ${consent.at}, ${consent.ip},
        ${consent.userAgent}, ${consent.source}, ${consent.wording}, ${request.tokenHash}, ${request.expiresAt.toISOString()}, now())
      on conflict (lower(email)) do update set
        name = case when excluded.name <> '' then excluded.name else s.name end,
        consent_at = excluded.consent_at, consent_ip = excluded.consent_ip,
        consent_user_agent = excluded.consent_user_agent, consent_source = excluded.consent_source,
        consent_wording = excluded.consent_wording, confirm_token_hash = excluded.confirm_token_hash,
        confirm_expires_at = excluded.confirm_expires_at, confirm_sent_at = now(), updated_at = now()
      where s.status in ('pending', 'unsubscribed')
        and (s.confirm_sent_at is null or s.confirm_sent_at < now() - ${CONFIRMATION_INTERVAL})
      returning s.id, s.email, s.name`);
    return rowsOf<Pick<SubscriberRow, 'id' | 'email' | 'name'>>(result)[0];
  }

  /** After a failed send, lets the retry mail the address again despite the hourly limit. */
  async releaseConfirmation(id: string): Promise<void> {
    await this.db.update(subscribers).set({ confirmSentAt: null }).where(eq(subscribers.id, id));
  }

  /** Whether a confirmation token is live: read-only, for the page a GET shows. */
  async confirmationIsLive(tokenHash: string): Promise<boolean> {
    const [row] = await this.db
      .select({ id: subscribers.id })
      .from(subscribers)
      .where(
        and(
          eq(subscribers.confirmTokenHash, tokenHash),
          sql`${subscribers.confirmExpiresAt} > now()`,
          inArray(subscribers.status, ['pending', 'unsubscribed']),
        ),
      );
    return row !== undefined;
  }

  /** Uses a confirmation token: single use, because the same statement clears it. */
  async confirm(tokenHash: string): Promise<SubscriberRow | undefined> {
    const [row] = await this.db
      .update(subscribers)
      .set({
        status: 'active',
        confirmedAt: sql`now()`,
        unsubscribedAt: null,
        confirmTokenHash: null,
        confirmExpiresAt: null,
        updatedAt: sql`now()`,
      })
      .where(
        and(
          eq(subscribers.confirmTokenHash, tokenHash),
          sql`${subscribers.confirmExpiresAt} > now()`,
          inArray(subscribers.status, ['pending', 'unsubscribed']),
        ),
      )
      .returning();
    return row;
  }

  /** The ids of the subscribers of these addresses, by lower-case address. */
  async idsByEmail(emails: readonly string[]): Promise<Map<string, string>> {
    if (emails.length === 0) return new Map();
    const lowered = [...new Set(emails.map((email) => email.toLowerCase()))];
    const rows = await this.db
      .select({ id: subscribers.id, email: subscribers.email })
      .from(subscribers)
      .where(inArray(sql`lower(${subscribers.email})`, lowered));
    return new Map(rows.map((row) => [row.email.toLowerCase(), row.id]));
  }

  /** A subscriber's changes of tier, oldest first. */
  async tierChangesOf(id: string): Promise<TierChangeRow[]> {
    return this.db
      .select()
      .from(tierChanges)
      .where(eq(tierChanges.subscriberId, id))
      .orderBy(asc(tierChanges.changedAt), asc(tierChanges.id));
  }

  /** The subscriber of an address, whatever its case. */
  async findByEmail(email: string): Promise<SubscriberRow | undefined> {
    const [row] = await this.db
      .select()
      .from(subscribers)
      .where(sql`lower(${subscribers.email}) = lower(${email})`);
    return row;
  }

  async findById(id: string): Promise<SubscriberRow | undefined> {
    const [row] = await this.db.select().from(subscribers).where(eq(subscribers.id, id));
    return row;
  }

  /** Idempotent: an unsubscribed (or bounced) subscriber stays as it is. */
  async unsubscribe(id: string): Promise<void> {
    await this.unsubscribeAll([id]);
  }

  /**
   * The same for many at once (a relay's batch, mailed unsubscribes): one statement, and one wait
   * for senders to see them (Departures.raise), whatever their number.
   */
  async unsubscribeAll(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .update(subscribers)
      .set({
        status: 'unsubscribed',
        unsubscribedAt: sql`now()`,
        confirmTokenHash: null,
        updatedAt: sql`now()`,
      })
      .where(and(inArray(subscribers.id, [...ids]), inArray(subscribers.status, ['active', 'pending'])));
    // Before the caller answers: a send in progress sees it from its next message on.
    await this.departures.raise();
  }

  /** From a link in one of its emails the subscriber has proven the address: no new opt-in needed. */
  async resubscribe(id: string): Promise<void> {
    await this.db
      .update(subscribers)
      .set({ status: 'active', unsubscribedAt: null, updatedAt: sql`now()` })
      .where(and(eq(subscribers.id, id), eq(subscribers.status, 'unsubscribed')));
  }

  async rename(id: string, name: string): Promise<void> {
    await this.db
      .update(subscribers)
      .set({ name, updatedAt: sql`now()` })
      .where(eq(subscribers.id, id));
  }

  /** Deletes the subscriber and suppresses its address, together or not at all. */
  async erase(id: string, reason: SuppressionReason): Promise<boolean> {
    const erased = await this.db.transaction(async (tx) => {
      const [row] = await tx
        .delete(subscribers)
        .where(eq(subscribers.id, id))
        .returning({ addressHash: subscribers.addressHash });
      if (!row) return false;
      await tx.insert(suppressions).values({ addressHash: row.addressHash, reason }).onConflictDoNothing();
      return true;
    });
    if (erased) await this.departures.raise();
    return erased;
  }

  private filterWhere(
    filter: SubscriberFilter,
    after?: SubscriberCursor,
    sort: SubscriberSort = 'newest',
  ): SQL | undefined {
    const order = SORTS[sort];
    return and(
      filter.ids === undefined ? undefined : inArray(subscribers.id, [...filter.ids]),
      filter.status === undefined ? undefined : eq(subscribers.status, filter.status),
      filter.tier === undefined ? undefined : eq(subscribers.tier, filter.tier),
      filter.search === undefined
        ? undefined
        : or(
            ilike(subscribers.email, likePattern(filter.search)),
            ilike(subscribers.name, likePattern(filter.search)),
          ),
      after === undefined
        ? undefined
        : order.descending
          ? sql`(${order.key}, ${subscribers.id}) < (${after.value}::${order.cast}, ${after.id}::uuid)`
          : sql`(${order.key}, ${subscribers.id}) > (${after.value}::${order.cast}, ${after.id}::uuid)`,
    );
  }

  /** One page, newest first, after the cursor: stable under inserts, unlike offsets. */
  /** How many subscribers there are in each status and tier. */
  async totals(): Promise<{ status: SubscriberStatus; tier: SubscriberTier; count: number }[]> {
    return this.db
      .select({ status: subscribers.status, tier: subscribers.tier, count: sql<number>`count(*)::int` })
      .from(subscribers)
      .groupBy(subscribers.status, subscribers.tier);
  }

  /**
   * Active subscribers by the day they joined (confirmed, or were added), in the publication's time
   * zone, from `since` on; and how many active ones joined before it.
   */
  async activeByJoinDay(
    since: Date,
    timeZone: string,
  ): Promise<{ before: number; days: { day: string; count: number }[] }> {
    const joined = sql`coalesce(${subscribers.confirmedAt}, ${subscribers.createdAt})`;
    const day = sql<string>`to_char((${joined} at time zone ${timeZone})::date, 'YYYY-MM-DD')`;
    const [before] = await this.db
      .select({ count: sql<number>`count(*)::int` })
      .from(subscribers)
      .where(and(eq(subscribers.status, 'active'), sql`${joined} < ${since.toISOString()}::timestamptz`));
    const days = await this.db
      .select({ day, count: sql<number>`count(*)::int` })
      .from(subscribers)
      .where(and(eq(subscribers.status, 'active'), sql`${joined} >= ${since.toISOString()}::timestamptz`))
      // By position: the zone is a bound parameter, so PostgreSQL cannot match the repeated expression.
      .groupBy(sql`1`)
      .orderBy(sql`1`);
    return { before: before?.count ?? 0, days };
  }

  /** How many subscribers a filter matches, all pages together. */
  async count(filter: SubscriberFilter): Promise<number> {
    const [row] = await this.db
      .select({ n: sql<number>`count(*)::int` })
      .from(subscribers)
      .where(this.filterWhere(filter, undefined));
    return row?.n ?? 0;
  }

  /** One page in the sort's order after the cursor: stable under inserts, unlike offsets. */
  list(
    filter: SubscriberFilter,
    limit: number,
    after?: SubscriberCursor,
    sort: SubscriberSort = 'newest',
  ): Promise<SubscriberRow[]> {
    const { key, descending } = SORTS[sort];
    return this.db
      .select()
      .from(subscribers)
      .where(this.filterWhere(filter, after, sort))
      .orderBy(...(descending ? [desc(key), desc(subscribers.id)] : [asc(key), asc(subscribers.id)]))
      .limit(limit);
  }

  /**
   * Inserts a subscriber; undefined when the address (in any case) is already there. A premium tier
   * given here is an editor's grant: a new subscriber has paid for nothing yet.
   */
  async insert(
    row: Omit<NewSubscriberRow, 'comped' | 'compUntil' | 'tierSource'>,
  ): Promise<SubscriberRow | undefined> {
    const [inserted] = await this.db
      .insert(subscribers)
      .values({ ...row, comped: row.tier === 'premium', tierSource: 'editor' })
      .onConflictDoNothing()
      .returning();
    return inserted;
  }

  /** Everything but the tier, which follows grants and payments (setGrant, refreshTiers). */
  async update(
    id: string,
    patch: Partial<Omit<NewSubscriberRow, 'tier' | 'tierSource' | 'comped' | 'compUntil'>>,
  ): Promise<SubscriberRow | undefined> {
    const [row] = await this.db
      .update(subscribers)
      .set({ ...patch, updatedAt: sql`now()` })
      .where(eq(subscribers.id, id))
      .returning();
    if (row && patch.status !== undefined && patch.status !== 'active') await this.departures.raise();
    return row;
  }

  /**
   * An editor's grant of premium ("comp"), until a date or without end, or its withdrawal; the tier
   * follows at once. A paid subscription still makes the subscriber premium without a grant.
   */
  async setGrant(id: string, comped: boolean, until: Date | null): Promise<SubscriberRow | undefined> {
    const [row] = await this.db
      .update(subscribers)
      .set({ comped, compUntil: comped ? until : null, updatedAt: sql`now()` })
      .where(eq(subscribers.id, id))
      .returning({ id: subscribers.id });
    if (!row) return undefined;
    await this.refreshTiers([id]);
    return this.findById(id);
  }

  /** The subscriber of a Stripe customer. */
  async findByCustomer(customerId: string): Promise<SubscriberRow | undefined> {
    const [row] = await this.db.select().from(subscribers).where(eq(subscribers.externalRef, customerId));
    return row;
  }

  /** Records the subscriber's Stripe customer; false when that customer is someone else's. */
  async linkCustomer(id: string, customerId: string): Promise<boolean> {
    const result = await this.db.execute(sql`
      update subscribers set external_ref = ${customerId}, updated_at = now()
      where id = ${id} and (external_ref is null or external_ref = ${customerId})
        and not exists (select 1 from subscribers o where o.external_ref = ${customerId} and o.id <> ${id})
      returning id`);
    return rowsOf(result).length > 0;
  }

  /**
   * Sets the tier of these subscribers by THE rule (tierRule) and returns those whose tier
   * changed. Called after anything the rule reads has changed: a grant, a payment, a lapse.
   */
  async refreshTiers(ids: readonly string[]): Promise<TierChange[]> {
    if (ids.length === 0) return [];
    const rule = tierRule(sql`s.comped`);
    const result = await this.db.execute(sql`
      with wanted as (
        select s.id, s.tier as previous_tier, ${rule.tier} as tier, ${rule.source} as source
        from subscribers s
        where s.id in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)::uuid)
        for update
      ), updated as (
        update subscribers as s set tier = wanted.tier, tier_source = wanted.source, updated_at = now()
        from wanted
        where s.id = wanted.id and (s.tier <> wanted.tier or s.tier_source <> wanted.source)
        returning s.id, wanted.previous_tier, wanted.tier, wanted.source
      ), logged as (
        -- Every change of tier, in the same statement: the history can never miss one.
        insert into tier_changes (subscriber_id, from_tier, to_tier, source)
        select id, previous_tier, tier, source from updated where previous_tier <> tier
      )
      select id, previous_tier from updated`);
    const changed = rowsOf<{ id: string; previous_tier: SubscriberTier }>(result);
    if (changed.length === 0) return [];
    const rows = await this.db
      .select()
      .from(subscribers)
      .where(
        inArray(
          subscribers.id,
          changed.map((row) => row.id),
        ),
      );
    const previous = new Map(changed.map((row) => [row.id, row.previous_tier]));
    return rows.map((subscriber) => ({
      subscriber,
      previousTier: previous.get(subscriber.id) ?? subscriber.tier,
    }));
  }

  /** Withdraws the editors' grants whose end has come; returns whose. */
  async endLapsedGrants(): Promise<string[]> {
    const rows = await this.db
      .update(subscribers)
      .set({ comped: false, compUntil: null, updatedAt: sql`now()` })
      .where(and(eq(subscribers.comped, true), lt(subscribers.compUntil, sql`now()`)))
      .returning({ id: subscribers.id });
    return rows.map((row) => row.id);
  }

  /**
   * Adds or updates a batch of imported subscribers in one statement, less the suppressed
   * addresses (by the hash of each, as the list keeps them). New addresses arrive active with
   * the consent their platform recorded (when, from where, confirmed when), else the import's own
   * time; existing ones get the new name (when given) and tier, keep their consent and their
   * status: an import never resubscribes someone who left.
   */
  async upsertImported(
    rows: readonly ImportedSubscriber[],
  ): Promise<{ inserted: number; updated: number; suppressed: number }> {
    if (rows.length === 0) return { inserted: 0, updated: 0, suppressed: 0 };
    const imported = tierRule(sql`excluded.comped`);
    const [counts] = await this.database.staged<{ inserted: number; written: number }>(
      IMPORT_STAGING,
      copyText(
        rows.map((subscriber) => [
          subscriber.email,
          subscriber.name,
          subscriber.tier,
          subscriber.consentAt?.toISOString() ?? null,
          subscriber.consentIp ?? null,
          subscriber.confirmedAt?.toISOString() ?? null,
        ]),
      ),
      sql`
      with upserted as (
      insert into subscribers as s
        (email, name, tier, comped, status, consent_source, consent_wording, consent_at, consent_ip, confirmed_at)
      select r.email, r.name, r.tier, r.tier = 'premium', 'active', 'import', 'import',
        coalesce(r.consent_at, now()), r.consent_ip, coalesce(r.confirmed_at, r.consent_at, now())
      from ${sql.raw(IMPORT_STAGING.name)} r
      where not exists (select 1 from suppressions x where x.address_hash = email_address_hash(r.email))
      -- In one order for every batch: two batches written at once never wait on each other in turn.
      order by lower(r.email) collate "C"
      on conflict (lower(email)) do update set
        name = case when excluded.name <> '' then excluded.name else s.name end,
        comped = excluded.comped, comp_until = null,
        tier = ${imported.tier}, tier_source = ${imported.source},
        updated_at = now()
      returning (xmax = 0) as inserted
      )
      select (count(*) filter (where inserted))::int as inserted, count(*)::int as written from upserted`,
    );
    const inserted = counts?.inserted ?? 0;
    const written = counts?.written ?? 0;
    return { inserted, updated: written - inserted, suppressed: rows.length - written };
  }
}
