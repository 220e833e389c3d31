import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SQL, sql } from 'drizzle-orm';
import { type DatabaseClient, rowsOf } from '../src/database/database-client.js';
import {
  DeliveriesRepository,
  type DeliveryOutcome,
  RECORD_OUTCOMES,
  recordOutcomesValues,
} from '../src/delivery/deliveries.repository.js';
import { MessageEventsRepository } from '../src/delivery/message-events.repository.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

const LEDGER = 20_000;
const CHUNK = 100;

interface PlanNode {
  readonly 'Node Type': string;
  readonly 'Relation Name'?: string;
  readonly 'Actual Rows': number;
  readonly 'Actual Loops': number;
  readonly Plans?: readonly PlanNode[];
}

/** Rows the plan's scans of a table produced, every loop counted. */
function rowsRead(node: PlanNode, table: string): number {
  const own = node['Relation Name'] === table ? node['Actual Rows'] * node['Actual Loops'] : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + rowsRead(child, table), 0);
}

/** How the plan reads a table: the type of each of its nodes that scans it. */
function scansOf(node: PlanNode, table: string): string[] {
  const own = node['Relation Name'] === table ? [node['Node Type']] : [];
  return [...own, ...(node.Plans ?? []).flatMap((child) => scansOf(child, table))];
}

/** The plan an `EXPLAIN (FORMAT JSON)` answered: text on one engine, parsed JSON on the other. */
function planOf(result: unknown): PlanNode | undefined {
  const [row] = rowsOf<{ 'QUERY PLAN': string | { Plan: PlanNode }[] }>(result);
  const plan = row?.['QUERY PLAN'];
  const parsed = typeof plan === 'string' ? (JSON.parse(plan) as { Plan: PlanNode }[]) : plan;
  return parsed?.[0]?.Plan;
}

/**
 * The same database client, but each statement runs under EXPLAIN ANALYZE (so it still does what
 * it does) and its plan is kept: what a statement read is then a number, not a time.
 */
function explaining(client: DatabaseClient, plans: PlanNode[]): DatabaseClient {
  const db = new Proxy(client.db, {
    get(target, key, receiver) {
      if (key !== 'execute') return Reflect.get(target, key, receiver) as unknown;
      return async (query: SQL) => {
        const result = await target.execute(sql`explain (analyze, format json) ${query}`);
        const plan = planOf(result);
        if (plan) plans.push(plan);
        return result;
      };
    },
  });
  return { db, engine: client.engine } as unknown as DatabaseClient;
}

/** A value as an SQL literal, for a statement whose parameters EXECUTE spells out. */
function literal(value: string | number): string {
  return typeof value === 'number' ? String(value) : `'${value.replaceAll("'", "''")}'`;
}

/**
 * The plans a prepared statement runs with these values under EXPLAIN ANALYZE (so it still does
 * what it does): first a plan made for the values, then the generic plan a connection settles on
 * after a few runs, made without them.
 */
async function preparedPlans(
  client: DatabaseClient,
  statement: { readonly text: string },
  values: readonly (string | number)[],
): Promise<PlanNode[]> {
  return client.db.transaction(async (tx) => {
    await tx.execute(sql.raw(`prepare planned as ${statement.text}`));
    const plans: PlanNode[] = [];
    for (const mode of ['force_custom_plan', 'force_generic_plan']) {
      await tx.execute(sql.raw(`set local plan_cache_mode = ${mode}`));
      const result = await tx.execute(
        sql.raw(`explain (analyze, format json) execute planned(${values.map(literal).join(', ')})`),
      );
      const plan = planOf(result);
      if (plan) plans.push(plan);
    }
    await tx.execute(sql.raw('deallocate planned'));
    return plans;
  });
}

