import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANARY, sampleArticle } from './fixtures/sample-article.js';
import { FAST_PIPELINE, finished } from './helpers/editions.js';
import { seedAudience } from './helpers/audience.js';
import { eventually, type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

let t: TestApp;
let sink: SmtpSink;

beforeAll(async () => {
  sink = await startSmtpSink();
  // A page cache as long as a test can wait: whatever clears it, no expiry does.
  t = await startTestApp({ SMTP_URL: sink.url, ...FAST_PIPELINE, PAGE_CACHE_SECONDS: '3600' });
});
afterAll(async () => {
  await t.close();
  await sink.close();
});

async function publicArticle(slug: string): Promise<{ id: string; slug: string }> {
  const created = await t.api('POST', '/api/articles', { ...sampleArticle({ access: 'public' }), slug });
  expect(created.statusCode).toBe(201);
  await t.api('POST', `/api/articles/${created.json().id}/publish`);
  return created.json();
}

async function cachedPage(url: string): Promise<void> {
  await t.request({ method: 'GET', url });
  expect((await t.request({ method: 'GET', url })).headers['x-cache']).toBe('hit');
}

describe('the public page cache', () => {
  it('is not cleared by a write that was refused', async () => {
    await publicArticle('refus-cache');
    await cachedPage('/');
    const refused = await t.request({
      method: 'POST',
      url: '/api/articles',
      payload: { title: 'Sans jeton', body_md: 'x' },
    });
    expect(refused.statusCode).toBe(401);
    const bad = await t.api('POST', '/api/articles', { title: '' });
    expect(bad.statusCode).toBe(400);
    expect((await t.request({ method: 'GET', url: '/' })).headers['x-cache']).toBe('hit');
  });

  it('is cleared by an authorised write, however its path is spelled', async () => {
    const article = await publicArticle('chemin-encode');
    await cachedPage(`/articles/${article.slug}`);
    const edited = await t.api('PATCH', `/api/%61rticles/${article.id}`, { title: 'Titre corrigé' });
    expect(edited.statusCode).toBe(200);
    const page = await t.request({ method: 'GET', url: `/articles/${article.slug}` });
    expect(page.headers['x-cache']).toBeUndefined();
    expect(page.body).toContain('Titre corrigé');
  });

  it('tells shared caches to keep public pages and feeds a few seconds at most', async () => {
    await publicArticle('duree-cache');
    for (const url of ['/', '/articles/duree-cache', '/feed.xml', '/feed.json']) {
      const res = await t.request({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      const maxAge = Number(/max-age=(\d+)/.exec(String(res.headers['cache-control']))?.[1] ?? NaN);
      expect(maxAge, url).toBeLessThanOrEqual(10);
      expect(String(res.headers['cache-control']), url).not.toMatch(/stale-while-revalidate/);
    }
  });
});

describe('the web version of an edition', () => {
  it('stops showing an article’s full text within seconds of it turning premium', async () => {
    const article = await publicArticle('bientot-premium');
    await seedAudience(t, { free: 1, premium: 0 }, 'web');
    const edition = (
      await t.api('POST', '/api/editions', { subject: 'Lettre', article_ids: [article.id] })
    ).json<{ id: string }>();
    await t.api('POST', `/api/editions/${edition.id}/schedule`, {});
    expect(await finished(t, edition.id)).toMatchObject({ status: 'sent' });
    const before = await t.request({ method: 'GET', url: `/editions/${edition.id}` });
    expect(before.body).toContain(CANARY.split(' : ')[0]);
    const maxAge = Number(/max-age=(\d+)/.exec(String(before.headers['cache-control']))?.[1] ?? NaN);
    expect(maxAge).toBeLessThanOrEqual(10);

    await t.api('PATCH', `/api/articles/${article.id}`, { access: 'premium' });
    await eventually(async () => {
      const after = await t.request({ method: 'GET', url: `/editions/${edition.id}` });
      return after.body.includes(CANARY.split(' : ')[0]!) ? undefined : true;
    }, 15_000);
  });
});
