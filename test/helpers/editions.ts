import { expect } from 'vitest';
import { sampleArticle } from '../fixtures/sample-article.js';
import { eventually } from './smtp-sink.js';
import type { TestApp } from './test-app.js';
import { PATIENCE_MS } from './patience.js';

export const SUBJECT = "Syrie\u00a0: Daech s'empare d'Al-Qaryatayn — « la lettre » du dimanche";
export const FAST_PIPELINE = {
  TICK_INTERVAL_MS: '200',
  RETRY_BASE_DELAY_MS: '50',
  DELIVERY_LEASE_SECONDS: '30',
};

export async function publishedArticle(t: TestApp): Promise<{ id: string; slug: string }> {
  const article = (await t.api('POST', '/api/articles', sampleArticle({ access: 'premium' }))).json();
  await t.api('POST', `/api/articles/${article.id}/publish`);
  return article;
}

export async function scheduledEdition(
  t: TestApp,
  articleId: string,
  inMs = 300,
  extra: Record<string, unknown> = {},
) {
  const edition = (
    await t.api('POST', '/api/editions', {
      subject: SUBJECT,
      preheader: 'La lettre de la semaine',
      article_ids: [articleId],
      ...extra,
    })
  ).json();
  const res = await t.api('POST', `/api/editions/${edition.id}/schedule`, {
    send_at: new Date(Date.now() + inMs).toISOString(),
  });
  expect(res.statusCode).toBe(200);
  return edition as { id: string };
}

export async function finished(t: TestApp, id: string, timeoutMs = PATIENCE_MS) {
  return eventually(async () => {
    const edition = (await t.api('GET', `/api/editions/${id}`)).json();
    return ['sent', 'failed', 'cancelled'].includes(edition.status) ? edition : undefined;
  }, timeoutMs);
}
