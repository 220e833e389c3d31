import { Redis as RedisClient } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedAudience } from './helpers/audience.js';
import { FAST_PIPELINE, finished, publishedArticle, scheduledEdition } from './helpers/editions.js';
import { eventually, type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';
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
      DATABASE_URL: first.config.databaseUrl ?? '',
      QUEUE_PREFIX: first.config.queuePrefix,
      SECRET_KEY: first.config.secretKey,
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

describe('Redis losing every queued job in the middle of a send', () => {
  it('is caught by the reconciler, which finishes the edition from the ledger', async () => {
    const sink = await startSmtpSink({ delayMs: 5 });
    const t = await startTestApp({
      SMTP_URL: sink.url,
      ...FAST_PIPELINE,
      SEND_CONCURRENCY: '2',
      DELIVERY_LEASE_SECONDS: '2',
    });
    try {
      const article = await publishedArticle(t);
      const audience = await seedAudience(t, { free: 300, premium: 300 }, 'flush');
      const edition = await scheduledEdition(t, article.id);
      await eventually(() => (sink.messages.length >= 60 ? true : undefined));
      // What FLUSHALL does to this deployment, without touching other work sharing the server.
      const redis = t.app.get(RedisClient);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${t.config.queuePrefix}:*`, 'COUNT', 1000);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');

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
