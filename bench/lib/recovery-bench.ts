import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pg from 'pg';
import { deleteQueueKeys } from '../../test/helpers/queues.js';
import { REDIS_URL, type seedEdition } from './delivery-bench.js';
import { BENCH_TOKEN, type RunningProcess, startWorker } from './service.js';
import { startSink } from './sink.js';

type Seeded = Awaited<ReturnType<typeof seedEdition>>;

export interface RecoveryResult {
  /** Seconds from the fault to the moment the lost work was being done again. */
  readonly recovered_seconds: number;
  /** Rows that were in the dead worker's hands (killed worker) or messages sent before the fault. */
  readonly at_fault: number;
  /** The sink got at least N, and the ledger says N sent. */
  readonly everyone: boolean;
  readonly duplicates: number;
}

async function poll<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function editionSent(seeded: Seeded, n: number): Promise<boolean> {
  const res = await fetch(`${seeded.api.url}/api/editions/${seeded.editionId}`, {
    headers: { authorization: `Bearer ${BENCH_TOKEN}` },
  });
  const edition = (await res.json()) as { status: string; counts: { sent: number } };
  return edition.status === 'sent' && edition.counts.sent === n;
}

/**
 * Two workers send an edition of `n`; at a quarter of it, `fault` strikes. The clock runs from the
 * fault to `recovered`, then the edition must still reach everyone.
 */
async function underFault(
  seeded: Seeded,
  n: number,
  fault: (
    workers: RunningProcess[],
    db: pg.Client,
    redis: Redis,
  ) => Promise<{ atFault: number; recovered: () => Promise<boolean> }>,
): Promise<RecoveryResult> {
  const sink = await startSink();
  const redis = new Redis(REDIS_URL);
  const db = new pg.Client({ connectionString: seeded.env.DATABASE_URL });
  await db.connect();
  const workers: RunningProcess[] = [];
  try {
    for (let i = 0; i < 2; i += 1)
      workers.push(await startWorker({ ...seeded.env, SMTP_URL: `smtp://127.0.0.1:${sink.port}` }));
    const res = await fetch(`${seeded.api.url}/api/editions/${seeded.editionId}/schedule`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'application/json' },
      body: '{}',
    });
    if (!res.ok) throw new Error(`schedule: ${res.status}`);
    await poll('a quarter of the edition', () => (sink.count() >= n / 4 ? true : undefined), 120_000);
    const struck = performance.now();
    const { atFault, recovered } = await fault(workers, db, redis);
    await poll(
      'the lost work to be done again',
      async () => ((await recovered()) ? true : undefined),
      300_000,
    );
    const recoveredSeconds = Math.round((performance.now() - struck) / 100) / 10;
    await poll(
      'the edition to finish',
      async () => ((await editionSent(seeded, n)) ? true : undefined),
      300_000,
    );
    await sleep(1000);
    return {
      recovered_seconds: recoveredSeconds,
      at_fault: atFault,
      everyone: sink.count() >= n && (await editionSent(seeded, n)),
      duplicates: sink.count() - n,
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await sink.stop();
    await db.end();
    redis.disconnect();
  }
}

/** SIGKILL one of two workers mid-send: how long until every row it held has an outcome. */
export function killedWorkerBench(seeded: Seeded, n: number): Promise<RecoveryResult> {
  return underFault(seeded, n, async (workers, db) => {
    const victim = workers[0]!;
    // The chunks the victim holds are those whose leases only it renews; read them just before.
    const held = await db.query<{ id: string }>('select id from delivery_leases');
    const exited = new Promise((resolve) => victim.child.once('exit', resolve));
    victim.child.kill('SIGKILL');
    await exited;
    // The survivor's chunks of that moment are done a second later; leases still there were the
    // victim's (the reconciler only takes them once they have run out).
    await sleep(1500);
    const alive = await db.query<{ id: string }>('select id from delivery_leases');
    const aliveIds = new Set(alive.rows.map((row) => row.id));
    const lost = held.rows.map((row) => row.id).filter((id) => aliveIds.has(id));
    const rows = await db.query<{ subscriber_id: string }>(
      `select d.subscriber_id from delivery_leases l
       join deliveries d on d.edition_id = l.edition_id and d.seq between l.from_seq and l.to_seq
       where l.id = any($1::uuid[]) and d.status = 'pending'`,
      [lost],
    );
    const orphans = rows.rows.map((row) => row.subscriber_id);
    return {
      atFault: orphans.length,
      recovered: async () => {
        const open = await db.query<{ n: number }>(
          "select count(*)::int as n from deliveries where subscriber_id = any($1::uuid[]) and status = 'pending'",
          [orphans],
        );
        return (open.rows[0]?.n ?? 0) === 0;
      },
    };
  });
}

/** Every queue key deleted mid-send, as FLUSHALL would: how long until the lost work is queued again. */
export function flushedRedisBench(seeded: Seeded, n: number): Promise<RecoveryResult> {
  return underFault(seeded, n, async (_workers, db, redis) => {
    const prefix = seeded.env.QUEUE_PREFIX;
    // Never a pattern that would reach other work on the same server.
    if (!prefix) throw new Error('The benchmark deployment has no QUEUE_PREFIX');
    const queued = async (): Promise<number> =>
      (await redis.llen(`${prefix}:delivery:wait`)) + (await redis.zcard(`${prefix}:delivery:prioritized`));
    // A small edition may be in the workers' hands whole (two batches at once each): then the
    // flush loses no job, and there is nothing to queue again. Jobs taken between this look and
    // the flush are not lost either: their edition then finishes with nothing queued again.
    const lost = await queued();
    await deleteQueueKeys(redis, prefix);
    const sent = await db.query<{ n: number }>(
      "select count(*)::int as n from deliveries where status = 'sent'",
    );
    return {
      atFault: sent.rows[0]?.n ?? 0,
      // Work is queued again: the delivery queue holds jobs once more.
      recovered: async () => {
        if (lost === 0) return true;
        const active = await redis.llen(`${prefix}:delivery:active`);
        return (await queued()) + active > 0 || (await editionSent(seeded, n));
      },
    };
  });
}
