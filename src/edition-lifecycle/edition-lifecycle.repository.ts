import { Inject, Injectable } from '@nestjs/common';
import { and, eq, inArray, lte, sql } from 'drizzle-orm';
import { type Database, DatabaseClient, rowsOf } from '../database/database-client.js';
import { type EditionRow, editions, type NewEditionRow } from '../database/schema.js';
import { type EditionAction, statusesAllowing } from './edition-states.js';

/** What an edition's content is; its status and send facts are this repository's alone. */
export type EditionContent = Partial<
  Pick<NewEditionRow, 'subject' | 'preheader' | 'audience' | 'articleIds' | 'scheduleId'>
>;

export type NewEditionContent = Required<Pick<NewEditionRow, 'subject' | 'articleIds'>> & EditionContent;

/** A statement runner inside the preparation's transaction. */
export type PreparationTx = Pick<Database, 'execute'>;

/** A span of ledger positions, both ends included. */
export interface LedgerSpan {
  readonly fromSeq: number;
  readonly toSeq: number;
}

/**
 * One slice of the audience frozen into the ledger: the last subscriber it looked at, how many it
 * looked at (fewer than asked for: the audience is all in), how many of them it froze (the
 * suppressed addresses are passed over), and the positions its rows took (undefined when it wrote
 * none).
 */
export interface FrozenSlice {
  readonly lastId: string | undefined;
  readonly scanned: number;
  readonly count: number;
  readonly span: LedgerSpan | undefined;
}

export type PreparationStep =
  | {
      readonly kind: 'froze';
      readonly count: number;
      readonly prepared: boolean;
      readonly span: LedgerSpan | undefined;
    }
  | { readonly kind: 'done' };

/** An edition being sent, as the reconciler sees it. */
export interface SendingEdition {
  readonly id: string;
  readonly prepared: boolean;
  /** Seconds since its ledger or its preparation last moved. */
  readonly idleSeconds: number;
}

/**
 * The only writer of an edition's status and of the facts of its send (started, prepared,
 * finished, counts, failure). Every change is a compare-and-set on the status, so a transition
 * that lost a race does nothing and says so.
 */
@Injectable()
export class EditionLifecycleRepository {
  constructor(@Inject(DatabaseClient) private readonly database: DatabaseClient) {}

  private get db() {
    return this.database.db;
  }

  /** A new edition, as a draft or already scheduled; inside the caller's transaction if given one. */
  async create(
    content: NewEditionContent,
    scheduledAt?: Date,
    tx: Pick<Database, 'insert'> = this.db,
  ): Promise<EditionRow> {
    const [row] = await tx
      .insert(editions)
      .values({ ...content, ...(scheduledAt ? { status: 'scheduled', scheduledAt } : {}) })
      .returning();
    if (!row) throw new Error('INSERT … RETURNING gave no row');
    return row;
  }

  private async transition(
    id: string,
    action: EditionAction,
    patch: Partial<NewEditionRow>,
  ): Promise<EditionRow | undefined> {
    const [row] = await this.db
      .update(editions)
      .set({ ...patch, updatedAt: sql`now()` })
      .where(and(eq(editions.id, id), inArray(editions.status, statusesAllowing(action))))
      .returning();
    return row;
  }

  /** Changes what the edition says, while the rules allow editing. */
  edit(id: string, content: EditionContent): Promise<EditionRow | undefined> {
    return this.transition(id, 'edit', content);
  }

  schedule(id: string, at: Date): Promise<EditionRow | undefined> {
    return this.transition(id, 'schedule', { status: 'scheduled', scheduledAt: at });
  }

  cancel(id: string): Promise<EditionRow | undefined> {
    return this.transition(id, 'cancel', { status: 'cancelled', finishedAt: new Date() });
  }

  /**
   * Starts every due edition in one statement, so that any number of workers ticking at once
   * start each edition once.
   */
  async startDue(now: Date): Promise<string[]> {
    const rows = await this.db
      .update(editions)
      .set({ status: 'sending', startedAt: sql`now()`, progressAt: sql`now()`, updatedAt: sql`now()` })
      .where(and(eq(editions.status, 'scheduled'), lte(editions.scheduledAt, now)))
      .returning({ id: editions.id });
    return rows.map((row) => row.id);
  }

