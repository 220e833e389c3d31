import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleArticle, SAMPLE_TITLE } from './fixtures/sample-article.js';
import { startTestApp, TEST_TOKEN, type TestApp } from './helpers/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

async function articleCount(): Promise<number> {
  const res = await t.api('GET', '/api/articles?limit=100');
  return res.json<{ total: number }>().total;
}

describe('editor API: articles', () => {
  it('creates an article with a transliterated slug, rendered HTML and the teaser cut', async () => {
    const res = await t.api('POST', '/api/articles', sampleArticle());
    expect(res.statusCode).toBe(201);
    const article = res.json();
    expect(article.slug).toBe(
      'syrie-daech-s-empare-d-al-qaryatayn-ville-symbolique-dans-le-centre-de-la-syrie',
    );
    expect(article.title).toBe(SAMPLE_TITLE);
    expect(article.status).toBe('draft');
    expect(article.access).toBe('premium');
    expect(article.tags).toEqual(['Syrie', 'Qaryatayn', 'Armée Arabe Syrienne']);
    expect(article.body_html).toContain('<h2>Des attaques qui coïncident');
    expect(article.teaser_html).toContain('30.000 habitants');
    expect(article.teaser_html).not.toContain('CANARI');
    expect(article.url).toBe(`${t.config.publicUrl}/articles/${article.slug}`);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('gives a second article with the same title a free slug, and refuses a taken explicit slug', async () => {
    const first = (
      await t.api('POST', '/api/articles', { title: "Daech s'empare d'Al-Qaryatayn", body_md: 'a' })
    ).json();
    const second = (
      await t.api('POST', '/api/articles', { title: "Daech s'empare d'Al-Qaryatayn", body_md: 'b' })
    ).json();
    expect(first.slug).toBe('daech-s-empare-d-al-qaryatayn');
    expect(second.slug).toBe('daech-s-empare-d-al-qaryatayn-2');

    const before = await articleCount();
    const dup = await t.api('POST', '/api/articles', { title: 'Autre', slug: first.slug, body_md: 'c' });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ statusCode: 409, error: 'Conflict', details: [{ field: 'slug' }] });
    expect(dup.json().message).toContain('slug');
    expect(await articleCount()).toBe(before);

    const rename = await t.api('PATCH', `/api/articles/${second.id}`, { slug: first.slug });
    expect(rename.statusCode).toBe(409);
    expect((await t.api('GET', `/api/articles/${second.id}`)).json().slug).toBe(
      'daech-s-empare-d-al-qaryatayn-2',
    );
  });

  it('updates the body and re-derives the HTML and teaser', async () => {
    const created = (
      await t.api('POST', '/api/articles', { title: 'Brouillon', body_md: 'Avant.\n\n<!--more-->\n\nAprès.' })
    ).json();
    const res = await t.api('PATCH', `/api/articles/${created.id}`, {
      body_md: 'Nouveau début.\n\n<!--more-->\n\nNouvelle suite.',
      access: 'public',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      access: 'public',
      teaser_html: '<p>Nouveau début.</p>',
      body_html: '<p>Nouveau début.</p>\n<p>Nouvelle suite.</p>',
    });
  });

  it('publishes, unpublishes, schedules, lists by status and deletes', async () => {
    const { id } = (await t.api('POST', '/api/articles', { title: 'Cycle de vie', body_md: 'x' })).json();
    // An empty body sent with a JSON content type, as many clients do for actions.
    const published = await t.request({
      method: 'POST',
      url: `/api/articles/${id}/publish`,
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
    });
    expect(published.statusCode).toBe(200);
    expect(published.json().status).toBe('published');
    expect(Date.parse(published.json().published_at)).toBeGreaterThan(Date.now() - 60_000);

    const listed = (await t.api('GET', '/api/articles?status=published')).json();
    expect(listed.items.map((a: { id: string }) => a.id)).toContain(id);

    expect((await t.api('POST', `/api/articles/${id}/unpublish`)).json()).toMatchObject({
      status: 'draft',
      published_at: null,
    });

    const scheduled = await t.api('POST', `/api/articles/${id}/schedule`, { publish_at: '2099-07-01T18:00' });
    expect(scheduled.statusCode).toBe(200);
    // Without an offset the time is read in Europe/Paris (UTC+2 in July).
    expect(scheduled.json()).toMatchObject({ status: 'scheduled', publish_at: '2099-07-01T16:00:00.000Z' });

    expect((await t.api('DELETE', `/api/articles/${id}`)).statusCode).toBe(204);
    expect((await t.api('GET', `/api/articles/${id}`)).statusCode).toBe(404);
    expect((await t.api('DELETE', `/api/articles/${id}`)).statusCode).toBe(404);
  });

  it('publishes a scheduled article within one tick', async () => {
    const { id, slug } = (
      await t.api('POST', '/api/articles', { title: 'Programmé', body_md: 'Bientôt.\n\nSuite.' })
    ).json();
    const publishAt = new Date(Date.now() + 600);
    expect(
      (await t.api('POST', `/api/articles/${id}/schedule`, { publish_at: publishAt.toISOString() }))
        .statusCode,
    ).toBe(200);
    expect((await t.request({ method: 'GET', url: `/articles/${slug}` })).statusCode).toBe(404);

    // Due in 600 ms; the tick runs every 200 ms: one tick after it is due, it must be published.
    await new Promise((resolve) => setTimeout(resolve, 600 + t.config.tickIntervalMs + 300));
    const article = (await t.api('GET', `/api/articles/${id}`)).json();
    expect(article.status).toBe('published');
    expect(article.published_at).toBe(publishAt.toISOString());
    expect((await t.request({ method: 'GET', url: `/articles/${slug}` })).statusCode).toBe(200);
  });
});

