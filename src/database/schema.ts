import { type SQL, sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  bigint,
  boolean,
  check,
  customType,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

export const ARTICLE_ACCESS = ['public', 'premium'] as const;
export type ArticleAccess = (typeof ARTICLE_ACCESS)[number];

export const ARTICLE_STATUSES = ['draft', 'scheduled', 'published'] as const;
export type ArticleStatus = (typeof ARTICLE_STATUSES)[number];

const timestamps = {
  createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
};

export const articles = pgTable(
  'articles',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    slug: text('slug').notNull().unique(),
    title: text('title').notNull(),
    lede: text('lede').notNull().default(''),
    bodyMd: text('body_md').notNull().default(''),
    /** Sanitised HTML of the whole body: for premium readers and editors only when access is premium. */
    bodyHtml: text('body_html').notNull().default(''),
    /** Sanitised HTML of the body up to the teaser cut, derived from body_md on every write. */
    teaserHtml: text('teaser_html').notNull().default(''),
    tags: text('tags')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /** URL forms of tags, derived on write, so that /tags/:tag is one indexed lookup. */
    tagSlugs: text('tag_slugs')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    access: text('access', { enum: ARTICLE_ACCESS }).notNull().default('premium'),
    status: text('status', { enum: ARTICLE_STATUSES }).notNull().default('draft'),
    publishAt: timestamp('publish_at', { withTimezone: true, precision: 3 }),
    publishedAt: timestamp('published_at', { withTimezone: true, precision: 3 }),
    author: text('author').notNull().default(''),
    /** When the tick first saw the article published (and, with EDITION_ON_PUBLISH, made its edition). */
    announcedAt: timestamp('announced_at', { withTimezone: true, precision: 3 }),
    /** The editor closed this article's comments: those written stay shown, no new one is taken. */
    commentsClosed: boolean('comments_closed').notNull().default(false),
    ...timestamps,
  },
  (t) => [
    check('articles_access_check', sql`${t.access} in ('public', 'premium')`),
    check('articles_status_check', sql`${t.status} in ('draft', 'scheduled', 'published')`),
    check('articles_scheduled_has_time', sql`${t.status} <> 'scheduled' or ${t.publishAt} is not null`),
    check('articles_published_has_time', sql`${t.status} <> 'published' or ${t.publishedAt} is not null`),
    index('articles_published_idx').on(t.status, t.publishedAt.desc(), t.id),
    index('articles_due_idx')
      .on(t.publishAt)
      .where(sql`${t.status} = 'scheduled'`),
    index('articles_tag_slugs_idx').using('gin', t.tagSlugs),
    index('articles_unannounced_idx')
      .on(t.publishedAt)
      .where(sql`${t.status} = 'published' and ${t.announcedAt} is null`),
  ],
);

export type ArticleRow = typeof articles.$inferSelect;
export type NewArticleRow = typeof articles.$inferInsert;

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

/**
 * What search finds of an article: the words of its title, lede and the part the public may read
 * (never what follows the cut of a premium article), accents folded, stemmed in French and in
 * English. Apart from `articles` so that reading an article never carries it.
 */
export const articleSearch = pgTable(
  'article_search',
  {
    articleId: uuid('article_id')
      .primaryKey()
      .references(() => articles.id, { onDelete: 'cascade' }),
    document: tsvector('document').notNull(),
  },
  (t) => [index('article_search_document_idx').using('gin', t.document)],
);

export const SUBSCRIBER_TIERS = ['free', 'premium'] as const;
export type SubscriberTier = (typeof SUBSCRIBER_TIERS)[number];

export const SUBSCRIBER_STATUSES = ['pending', 'active', 'unsubscribed', 'bounced', 'complained'] as const;
export type SubscriberStatus = (typeof SUBSCRIBER_STATUSES)[number];

export const TIER_SOURCES = ['editor', 'payment'] as const;
export type TierSource = (typeof TIER_SOURCES)[number];

export const CONSENT_SOURCES = ['form', 'import', 'api', 'payment'] as const;
export type ConsentSource = (typeof CONSENT_SOURCES)[number];

