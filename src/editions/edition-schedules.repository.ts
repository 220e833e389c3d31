import { Inject, Injectable } from '@nestjs/common';
import { and, asc, desc, eq, gt, lte, sql } from 'drizzle-orm';
import { DatabaseClient } from '../database/database-client.js';
import {
  EditionLifecycleRepository,
  type NewEditionContent,
} from '../edition-lifecycle/edition-lifecycle.repository.js';
import {
  articles,
  type EditionRow,
  type EditionScheduleRow,
  editionSchedules,
  type NewEditionScheduleRow,
  type ScheduleOutcome,
} from '../database/schema.js';

/** A schedule whose slot has come, with the articles published since its previous edition. */
export interface DueSlot {
  readonly schedule: EditionScheduleRow;
  /** Oldest first, at most the limit given to runDue. */
  readonly articles: readonly { readonly id: string; readonly publishedAt: Date }[];
}

/** What to do with a due slot. */
export interface SlotPlan {
  readonly edition: { readonly content: NewEditionContent; readonly sendAt: Date } | undefined;
  readonly coveredUntil: Date;
  readonly nextRunAt: Date;
}

export interface SlotResult {
  readonly schedule: EditionScheduleRow;
  readonly outcome: ScheduleOutcome;
  readonly edition: EditionRow | undefined;
}

@Injectable()
export class EditionSchedulesRepository {
  constructor(
    @Inject(DatabaseClient) private readonly database: DatabaseClient,
    @Inject(EditionLifecycleRepository) private readonly lifecycle: EditionLifecycleRepository,
  ) {}

  private get db() {
    return this.database.db;
  }

  async insert(row: NewEditionScheduleRow): Promise<EditionScheduleRow> {
    const [inserted] = await this.db.insert(editionSchedules).values(row).returning();
    if (!inserted) throw new Error('INSERT … RETURNING gave no row');
    return inserted;
  }

  async findById(id: string): Promise<EditionScheduleRow | undefined> {
    const [row] = await this.db.select().from(editionSchedules).where(eq(editionSchedules.id, id));
    return row;
  }

  list(): Promise<EditionScheduleRow[]> {
    return this.db
      .select()
      .from(editionSchedules)
      .orderBy(desc(editionSchedules.active), asc(editionSchedules.nextRunAt), asc(editionSchedules.id));
  }

  async update(id: string, patch: Partial<NewEditionScheduleRow>): Promise<EditionScheduleRow | undefined> {
    const [row] = await this.db
      .update(editionSchedules)
      .set({ ...patch, updatedAt: sql`now()` })
      .where(eq(editionSchedules.id, id))
      .returning();
    return row;
  }

  /** Deletes the schedule; the editions it made stay, no longer linked to it. */
  async delete(id: string): Promise<boolean> {
    const rows = await this.db
      .delete(editionSchedules)
      .where(eq(editionSchedules.id, id))
      .returning({ id: editionSchedules.id });
    return rows.length > 0;
  }

  /**
   * Handles every due slot once, however many workers tick at once: each due schedule is locked
   * (SKIP LOCKED, so a second worker passes over it), and its edition and its next slot are
   * written in the same transaction, so a crash can neither lose a slot nor run it twice.
   */
  async runDue(now: Date, articleLimit: number, plan: (slot: DueSlot) => SlotPlan): Promise<SlotResult[]> {
    return this.db.transaction(async (tx) => {
      const due = await tx
        .select()
        .from(editionSchedules)
        .where(and(eq(editionSchedules.active, true), lte(editionSchedules.nextRunAt, now)))
        .orderBy(asc(editionSchedules.nextRunAt))
        .for('update', { skipLocked: true });
      const results: SlotResult[] = [];
      for (const schedule of due) {
        const since = await tx
          .select({ id: articles.id, publishedAt: articles.publishedAt })
          .from(articles)
          .where(
            and(
              eq(articles.status, 'published'),
              gt(articles.publishedAt, schedule.coveredUntil),
              lte(articles.publishedAt, schedule.nextRunAt),
            ),
          )
          .orderBy(asc(articles.publishedAt), asc(articles.id))
          .limit(articleLimit);
        const decision = plan({
          schedule,
          // published_at is never null for a published article (a check constraint says so).
          articles: since.map((a) => ({ id: a.id, publishedAt: a.publishedAt ?? schedule.nextRunAt })),
        });
        let edition: EditionRow | undefined;
        if (decision.edition) {
          edition = await this.lifecycle.create(
            { ...decision.edition.content, scheduleId: schedule.id },
            decision.edition.sendAt,
            tx,
          );
        }
        const outcome: ScheduleOutcome = edition ? 'created' : 'skipped';
        const [updated] = await tx
          .update(editionSchedules)
          .set({
            nextRunAt: decision.nextRunAt,
            coveredUntil: decision.coveredUntil,
            lastRunAt: schedule.nextRunAt,
            lastOutcome: outcome,
            updatedAt: sql`now()`,
          })
          .where(eq(editionSchedules.id, schedule.id))
          .returning();
        results.push({ schedule: updated ?? schedule, outcome, edition });
      }
      return results;
    });
  }
}
