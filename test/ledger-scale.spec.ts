import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SQL, sql } from 'drizzle-orm';
import { type DatabaseClient, rowsOf } from '../src/database/database-client.js';
import { DeliveriesRepository, type DeliveryOutcome } from '../src/delivery/deliveries.repository.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

const LEDGER = 20_000;
const CHUNK = 100;

interface PlanNode {
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
        const [row] = rowsOf<{ 'QUERY PLAN': string | { Plan: PlanNode }[] }>(result);
        const plan = row?.['QUERY PLAN'];
        const parsed = typeof plan === 'string' ? (JSON.parse(plan) as { Plan: PlanNode }[]) : plan;
        if (parsed?.[0]) plans.push(parsed[0].Plan);
        return result;
      };
    },
  });
  return { db, engine: client.engine } as unknown as DatabaseClient;
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

    const plans: PlanNode[] = [];
    await new DeliveriesRepository(explaining(t.database, plans)).record(editionId, outcomes);

    expect(plans).toHaveLength(1);
    expect(rowsRead(plans[0]!, 'deliveries')).toBeLessThanOrEqual(2 * CHUNK);
    const [recorded] = rowsOf<{ n: number }>(
      await db.execute(sql`
        select count(*)::int as n from deliveries where edition_id = ${editionId} and status = 'sent'`),
    );
    expect(recorded?.n).toBe(CHUNK);
  });

  it('records outcomes in place: each row stays on its page, so the three indexes get no new entry', async () => {
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