export const subscribers = pgTable(
  'subscribers',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Normalised: trimmed, domain lower-cased and in ASCII (punycode). */
    email: text('email').notNull(),
    /**
     * The address as the suppression list keeps it (migration 0025), kept by PostgreSQL: freezing
     * an audience compares it with the list, where hashing each address there took almost half of
     * reading each slice, and suppressing a subscriber copies it there.
     */
    addressHash: text('address_hash')
      .notNull()
      .generatedAlwaysAs(sql`email_address_hash(email)`),
    name: text('name').notNull().default(''),
    tier: text('tier', { enum: SUBSCRIBER_TIERS }).notNull().default('free'),
    status: text('status', { enum: SUBSCRIBER_STATUSES }).notNull().default('pending'),
    locale: text('locale').notNull().default('fr'),
    /**
     * Why the tier is what it is: `payment` while a paid subscription grants premium, else `editor`
     * (an editor's grant, or nothing). The tier itself is derived (SubscribersRepository.refreshTiers).
     */
    tierSource: text('tier_source', { enum: TIER_SOURCES }).notNull().default('editor'),
    /** The Stripe customer, once the subscriber has paid or opened a checkout. */
    externalRef: text('external_ref'),
    /** Premium given by an editor ("comp"), until comp_until when set. */
    comped: boolean('comped').notNull().default(false),
    compUntil: timestamp('comp_until', { withTimezone: true, precision: 3 }),
    consentAt: timestamp('consent_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    consentIp: text('consent_ip'),
    consentUserAgent: text('consent_user_agent'),
    consentSource: text('consent_source', { enum: CONSENT_SOURCES }).notNull(),
    consentWording: text('consent_wording').notNull(),
    confirmedAt: timestamp('confirmed_at', { withTimezone: true, precision: 3 }),
    /** SHA-256 of the single pending confirmation token; cleared when used. */
    confirmTokenHash: text('confirm_token_hash'),
    confirmExpiresAt: timestamp('confirm_expires_at', { withTimezone: true, precision: 3 }),
    /** When the last confirmation email was sent: at most one an hour per address. */
    confirmSentAt: timestamp('confirm_sent_at', { withTimezone: true, precision: 3 }),
    unsubscribedAt: timestamp('unsubscribed_at', { withTimezone: true, precision: 3 }),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('subscribers_email_key').on(sql`lower(${t.email})`),
    uniqueIndex('subscribers_confirm_token_key').on(t.confirmTokenHash),
    index('subscribers_status_tier_idx').on(t.status, t.tier),
    index('subscribers_created_idx').on(t.createdAt.desc(), t.id.desc()),
    check('subscribers_tier_check', sql`${t.tier} in ('free', 'premium')`),
    check(
      'subscribers_status_check',
      sql`${t.status} in ('pending', 'active', 'unsubscribed', 'bounced', 'complained')`,
    ),
    check(
      'subscribers_consent_source_check',
      sql`${t.consentSource} in ('form', 'import', 'api', 'payment')`,
    ),
    check('subscribers_tier_source_check', sql`${t.tierSource} in ('editor', 'payment')`),
    uniqueIndex('subscribers_external_ref_key')
      .on(t.externalRef)
      .where(sql`${t.externalRef} is not null`),
    index('subscribers_comp_until_idx')
      .on(t.compUntil)
      .where(sql`${t.comped} and ${t.compUntil} is not null`),
  ],
);

export type SubscriberRow = typeof subscribers.$inferSelect;

/**
 * A subscriber as a signed-in member's pages use them (MembersService.memberOf), read with every
 * member's article page: only these columns, since each one read costs its parsing at each page.
 */
export const MEMBER_COLUMNS = ['id', 'email', 'name', 'tier', 'status', 'externalRef'] as const;
export type MemberRow = Pick<SubscriberRow, (typeof MEMBER_COLUMNS)[number]>;
export type NewSubscriberRow = typeof subscribers.$inferInsert;