  /**
   * Freezes the next slice of the audience, after the last subscriber frozen so far, with the
   * edition's row locked: two preparations of one edition (a job queued again while the first still
   * ran) take turns, and each slice is frozen once. The cursor moves in the same transaction as the
   * slice is written, so a preparation killed at any point resumes exactly where it stopped.
   */
  async freezeNextSlice(
    id: string,
    freeze: (tx: PreparationTx, edition: EditionRow, afterId: string | undefined) => Promise<FrozenSlice>,
    sliceSize: number,
  ): Promise<PreparationStep> {
    return this.db.transaction(async (tx) => {
      // NO KEY UPDATE: two preparations take turns, while the claims sending the slices already
      // queued (their lease rows' foreign key share-locks the edition) go on meanwhile.
      const [edition] = await tx.select().from(editions).where(eq(editions.id, id)).for('no key update');
      if (edition?.status !== 'sending' || edition.preparedAt !== null) return { kind: 'done' };
      const slice = await freeze(tx, edition, edition.prepareCursor ?? undefined);
      const prepared = slice.scanned < sliceSize;
      await tx
        .update(editions)
        .set({
          prepareCursor: slice.lastId ?? edition.prepareCursor,
          audienceSize: sql`${editions.audienceSize} + ${slice.count}`,
          progressAt: sql`now()`,
          // The time the last slice is frozen, not its transaction's start (now()), which a large
          // slice would put seconds early.
          ...(prepared ? { preparedAt: sql`clock_timestamp()` } : {}),
        })
        .where(eq(editions.id, id));
      return { kind: 'froze', count: slice.count, prepared, span: slice.span };
    });
  }

  /**
   * Marks the edition's ledger as having moved: the reconciler leaves moving editions alone. Not
   * while another transaction holds the edition's row: a slice being frozen marks it itself as it
   * commits, and an edition being ended is no longer watched. Waiting for a slice (up to a second
   * at 50,000) held a connection of the sending worker's pool as long, once a second per edition.
   */
  async touch(id: string): Promise<void> {
    await this.db.execute(sql`
      update editions set progress_at = now()
      where id = (select id from editions where id = ${id} for no key update skip locked)`);
  }

  /**
   * Closes the edition once its whole audience is frozen and every ledger row has an outcome:
   * `sent`, or `failed` when nothing could be delivered, with the counts frozen. Subscribers erased
   * during the send took their ledger rows with them; they count as skipped. Safe to call from
   * every batch; only the last one acts.
   */
  async finishIfDone(id: string): Promise<EditionRow | undefined> {
    // Called after every batch: first a look for one open row from the ledger's end, where the
    // open rows are while a send goes on, so the whole ledger is counted once, when it is done.
    const open = await this.db.execute(sql`
      select 1 from deliveries where edition_id = ${id} and status = 'pending'
      order by seq desc limit 1`);
    if (rowsOf(open).length > 0) return undefined;
    const result = await this.db.execute(sql`
      with c as (
        select count(*)::int as ledger,
          count(*) filter (where status = 'sent')::int as sent,
          count(*) filter (where status = 'failed')::int as failed,
          count(*) filter (where status = 'skipped')::int as skipped,
          count(*) filter (where status = 'pending')::int as open,
          (select smtp_response from deliveries where edition_id = ${id} and status = 'failed' limit 1) as first_failure
        from deliveries where edition_id = ${id}
      )
      update editions e set
        status = case when c.failed > 0 and c.sent = 0 then 'failed' else 'sent' end,
        finished_at = now(), total = e.audience_size, sent = c.sent, failed = c.failed,
        skipped = c.skipped + greatest(e.audience_size - c.ledger, 0),
        failure_reason = case when c.failed > 0 then c.failed || ' failed; first: ' || coalesce(c.first_failure, 'unknown') end,
        updated_at = now()
      from c where e.id = ${id} and e.status = 'sending' and e.prepared_at is not null and c.open = 0
      returning e.id`);
    return rowsOf<{ id: string }>(result).length > 0 ? this.findById(id) : undefined;
  }

  /** Ends a send that cannot go on (its preparation failed for good), saying why on the desk. */
  async fail(id: string, reason: string): Promise<EditionRow | undefined> {
    const [row] = await this.db
      .update(editions)
      .set({
        status: 'failed',
        finishedAt: sql`now()`,
        failureReason: reason.slice(0, 1000),
        total: editions.audienceSize,
        updatedAt: sql`now()`,
      })
      .where(and(eq(editions.id, id), eq(editions.status, 'sending')))
      .returning();
    return row;
  }

  async findById(id: string): Promise<EditionRow | undefined> {
    const [row] = await this.db.select().from(editions).where(eq(editions.id, id));
    return row;
  }

  /** Every edition being sent, with how long it has been still. */
  async sending(): Promise<SendingEdition[]> {
    const result = await this.db.execute(sql`
      select id, prepared_at is not null as prepared,
        extract(epoch from now() - coalesce(progress_at, started_at, updated_at))::float8 as idle
      from editions where status = 'sending'`);
    return rowsOf<{ id: string; prepared: boolean; idle: number }>(result).map((row) => ({
      id: row.id,
      prepared: row.prepared,
      idleSeconds: row.idle,
    }));
  }
}
