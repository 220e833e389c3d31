import { load } from 'cheerio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArticlesRepository } from '../src/articles/articles.repository.js';
import { articleSearch } from '../src/database/schema.js';
import { addMember, signedIn } from './helpers/members.js';
import { type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

let t: TestApp;
let sink: SmtpSink;

async function article(
  fields: Record<string, unknown>,
  publish = true,
): Promise<{ id: string; slug: string }> {
  const created = await t.api('POST', '/api/articles', {
    author: 'Jean René Belliard',
    tags: ['Levant'],
    ...fields,
  });
  expect(created.statusCode).toBe(201);
  const row = created.json<{ id: string; slug: string }>();
  if (publish) expect((await t.api('POST', `/api/articles/${row.id}/publish`)).statusCode).toBe(200);
  return row;
}

/** The titles a search finds, in the order shown, for a stranger (or the member of `cookie`). */
async function found(query: string, cookie?: string): Promise<string[]> {
  const response = await t.request({
    method: 'GET',
    url: `/search?q=${encodeURIComponent(query)}`,
    headers: { accept: 'text/html', ...(cookie ? { cookie } : {}) },
  });
  expect(response.statusCode).toBe(200);
  const page = load(response.body);
  return page('.card__title')
    .map((_, title) => page(title).text().trim())
    .get();
}

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({ PAGE_SIZE: '2', SMTP_URL: sink.url });
  await article({
    title: 'Les économies du Levant s’effondrent',
    lede: 'Le Liban, la Syrie et l’Irak face à l’inflation.',
    body_md: 'Le prix du pétrole ne suffit plus. L’État libanais a cessé de payer ses dettes.',
    access: 'public',
  });
  await article({
    title: 'Damas après la guerre',
    lede: 'Une capitale à reconstruire.',
    body_md:
      'La reconstruction de Damas commence par ses quartiers anciens.\n\n<!--more-->\n\nLe ministre a promis un zénith de chantiers confidentiels.',
    access: 'premium',
  });
  await article(
    { title: 'Un brouillon jamais publié', body_md: 'Une idée de cœur.', access: 'public' },
    false,
  );
  await article({ title: 'Le cœur de Beyrouth', body_md: 'Les souks renaissent.', access: 'public' });
});

afterAll(async () => {
  await t.close();
  await sink.close();
});

describe('search', () => {
  it('finds words with or without accents, in any form, in the title, the lede or the public text', async () => {
    expect(await found('economie')).toEqual(['Les économies du Levant s’effondrent']);
    expect(await found('ÉCONOMIES')).toEqual(['Les économies du Levant s’effondrent']);
    expect(await found('petrole')).toEqual(['Les économies du Levant s’effondrent']);
    expect(await found('etat')).toEqual(['Les économies du Levant s’effondrent']);
    expect(await found('coeur')).toEqual(['Le cœur de Beyrouth']);
    expect(await found('reconstruction damas')).toEqual(['Damas après la guerre']);
  });

  it('never finds what follows the cut of a premium article, a draft, or anything for nothing', async () => {
    expect(await found('zénith')).toEqual([]);
    expect(await found('confidentiels')).toEqual([]);
    await addMember(t, 'abonnee@exemple.fr', 'premium');
    expect(await found('zenith', await signedIn(t, sink, 'abonnee@exemple.fr'))).toEqual([]);
    expect(await found('brouillon')).toEqual([]);
    const nothing = load(
      (await t.request({ method: 'GET', url: '/search?q=licorne', headers: { accept: 'text/html' } })).body,
    );
    expect(nothing('.search__summary').text()).toBe(
      'Aucun article ne correspond à « licorne ». Essayez d’autres mots.',
    );
    expect(nothing('input[name="q"]').attr('value')).toBe('licorne');
    expect(nothing('meta[name="robots"]').attr('content')).toBe('noindex');
  });

  it('pages its results and says how many there are', async () => {
    const query = encodeURIComponent('economie or damas or coeur');
    const first = load((await t.request({ method: 'GET', url: `/search?q=${query}` })).body);
    expect(first('.search__summary').text()).toBe(
      '3 article(s) trouvé(s) pour « economie or damas or coeur ».',
    );
    expect(first('.card__title').length).toBe(2);
    expect(first('.pagination a[rel="next"]').attr('href')).toBe(
      `https://blog.example.test/search?q=${query}&page=2`,
    );
    const second = load((await t.request({ method: 'GET', url: `/search?q=${query}&page=2` })).body);
    expect(second('.card__title').length).toBe(1);
    expect((await t.request({ method: 'GET', url: '/search?q=petrole&page=9' })).statusCode).toBe(404);
  });

  it('takes any query without failing, and refuses one too long in the publication’s words', async () => {
    for (const hostile of ['"', "'", '&|!:*()', '-', 'or', '<script>alert(1)</script>', '日本語']) {
      const response = await t.request({ method: 'GET', url: `/search?q=${encodeURIComponent(hostile)}` });
      expect(response.statusCode).toBe(200);
      expect(response.body).not.toContain('<script>alert(1)</script>');
    }
    const twice = await t.request({ method: 'GET', url: '/search?q=a&q=b' });
    expect(twice.statusCode).toBe(200);
    // A NUL is refused before any route, as everywhere.
    expect((await t.request({ method: 'GET', url: '/search?q=%00' })).statusCode).toBe(400);
    const tooLong = await t.request({
      method: 'GET',
      url: `/search?q=${'a'.repeat(201)}`,
      headers: { accept: 'text/html' },
    });
    expect(tooLong.statusCode).toBe(400);
    expect(load(tooLong.body)('main').text()).toContain('Recherche\u00a0: 200 caractères au plus.');
  });

  it('follows an article as the editor changes it', async () => {
    const changing = await article({
      title: 'Alep renaît',
      body_md: 'Les marchés rouvrent.',
      access: 'public',
    });
    expect(await found('alep')).toEqual(['Alep renaît']);
    expect((await t.api('PATCH', `/api/articles/${changing.id}`, { title: 'Homs renaît' })).statusCode).toBe(
      200,
    );
    expect(await found('alep')).toEqual([]);
    expect(await found('homs')).toEqual(['Homs renaît']);
    expect(
      (
        await t.api('PATCH', `/api/articles/${changing.id}`, {
          access: 'premium',
          body_md: 'Teaser.\n\n<!--more-->\n\nSecret marchés.',
        })
      ).statusCode,
    ).toBe(200);
    expect(await found('marches')).toEqual([]);
    expect((await t.api('DELETE', `/api/articles/${changing.id}`)).statusCode).toBe(204);
    expect(await found('homs')).toEqual([]);
  });

  it('indexes, after an upgrade, the articles written before search existed', async () => {
    await t.database.db.delete(articleSearch);
    expect(await found('petrole')).toEqual([]);
    expect(await t.app.get(ArticlesRepository).indexUnindexed()).toBeGreaterThanOrEqual(3);
    expect(await found('petrole')).toEqual(['Les économies du Levant s’effondrent']);
    expect(await found('zenith')).toEqual([]);
  });
});