export const SUPPRESSION_REASONS = ['hard-bounce', 'soft-bounce', 'complaint', 'erasure', 'editor'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

/**
 * The hash under which the suppression list keeps an address: PostgreSQL's, the one each subscriber
 * keeps (`address_hash`), so that the list and the audience it filters agree on every address.
 */
export function addressHashOf(email: string): SQL {
  return sql`email_address_hash(${email})`;
}

/** Addresses never to mail again, kept as hashes so that erasure keeps nothing readable. */
export const suppressions = pgTable(
  'suppressions',
  {
    addressHash: text('address_hash').primaryKey(),
    reason: text('reason', { enum: SUPPRESSION_REASONS }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    check(
      'suppressions_reason_check',
      sql`${t.reason} in ('hard-bounce', 'soft-bounce', 'complaint', 'erasure', 'editor')`,
    ),
  ],
);

export const EDITION_AUDIENCES = ['all', 'free', 'premium'] as const;
export type EditionAudience = (typeof EDITION_AUDIENCES)[number];

export const SCHEDULE_OUTCOMES = ['created', 'skipped'] as const;
export type ScheduleOutcome = (typeof SCHEDULE_OUTCOMES)[number];

/**
 * A recurring edition: at each slot of its cron expression (read in its time zone) the tick makes
 * an edition of the articles published since the previous one, or skips the slot when there are none.
 */
export const editionSchedules = pgTable(
  'edition_schedules',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    cron: text('cron').notNull(),
    timeZone: text('time_zone').notNull(),
    /** The editions' subject; {date} becomes the slot's date in the publication's words. */
    subject: text('subject').notNull(),
    preheader: text('preheader').notNull().default(''),
    audience: text('audience', { enum: EDITION_AUDIENCES }).notNull().default('all'),
    active: boolean('active').notNull().default(true),
    nextRunAt: timestamp('next_run_at', { withTimezone: true, precision: 3 }).notNull(),
    /** Articles published after this instant go into the next edition. */
    coveredUntil: timestamp('covered_until', { withTimezone: true, precision: 3 }).notNull(),
    lastRunAt: timestamp('last_run_at', { withTimezone: true, precision: 3 }),
    lastOutcome: text('last_outcome', { enum: SCHEDULE_OUTCOMES }),
    ...timestamps,
  },
  (t) => [
    index('edition_schedules_due_idx')
      .on(t.nextRunAt)
      .where(sql`${t.active}`),
    check('edition_schedules_audience_check', sql`${t.audience} in ('all', 'free', 'premium')`),
    check('edition_schedules_outcome_check', sql`${t.lastOutcome} in ('created', 'skipped')`),
  ],
);

export type EditionScheduleRow = typeof editionSchedules.$inferSelect;
export type NewEditionScheduleRow = typeof editionSchedules.$inferInsert;

export const EDITION_STATUSES = ['draft', 'scheduled', 'sending', 'sent', 'failed', 'cancelled'] as const;
export type EditionStatus = (typeof EDITION_STATUSES)[number];

export const editions = pgTable(
  'editions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    subject: text('subject').notNull(),
    /** Inbox preview text; the editor's words, never cut from an article's body. */
    preheader: text('preheader').notNull().default(''),
    audience: text('audience', { enum: EDITION_AUDIENCES }).notNull().default('all'),
    articleIds: uuid('article_ids').array().notNull(),
    status: text('status', { enum: EDITION_STATUSES }).notNull().default('draft'),
    scheduledAt: timestamp('scheduled_at', { withTimezone: true, precision: 3 }),
    startedAt: timestamp('started_at', { withTimezone: true, precision: 3 }),
    /**
     * When the whole audience had been frozen into the ledger. Until then the edition cannot finish
     * (a check says so), and a lost preparation resumes after `prepare_cursor`.
     */
    preparedAt: timestamp('prepared_at', { withTimezone: true, precision: 3 }),
    /** The last subscriber id frozen into the ledger so far: preparation resumes after it. */
    prepareCursor: uuid('prepare_cursor'),
    /** Subscribers frozen into the ledger so far; the whole audience once prepared_at is set. */
    audienceSize: integer('audience_size').notNull().default(0),
    /** When its ledger last moved: a send whose ledger stops moving is picked up by the reconciler. */
    progressAt: timestamp('progress_at', { withTimezone: true, precision: 3 }),
    finishedAt: timestamp('finished_at', { withTimezone: true, precision: 3 }),
    /** Counts frozen when the send finishes; live counts come from the ledger. */
    total: integer('total').notNull().default(0),
    sent: integer('sent').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    skipped: integer('skipped').notNull().default(0),
    failureReason: text('failure_reason'),
    /** The recurring schedule that made this edition, if one did. */
    scheduleId: uuid('schedule_id').references(() => editionSchedules.id, { onDelete: 'set null' }),
    ...timestamps,
  },
  (t) => [
    index('editions_due_idx')
      .on(t.scheduledAt)
      .where(sql`${t.status} = 'scheduled'`),
    index('editions_sending_idx')
      .on(t.status)
      .where(sql`${t.status} = 'sending'`),
    check('editions_audience_check', sql`${t.audience} in ('all', 'free', 'premium')`),
    check(
      'editions_status_check',
      sql`${t.status} in ('draft', 'scheduled', 'sending', 'sent', 'failed', 'cancelled')`,
    ),
    check('editions_scheduled_has_time', sql`${t.status} <> 'scheduled' or ${t.scheduledAt} is not null`),
    // An edition whose audience was not wholly frozen has not been sent, whatever its ledger says.
    check('editions_sent_is_prepared', sql`${t.status} <> 'sent' or ${t.preparedAt} is not null`),
    index('editions_schedule_idx').on(t.scheduleId),
  ],
);

