import { load } from 'cheerio';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { articles } from '../src/database/schema.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

let t: TestApp;

/** A published article, dated `day` of November 2026 so that the order is the test's, not the clock's. */
async function published(day: number, fields: Record<string, unknown>): Promise<string> {
  const created = await t.api('POST', '/api/articles', {
    author: 'Jean René Belliard',
    access: 'public',
    ...fields,
  });
  expect(created.statusCode).toBe(201);
  const { id, slug } = created.json<{ id: string; slug: string }>();
  expect((await t.api('POST', `/api/articles/${id}/publish`)).statusCode).toBe(200);
  await t.database.db
    .update(articles)
    .set({ publishedAt: new Date(`2026-11-${String(day).padStart(2, '0')}T08:00:00Z`) })
    .where(eq(articles.id, id));
  return slug;
}

async function page(slug: string) {
  const response = await t.request({
    method: 'GET',
    url: `/articles/${slug}`,
    headers: { accept: 'text/html' },
  });
  expect(response.statusCode).toBe(200);
  return load(response.body);
}

const LONG_BODY = Array.from({ length: 12 }, (_, n) => `${'mot '.repeat(100)}paragraphe ${n}.`).join('\n\n');
const SECRET = 'SECRET-APRÈS-LA-COUPE';

let syria: string;
let lebanon: string;
let iraq: string;
let premium: string;

beforeAll(async () => {
  t = await startTestApp();
  syria = await published(2, { title: 'Syrie : l’hiver', tags: ['Syrie'], body_md: 'Court.' });
  lebanon = await published(4, {
    title: 'Liban : la dette',
    tags: ['Liban', 'Économie'],
    body_md:
      "Le pays est en faillite : « l'État » ne paie plus ? Voir `a ? b : c` et https://exemple.fr/x?y=1 !",
  });
  iraq = await published(6, { title: 'Irak : le pétrole', tags: ['Irak', 'Économie'], body_md: LONG_BODY });
  premium = await published(8, {
    title: 'Syrie : la reconstruction',
    tags: ['Syrie'],
    access: 'premium',
    body_md: `Le début est public.\n\n<!--more-->\n\n${SECRET} ${'mot '.repeat(900)}`,
  });
});

afterAll(async () => {
  await t.close();
});

describe('an article page', () => {
  it('says how long the article takes to read, from its whole length, without a word past the cut', async () => {
    expect((await page(iraq))('.reading-time').text()).toBe('5 min de lecture');
    expect((await page(syria))('.reading-time').text()).toBe('1 min de lecture');
    const teaser = await page(premium);
    expect(teaser('.reading-time').text()).toBe('4 min de lecture');
    expect(teaser.html()).not.toContain(SECRET);
  });

  it('links to the articles before and after it, and to the latest sharing a tag', async () => {
    const middle = await page(lebanon);
    expect(middle('a[rel="prev"]').attr('href')).toBe(`https://blog.example.test/articles/${syria}`);
    expect(middle('a[rel="prev"]').text()).toContain('Syrie : l’hiver');
    expect(middle('a[rel="next"]').attr('href')).toBe(`https://blog.example.test/articles/${iraq}`);
    expect(
      middle('.related a')
        .map((_, a) => middle(a).text())
        .get(),
    ).toEqual(['Irak : le pétrole']);

    const first = await page(syria);
    expect(first('a[rel="prev"]').length).toBe(0);
    expect(
      first('.related a')
        .map((_, a) => first(a).text())
        .get(),
    ).toEqual(['Syrie : la reconstruction']);
    expect(first('.related .badge').text()).toBe('Premium');
    const last = await page(premium);
    expect(last('a[rel="next"]').length).toBe(0);
  });

  it('offers plain share links, with no script from anywhere', async () => {
    const article = await page(lebanon);
    const url = encodeURIComponent(`https://blog.example.test/articles/${lebanon}`);
    const links = article('.share a')
      .map((_, a) => article(a).attr('href'))
      .get();
    expect(links[0]).toBe(`mailto:?subject=${encodeURIComponent('Liban : la dette')}&body=${url}`);
    expect(
      links.some((href) => href.startsWith('https://bsky.app/intent/compose?') && href.includes(url)),
    ).toBe(true);
    expect(article('.share a').first().text()).toBe('Par e-mail');
    expect(article('script:not([type="application/ld+json"])').length).toBe(0);
  });

  it('sets French typography in the text, never in code or addresses', async () => {
    const article = await page(lebanon);
    expect(article('.body').text()).toContain('faillite\u00a0: «\u00a0l’État\u00a0» ne paie plus\u202f?');
    const body = article('.body').html() ?? '';
    expect(body).toContain('<code>a ? b : c</code>');
    expect(body).toContain('href="https://exemple.fr/x?y=1"');
    expect(body).toContain('>https://exemple.fr/x?y=1</a>');
  });
});
