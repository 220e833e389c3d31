import { Redis as RedisClient } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { rowsOf } from '../src/database/database-client.js';
import { type EditionRow, editions, subscribers } from '../src/database/schema.js';
import { ROWS_IN_FLIGHT } from '../src/delivery/edition-delivery.service.js';
import { SubscriberTokens } from '../src/mail/subscriber-tokens.js';
import { DeliveriesRepository } from '../src/delivery/deliveries.repository.js';
import { EditionLifecycleRepository } from '../src/edition-lifecycle/edition-lifecycle.repository.js';
import { seedAudience } from './helpers/audience.js';
import { deleteQueueKeys } from './helpers/queues.js';
import { FAST_PIPELINE, finished, publishedArticle, scheduledEdition } from './helpers/editions.js';
import { eventually, type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { sameDeployment, startTestApp, type TestApp } from './helpers/test-app.js';
import { testEngine } from './helpers/test-database.js';

function perRecipient(sink: SmtpSink): Map<string, number> {
  const counts = new Map<string, number>();
  for (const mail of sink.messages)
    for (const to of mail.envelopeTo) counts.set(to, (counts.get(to) ?? 0) + 1);
  return counts;
}

// PGlite serves one process; two deployments of one database need PostgreSQL.
describe.runIf(testEngine() === 'postgres')('two workers and two scheduler ticks at once', () => {
  let sink: SmtpSink;
  let first: TestApp;
  let second: TestApp;
  beforeAll(async () => {
    sink = await startSmtpSink();
    first = await startTestApp({ SMTP_URL: sink.url, ...FAST_PIPELINE });
    second = await startTestApp({
      SMTP_URL: sink.url,
      ...FAST_PIPELINE,
      ...sameDeployment(first),
    });
  });
  afterAll(async () => {
    await second.close();
    await first.close();
    await sink.close();
  });

  it('send each recipient exactly one message', async () => {
    const article = await publishedArticle(first);
    const audience = await seedAudience(first, { free: 400, premium: 400 }, 'duo');
    const edition = await scheduledEdition(first, article.id, 500);
    expect(await finished(second, edition.id)).toMatchObject({
      status: 'sent',
      counts: { sent: 800, total: 800 },
    });
    const counts = perRecipient(sink);
    for (const email of [...audience.free, ...audience.premium]) expect(counts.get(email), email).toBe(1);
    expect(sink.messages).toHaveLength(800);
  });
});

/** What FLUSHALL does to this deployment. */
async function flushQueues(t: TestApp): Promise<void> {
  await deleteQueueKeys(t.app.get(RedisClient), t.config.queuePrefix);
}

async function editionRow(t: TestApp, id: string): Promise<EditionRow> {
  const [row] = await t.database.db.select().from(editions).where(eq(editions.id, id));
  if (!row) throw new Error(`no edition ${id}`);
  return row;
}

describe('an edition whose preparation was lost', () => {
  it('is prepared and sent after Redis loses its prepare job waiting behind another edition', async () => {
    const sink = await startSmtpSink({ delayMs: 20 });
    const t = await startTestApp({ SMTP_URL: sink.url, ...FAST_PIPELINE, SEND_CONCURRENCY: '2' });
    try {
      const article = await publishedArticle(t);
      const audience = await seedAudience(t, { free: 600, premium: 300 }, 'lost');
      const first = await scheduledEdition(t, article.id, 0, { audience: 'free' });
      await eventually(() => (sink.messages.length >= 20 ? true : undefined));
      // Started while the first edition's batches fill the queue: its preparation waits behind them.
      const second = await scheduledEdition(t, article.id, 0, { audience: 'premium' });
      await eventually(async () =>
        (await editionRow(t, second.id)).status === 'sending' ? true : undefined,
      );
      expect((await editionRow(t, second.id)).preparedAt).toBeNull();
      await flushQueues(t);

      expect(await finished(t, second.id)).toMatchObject({
        status: 'sent',
        counts: { total: 300, sent: 300, failed: 0 },
      });
      expect(await finished(t, first.id)).toMatchObject({
        status: 'sent',
        counts: { total: 600, sent: 600 },
      });
      const counts = perRecipient(sink);
      for (const email of [...audience.free, ...audience.premium]) expect(counts.get(email), email).toBe(1);
    } finally {
      await t.close();
      await sink.close();
    }
  });

  it('resumes a preparation that died after its first slice of 25,000, sending everyone once', async () => {
    const sink = await startSmtpSink({ parse: false });
    // Leases short enough to resume soon, long enough that a busy machine still renews them in time.
    const t = await startTestApp({ SMTP_URL: sink.url, ...FAST_PIPELINE, DELIVERY_LEASE_SECONDS: '10' });
    try {
      const article = await publishedArticle(t);
      const audience = await seedAudience(t, { free: 12_500, premium: 12_500 }, 'resume');
      const lifecycle = t.app.get(EditionLifecycleRepository);
      const ledger = t.app.get(DeliveriesRepository);
      const edition = await lifecycle.create({ subject: 'Reprise', articleIds: [article.id] });
      // What a worker killed in the middle of preparing leaves: the edition sending, its first slice
      // frozen, and no job anywhere.
      await t.database.db
        .update(editions)
        .set({ status: 'sending', startedAt: new Date() })
        .where(eq(editions.id, edition.id));
      const step = await lifecycle.freezeNextSlice(
        edition.id,
        (tx, row, afterId) => ledger.freezeAudienceSlice(tx, row, afterId, 10_000),
        10_000,
      );
      expect(step).toMatchObject({ kind: 'froze', count: 10_000, prepared: false });
      // Nothing may close it while its audience is not wholly frozen, whatever its ledger says.
      expect(await lifecycle.finishIfDone(edition.id)).toBeUndefined();
      await expect(
        t.database.db.update(editions).set({ status: 'sent' }).where(eq(editions.id, edition.id)),
      ).rejects.toThrow();

      expect(await finished(t, edition.id)).toMatchObject({
        status: 'sent',
        counts: { total: 25_000, sent: 25_000, failed: 0, skipped: 0 },
      });
      const counts = perRecipient(sink);
      expect(counts.size).toBe(25_000);
      for (const email of [...audience.free, ...audience.premium]) expect(counts.get(email), email).toBe(1);
    } finally {
      await t.close();
      await sink.close();
    }
  });

  it('ends as failed, with the reason, when its preparation fails for good', async () => {
    const t = await startTestApp({ ...FAST_PIPELINE, DELIVERY_LEASE_SECONDS: '2' });
    try {
      const article = await publishedArticle(t);
      await seedAudience(t, { free: 3, premium: 0 }, 'failing');
      // An audience the database cannot freeze: preparation throws on every attempt.
      const lifecycle = t.app.get(EditionLifecycleRepository);
      const edition = await lifecycle.create({ subject: 'Échec', articleIds: [article.id] });
      await t.database.db.execute(
        sql`update editions set status = 'sending', started_at = now(), audience = 'all' where id = ${edition.id}`,
      );
      await t.database.db.execute(
        sql`alter table deliveries add constraint refuse_all check (false) not valid`,
      );
      const failed = await finished(t, edition.id);
      expect(failed).toMatchObject({ status: 'failed' });
      expect(failed.failure_reason).toMatch(/^Preparation failed: .*refuse_all/);
    } finally {
      await t.close();
    }
  });
});

describe('an unsubscribe in the middle of a send', () => {
  it('is final once answered: no RCPT for that address after the 200', async () => {
    let t: TestApp | undefined = undefined;
    const order: string[] = [];
    const unsubscribed = new Map<string, number>();
    // At every tenth RCPT the server holds its answer until the next recipient in line has
    // unsubscribed and been answered: the worker can only reach that recipient after the 200.
    const sink = await startSmtpSink({
      onRecipient: async (address) => {
        const position = order.indexOf(address);
        const next = order[position + 1];
        if (!t || position < 0 || position % 10 !== 9 || next === undefined || position > 100) return;
        const [row] = await t.database.db.select().from(subscribers).where(eq(subscribers.email, next));
        const token = t.app.get(SubscriberTokens).manageToken(row!.id);
        const res = await t.request({ method: 'POST', url: `/unsubscribe/${token}` });
        expect(res.statusCode).toBe(200);
        unsubscribed.set(next, Date.now());
      },
    });
    t = await startTestApp({ SMTP_URL: sink.url, ...FAST_PIPELINE, SEND_CONCURRENCY: '1' });
    try {
      const article = await publishedArticle(t);
      await seedAudience(t, { free: 150, premium: 0 }, 'partant');
      // The ledger is frozen, and sent by one lane, in subscriber id order.
      const rows = await t.database.db
        .select({ email: subscribers.email })
        .from(subscribers)
        .orderBy(subscribers.id);
      order.push(...rows.map((row) => row.email));
      const edition = await scheduledEdition(t, article.id, 0, { audience: 'free' });

      const done = await finished(t, edition.id);
      expect(unsubscribed.size).toBe(10);
      for (const [address, answeredAt] of unsubscribed) {
        const late = sink.recipients.filter((r) => r.address === address && r.at >= answeredAt);
        expect(late, address).toEqual([]);
      }
      expect(done).toMatchObject({ status: 'sent', counts: { total: 150, sent: 140, skipped: 10 } });
    } finally {
      await t.close();
      await sink.close();
    }
  });
});

describe('Redis losing every queued job in the middle of a send', () => {
  it('is caught by the reconciler, which finishes the edition from the ledger', async () => {
    const sink = await startSmtpSink({ delayMs: 5 });
    const t = await startTestApp({
      SMTP_URL: sink.url,
      ...FAST_PIPELINE,
      SEND_CONCURRENCY: '2',
      DELIVERY_LEASE_SECONDS: '10',
    });
    try {
      const article = await publishedArticle(t);
      const audience = await seedAudience(t, { free: 300, premium: 300 }, 'flush');
      const edition = await scheduledEdition(t, article.id);
      await eventually(() => (sink.messages.length >= 60 ? true : undefined));
      await flushQueues(t);

      expect(await finished(t, edition.id)).toMatchObject({
        status: 'sent',
        counts: { sent: 600, failed: 0 },
      });
      const counts = perRecipient(sink);
      for (const email of [...audience.free, ...audience.premium]) expect(counts.get(email), email).toBe(1);
    } finally {
      await t.close();
      await sink.close();
    }
  });
});

describe('a batch whose chunk cannot be recorded', () => {
  it('is sent in full once its lease runs out, without waiting for a restart', async () => {
    const sink = await startSmtpSink({ delayMs: 5 });
    // Leases of 10 s: the failed chunk's rows, whose record was lost, are free again 10 s later,
    // and a busy machine still renews the live worker's leases in time.
    const t = await startTestApp({ SMTP_URL: sink.url, ...FAST_PIPELINE, DELIVERY_LEASE_SECONDS: '10' });
    try {
      const article = await publishedArticle(t);
      const audience = await seedAudience(t, { free: 150, premium: 150 }, 'relâche');
      // The first outcome the ledger is given fails, once: a sequence does not roll back with it.
      await t.database.db.execute(sql`create sequence record_faults`);
      await t.database.db.execute(sql`
        create function fail_first_record() returns trigger language plpgsql as $$
        begin
          if nextval('record_faults') = 1 then raise exception 'injected: the ledger is unreachable'; end if;
          return new;
        end $$`);
      await t.database.db.execute(sql`
        create trigger fail_first_record before update on deliveries
        for each row when (new.status = 'sent') execute function fail_first_record()`);
      const edition = await scheduledEdition(t, article.id);

      // Nothing may stay held by the living worker: every row is sent in the end.
      expect(await finished(t, edition.id)).toMatchObject({
        status: 'sent',
        counts: { sent: 300, failed: 0 },
      });
      const counts = perRecipient(sink);
      const everyone = [...audience.free, ...audience.premium];
      for (const email of everyone) expect(counts.get(email), email).toBeGreaterThanOrEqual(1);
      // Only the rows whose record failed went out twice: the rows in flight at most.
      expect(sink.messages.length - everyone.length).toBeLessThanOrEqual(ROWS_IN_FLIGHT);
      const leases = await t.database.db.execute(sql`select count(*)::int as n from delivery_leases`);
      expect(rowsOf<{ n: number }>(leases)[0]?.n).toBe(0);
    } finally {
      await t.close();
      await sink.close();
    }
  });
});

// PGlite runs one statement at a time: an erasure cannot meet a freeze there.
describe.runIf(testEngine() === 'postgres')("an edition's progress while its row is held", () => {
  it('is not waited for: the holder marks it itself', async () => {
    const t = await startTestApp({ ...FAST_PIPELINE });
    try {
      const article = await publishedArticle(t);
      // Scheduled far ahead: nothing but this test touches it.
      const { id } = await scheduledEdition(t, article.id, 3_600_000);
      const lifecycle = t.app.get(EditionLifecycleRepository);
      const before = (await editionRow(t, id)).progressAt;

      let locked!: () => void;
      const rowLocked = new Promise<void>((resolve) => (locked = resolve));
      let release!: () => void;
      const mayEnd = new Promise<void>((resolve) => (release = resolve));
      // Held as a slice being frozen holds it (EditionLifecycleRepository.freezeNextSlice).
      const holding = t.database.db.transaction(async (tx) => {
        await tx.select({ id: editions.id }).from(editions).where(eq(editions.id, id)).for('no key update');
        locked();
        await mayEnd;
      });
      await rowLocked;
      // Answered while the row is still held: waiting for it, this never returned.
      await lifecycle.touch(id);
      expect((await editionRow(t, id)).progressAt).toEqual(before);
      release();
      await holding;

      await lifecycle.touch(id);
      expect((await editionRow(t, id)).progressAt).not.toEqual(before);
    } finally {
      await t.close();
    }
  });
});

describe.runIf(testEngine() === 'postgres')('an erasure while an audience is being frozen', () => {
  it('waits for the slice to commit, then leaves the erased subscriber no ledger row', async () => {
    const t = await startTestApp({ ...FAST_PIPELINE });
    try {
      const article = await publishedArticle(t);
      const audience = await seedAudience(t, { free: 40, premium: 10 }, 'erased-mid-freeze');
      // Scheduled far ahead: the test freezes it by hand, holding the slice's transaction open.
      const { id } = await scheduledEdition(t, article.id, 3_600_000);
      const edition = await editionRow(t, id);
      const victim = audience.free[7] ?? '';
      const [subscriber] = await t.database.db
        .select({ id: subscribers.id })
        .from(subscribers)
        .where(eq(subscribers.email, victim));
      if (!subscriber) throw new Error(`no subscriber ${victim}`);

      let frozen!: () => void;
      const sliceFrozen = new Promise<void>((resolve) => (frozen = resolve));
      let commit!: () => void;
      const sliceMayCommit = new Promise<void>((resolve) => (commit = resolve));
      const freezing = t.database.db.transaction(async (tx) => {
        const slice = await t.app.get(DeliveriesRepository).freezeAudienceSlice(tx, edition, undefined, 1000);
        expect(slice.count).toBe(50);
        frozen();
        await sliceMayCommit;
      });
      await sliceFrozen;

      // The slice holds the victim's ledger row, not yet committed, when the erasure comes.
      const erasing = t.api('DELETE', `/api/subscribers/${subscriber.id}`);
      const first = await Promise.race([
        erasing.then(() => 'the erasure answered'),
        eventually(async () => {
          const waiting = await t.database.db.execute(sql`
            select 1 from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock' and query ilike 'delete from%subscribers%'`);
          return rowsOf(waiting).length > 0 ? 'the erasure waits' : undefined;
        }),
      ]);
      expect(first).toBe('the erasure waits');
      commit();
      await freezing;
      expect((await erasing).statusCode).toBe(204);

      const ledger = rowsOf<{ subscriber_id: string }>(
        await t.database.db.execute(sql`select subscriber_id from deliveries where edition_id = ${id}`),
      );
      expect(ledger).toHaveLength(49);
      expect(ledger.map((row) => row.subscriber_id)).not.toContain(subscriber.id);
    } finally {
      await t.close();
    }
  });
});