export type EditionRow = typeof editions.$inferSelect;
export type NewEditionRow = typeof editions.$inferInsert;

export const DELIVERY_STATUSES = ['pending', 'sent', 'failed', 'skipped'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/**
 * The ledger: one row per recipient of an edition, frozen when the edition is prepared.
 *
 * Its two references are kept by triggers, not foreign keys (migration 0023): a key is checked row
 * by row, and locks every subscriber it checks, which made up a third of freezing an audience. Rows
 * come from the freeze alone, which reads both parents in the same statement; deleting an edition
 * or a subscriber deletes its ledger rows, and an erasure waits for a freeze in progress to commit
 * first (the ledger's advisory lock), so that no row outlives its subscriber.
 *
 * Two indexes (migration 0024), each written once per row as the audience is frozen: the key, an
 * edition's rows in ledger order, which sending reads by range; and one subscriber's rows, edition
 * by edition, which erasure, the subscriber's history, bounce reports and a copy's lookup read.
 * The second is unique: no subscriber is in one edition's ledger twice.
 */
export const deliveries = pgTable(
  'deliveries',
  {
    editionId: uuid('edition_id').notNull(),
    subscriberId: uuid('subscriber_id').notNull(),
    /** Position in the edition's ledger: send-batch jobs cover ranges of it. */
    seq: bigint('seq', { mode: 'number' }).notNull().generatedAlwaysAsIdentity(),
    tier: text('tier', { enum: SUBSCRIBER_TIERS }).notNull(),
    status: text('status', { enum: DELIVERY_STATUSES }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    messageId: text('message_id'),
    smtpResponse: text('smtp_response'),
    sentAt: timestamp('sent_at', { withTimezone: true, precision: 3 }),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.editionId, t.seq] }),
    uniqueIndex('deliveries_subscriber_edition_key').on(t.subscriberId, t.editionId),
    check('deliveries_status_check', sql`${t.status} in ('pending', 'sent', 'failed', 'skipped')`),
    check('deliveries_tier_check', sql`${t.tier} in ('free', 'premium')`),
  ],
);

export type DeliveryRow = typeof deliveries.$inferSelect;

/**
 * One row per chunk of the ledger a worker is sending: the span of ledger positions it covers,
 * renewed while the worker lives. Claiming a chunk writes this row alone, not its recipients'
 * (their one write is their outcome). Spans never overlap (an exclusion constraint in migration
 * 0021: positions are unique across editions), so two workers never hold one recipient. A span
 * whose lease ran out (its worker died) is taken by the reconciler and its pending rows sent again;
 * the table stays as small as the number of chunks in flight.
 */