describe('editor API: bad input changes nothing', () => {
  const cases: Array<[string, unknown, string]> = [
    ['missing title', { body_md: 'x' }, 'title'],
    ['blank title', { title: '   ', body_md: 'x' }, 'title'],
    ['unknown field', { title: 'x', body_md: 'x', colour: 'red' }, 'colour'],
    ['title of the wrong type', { title: 42, body_md: 'x' }, 'title'],
    ['tags of the wrong type', { title: 'x', body_md: 'x', tags: 'Syrie' }, 'tags'],
    ['an unknown access', { title: 'x', body_md: 'x', access: 'secret' }, 'access'],
    ['a title with a line break', { title: 'a\r\nBcc: x@example.com', body_md: 'x' }, 'title'],
    ['an invalid slug', { title: 'x', slug: 'Pas Un Slug', body_md: 'x' }, 'slug'],
    ['an oversized body', { title: 'x', body_md: 'x'.repeat(500_001) }, 'body_md'],
  ];

  it.each(cases)('refuses %s with a 400 naming the field', async (_name, payload, field) => {
    const before = await articleCount();
    const res = await t.api('POST', '/api/articles', payload);
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(body.message).toContain(field);
    expect(body.details.map((d: { field: string }) => d.field)).toContain(field);
    expect(await articleCount()).toBe(before);
  });

  it('refuses a body larger than the request limit with a 413', async () => {
    const res = await t.api('POST', '/api/articles', { title: 'x', body_md: 'x'.repeat(1_100_000) });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
  });

  it('refuses malformed JSON and a non-object body', async () => {
    const before = await articleCount();
    const bad = await t.request({
      method: 'POST',
      url: '/api/articles',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      payload: '{"title": "x",',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().statusCode).toBe(400);
    const array = await t.api('POST', '/api/articles', [{ title: 'x', body_md: 'y' }]);
    expect(array.statusCode).toBe(400);
    expect(await articleCount()).toBe(before);
  });

  it('refuses an invalid or past publish_at and leaves the article as it was', async () => {
    const { id } = (await t.api('POST', '/api/articles', { title: 'Date', body_md: 'x' })).json();
    for (const publish_at of ['2026-02-30T10:00', 'demain', '2020-01-01T00:00:00Z', 12]) {
      const res = await t.api('POST', `/api/articles/${id}/schedule`, { publish_at });
      expect(res.statusCode, String(publish_at)).toBe(400);
      expect(res.json().details[0].field).toBe('publish_at');
    }
    expect((await t.api('GET', `/api/articles/${id}`)).json()).toMatchObject({
      status: 'draft',
      publish_at: null,
    });
  });

  it('refuses a malformed id and an unknown id', async () => {
    const bad = await t.api('GET', '/api/articles/not-a-uuid');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().details[0].field).toBe('id');
    const unknown = await t.api('PATCH', '/api/articles/4f0c3a6e-9a51-4d3e-8d8e-2f6f6f3b8a11', {
      title: 'x',
    });
    expect(unknown.statusCode).toBe(404);
  });

  it('refuses requests without a token or with a wrong one, and writes nothing', async () => {
    const before = await articleCount();
    const none = await t.request({
      method: 'POST',
      url: '/api/articles',
      payload: { title: 'x', body_md: 'x' },
    });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(none.json()).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    for (const authorization of ['Bearer wrong-token-wrong-token-wrong', 'Basic dXNlcjpwYXNz', 'Bearer ']) {
      const res = await t.request({
        method: 'POST',
        url: '/api/articles',
        headers: { authorization },
        payload: { title: 'x', body_md: 'x' },
      });
      expect(res.statusCode, authorization).toBe(401);
    }
    expect((await t.request({ method: 'GET', url: '/api/articles' })).statusCode).toBe(401);
    expect(await articleCount()).toBe(before);
  });
});
