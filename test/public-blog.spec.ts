import { load } from 'cheerio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CANARY,
  CANARY_MARK,
  SAMPLE_BODY_MD,
  SAMPLE_LEDE,
  SAMPLE_TEASER_SENTENCE,
  SAMPLE_TITLE,
  sampleArticle,
} from './fixtures/sample-article.js';
import { frenchTypography } from '../src/content/typography.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

/** After the cut of the public article: everyone may read it. */
const OPEN_PASSAGE = 'PASSAGE-OUVERT-42 : cette phrase après la coupe est publique.';
/** The passage as the page sets it: French typography, the thin space before the colon. */
const OPEN_PASSAGE_SET = frenchTypography(OPEN_PASSAGE);

let t: TestApp;
let premium: { id: string; slug: string };
let open: { id: string; slug: string };

beforeAll(async () => {
  t = await startTestApp();
  premium = (await t.api('POST', '/api/articles', sampleArticle({ access: 'premium' }))).json();
  await t.api('POST', `/api/articles/${premium.id}/publish`);
  open = (
    await t.api(
      'POST',
      '/api/articles',
      sampleArticle({
        title: 'Édition publique : tout le texte',
        slug: 'edition-publique',
        access: 'public',
        body_md: SAMPLE_BODY_MD.replace(CANARY, OPEN_PASSAGE),
      }),
    )
  ).json();
  await t.api('POST', `/api/articles/${open.id}/publish`);
});
afterAll(async () => {
  await t.close();
});

const html = { accept: 'text/html,application/xhtml+xml' };

async function get(url: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const res = await t.request({ method: 'GET', url, headers: html });
  return { status: res.statusCode, body: res.body, headers: res.headers };
}

describe('a premium article on the public blog', () => {
  it('shows the title, lede and teaser with French text intact, and never the text after the cut', async () => {
    const page = await get(`/articles/${premium.slug}`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).not.toContain(CANARY_MARK);
    expect(page.body).not.toContain('Des attaques qui coïncident');
    const $ = load(page.body);
    expect($('h1').text()).toBe(SAMPLE_TITLE);
    expect($('.lede').text()).toBe(SAMPLE_LEDE);
    expect($('.body').text()).toContain(SAMPLE_TEASER_SENTENCE);
    expect($('.paywall').length).toBe(1);
    // Accents and the non-breaking space travel as UTF-8, not as entities.
    expect(page.body).toContain('coexistence entre les musulmans et les chrétiens');
    expect(page.body).toContain('Syrie\u00a0:');
    expect($('.article .meta time').text()).toMatch(/^\d{1,2} [a-zéû]+ \d{4}$/);
  });

  it('gives the meta, Open Graph and JSON-LD data from before the cut only', async () => {
    const page = await get(`/articles/${premium.slug}`);
    const $ = load(page.body);
    const canonical = `${t.config.publicUrl}/articles/${premium.slug}`;
    expect($('html').attr('lang')).toBe('fr');
    expect($('link[rel=canonical]').attr('href')).toBe(canonical);
    expect($('meta[property="og:title"]').attr('content')).toBe(`${SAMPLE_TITLE} — Le Blog de Dépêche`);
    expect($('meta[property="og:description"]').attr('content')).toBe(SAMPLE_LEDE);
    expect($('meta[name=description]').attr('content')).toBe(SAMPLE_LEDE);
    expect($('meta[property="og:url"]').attr('content')).toBe(canonical);
    expect($('meta[property="og:type"]').attr('content')).toBe('article');
    expect($('meta[property="og:locale"]').attr('content')).toBe('fr_FR');
    expect(
      $('meta[property="article:tag"]')
        .map((_, el) => $(el).attr('content'))
        .get(),
    ).toEqual(['Syrie', 'Qaryatayn', 'Armée Arabe Syrienne']);
    const jsonLd = JSON.parse($('script[type="application/ld+json"]').text());
    expect(jsonLd).toMatchObject({
      headline: SAMPLE_TITLE,
      isAccessibleForFree: false,
      description: SAMPLE_LEDE,
    });
    expect(JSON.stringify(jsonLd)).not.toContain(CANARY_MARK);
  });

  it('lists the teaser on the home page and the tag pages, without the canary', async () => {
    const home = await get('/');
    expect(home.status).toBe(200);
    expect(home.headers['cache-control']).toMatch(/^public, max-age=\d+/);
    const $ = load(home.body);
    expect(
      $('.card__title')
        .map((_, el) => $(el).text())
        .get(),
    ).toContain(SAMPLE_TITLE);
    expect($.text()).toContain(SAMPLE_TEASER_SENTENCE);
    expect(home.body).not.toContain(CANARY_MARK);

    const tag = await get('/tags/armee-arabe-syrienne');
    expect(tag.status).toBe(200);
    const $tag = load(tag.body);
    expect($tag('h1').text()).toContain('Armée Arabe Syrienne');
    expect(
      $tag('.card__title')
        .map((_, el) => $tag(el).text())
        .get(),
    ).toContain(SAMPLE_TITLE);
    expect(tag.body).not.toContain(CANARY_MARK);
    expect($tag('link[rel=canonical]').attr('href')).toBe(`${t.config.publicUrl}/tags/armee-arabe-syrienne`);
  });

  it('puts only the teaser in the RSS and JSON feeds', async () => {
    const rss = await t.request({ method: 'GET', url: '/feed.xml' });
    expect(rss.statusCode).toBe(200);
    expect(rss.headers['content-type']).toBe('application/rss+xml; charset=utf-8');
    const $ = load(rss.body, { xml: true });
    const item = $('item').filter((_, el) => $(el).find('title').text() === SAMPLE_TITLE);
    expect(item.length).toBe(1);
    expect(item.find('link').text()).toBe(`${t.config.publicUrl}/articles/${premium.slug}`);
    expect(item.find('pubDate').text()).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
    expect(item.find('description').text()).toContain(SAMPLE_TEASER_SENTENCE);
    expect(item.find('description').text()).toContain('Lire la suite');
    expect(
      item
        .find('category')
        .map((_, el) => $(el).text())
        .get(),
    ).toContain('Armée Arabe Syrienne');
    expect($('channel > language').text()).toBe('fr');
    expect(rss.body).not.toContain(CANARY_MARK);

    const json = await t.request({ method: 'GET', url: '/feed.json' });
    expect(json.statusCode).toBe(200);
    const feed = json.json();
    const entry = feed.items.find((i: { title: string }) => i.title === SAMPLE_TITLE);
    expect(entry.summary).toBe(SAMPLE_LEDE);
    expect(entry.content_html).toContain(SAMPLE_TEASER_SENTENCE);
    expect(json.body).not.toContain(CANARY_MARK);
  });

  it('keeps the canary out of every public response, whatever the path', async () => {
    for (const url of [
      '/',
      '/?page=1',
      `/articles/${premium.slug}`,
      '/tags/syrie',
      '/tags/qaryatayn',
      '/feed.xml',
      '/feed.json',
    ]) {
      for (const accept of ['text/html', 'application/json', '*/*']) {
        const res = await t.request({ method: 'GET', url, headers: { accept } });
        expect(res.body, `${url} ${accept}`).not.toContain(CANARY_MARK);
      }
    }
  });
});