describe("a send's bookkeeping, at the size of a large edition", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    await t.database.db.execute(sql`
      insert into subscribers (email, name, tier, status, consent_source, consent_wording)
      select 'lecteur' || n || '@exemple.fr', 'Lecteur ' || n, 'free', 'active', 'import', 'test'
      from generate_series(1, ${LEDGER}::int) as n`);
  });
  afterAll(async () => {
    await t.close();
  });

  /** A new edition whose ledger holds the first `size` subscribers, frozen in one statement. */
  async function frozenLedger(subject: string, size: number): Promise<string> {
    const { db } = t.database;
    const [edition] = rowsOf<{ id: string }>(
      await db.execute(sql`
        insert into editions (subject, article_ids) values (${subject}, '{}') returning id`),
    );
    await db.execute(sql`
      insert into deliveries (edition_id, subscriber_id, tier)
      select ${edition!.id}, id, tier from subscribers order by id limit ${size}`);
    return edition!.id;
  }

  it('records a chunk by reading that chunk, never the whole ledger, whatever the planner believes', async () => {
    const { db } = t.database;
    // A ledger written in one statement and never analysed: what a fresh edition's ledger is.
    const editionId = await frozenLedger('Grande édition', LEDGER);
    const chunk = rowsOf<{ subscriber_id: string; seq: string | number }>(
      await db.execute(sql`
        select subscriber_id, seq from deliveries where edition_id = ${editionId}
        order by seq offset ${LEDGER / 2} limit ${CHUNK}`),
    );
    const outcomes: DeliveryOutcome[] = chunk.map((row) => ({
      subscriberId: row.subscriber_id,
      seq: Number(row.seq),
      status: 'sent',
      messageId: `<${row.subscriber_id}@exemple.fr>`,
      smtpResponse: '250 2.0.0 Ok',
    }));

    await new DeliveriesRepository(t.database).record(editionId, outcomes);
    const [recorded] = rowsOf<{ n: number }>(
      await db.execute(sql`
        select count(*)::int as n from deliveries where edition_id = ${editionId} and status = 'sent'`),
    );
    expect(recorded?.n).toBe(CHUNK);

    const plans = await preparedPlans(t.database, RECORD_OUTCOMES, recordOutcomesValues(editionId, outcomes));
    expect(plans).toHaveLength(2);
    for (const plan of plans) expect(rowsRead(plan, 'deliveries')).toBeLessThanOrEqual(2 * CHUNK);
  });

  it("reads one subscriber's rows, and one copy, through an index, whatever the ledger holds", async () => {
    const { db } = t.database;
    const older = await frozenLedger('Édition précédente', LEDGER);
    const latest = await frozenLedger('Dernière édition', LEDGER);
    const [subscriber] = rowsOf<{ id: string }>(
      await db.execute(sql`select id from subscribers order by id offset ${LEDGER / 2} limit 1`),
    );
    const subscriberId = subscriber!.id;
    await db.execute(sql`
      update deliveries set status = 'sent', sent_at = now() - make_interval(secs => 60 * (edition_id = ${older})::int)
      where subscriber_id = ${subscriberId} and edition_id in (${older}, ${latest})`);

    const copy = { editionId: latest, subscriberId };
    const complaint = {
      subscriberId,
      kind: 'complaint' as const,
      source: 'smtp' as const,
      editionId: undefined,
      detail: '',
      reportKey: 'plainte',
    };
    // What each read finds, then how it reads: under EXPLAIN ANALYZE, a statement answers its plan.
    const events = new MessageEventsRepository(t.database);
    expect(await events.sentCopies([copy])).toEqual(new Set([`${latest}.${subscriberId}`]));
    // A complaint naming no copy is about the last edition the subscriber was sent.
    await events.insert([complaint]);
    expect(await events.bouncedEveryTime([subscriberId], 2)).toEqual([]);
    const plans: PlanNode[] = [];
    const explained = new MessageEventsRepository(explaining(t.database, plans));
    await explained.sentCopies([copy]);
    await explained.insert([{ ...complaint, reportKey: 'autre plainte' }]);
    await explained.bouncedEveryTime([subscriberId], 2);
    const scans = plans.map((plan) => scansOf(plan, 'deliveries')).filter((plan) => plan.length > 0);
    // The copy, the last edition sent, the editions that bounced: three reads of the ledger.
    expect(scans).toHaveLength(3);
    for (const scan of scans) expect(scan).not.toContain('Seq Scan');
    // The first complaint only: the explained one found no edition (its read answered a plan).
    const recorded = rowsOf<{ edition_id: string | null }>(
      await db.execute(sql`
        select edition_id from message_events where subscriber_id = ${subscriberId} and edition_id is not null`),
    );
    expect(recorded.map((row) => row.edition_id)).toEqual([latest]);
  });

  it('records outcomes in place: each row stays on its page, so the indexes get no new entry', async () => {
    const { db } = t.database;
    const editionId = await frozenLedger('Édition en place', 10 * CHUNK);
    const pages = async (): Promise<Map<string, string>> =>
      new Map(
        rowsOf<{ subscriber_id: string; page: string }>(
          await db.execute(sql`
            select subscriber_id, (ctid::text::point)[0]::text as page from deliveries
            where edition_id = ${editionId}`),
        ).map((row) => [row.subscriber_id, row.page]),
      );
    const before = await pages();
    const ledger = rowsOf<{ subscriber_id: string; seq: string | number }>(
      await db.execute(sql`
        select subscriber_id, seq from deliveries where edition_id = ${editionId} order by seq`),
    );
    const repository = new DeliveriesRepository(t.database);
    for (let at = 0; at < ledger.length; at += CHUNK) {
      // Outcomes as long as real ones: a Message-ID of the edition and subscriber, a server's reply.
      await repository.record(
        editionId,
        ledger.slice(at, at + CHUNK).map((row) => ({
          subscriberId: row.subscriber_id,
          seq: Number(row.seq),
          status: 'sent',
          messageId: `<${editionId}.${row.subscriber_id}@blog.exemple.fr>`,
          smtpResponse: '250 2.0.0 Ok: queued as 4XyZ1b2C3d',
        })),
      );
    }
    const after = await pages();
    expect(after.size).toBe(10 * CHUNK);
    const moved = [...after].filter(([id, page]) => before.get(id) !== page);
    expect(moved).toEqual([]);
  });
});