export const deliveryLeases = pgTable(
  'delivery_leases',
  {
    id: uuid('id').primaryKey(),
    editionId: uuid('edition_id')
      .notNull()
      .references(() => editions.id, { onDelete: 'cascade' }),
    /** The first and last ledger positions of the chunk, both included. */
    fromSeq: bigint('from_seq', { mode: 'number' }).notNull(),
    toSeq: bigint('to_seq', { mode: 'number' }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [index('delivery_leases_expires_idx').on(t.expiresAt)],
);

export const EDITOR_ROLES = ['owner', 'editor'] as const;
export type EditorRole = (typeof EDITOR_ROLES)[number];

/** People who sign in to the editor's desk. The first one, made by the first-run setup, is the owner. */
export const editors = pgTable(
  'editors',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    email: text('email').notNull(),
    name: text('name').notNull().default(''),
    /** argon2id, in the PHC string format (algorithm, parameters and salt travel with the hash). */
    passwordHash: text('password_hash').notNull(),
    role: text('role', { enum: EDITOR_ROLES }).notNull().default('editor'),
    /** Sessions begun before this are over: a new password signs out every other browser. */
    passwordChangedAt: timestamp('password_changed_at', { withTimezone: true, precision: 3 })
      .notNull()
      .defaultNow(),
    lastSignInAt: timestamp('last_sign_in_at', { withTimezone: true, precision: 3 }),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('editors_email_key').on(sql`lower(${t.email})`),
    // At most one owner: two first-run setups racing cannot both succeed.
    uniqueIndex('editors_one_owner_key')
      .on(t.role)
      .where(sql`${t.role} = 'owner'`),
    check('editors_role_check', sql`${t.role} in ('owner', 'editor')`),
  ],
);

export type EditorRow = typeof editors.$inferSelect;

export const TOKEN_SCOPES = ['read', 'write'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** Editor API tokens made in the desk: only a SHA-256 of the secret is kept, so it is shown once. */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    editorId: uuid('editor_id')
      .notNull()
      .references(() => editors.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull(),
    /** The first characters of the secret, so that an editor can tell tokens apart. */
    hint: text('hint').notNull(),
    scope: text('scope', { enum: TOKEN_SCOPES }).notNull(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, precision: 3 }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, precision: 3 }),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('api_tokens_hash_key').on(t.tokenHash),
    check('api_tokens_scope_check', sql`${t.scope} in ('read', 'write')`),
  ],
);

export type ApiTokenRow = typeof apiTokens.$inferSelect;

/**
 * Paid subscriptions, as Stripe last told them (always read back from Stripe's API, never from an
 * event's payload, so that events arriving late or twice change nothing). `grants_premium` says
 * whether the subscription makes its subscriber premium now; `premium_until`, when it stops doing
 * so without further news (the end of a cancelled period, of a failed payment's grace).
 */
export const paidSubscriptions = pgTable(
  'paid_subscriptions',
  {
    id: text('id').primaryKey(),
    subscriberId: uuid('subscriber_id')
      .notNull()
      .references(() => subscribers.id, { onDelete: 'cascade' }),
    customerId: text('customer_id').notNull(),
    status: text('status').notNull(),
    priceId: text('price_id'),
    interval: text('interval', { enum: ['month', 'year'] }),
    /** In the currency's minor unit, per interval. */
    amount: integer('amount').notNull().default(0),
    currency: text('currency').notNull(),
    currentPeriodEnd: timestamp('current_period_end', { withTimezone: true, precision: 3 }),
    cancelAtPeriodEnd: boolean('cancel_at_period_end').notNull().default(false),
    /** When the subscription first went past due since it was last paid. */
    pastDueSince: timestamp('past_due_since', { withTimezone: true, precision: 3 }),
    grantsPremium: boolean('grants_premium').notNull().default(false),
    premiumUntil: timestamp('premium_until', { withTimezone: true, precision: 3 }),
    /** When the member's payment was refunded in full: no premium until they pay again. */
    refundedAt: timestamp('refunded_at', { withTimezone: true, precision: 3 }),
    startedAt: timestamp('started_at', { withTimezone: true, precision: 3 }).notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true, precision: 3 }),
    ...timestamps,
  },
  (t) => [
    index('paid_subscriptions_subscriber_idx').on(t.subscriberId),
    index('paid_subscriptions_lapse_idx')
      .on(t.premiumUntil)
      .where(sql`${t.grantsPremium} and ${t.premiumUntil} is not null`),
    check('paid_subscriptions_interval_check', sql`${t.interval} in ('month', 'year')`),
  ],
);