describe('a public article on the public blog', () => {
  it('shows the whole text, after the cut included, without a paywall', async () => {
    const page = await get(`/articles/${open.slug}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain(OPEN_PASSAGE_SET);
    const $ = load(page.body);
    expect($('.paywall').length).toBe(0);
    expect($('.body h2').first().text()).toContain('Des attaques qui coïncident');
    expect(JSON.parse($('script[type="application/ld+json"]').text()).isAccessibleForFree).toBe(true);
    const rss = await t.request({ method: 'GET', url: '/feed.xml' });
    expect(rss.body).toContain(OPEN_PASSAGE_SET);
  });
});

describe('what a reader does not find', () => {
  it('answers an unknown article, a draft and an unknown tag with the 404 page', async () => {
    const draft = (
      await t.api('POST', '/api/articles', { title: 'Brouillon secret', body_md: 'rien' })
    ).json();
    for (const url of [
      '/articles/nope',
      `/articles/${draft.slug}`,
      '/tags/inconnu',
      '/no/such/page',
      '/articles/%E2%80%AE',
    ]) {
      const page = await get(url);
      expect(page.status, url).toBe(404);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(load(page.body)('h1').text()).toBe('Page introuvable');
    }
    const json = await t.request({
      method: 'GET',
      url: '/articles/nope',
      headers: { accept: 'application/json' },
    });
    expect(json.statusCode).toBe(404);
    expect(json.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });

  it('answers a malformed page number with a 400 and a page past the end with a 404', async () => {
    const bad = await get('/?page=abc');
    expect(bad.status).toBe(400);
    expect(load(bad.body)('p').first().text()).toContain('page');
    expect((await get('/?page=999')).status).toBe(404);
  });
});

describe('pagination and formatting', () => {
  it('paginates the home page newest first with links both ways', async () => {
    const local = await startTestApp({ PAGE_SIZE: '2' });
    try {
      for (const n of [1, 2, 3, 4, 5]) {
        const { id } = (
          await local.api('POST', '/api/articles', {
            title: `Article ${n}`,
            body_md: `Texte ${n}.\n\nSuite.`,
          })
        ).json();
        await local.api('POST', `/api/articles/${id}/publish`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const page1 = load((await local.request({ method: 'GET', url: '/' })).body);
      expect(
        page1('.card__title')
          .map((_, el) => page1(el).text())
          .get(),
      ).toEqual(['Article 5', 'Article 4']);
      expect(page1('a[rel=next]').attr('href')).toBe(`${local.config.publicUrl}/?page=2`);
      const page3 = load((await local.request({ method: 'GET', url: '/?page=3' })).body);
      expect(
        page3('.card__title')
          .map((_, el) => page3(el).text())
          .get(),
      ).toEqual(['Article 1']);
      expect(page3('a[rel=prev]').attr('href')).toBe(`${local.config.publicUrl}/?page=2`);
      expect(page3('a[rel=next]').length).toBe(0);
    } finally {
      await local.close();
    }
  });

  it('speaks English when the locale says so', async () => {
    const local = await startTestApp({ LOCALE: 'en', PUBLICATION_TIMEZONE: 'UTC' });
    try {
      const { id, slug } = (await local.api('POST', '/api/articles', sampleArticle())).json();
      await local.api('POST', `/api/articles/${id}/publish`);
      const $ = load((await local.request({ method: 'GET', url: `/articles/${slug}` })).body);
      expect($('html').attr('lang')).toBe('en');
      expect($('.paywall h2').text()).toBe('The rest is for premium subscribers');
      expect($('.article .meta time').text()).toMatch(/^[A-Z][a-z]+ \d{1,2}, \d{4}$/);
    } finally {
      await local.close();
    }
  });
});

describe('the page cache', () => {
  it('serves a page again from memory, and a write through the API shows at once', async () => {
    const article = (
      await t.api('POST', '/api/articles', sampleArticle({ title: 'Mise en cache', slug: 'mise-en-cache' }))
    ).json();
    await t.api('POST', `/api/articles/${article.id}/publish`);
    const first = await t.request({ method: 'GET', url: '/articles/mise-en-cache' });
    const second = await t.request({ method: 'GET', url: '/articles/mise-en-cache' });
    expect(first.headers['x-cache']).toBeUndefined();
    expect(second.headers['x-cache']).toBe('hit');
    expect(second.body).toBe(first.body);
    expect(second.headers['content-type']).toBe(first.headers['content-type']);
    expect(second.headers['cache-control']).toBe(first.headers['cache-control']);
    expect(second.headers['content-security-policy']).toBe(first.headers['content-security-policy']);
    expect(second.body).not.toContain(CANARY_MARK);

    await t.api('PATCH', `/api/articles/${article.id}`, { title: 'Mise en cache, titre corrigé' });
    expect((await t.request({ method: 'GET', url: '/articles/mise-en-cache' })).body).toContain(
      'titre corrigé',
    );
    await t.api('POST', `/api/articles/${article.id}/unpublish`);
    expect((await t.request({ method: 'GET', url: '/articles/mise-en-cache' })).statusCode).toBe(404);
  });

  it('keeps only plain URLs and page numbers, and never an error page', async () => {
    await t.request({ method: 'GET', url: '/?utm_source=lettre' });
    expect(
      (await t.request({ method: 'GET', url: '/?utm_source=lettre' })).headers['x-cache'],
    ).toBeUndefined();
    await t.request({ method: 'GET', url: '/articles/nulle-part' });
    const missing = await t.request({ method: 'GET', url: '/articles/nulle-part' });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['x-cache']).toBeUndefined();
  });
});

describe('for search engines', () => {
  it('lists the published articles, their tags and the home page in sitemap.xml, never a draft', async () => {
    const created = await t.api('POST', '/api/articles', sampleArticle({ title: 'Brouillon jamais publié' }));
    expect(created.statusCode).toBe(201);
    const draft: { slug: string } = created.json();
    const res = await t.request({ method: 'GET', url: '/sitemap.xml' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/xml; charset=utf-8');
    const $ = load(res.body, { xml: true });
    const locs = $('url > loc')
      .map((_, el) => $(el).text())
      .get();
    const base = t.config.publicUrl;
    expect(locs).toEqual(
      expect.arrayContaining([
        `${base}/`,
        `${base}/articles/${premium.slug}`,
        `${base}/articles/edition-publique`,
        `${base}/tags/armee-arabe-syrienne`,
      ]),
    );
    expect(locs.some((loc) => loc.endsWith(`/articles/${draft.slug}`))).toBe(false);
    expect($('url > lastmod').first().text()).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(res.body).not.toContain(CANARY_MARK);
  });

  it('keeps crawlers out of the desk, the API and readers’ links, and names the sitemap', async () => {
    const res = await t.request({ method: 'GET', url: '/robots.txt' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    const lines = res.body.split('\n');
    for (const closed of ['/admin', '/api/', '/preferences/', '/unsubscribe/', '/editions/', '/r/', '/o/'])
      expect(lines).toContain(`Disallow: ${closed}`);
    expect(lines).not.toContain('Disallow: /articles/');
    expect(lines).toContain(`Sitemap: ${t.config.publicUrl}/sitemap.xml`);
  });
});
