import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/app-config.js';
import { SendThrottle } from '../src/redis/send-throttle.js';
import { seedAudience } from './helpers/audience.js';
import { FAST_PIPELINE, finished, publishedArticle, scheduledEdition } from './helpers/editions.js';
import { startSmtpSink } from './helpers/smtp-sink.js';
import { startTestApp } from './helpers/test-app.js';
import { TEST_REDIS_URL } from './helpers/services.js';

const REDIS_URL = TEST_REDIS_URL;
const connections: Redis[] = [];
afterAll(async () => {
  await Promise.all(connections.map((redis) => redis.quit()));
});

function perSecond(times: readonly number[]): number[] {
  const counts = new Map<number, number>();
  for (const time of times)
    counts.set(Math.floor(time / 1000), (counts.get(Math.floor(time / 1000)) ?? 0) + 1);
  return [...counts.values()];
}

describe('the global send rate', () => {
  it('never lets all workers together pass the limit in any second', async () => {
    const config = {
      ...loadConfig({ DATA_DIR: '/tmp', SECRET_KEY: 'k'.repeat(40) }),
      queuePrefix: `throttle-${randomBytes(4).toString('hex')}`,
      sendRateLimit: 25,
      sendConcurrency: 10,
    };
    // Three workers, each with its own connection and ten lanes, as three processes would have.
    const workers = Array.from({ length: 3 }, () => {
      const redis = new Redis(REDIS_URL);
      connections.push(redis);
      return new SendThrottle(redis, config);
    });
    const sentAt: number[] = [];
    let left = 100;
    await Promise.all(
      workers.flatMap((throttle) =>
        Array.from({ length: 10 }, async () => {
          while (left > 0) {
            left -= 1;
            await throttle.take();
            sentAt.push(Date.now());
          }
        }),
      ),
    );
    expect(sentAt).toHaveLength(100);
    for (const count of perSecond(sentAt)) expect(count).toBeLessThanOrEqual(25);
    // 100 at 25 a second cannot fit in fewer than four seconds.
    expect(perSecond(sentAt).length).toBeGreaterThanOrEqual(4);
  });

  it('costs nothing without a limit', async () => {
    const redis = new Redis(REDIS_URL);
    connections.push(redis);
    const throttle = new SendThrottle(redis, {
      ...loadConfig({ DATA_DIR: '/tmp', SECRET_KEY: 'k'.repeat(40) }),
      sendRateLimit: 0,
    });
    expect(throttle.limited).toBe(false);
    await throttle.take();
  });

  it('holds an edition send to SEND_RATE_LIMIT', async () => {
    const sink = await startSmtpSink();
    const t = await startTestApp({ SMTP_URL: sink.url, SEND_RATE_LIMIT: '20', ...FAST_PIPELINE });
    try {
      const article = await publishedArticle(t);
      await seedAudience(t, { free: 30, premium: 30 }, 'cadence');
      const edition = await scheduledEdition(t, article.id);
      expect(await finished(t, edition.id)).toMatchObject({ status: 'sent', counts: { sent: 60 } });
      expect(sink.messages).toHaveLength(60);
      expect(perSecond(sink.messages.map((m) => m.receivedAt)).length).toBeGreaterThanOrEqual(3);
    } finally {
      await t.close();
      await sink.close();
    }
  });
});