export type PaidSubscriptionRow = typeof paidSubscriptions.$inferSelect;
export type NewPaidSubscriptionRow = typeof paidSubscriptions.$inferInsert;

/** Stripe events already applied: each is applied once, however often it is delivered. */
export const paymentEvents = pgTable('payment_events', {
  id: text('id').primaryKey(),
  type: text('type').notNull(),
  receivedAt: timestamp('received_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
});

/** Publication settings an editor changes on the desk; the environment gives the defaults. */
export const settings = pgTable('settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
});

export const MESSAGE_EVENT_KINDS = ['hard-bounce', 'soft-bounce', 'complaint', 'unsubscribe'] as const;
export type MessageEventKind = (typeof MESSAGE_EVENT_KINDS)[number];

export const MESSAGE_EVENT_SOURCES = [
  'smtp',
  'mailto',
  'link',
  'ses',
  'postmark',
  'mailgun',
  'sendgrid',
] as const;
export type MessageEventSource = (typeof MESSAGE_EVENT_SOURCES)[number];

/**
 * What became of messages after they left: bounces, complaints and unsubscribes reported by mail
 * or by a relay. One row per effect: the key makes a report delivered twice count once. A
 * subscriber's events go with its erasure.
 */
export const messageEvents = pgTable(
  'message_events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    kind: text('kind', { enum: MESSAGE_EVENT_KINDS }).notNull(),
    source: text('source', { enum: MESSAGE_EVENT_SOURCES }).notNull(),
    subscriberId: uuid('subscriber_id')
      .notNull()
      .references(() => subscribers.id, { onDelete: 'cascade' }),
    /** The edition whose message it was, when the report says so; null when nothing ties it to one. */
    editionId: uuid('edition_id').references(() => editions.id, { onDelete: 'set null' }),
    /** What the report said (status code, diagnostic, feedback type), at most a line or two. */
    detail: text('detail').notNull().default(''),
    dedupeKey: text('dedupe_key').notNull().unique(),
    occurredAt: timestamp('occurred_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    index('message_events_edition_idx').on(t.editionId, t.kind),
    index('message_events_subscriber_idx').on(t.subscriberId, t.occurredAt),
    check(
      'message_events_kind_check',
      sql`${t.kind} in ('hard-bounce', 'soft-bounce', 'complaint', 'unsubscribe')`,
    ),
    check(
      'message_events_source_check',
      sql`${t.source} in ('smtp', 'mailto', 'link', 'ses', 'postmark', 'mailgun', 'sendgrid')`,
    ),
  ],
);

export type MessageEventRow = typeof messageEvents.$inferSelect;

/**
 * The links of an edition as it was sent, by a short id derived from the URL: a click redirect
 * goes only to a link that was in the edition, never to a URL the request names.
 */
export const editionLinks = pgTable(
  'edition_links',
  {
    editionId: uuid('edition_id')
      .notNull()
      .references(() => editions.id, { onDelete: 'cascade' }),
    linkId: text('link_id').notNull(),
    /** The link as the edition had it; an article link keeps the reader marker, filled per click. */
    url: text('url').notNull(),
  },
  (t) => [primaryKey({ columns: [t.editionId, t.linkId] })],
);

/**
 * Clicks on an edition's links, one row per link and subscriber: people's clicks apart from those of
 * security scanners (HEAD requests, known scanner agents, follows within seconds of delivery).
 */
export const linkClicks = pgTable(
  'link_clicks',
  {
    editionId: uuid('edition_id')
      .notNull()
      .references(() => editions.id, { onDelete: 'cascade' }),
    linkId: text('link_id').notNull(),
    subscriberId: uuid('subscriber_id')
      .notNull()
      .references(() => subscribers.id, { onDelete: 'cascade' }),
    clicks: integer('clicks').notNull().default(0),
    scannerClicks: integer('scanner_clicks').notNull().default(0),
    firstAt: timestamp('first_at', { withTimezone: true, precision: 3 }).notNull(),
    lastAt: timestamp('last_at', { withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.editionId, t.linkId, t.subscriberId] }),
    index('link_clicks_subscriber_idx').on(t.subscriberId),
  ],
);

/**
 * What an edition's events and clicks add up to once the retention period (EVENT_RETENTION_DAYS)
 * is over: the per-subscriber rows are folded in here and deleted, so reports keep their figures
 * and nothing ties them to a reader any more.
 */
/** Folded events by kind, and `readers`: the readers whose clicks were folded. */
export const EDITION_TOTAL_KINDS = [...MESSAGE_EVENT_KINDS, 'readers'] as const;
export type EditionTotalKind = (typeof EDITION_TOTAL_KINDS)[number];

export const editionTotals = pgTable(
  'edition_totals',
  {
    editionId: uuid('edition_id')
      .notNull()
      .references(() => editions.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: EDITION_TOTAL_KINDS }).notNull(),
    count: integer('count').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.editionId, t.kind] })],
);

/** An edition link's clicks once folded: readers who clicked, clicks, scanners' follows. */
export const linkTotals = pgTable(
  'link_totals',
  {
    editionId: uuid('edition_id')
      .notNull()
      .references(() => editions.id, { onDelete: 'cascade' }),
    linkId: text('link_id').notNull(),
    readers: integer('readers').notNull().default(0),
    clicks: integer('clicks').notNull().default(0),
    scannerClicks: integer('scanner_clicks').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.editionId, t.linkId] })],
);

/** Every change of a subscriber's tier, as THE tier rule made it: for their history and export. */
export const tierChanges = pgTable(
  'tier_changes',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    subscriberId: uuid('subscriber_id')
      .notNull()
      .references(() => subscribers.id, { onDelete: 'cascade' }),
    fromTier: text('from_tier', { enum: SUBSCRIBER_TIERS }).notNull(),
    toTier: text('to_tier', { enum: SUBSCRIBER_TIERS }).notNull(),
    /** What the tier follows now: an editor's grant, or a payment. */
    source: text('source', { enum: TIER_SOURCES }).notNull(),
    changedAt: timestamp('changed_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('tier_changes_subscriber_idx').on(t.subscriberId, t.changedAt)],
);

export type TierChangeRow = typeof tierChanges.$inferSelect;

export const COMMENT_STATUSES = ['pending', 'approved', 'hidden'] as const;
export type CommentStatus = (typeof COMMENT_STATUSES)[number];

/**
 * Members' comments on articles: `pending` until an editor approves them (pre-moderation) or
 * `approved` at once (post-moderation); `hidden` by an editor. A reply names its parent, one level
 * deep. A comment whose author was erased while it had replies keeps its place with no author and
 * no text (`subscriber_id` null, `body_md` empty), so that the replies still read in order.
 */
export const comments = pgTable(
  'comments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    articleId: uuid('article_id')
      .notNull()
      .references(() => articles.id, { onDelete: 'cascade' }),
    parentId: uuid('parent_id').references((): AnyPgColumn => comments.id, { onDelete: 'cascade' }),
    subscriberId: uuid('subscriber_id').references(() => subscribers.id, { onDelete: 'set null' }),
    /** The name the member signed the comment with. */
    authorName: text('author_name').notNull().default(''),
    bodyMd: text('body_md').notNull(),
    /** Sanitised HTML of the body (the comments' Markdown subset). */
    bodyHtml: text('body_html').notNull(),
    status: text('status', { enum: COMMENT_STATUSES }).notNull(),
    moderatedAt: timestamp('moderated_at', { withTimezone: true, precision: 3 }),
    ...timestamps,
  },
  (t) => [
    check('comments_status_check', sql`${t.status} in ('pending', 'approved', 'hidden')`),
    index('comments_article_idx').on(t.articleId, t.status, t.createdAt),
    index('comments_status_idx').on(t.status, t.createdAt.desc()),
    index('comments_subscriber_idx').on(t.subscriberId),
    index('comments_parent_idx').on(t.parentId),
  ],
);

export type CommentRow = typeof comments.$inferSelect;
